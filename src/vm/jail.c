/* QEMU's jail (docs/vm.md, "The hypervisor's jail"), after Firecracker's
 * jailer: QEMU is what a hostile guest attacks, so it runs in a pid,
 * mount, network, IPC and UTS namespace of its own, in a root that holds
 * only what it needs (read-only /usr for its libraries and firmware, a few
 * device nodes, and under /vm the kernel, the initramfs, its console log,
 * the rootfs and volume directories, nosuid and nodev), with a capability
 * bounding set of the five file capabilities virtio-9p's passthrough needs
 * (no CAP_MKNOD: a guest cannot create device nodes on the host) and
 * no_new_privs; its own -sandbox seccomp filter follows. With jail_uid it
 * runs as root of a user namespace of its own (0-65535 there are an
 * unprivileged host range allocated per VM), and everything it opens is an
 * idmapped bind, so the guest's files keep the container's ids on disk.
 * Runs in the child
 * between clone3() and exec: failures end it with a message on stderr
 * (QEMU's log), which the launcher quotes. */
#include "vm/vm.h"
#include "runtime/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What virtio-9p's passthrough model needs to write files the way the
 * guest asks: ownership and modes of any uid's files. */
static const int kept_caps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
                                CAP_FSETID};

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        dprintf(2, "QEMU jail: %s: %s\n", msg, strerror(errno));
        _exit(127);
}

/* Ends the child with a vessel error's message (which names its cause). */
static void __attribute__((noreturn)) die_error(const vs_error *e)
{
        dprintf(2, "QEMU jail: %s\n", e->msg);
        _exit(127);
}

static void make_file(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                die("cannot create %s", path);
        close(fd);
}

/* Binds src at root+dst (a file or a directory, made first), with flags
 * (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC) applied by a remount; with
 * idmap_fd >= 0, an idmapped bind: the jail's root sees the file's owner 0
 * as its own 0. */
static void bind_as(const char *root, const char *src, const char *dst, unsigned long flags,
                    int idmap_fd)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", root, dst);
        struct stat st;
        if (stat(src, &st) < 0)
                die("%s", src);
        if (S_ISDIR(st.st_mode)) {
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        die("cannot create %s", path);
        } else {
                make_file(path);
        }
        if (idmap_fd >= 0) {
                vs_error *e = NULL;
                int tfd = vs_idmap_clone(AT_FDCWD, src, idmap_fd, src, &e);
                if (tfd < 0)
                        die_error(e);
                if (move_mount(tfd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        die("cannot bind %s", src);
                close(tfd);
        } else if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
                die("cannot bind %s", src);
        }
        if (flags && mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
                die("cannot make %s read-only/nosuid/nodev", path);
}

static void bind(const char *root, const char *src, const char *dst, unsigned long flags)
{
        bind_as(root, src, dst, flags, -1);
}

/* The OCI path's root, the caller's overlay (which cannot be idmapped):
 * another overlay of the same layers, each idmapped (oci_root.c). */
static void overlay_as(const char *root, const struct vs_vm_spec *s, int idmap_fd,
                       unsigned long flags)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", root, VS_VM_JAIL_ROOTFS);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                die("cannot create %s", path);
        vs_error *e = NULL;
        if (vs_vm_overlay_mount(s->root_overlay, path, idmap_fd, s->jail_uid, s->jail_gid, flags,
                                &e) < 0)
                die_error(e);
}

static void sub(char *buf, size_t size, const char *root, const char *p)
{
        snprintf(buf, size, "%s%s", root, p);
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                die("cannot create %s", buf);
}

/* Enters a user namespace of QEMU's own, waits for the launcher to map
 * it, and becomes its root: host uid jail_uid, no supplementary groups
 * (under KVM, the host's kvm group, mapped as 65536, for /dev/kvm). */
