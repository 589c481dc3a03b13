/* linux.seccomp -> a libseccomp filter, with runc's semantics: unknown
 * syscall names are skipped, errnoRet defaults to EPERM, and the filter never
 * sets no_new_privs by itself (the container init does, when asked). */
#ifndef VESSEL_RUNTIME_SECCOMP_H
#define VESSEL_RUNTIME_SECCOMP_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>

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

/* A compiled filter, ready to install. The runtime compiles it before it
 * forks the container process, which only installs it: compiling a large
 * profile (Docker's default, ~300 syscalls on two architectures) takes
 * libseccomp several milliseconds, so compiled programs are also cached,
 * keyed by the exact profile text, the libseccomp version and vessel's. */
struct vs_seccomp_prog {
        struct sock_filter *insns;
        unsigned short len;
        unsigned int flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
        bool from_cache;
};

/* Compiles s, whose JSON text is profile_json (the cache key), or reads the
 * program from cache_dir (may be NULL: no cache). A cache file that is not
 * exactly this profile's is ignored and rewritten. */
int vs_seccomp_compile(const struct oci_seccomp *s, const char *profile_json, const char *cache_dir,
                       struct vs_seccomp_prog **out, vs_error **err);
/* Installs a compiled program in the calling process (needs no_new_privs or
 * CAP_SYS_ADMIN). */
int vs_seccomp_install(const struct vs_seccomp_prog *p, vs_error **err);
void vs_seccomp_prog_free(struct vs_seccomp_prog *p);
/* vs_seccomp_compile for a config's linux.seccomp (NULL *out when it has
 * none), cached under <runtime root>/.seccomp. */
int vs_seccomp_compile_config(const struct oci_config *cfg, const char *root,
                              struct vs_seccomp_prog **out, vs_error **err);

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
