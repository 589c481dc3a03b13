/* The guest's configuration payload (src/vm/payload.h). */
#include "vm/payload.h"
#include "oci/config.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define BOOT_TIMEOUT_S 60

void vs_vm_payload_add(struct vs_vm_payload *p, const char *key, const char *value)
{
        size_t kl = strlen(key), vl = strlen(value);
        p->buf = xrealloc(p->buf, p->len + kl + vl + 2);
        memcpy(p->buf + p->len, key, kl);
        p->buf[p->len + kl] = '=';
        memcpy(p->buf + p->len + kl + 1, value, vl + 1);
        p->len += kl + vl + 2;
}

void vs_vm_payload_share(struct vs_vm_payload *p, char ***shares, size_t index, const char *src,
                         const char *dst, bool ro, bool file)
{
        _cleanup_free_ char *tag = xasprintf("%svol%zu", ro ? "ro:" : "", index);
        _cleanup_free_ char *entry =
            xasprintf("%s:%s%s:%s", ro ? tag + 3 : tag, ro ? "ro" : "rw", file ? "-file" : "", dst);
        strv_push(shares, tag);
        strv_push(shares, src);
        vs_vm_payload_add(p, "mount", entry);
}

static void add_num(struct vs_vm_payload *p, const char *key, int64_t v)
{
        char num[24];
        snprintf(num, sizeof(num), "%lld", (long long) v);
        vs_vm_payload_add(p, key, num);
}

void vs_vm_payload_pids(struct vs_vm_payload *p, int64_t limit)
{
        if (limit > 0)
                add_num(p, "pids", limit);
}

/* The process itself: arguments, environment, working directory, user. */
void vs_vm_payload_process(const struct oci_process *proc, struct vs_vm_payload *p)
{
        for (size_t i = 0; proc->args && proc->args[i]; i++)
                vs_vm_payload_add(p, "arg", proc->args[i]);
        for (size_t i = 0; proc->env && proc->env[i]; i++)
                vs_vm_payload_add(p, "env", proc->env[i]);
        vs_vm_payload_add(p, "cwd", proc->cwd ? proc->cwd : "/");
        add_num(p, "uid", proc->user.uid);
        add_num(p, "gid", proc->user.gid);
        for (size_t i = 0; i < proc->user.n_additional_gids; i++)
                add_num(p, "group", proc->user.additional_gids[i]);
        if (proc->terminal) {
                vs_vm_payload_add(p, "tty", "1");
                if (proc->has_console_size) {
                        add_num(p, "rows", proc->console_height);
                        add_num(p, "cols", proc->console_width);
                }
        }
}

static uint64_t cap_mask(char **names)
{
        uint64_t m = 0;
        for (size_t i = 0; names && names[i]; i++) {
                int cap = vs_cap_from_name(names[i]);
                if (cap >= 0 && cap < 64)
                        m |= 1ULL << cap;
        }
        return m;
}

/* The container's own isolation, applied by the agent to the process in
 * the guest as the runtime applies it on the host: capabilities (as masks),
 * rlimits, no_new_privs, and the seccomp program compiled here by the
 * runtime's code (so the guest needs no libseccomp). */
