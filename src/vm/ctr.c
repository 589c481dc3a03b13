/* The engine's side of VM containers: the record's HostConfig.Isolation
 * says "vm"; the monitor calls vs_vm_ctr_spawn() where it would create and
 * start a runtime container, and treats the launcher it forks as the
 * container's init (its exit code is the process's). The OCI config the
 * engine generated for the container is what the guest runs. */
#include "vm/vm.h"
#include "engine/engine.h"
#include "oci/config.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BOOT_TIMEOUT_S 60

bool vs_ctr_is_vm(const struct vs_ctr *c)
{
        return c->hc.isolation && strcmp(c->hc.isolation, "vm") == 0;
}

int vs_vm_host_check(struct vs_engine *e, vs_error **err)
{
        _cleanup_free_ char *qemu = NULL, *kernel = NULL;
        if (vs_vm_qemu_path(&qemu, err) < 0)
                return -1;
        return vs_vm_kernel_get(e->data_root, true, true, &kernel, err);
}

/* The CONFIG payload (guest/proto.h) from the OCI config's process. */
struct payload {
        char *buf;
        size_t len;
};

static void add(struct payload *p, const char *key, const char *value)
{
        size_t kl = strlen(key), vl = strlen(value);
        p->buf = xrealloc(p->buf, p->len + kl + vl + 2);
        memcpy(p->buf + p->len, key, kl);
        p->buf[p->len + kl] = '=';
        memcpy(p->buf + p->len + kl + 1, value, vl + 1);
        p->len += kl + vl + 2;
}

static void add_num(struct payload *p, const char *key, int64_t v)
{
        char num[24];
        snprintf(num, sizeof(num), "%lld", (long long) v);
        add(p, key, num);
}

static int build_payload(json_object *spec, struct payload *p, vs_error **err)
{
        json_object *proc = json_object_object_get(spec, "process");
        json_object *args = json_object_object_get(proc, "args");
        if (args == NULL || json_object_array_length(args) == 0)
                return vs_fail(err, "the container's config has no process args");
        for (size_t i = 0; i < json_object_array_length(args); i++)
                add(p, "arg", json_object_get_string(json_object_array_get_idx(args, i)));
        json_object *env = json_object_object_get(proc, "env");
        for (size_t i = 0; env && i < json_object_array_length(env); i++)
                add(p, "env", json_object_get_string(json_object_array_get_idx(env, i)));
        json_object *cwd = json_object_object_get(proc, "cwd");
        add(p, "cwd", cwd ? json_object_get_string(cwd) : "/");
        json_object *user = json_object_object_get(proc, "user");
        add_num(p, "uid", json_object_get_int64(json_object_object_get(user, "uid")));
        add_num(p, "gid", json_object_get_int64(json_object_object_get(user, "gid")));
        json_object *gids = json_object_object_get(user, "additionalGids");
        for (size_t i = 0; gids && i < json_object_array_length(gids); i++)
                add_num(p, "group", json_object_get_int64(json_object_array_get_idx(gids, i)));
        json_object *host = json_object_object_get(spec, "hostname");
        if (host)
                add(p, "hostname", json_object_get_string(host));
        return 0;
}

/* The container's -v binds and named volumes become 9p shares "vol<N>",
 * each announced to the agent as "mount=<tag>:<ro|rw>:<destination>". 9p
 * shares directories: a file bind is refused. */
static int build_shares(const struct vs_ctr *c, struct payload *p, char ***shares, vs_error **err)
{
        json_object *mounts = c->mounts;
        for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                const char *type = json_object_get_string(json_object_object_get(m, "Type"));
                const char *src = json_object_get_string(json_object_object_get(m, "Source"));
                const char *dst = json_object_get_string(json_object_object_get(m, "Destination"));
                bool rw = json_object_get_boolean(json_object_object_get(m, "RW"));
                if (type == NULL || src == NULL || dst == NULL ||
                    (strcmp(type, "bind") != 0 && strcmp(type, "volume") != 0))
                        continue;
                if (!vs_is_dir(src))
                        return vs_fail(err,
                                       "-v %s:%s: only directories can be shared with a VM "
                                       "(virtio-9p)",
                                       src, dst);
                _cleanup_free_ char *tag = xasprintf("%svol%zu", rw ? "" : "ro:", i);
                _cleanup_free_ char *entry =
                    xasprintf("%s:%s:%s", rw ? tag : tag + 3, rw ? "rw" : "ro", dst);
                strv_push(shares, tag);
                strv_push(shares, src);
                add(p, "mount", entry);
        }
        return 0;
}

/* The files the engine bind-mounts into a container's /etc, sent by
 * content ("etc.hosts=..."): the agent binds them the same way. */
static void add_etc_files(const struct vs_ctr *c, struct payload *p)
{
        static const char *const names[] = {"hostname", "hosts", "resolv.conf"};
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", c->dir, names[i]);
                _cleanup_free_ char *text = NULL, *key = xasprintf("etc.%s", names[i]);
                size_t n;
                if (vs_read_file(path, &text, &n, NULL) < 0 || strlen(text) != n)
                        continue;
                add(p, key, text);
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
static int add_security(const struct vs_ctr *c, struct payload *p, vs_error **err)
{
        _cleanup_config_ struct oci_config *cfg = NULL;
        if (oci_config_load(c->dir, &cfg, err) < 0)
                return -1;
        const struct oci_process *proc = cfg->process;
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
                        add(p, keys[i], hex);
                }
        }
        for (size_t i = 0; i < proc->n_rlimits; i++) {
                const struct oci_rlimit *r = &proc->rlimits[i];
                _cleanup_free_ char *v =
                    xasprintf("%d:%llu:%llu", r->resource, (unsigned long long) r->soft,
                              (unsigned long long) r->hard);
                add(p, "rlimit", v);
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
                add(p, "rlimit", v);
        }
        if (proc->no_new_privileges)
                add(p, "nnp", "1");
        struct vs_seccomp_prog *prog = NULL;
        if (vs_seccomp_compile_config(cfg, c->runtime_root, &prog, err) < 0)
                return -1;
        if (prog) {
                size_t n = (size_t) prog->len * sizeof(struct sock_filter);
                const unsigned char *b = (const unsigned char *) prog->insns;
                char *v = xmalloc(16 + 2 * n + 1);
                int off = snprintf(v, 16, "%u:", prog->flags);
                for (size_t i = 0; i < n; i++)
                        snprintf(v + off + 2 * i, 3, "%02x", b[i]);
                add(p, "seccomp", v);
                free(v);
                vs_seccomp_prog_free(prog);
        }
        return 0;
}

