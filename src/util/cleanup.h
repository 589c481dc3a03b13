/* Scope-bound release of resources through __attribute__((cleanup)). */
#ifndef VESSEL_UTIL_CLEANUP_H
#define VESSEL_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/error.h"

static inline void vs_cleanup_freep(void *p)
{
        free(*(void **) p);
}

static inline void vs_cleanup_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void vs_cleanup_fclosep(FILE **f)
{
        if (*f != NULL)
                fclose(*f);
}

static inline void vs_cleanup_closedirp(DIR **d)
{
        if (*d != NULL)
                closedir(*d);
}

static inline void vs_cleanup_errorp(vs_error **e)
{
        vs_error_free(e);
}

/* NULL-terminated array of malloc'd strings. */
static inline void vs_cleanup_strvp(char ***v)
{
        if (*v == NULL)
                return;
        for (char **p = *v; *p; p++)
                free(*p);
        free(*v);
}

#define _cleanup_free_     __attribute__((cleanup(vs_cleanup_freep)))
#define _cleanup_close_    __attribute__((cleanup(vs_cleanup_closep)))
#define _cleanup_fclose_   __attribute__((cleanup(vs_cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(vs_cleanup_closedirp)))
#define _cleanup_error_    __attribute__((cleanup(vs_cleanup_errorp)))
#define _cleanup_strv_     __attribute__((cleanup(vs_cleanup_strvp)))

/* Hands ownership out of a cleanup variable. */
#define steal_ptr(p)                                                                               \
        ({                                                                                         \
                __typeof__(p) _tmp = (p);                                                          \
                (p) = NULL;                                                                        \
                _tmp;                                                                              \
        })
#define steal_fd(fd)                                                                               \
        ({                                                                                         \
                int _tmp = (fd);                                                                   \
                (fd) = -1;                                                                         \
                _tmp;                                                                              \
        })

#endif
