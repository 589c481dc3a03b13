/* The engine's side of VM containers: the record's HostConfig.Isolation
 * says "vm"; the monitor calls vs_vm_ctr_spawn() where it would create and
 * start a runtime container, and treats the launcher it forks as the
 * container's init (its exit code is the process's). The OCI config the
 * engine generated for the container is what the guest runs. */
#include "vm/vm.h"
#include "vm/payload.h"
#include "engine/engine.h"
#include "net/net.h"
#include "oci/config.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/idmap.h"
#include "runtime/seccomp.h"
#include "runtime/stage.h"
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
#include <sys/wait.h>
#include <unistd.h>

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

/* The container's -v binds and named volumes become 9p shares "vol<N>",
 * each announced to the agent as "mount=<tag>:<ro|rw>:<destination>". 9p
 * shares directories: a regular file is shared as the one entry of a
 * directory of its own (QEMU's jail makes it, vs_vm_payload_share) and
 * bound by the agent; other kinds of files (sockets, devices, FIFOs) are
 * refused. */
static int build_shares(const struct vs_ctr *c, struct vs_vm_payload *p, char ***shares,
                        vs_error **err)
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
                struct stat st;
                if (stat(src, &st) < 0)
                        return vs_fail_errno(err, "-v %s:%s", src, dst);
                if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                        return vs_fail(err,
                                       "-v %s:%s: only directories and regular files can be "
                                       "shared with a VM (virtio-9p)",
                                       src, dst);
                vs_vm_payload_share(p, shares, i, src, dst, !rw, S_ISREG(st.st_mode));
        }
        return 0;
}

/* The files the engine bind-mounts into a container's /etc, sent by
 * content ("etc.hosts=..."): the agent binds them the same way. */
static void add_etc_files(const struct vs_ctr *c, struct vs_vm_payload *p)
{
        static const char *const names[] = {"hostname", "hosts", "resolv.conf"};
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", c->dir, names[i]);
                _cleanup_free_ char *text = NULL, *key = xasprintf("etc.%s", names[i]);
                size_t n;
                if (vs_read_file(path, &text, &n, NULL) < 0 || strlen(text) != n)
                        continue;
                vs_vm_payload_add(p, key, text);
        }
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
        json_object_object_add(o, "RootfsShare",
                               json_object_new_string(s->root_image ? "virtio-blk" : "virtio-9p"));
        if (s->root_image)
                json_object_object_add(o, "RootImage", json_object_new_string(s->root_image));
        json_object_object_add(o, "ConsoleLog", json_object_new_string(s->console_log));
        /* The host ids QEMU runs as (0: host root, a container made before
         * QEMU had ids of its own). */
        json_object_object_add(o, "HypervisorUid", json_object_new_int64(s->jail_uid));
        json_object_object_add(o, "HypervisorGid", json_object_new_int64(s->jail_gid));
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
        return vs_vm_payload_exec(c->runtime_root, cfg, proc, open_stdin, buf, len, err);
}

/* ---- the container's cgroup (docs/vm.md, "QEMU's jail") ---- */

#define VM_CGROUP_FILE "vm-cgroup.json"

int vs_vm_ctr_cgroup_release(const struct vs_ctr *c, vs_error **err)
{
        return vs_vm_cgroup_release_dir(c->dir, err);
}

int vs_vm_cgroup_release_dir(const char *dir, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/" VM_CGROUP_FILE, dir);
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *rerr = NULL;
        if (vs_read_file(path, &text, NULL, &rerr) < 0)
                return rerr->errno_ == ENOENT ? 0 : (*err = steal_ptr(rerr), -1);
        _cleanup_json_ json_object *j = json_tokener_parse(text);
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (j == NULL || vs_cgroup_from_json(j, &cg, err) < 0)
                return vs_error_wrap(err, "%s", path);
        /* Kills what is left in it (a launcher or QEMU whose monitor died
         * is gone by then: PDEATHSIG), removes it. */
        if (vs_cgroup_destroy(cg, err) < 0)
                return -1;
        if (unlink(path) < 0 && errno != ENOENT)
                return vs_fail_errno(err, "cannot remove %s", path);
        return 0;
}

