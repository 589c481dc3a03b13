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
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#define BOOT_TIMEOUT_S 60

bool vs_ctr_is_vm(const struct vs_ctr *c)
{
        json_object *iso = json_object_object_get(c->host_config, "Isolation");
        return iso && strcmp(json_object_get_string(iso), "vm") == 0;
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

/* The process itself: arguments, environment, working directory, user. */
static void add_process(const struct oci_process *proc, struct payload *p)
{
        for (size_t i = 0; proc->args && proc->args[i]; i++)
                add(p, "arg", proc->args[i]);
        for (size_t i = 0; proc->env && proc->env[i]; i++)
                add(p, "env", proc->env[i]);
        add(p, "cwd", proc->cwd ? proc->cwd : "/");
        add_num(p, "uid", proc->user.uid);
        add_num(p, "gid", proc->user.gid);
        for (size_t i = 0; i < proc->user.n_additional_gids; i++)
                add_num(p, "group", proc->user.additional_gids[i]);
        if (proc->terminal) {
                add(p, "tty", "1");
                if (proc->has_console_size) {
                        add_num(p, "rows", proc->console_height);
                        add_num(p, "cols", proc->console_width);
                }
        }
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
static int add_security(const struct vs_ctr *c, const struct oci_config *cfg,
                        const struct oci_process *proc, struct payload *p, vs_error **err)
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
        json_object *nano = json_object_object_get(c->host_config, "NanoCpus");
        int64_t n = nano ? json_object_get_int64(nano) : 0;
        if (n <= 0)
                return 1;
        return (unsigned) ((n + 999999999) / 1000000000);
}

static unsigned memory_mib(const struct vs_ctr *c)
{
        json_object *mem = json_object_object_get(c->host_config, "Memory");
        int64_t m = mem ? json_object_get_int64(mem) : 0;
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

int vs_vm_open_pty(int *master, int *slave, vs_error **err)
{
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0)
                return vs_fail_errno(err, "cannot open a pty");
        char name[64];
        if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
                close(m);
                return vs_fail_errno(err, "cannot set up a pty");
        }
        int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        struct termios t;
        if (s < 0 || tcgetattr(s, &t) < 0) {
                int e = errno;
                if (s >= 0)
                        close(s);
                close(m);
                errno = e;
                return vs_fail_errno(err, "cannot open the pty %s", name);
        }
        cfmakeraw(&t);
        tcsetattr(s, TCSANOW, &t);
        *master = m;
        *slave = s;
        return 0;
}

int vs_vm_exec_payload(const struct vs_ctr *c, const struct oci_config *cfg,
                       const struct oci_process *proc, bool open_stdin, char **buf, size_t *len,
                       vs_error **err)
{
        struct payload p = {0};
        if (proc->args == NULL || proc->args[0] == NULL)
                return vs_fail(err, "no command to run");
        add_process(proc, &p);
        if (open_stdin)
                add(&p, "stdin", "1");
        if (add_security(c, cfg, proc, &p, err) < 0) {
                free(p.buf);
                return -1;
        }
        *buf = p.buf;
        *len = p.len;
        return 0;
}

int vs_vm_ctr_spawn(struct vs_engine *e, struct vs_ctr *c, int in_fd, int out_fd, int err_fd,
                    pid_t *pid, vs_error **err)
{
        _cleanup_config_ struct oci_config *cfg = NULL;
        if (oci_config_load(c->dir, &cfg, err) < 0)
                return -1;
        if (cfg->process == NULL || cfg->process->args == NULL || cfg->process->args[0] == NULL)
                return vs_fail(err, "the container's config has no process args");
        struct payload p = {0};
        _cleanup_free_ char *qemu = NULL, *kernel = NULL, *initrd = NULL;
        _cleanup_strv_ char **shares = NULL;
        add_etc_files(c, &p);
        add_process(cfg->process, &p);
        if (cfg->hostname)
                add(&p, "hostname", cfg->hostname);
        if (add_security(c, cfg, cfg->process, &p, err) < 0 ||
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
            .sock_dir = c->dir,
            .tty = cfg->process->terminal,
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
                /* With -t, stdin is the pty the monitor holds the master of:
                 * our controlling terminal, so its size changes reach us. */
                if (s.tty && in_fd >= 0 && (setsid() < 0 || ioctl(in_fd, TIOCSCTTY, 0) < 0))
                        _exit(125);
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