static void become_jail_root(const struct vs_vm_spec *s, int sync, int alive)
{
        char c = 'u';
        if (unshare(CLONE_NEWUSER) < 0)
                die("cannot create QEMU's user namespace");
        if (write(sync, &c, 1) != 1 || read(sync, &c, 1) != 1 || c != 'g')
                die("the launcher did not map QEMU's user namespace");
        gid_t kvm = 65536;
        bool use_kvm = strcmp(s->accel, "kvm") == 0;
        if (setgroups(use_kvm ? 1 : 0, &kvm) < 0 || setresgid(0, 0, 0) < 0 ||
            setresuid(0, 0, 0) < 0)
                die("cannot become root of QEMU's user namespace");
        /* A change of credentials cleared the parent-death signal. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct pollfd hup = {.fd = alive, .events = POLLIN};
        if (poll(&hup, 1, 0) != 0)
                _exit(1);
}

int vs_vm_jail_idmap_fd(const struct vs_vm_spec *s, vs_error **err)
{
        struct oci_id_mapping u = {0, s->jail_uid, VS_VM_JAIL_IDS};
        struct oci_id_mapping g = {0, s->jail_gid, VS_VM_JAIL_IDS};
        return vs_idmap_userns_fd(&u, 1, &g, 1, err);
}

int vs_vm_jail_map(const struct vs_vm_spec *s, pid_t pid, int sync, vs_error **err)
{
        char c;
        ssize_t n;
        while ((n = read(sync, &c, 1)) < 0 && errno == EINTR)
                ;
        if (n != 1)
                return vs_fail(err, "QEMU's jail failed before its user namespace (%s)",
                               s->qemu_log);
        struct oci_id_mapping u = {0, s->jail_uid, VS_VM_JAIL_IDS};
        struct oci_id_mapping g[2] = {{0, s->jail_gid, VS_VM_JAIL_IDS}};
        size_t ng = 1;
        struct stat st;
        if (strcmp(s->accel, "kvm") == 0 && stat("/dev/kvm", &st) == 0 && st.st_gid != 0)
                g[ng++] = (struct oci_id_mapping){VS_VM_JAIL_IDS, st.st_gid, 1};
        if (vs_idmap_write(pid, "uid_map", &u, 1, err) < 0 ||
            vs_idmap_write(pid, "gid_map", g, ng, err) < 0)
                return vs_error_wrap(err, "cannot map QEMU's user namespace");
        c = 'g';
        if (write(sync, &c, 1) != 1)
                return vs_fail_errno(err, "cannot start QEMU in its user namespace");
        return 0;
}

void vs_vm_jail_enter(const struct vs_vm_spec *s, const char *dir, int idmap_fd, int sync,
                      int alive)
{
        const unsigned long safe = MS_NOSUID | MS_NODEV;
        char p[4096];
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("cannot make the mounts private");
        if (mount("tmpfs", dir, "tmpfs", safe, "mode=0755,size=1m") < 0)
                die("cannot mount the jail's root on %s", dir);
        bind(dir, "/usr", "/usr", MS_RDONLY | MS_NOSUID | MS_NODEV);
        static const char *const links[][2] = {{"usr/bin", "/bin"},
                                               {"usr/lib", "/lib"},
                                               {"usr/lib64", "/lib64"},
                                               {"usr/sbin", "/sbin"}};
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                snprintf(p, sizeof(p), "%s%s", dir, links[i][1]);
                if (symlink(links[i][0], p) < 0)
                        die("cannot create %s", p);
        }
        sub(p, sizeof(p), dir, "/etc");
        if (access("/etc/ld.so.cache", R_OK) == 0)
                bind(dir, "/etc/ld.so.cache", "/etc/ld.so.cache", MS_RDONLY | safe);
        /* User-mode networking: libslirp's DNS forwarder relays to the
         * host's first nameserver, read from here (without it, to
         * 127.0.0.1). */
        if (s->netdev && strncmp(s->netdev, "user", 4) == 0 &&
            access("/etc/resolv.conf", R_OK) == 0)
                bind(dir, "/etc/resolv.conf", "/etc/resolv.conf", MS_RDONLY | safe);
        sub(p, sizeof(p), dir, "/dev");
        static const char *const nodes[] = {"/dev/null", "/dev/zero", "/dev/urandom",
                                            "/dev/random"};
        for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
                bind(dir, nodes[i], nodes[i], MS_NOSUID | MS_NOEXEC);
        if (strcmp(s->accel, "kvm") == 0)
                bind(dir, "/dev/kvm", "/dev/kvm", MS_NOSUID | MS_NOEXEC);
        sub(p, sizeof(p), dir, "/vm");
        if (strncmp(s->qemu, "/usr/", 5) != 0)
                bind(dir, s->qemu, VS_VM_JAIL_QEMU, MS_RDONLY | MS_NOSUID | MS_NODEV);
        /* With QEMU's own ids, what it opens is seen through them: host
         * root's files are its root's, the container's ids its own. */
        int idm = s->jail_uid ? idmap_fd : -1;
        bind_as(dir, s->kernel, VS_VM_JAIL_KERNEL, MS_RDONLY | safe | MS_NOEXEC, idm);
        bind_as(dir, s->initrd, VS_VM_JAIL_INITRD, MS_RDONLY | safe | MS_NOEXEC, idm);
        bind_as(dir, s->console_log, VS_VM_JAIL_CONSOLE, safe | MS_NOEXEC, idm);
        /* nodev: a device node in a hostile image opens nothing. */
        if (s->root_image)
                bind_as(dir, s->root_image, VS_VM_JAIL_ROOTIMG, safe | MS_NOEXEC, idm);
        else if (s->root_overlay && idm >= 0)
                overlay_as(dir, s, idm, safe | MS_NOEXEC);
        else
                bind_as(dir, s->rootfs, VS_VM_JAIL_ROOTFS, safe | MS_NOEXEC,
                        s->rootfs_mapped ? -1 : idm);
        for (size_t i = 0; s->shares && s->shares[i] && s->shares[i + 1]; i += 2) {
                const char *tag = s->shares[i];
                bool ro = strncmp(tag, "ro:", 3) == 0;
                char dst[256];
                snprintf(dst, sizeof(dst), "/vm/%s", ro ? tag + 3 : tag);
                /* A file is shared as the one entry "f" of a directory
                 * of its own (9p shares directories; the agent binds it). */
                struct stat st;
                if (stat(s->shares[i + 1], &st) < 0)
                        die("%s", s->shares[i + 1]);
                if (!S_ISDIR(st.st_mode)) {
                        sub(p, sizeof(p), dir, dst);
                        strcat(dst, "/f");
                }
                bind_as(dir, s->shares[i + 1], dst, safe | MS_NOEXEC | (ro ? MS_RDONLY : 0), idm);
        }
        sub(p, sizeof(p), dir, "/proc");
        if (mount("proc", p, "proc", safe | MS_NOEXEC, NULL) < 0)
                die("cannot mount /proc in the jail");
        if (chdir(dir) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
            umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                die("cannot enter the jail's root");
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | safe, NULL) < 0)
                die("cannot make the jail's root read-only");
        if (s->jail_uid)
                become_jail_root(s, sync, alive);
        /* Capabilities: after exec, root keeps exactly its bounding set. */
        uint64_t keep = 0;
        for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
                keep |= 1ULL << kept_caps[i];
        for (int cap = 0; cap < 64; cap++)
                if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        die("cannot drop capability %d", cap);
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {{0}};
        if (syscall(SYS_capget, &h, d) < 0)
                die("capget");
        d[0].inheritable = d[1].inheritable = 0;
        d[0].effective &= (uint32_t) keep;
        d[0].permitted &= (uint32_t) keep;
        d[1].effective = d[1].permitted = 0;
        if (syscall(SYS_capset, &h, d) < 0)
                die("capset");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                die("cannot clear the ambient capabilities");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                die("no_new_privs");
        /* No transparent huge pages (kept across exec): QEMU asks for them
         * on guest RAM and on TCG's translation cache (MADV_HUGEPAGE), and
         * then every page the guest touches costs the host 2 MiB; idle,
         * that doubled QEMU's PSS (docs/vm.md, "Host memory"). */
        if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
                die("cannot turn transparent huge pages off");
}
