/* linux.seccomp -> a libseccomp filter, with runc's semantics: unknown
 * syscall names are skipped, errnoRet defaults to EPERM, and the filter never
 * sets no_new_privs by itself (the container init does, when asked). */
#ifndef VESSEL_RUNTIME_SECCOMP_H
#define VESSEL_RUNTIME_SECCOMP_H

#include <seccomp.h>

#include "oci/config.h"
#include "util/error.h"

/* Builds a filter from the model; does not load it. The caller releases *out
 * with seccomp_release() (or _cleanup_seccomp_). Fails on anything the
 * filter cannot honour: notify, unknown flags or names, a flag the installed
 * libseccomp or kernel lacks. */
int vs_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out, vs_error **err);

/* Builds and loads the filter into the calling thread (every thread with
 * SECCOMP_FILTER_FLAG_TSYNC). Needs no_new_privs or CAP_SYS_ADMIN. */
int vs_seccomp_load(const struct oci_seccomp *s, vs_error **err);

/* Fills NULL-terminated static lists of supported action / operator / arch /
 * flag names, as the `features` command reports them. Any pointer may be
 * NULL. */
void vs_seccomp_features(const char *const **actions, const char *const **operators,
                         const char *const **archs, const char *const **flags);

static inline void vs_seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx != NULL)
                seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(vs_seccomp_releasep)))

#endif
