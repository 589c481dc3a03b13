/* Loading a shared library at run time into a table of function pointers.
 *
 * vessel links only what every command needs (json-c, libseccomp, libcap).
 * The libraries only image code uses (libarchive, libcrypto, see
 * src/image/libs.h) are loaded with dlopen() on first use, so that starting a
 * container never maps them and their dependencies (libxml2, ICU,
 * libstdc++, ...). */
#ifndef VESSEL_UTIL_DYNLIB_H
#define VESSEL_UTIL_DYNLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct vs_dynlib {
        const char *soname;        /* e.g. "libarchive.so.13" */
        const char *package;       /* the Debian package that ships it */
        const char *const *names;  /* symbols to resolve, NULL-terminated */
        void *table;               /* one function pointer per name, in order */
        void (*on_load)(void *dl); /* optional: called once, before dlsym */
        bool loaded;               /* set (release) once every slot is filled */
};

/* Loads lib and fills its table; returns 0 at once when already loaded.
 * Thread-safe. On failure nothing is kept and the error says which library,
 * which package ships it, and dlerror()'s reason. */
int vs_dynlib_load(struct vs_dynlib *lib, vs_error **err);

/* vs_dynlib_load() for callers that cannot fail: prints the error as one
 * line on stderr and exits with status 1. Returns lib->table. */
void *vs_dynlib_need(struct vs_dynlib *lib);

static inline void *vs_dynlib_table(struct vs_dynlib *lib)
{
        if (__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE))
                return lib->table;
        return vs_dynlib_need(lib);
}

#endif