int vs_vm_payload_security(const char *cache_dir, const struct oci_config *cfg,
                           const struct oci_process *proc, struct vs_vm_payload *p, vs_error **err)
{
        if (proc->caps) {
                char *const *sets[] = {proc->caps->bounding, proc->caps->effective,
                                       proc->caps->permitted, proc->caps->inheritable,
                                       proc->caps->ambient};
                static const char *const keys[] = {"caps.bounding", "caps.effective",
                                                   "caps.permitted", "caps.inheritable",
                                                   "caps.ambient"};
                for (size_t i = 0; i < 5; i++) {
                        char hex[24];
                        snprintf(hex, sizeof(hex), "%llx",
                                 (unsigned long long) cap_mask((char **) sets[i]));
                        vs_vm_payload_add(p, keys[i], hex);
                }
        }
        for (size_t i = 0; i < proc->n_rlimits; i++) {
                const struct oci_rlimit *r = &proc->rlimits[i];
                _cleanup_free_ char *v =
                    xasprintf("%d:%llu:%llu", r->resource, (unsigned long long) r->soft,
                              (unsigned long long) r->hard);
                vs_vm_payload_add(p, "rlimit", v);
        }
        /* A container inherits the monitor's open-file limit unless the
         * config sets one; the guest's default (1024) would differ. */
        bool nofile = false;
        for (size_t i = 0; i < proc->n_rlimits; i++)
                nofile |= proc->rlimits[i].resource == RLIMIT_NOFILE;
        struct rlimit rl;
        if (!nofile && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                _cleanup_free_ char *v =
                    xasprintf("%d:%llu:%llu", RLIMIT_NOFILE, (unsigned long long) rl.rlim_cur,
                              (unsigned long long) rl.rlim_max);
                vs_vm_payload_add(p, "rlimit", v);
        }
        if (proc->no_new_privileges)
                vs_vm_payload_add(p, "nnp", "1");
        struct vs_seccomp_prog *prog = NULL;
        if (vs_seccomp_compile_config(cfg, cache_dir, &prog, err) < 0)
                return -1;
        if (prog) {
                size_t n = (size_t) prog->len * sizeof(struct sock_filter);
                const unsigned char *b = (const unsigned char *) prog->insns;
                char *v = xmalloc(16 + 2 * n + 1);
                int off = snprintf(v, 16, "%u:", prog->flags);
                for (size_t i = 0; i < n; i++)
                        snprintf(v + off + 2 * i, 3, "%02x", b[i]);
                vs_vm_payload_add(p, "seccomp", v);
                free(v);
                vs_seccomp_prog_free(prog);
        }
        return 0;
}

void vs_vm_payload_isolation(const struct oci_config *cfg, struct vs_vm_payload *p)
{
        if (cfg->root_readonly)
                vs_vm_payload_add(p, "readonly", "1");
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                if (m->type == NULL || strcmp(m->type, "tmpfs") != 0 || m->bind ||
                    strcmp(m->destination, "/dev") == 0 || strcmp(m->destination, "/dev/shm") == 0)
                        continue;
                const char *data = m->data ? m->data : "";
                if (strchr(data, ':')) {
                        vs_warn("vm: tmpfs on %s left out: its options hold a ':' (%s)",
                                m->destination, data);
                        continue;
                }
                _cleanup_free_ char *v =
                    xasprintf("%lu:%s:%s",
                              m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                          MS_NOATIME | MS_NODIRATIME),
                              data, m->destination);
                vs_vm_payload_add(p, "tmpfs", v);
        }
        for (char **s = cfg->linux_.masked_paths; s && *s; s++)
                vs_vm_payload_add(p, "mask", *s);
        for (char **s = cfg->linux_.readonly_paths; s && *s; s++)
                vs_vm_payload_add(p, "ropath", *s);
        const struct oci_namespace *pid = oci_config_namespace(cfg, OCI_NS_PID);
        if (pid && pid->path == NULL)
                vs_vm_payload_add(p, "ns", "pid");
}

int vs_vm_boot_timeout_ms(void)
{
        const char *s = getenv("VESSEL_VM_BOOT_TIMEOUT");
        int v = s && *s ? atoi(s) : 0;
        return (v > 0 ? v : BOOT_TIMEOUT_S) * 1000;
}

int vs_vm_payload_exec(const char *cache_dir, const struct oci_config *cfg,
                       const struct oci_process *proc, bool open_stdin, char **buf, size_t *len,
                       vs_error **err)
{
        struct vs_vm_payload p = {0};
        if (proc->args == NULL || proc->args[0] == NULL)
                return vs_fail(err, "no command to run");
        vs_vm_payload_process(proc, &p);
        if (open_stdin)
                vs_vm_payload_add(&p, "stdin", "1");
        if (vs_vm_payload_security(cache_dir, cfg, proc, &p, err) < 0) {
                free(p.buf);
                return -1;
        }
        *buf = p.buf;
        *len = p.len;
        return 0;
}