/* The devices QEMU may open: those its jail binds (null, zero, random,
 * urandom, kvm) and the tap's tun; the container's device rules are the
 * guest's business (its own kernel, its own devices). */
static void vm_device_rules(struct oci_config *cfg)
{
        struct oci_resources *r = cfg->linux_.resources;
        if (r == NULL)
                return;
        static const int64_t allowed[][2] = {{1, 3}, {1, 5}, {1, 8}, {1, 9}, {10, 232}, {10, 200}};
        const size_t n = sizeof(allowed) / sizeof(allowed[0]);
        for (size_t i = 0; i < r->n_devices; i++)
                free(r->devices[i].access);
        r->devices = xrealloc(r->devices, (n + 1) * sizeof(*r->devices));
        r->devices[0] = (struct oci_device_cgroup){
            .allow = false, .type = 'a', .major = -1, .minor = -1, .access = xstrdup("rwm")};
        for (size_t i = 0; i < n; i++)
                r->devices[i + 1] = (struct oci_device_cgroup){.allow = true,
                                                               .type = 'c',
                                                               .major = allowed[i][0],
                                                               .minor = allowed[i][1],
                                                               .access = xstrdup("rwm")};
        r->n_devices = n + 1;
}

/* The container's cgroup with the config's limits (the memory limit is the
 * guest's RAM: raised by QEMU's overhead, as on the OCI path), recorded in
 * <dir>/vm-cgroup.json before it exists, so that rm finds it whatever was
 * killed when. The launcher enters it (QEMU is born there). NULL without
 * one: an unprivileged engine leaves limits to the guest. */