static unsigned vcpus(const struct vs_ctr *c)
{
        int64_t n = c->hc.nano_cpus;
        if (n <= 0)
                return 1;
        return (unsigned) ((n + 999999999) / 1000000000);
}

static unsigned memory_mib(const struct vs_ctr *c)
{
        int64_t m = c->hc.memory;
        if (m <= 0)
                m = VS_VM_DEFAULT_MEMORY;
        return (unsigned) ((m + (1 << 20) - 1) >> 20);
}

static int boot_timeout_ms(void)
{
        const char *s = getenv("VESSEL_VM_BOOT_TIMEOUT");
        int v = s && *s ? atoi(s) : 0;
        return (v > 0 ? v : BOOT_TIMEOUT_S) * 1000;
}

static int write_info(const struct vs_ctr *c, const struct vs_vm_spec *s, const char *why,
                      vs_error **err)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object_object_add(o, "Accelerator", json_object_new_string(s->accel));
        json_object_object_add(o, "AcceleratorReason", json_object_new_string(why));
        json_object_object_add(o, "Kernel", json_object_new_string(s->kernel));
        json_object_object_add(o, "Initramfs", json_object_new_string(s->initrd));
        json_object_object_add(o, "Hypervisor", json_object_new_string(s->qemu));
        json_object_object_add(o, "Machine", json_object_new_string("microvm"));
        json_object_object_add(o, "MemoryMiB", json_object_new_int64(s->mem_mib));
        json_object_object_add(o, "Cpus", json_object_new_int64(s->cpus));
        json_object_object_add(o, "RootfsShare", json_object_new_string("virtio-9p"));
        json_object_object_add(o, "ConsoleLog", json_object_new_string(s->console_log));
        _cleanup_free_ char *text = vs_json_to_string(o, true);
        _cleanup_free_ char *path = xasprintf("%s/vm.json", c->dir);
        return vs_write_file_replace(path, text, strlen(text), 0600, err);
}

int vs_vm_ctr_spawn(struct vs_engine *e, struct vs_ctr *c, int in_fd, int out_fd, int err_fd,
                    pid_t *pid, vs_error **err)
{
        if (c->cfg.tty)
                return vs_fail(err, "--tty is not supported with --isolation=vm yet");
        _cleanup_free_ char *cfgpath = xasprintf("%s/config.json", c->dir);
        _cleanup_json_ json_object *spec = NULL;
        if (vs_json_parse_file(cfgpath, &spec, err) < 0)
                return -1;
        struct payload p = {0};
        _cleanup_free_ char *qemu = NULL, *kernel = NULL, *initrd = NULL;
        _cleanup_strv_ char **shares = NULL;
        add_etc_files(c, &p);
        if (build_payload(spec, &p, err) < 0 || add_security(c, &p, err) < 0 ||
            build_shares(c, &p, &shares, err) < 0 || vs_vm_qemu_path(&qemu, err) < 0 ||
            vs_vm_kernel_get(e->data_root, false, false, &kernel, err) < 0 ||
            vs_vm_initramfs(e->data_root, &initrd, err) < 0) {
                free(p.buf);
                return -1;
        }
        _cleanup_free_ char *payload = p.buf;
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        _cleanup_free_ char *console = xasprintf("%s/vm-console.log", c->dir);
        _cleanup_free_ char *qlog = xasprintf("%s/vm-qemu.log", c->dir);
        const char *why = "";
        struct vs_vm_spec s = {
            .qemu = qemu,
            .kernel = kernel,
            .initrd = initrd,
            .rootfs = rootfs,
            .accel = vs_vm_accel_detect(&why),
            .console_log = console,
            .qemu_log = qlog,
            .mem_mib = memory_mib(c),
            .cpus = vcpus(c),
            .shares = shares,
            .config = payload,
            .config_len = p.len,
            .boot_timeout_ms = boot_timeout_ms(),
        };
        if (write_info(c, &s, why, err) < 0)
                return -1;
        vs_debug("vm: %s (%s), %u MiB, %u vCPUs", s.accel, why, s.mem_mib, s.cpus);
        pid_t parent = getpid();
        pid_t child = fork();
        if (child < 0)
                return vs_fail_errno(err, "cannot fork the VM launcher");
        if (child == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(125);
                prctl(PR_SET_NAME, "vessel-vm");
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                dup2(in_fd >= 0 ? in_fd : null, 0);
                dup2(out_fd, 1);
                dup2(err_fd, 2);
                syscall(SYS_close_range, 3, ~0U, 0);
                vs_error *verr = NULL;
                int code = 0;
                if (vs_vm_run(&s, in_fd >= 0 ? 0 : -1, 1, 2, &code, &verr) < 0) {
                        dprintf(2, "vessel: %s\n", verr->msg);
                        vs_warn("%s", verr->msg);
                        _exit(125);
                }
                _exit(code);
        }
        *pid = child;
        return 0;
}