static int make_cgroup(const struct vs_ctr *c, struct oci_config *cfg, struct vs_cgroup **out,
                       vs_error **err)
{
        *out = NULL;
        if (vs_host_unprivileged())
                return 0;
        /* A previous incarnation's (its monitor killed). */
        if (vs_vm_ctr_cgroup_release(c, err) < 0)
                return -1;
        vs_vm_oci_adjust_resources(cfg);
        vm_device_rules(cfg);
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (vs_cgroup_plan(c->id, cfg->linux_.cgroups_path, cfg->linux_.resources, &cg, err) < 0)
                return -1;
        _cleanup_json_ json_object *j = vs_cgroup_to_json(cg);
        _cleanup_free_ char *text = vs_json_to_string(j, false);
        _cleanup_free_ char *path = xasprintf("%s/" VM_CGROUP_FILE, c->dir);
        if (vs_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
                return -1;
        if (vs_cgroup_begin(cg, err) < 0 ||
            vs_cgroup_complete(cg, cfg->linux_.resources, err) < 0) {
                _cleanup_error_ vs_error *derr = NULL;
                vs_vm_ctr_cgroup_release(c, &derr);
                return -1;
        }
        *out = steal_ptr(cg);
        return 0;
}

/* A restore's start succeeds once the launcher has QEMU running from the
 * checkpoint ("ok" on the pipe); otherwise the launcher's error is the
 * start's. */
static int wait_restored(pid_t child, int ready[2], pid_t *pid, vs_error **err)
{
        close(ready[1]);
        char buf[1024];
        size_t n = 0;
        ssize_t r;
        while (n < sizeof(buf) - 1 && ((r = read(ready[0], buf + n, sizeof(buf) - 1 - n)) > 0 ||
                                       (r < 0 && errno == EINTR)))
                if (r > 0)
                        n += (size_t) r;
        close(ready[0]);
        buf[n] = '\0';
        if (strcmp(buf, "ok") == 0) {
                *pid = child;
                return 0;
        }
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
                ;
        return vs_fail(err, "%s", n ? buf : "the VM launcher ended before restoring the VM");
}

int vs_vm_ctr_spawn(struct vs_engine *e, struct vs_ctr *c, int in_fd, int out_fd, int err_fd,
                    pid_t *pid, vs_error **err)
{
        _cleanup_config_ struct oci_config *cfg = NULL;
        if (oci_config_load(c->dir, &cfg, err) < 0)
                return -1;
        if (cfg->process == NULL || cfg->process->args == NULL || cfg->process->args[0] == NULL)
                return vs_fail(err, "the container's config has no process args");
        struct vs_vm_payload p = {0};
        _cleanup_free_ char *qemu = NULL, *kernel = NULL, *initrd = NULL;
        _cleanup_strv_ char **shares = NULL;
        add_etc_files(c, &p);
        vs_vm_payload_process(cfg->process, &p);
        vs_vm_payload_isolation(cfg, &p);
        if (c->hc.has_pids_limit)
                vs_vm_payload_pids(&p, c->hc.pids_limit);
        if (cfg->hostname)
                vs_vm_payload_add(&p, "hostname", cfg->hostname);
        const char *mode =
            json_object_get_string(json_object_object_get(c->host_config, "NetworkMode"));
        _cleanup_free_ char *netdev = NULL, *mac = NULL;
        _cleanup_close_ int tap = -1;
        if (vs_engine_net_name(c) != NULL) {
                /* A tap on the vessel network's bridge (docs/vm.md). */
                if (vs_vm_net_tap(e, c, &p, &tap, &mac, err) < 0) {
                        free(p.buf);
                        return -1;
                }
                netdev = xasprintf("tap,id=net0,fd=%d,vhost=off", VS_VM_TAP_FD);
        } else if (mode && strcmp(mode, VS_VM_NET_USER) == 0) {
                netdev = vs_vm_net_netdev(json_object_object_get(c->host_config, "PortBindings"));
                vs_vm_payload_add(&p, "net", "user");
        }
        if (vs_vm_payload_security(c->runtime_root, cfg, cfg->process, &p, err) < 0 ||
            build_shares(c, &p, &shares, err) < 0 || vs_vm_qemu_path(&qemu, err) < 0 ||
            vs_vm_kernel_get(e->data_root, false, false, &kernel, err) < 0 ||
            vs_vm_initramfs(e->data_root, &initrd, err) < 0) {
                free(p.buf);
                return -1;
        }
        /* A restore loads the checkpoint instead of booting (the marker
         * is consumed first: a failure is never retried from it). */
        bool restore = vs_vm_restore_requested(c);
        _cleanup_free_ char *root_image = NULL;
        _cleanup_free_ char *state =
            restore ? xasprintf("%s/" VS_VM_CKPT_DIR "/" VS_VM_CKPT_STATE, c->dir) : NULL;
        if (vs_vm_block_root(c)) {
                vs_vm_payload_add(&p, "root", "block");
                if (vs_vm_root_image(c, restore, &root_image, err) < 0) {
                        free(p.buf);
                        return -1;
                }
        }
        _cleanup_free_ char *payload = p.buf;
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        _cleanup_free_ char *console = xasprintf("%s/vm-console.log", c->dir);
        _cleanup_free_ char *qlog = xasprintf("%s/vm-qemu.log", c->dir);
        _cleanup_free_ char *jail = xasprintf("%s/vm-jail", c->dir);
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
            .boot_timeout_ms = vs_vm_boot_timeout_ms(),
            .sock_dir = c->dir,
            .tty = cfg->process->terminal,
            .started_fd = -1,
            .jail_dir = jail,
            .netdev = netdev,
            .mac = mac,
            .root_image = root_image,
            .restore_state = state,
            .ready_fd = -1,
        };
        /* QEMU's own ids (docs/vm.md, "QEMU's jail"): the range allocated
         * with the container; the overlay's layers are idmapped with it. */
        struct vs_idmaps ids;
        int mapped = vs_userns_vm_mappings(c->host_config, &ids, err);
        if (mapped < 0)
                return -1;
        if (mapped > 0) {
                s.jail_uid = vs_idmaps_host(ids.uid, ids.n_uid, 0);
                s.jail_gid = vs_idmaps_host(ids.gid, ids.n_gid, 0);
                s.rootfs_mapped = true;
                vs_idmaps_clear(&ids);
        }
        if (write_info(c, &s, why, err) < 0)
                return -1;
        vs_debug("vm: %s (%s), %u MiB, %u vCPUs", s.accel, why, s.mem_mib, s.cpus);
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (make_cgroup(c, cfg, &cg, err) < 0)
                return -1;
        int ready[2] = {-1, -1};
        if (restore && pipe2(ready, O_CLOEXEC) < 0) {
                vs_fail_errno(err, "cannot create a pipe");
                goto fail;
        }
        pid_t parent = getpid();
        /* Born in the cgroup2 directory where there is one: moving a
         * process there afterwards waits for an RCU grace period (~16 ms
         * on the host here, measured; runtime/cgroup.h). */
        bool born_in_v2 = false;
        pid_t child = -1;
        {
                _cleanup_close_ int v2 = cg ? vs_cgroup_v2_dirfd(cg) : -1;
                if (v2 >= 0 && (child = vs_clone_into_cgroup(0, v2)) >= 0)
                        born_in_v2 = true;
        }
        if (child < 0)
                child = fork();
        if (child < 0) {
                if (restore) {
                        close(ready[0]);
                        close(ready[1]);
                }
                vs_fail_errno(err, "cannot fork the VM launcher");
                goto fail;
        }
        if (child == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(125);
                /* The launcher, and QEMU after it, in the container's
                 * cgroup (QEMU's threads count in its pids limit). */
                vs_error *cgerr = NULL;
                if (cg && vs_cgroup_enter_self(cg, born_in_v2, &cgerr) < 0) {
                        dprintf(err_fd, "vessel: %s\n", cgerr->msg);
                        _exit(125);
                }
                prctl(PR_SET_NAME, "vessel-vm");
                /* With -t, stdin is the pty the monitor holds the master of:
                 * our controlling terminal, so its size changes reach us. */
                if (s.tty && in_fd >= 0 && (setsid() < 0 || ioctl(in_fd, TIOCSCTTY, 0) < 0))
                        _exit(125);
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                dup2(in_fd >= 0 ? in_fd : null, 0);
                dup2(out_fd, 1);
                dup2(err_fd, 2);
                int next = 3;
                if (restore && dup2(ready[1], next++) < 0)
                        _exit(125);
                if (tap >= 0 && dup2(tap, next) < 0)
                        _exit(125);
                s.tap_fd = tap >= 0 ? next++ : 0;
                syscall(SYS_close_range, (unsigned) next, ~0U, 0);
                s.ready_fd = restore ? 3 : -1;
                vs_error *verr = NULL;
                int code = 0;
                if (vs_vm_run(&s, in_fd >= 0 ? 0 : -1, 1, 2, &code, &verr) < 0) {
                        if (restore)
                                dprintf(3, "%s", verr->msg);
                        dprintf(2, "vessel: %s\n", verr->msg);
                        vs_warn("%s", verr->msg);
                        _exit(125);
                }
                _exit(code);
        }
        if (restore && wait_restored(child, ready, pid, err) < 0)
                goto fail;
        /* Published ports answer on [::1] too, as a container's (the relay
         * ends with the launcher). */
        if (tap >= 0 && vs_net_proxy_spawn(e->data_root, c->id, child, err) < 0) {
                kill(child, SIGKILL);
                while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
                        ;
                goto fail;
        }
        *pid = child;
        return 0;
fail:;
        _cleanup_error_ vs_error *derr = NULL;
        if (cg)
                vs_vm_ctr_cgroup_release(c, &derr);
        return -1;
}
