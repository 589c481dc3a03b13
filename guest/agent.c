/* vessel's guest agent: PID 1 of every microVM, run as /init from the
 * initramfs vessel generates (src/vm/initramfs.c). A static program that
 * links nothing of vessel: it talks to the host over one virtio-serial port
 * (guest/proto.h), mounts the container's rootfs the host shares over
 * virtio-9p, runs the container's process in it with the configuration the
 * host sends, relays its stdio and exit status, and ends the VM when the
 * process ends (a reboot, which QEMU's -no-reboot turns into its exit).
 *
 * Anything that goes wrong is reported to the host as an ERROR frame (and to
 * the serial console), then the VM ends: the agent never hangs. */
#include "proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <termios.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NEWROOT "/newroot"

static int ctl = -1;

static void power_off(void)
{
        sync();
        reboot(RB_AUTOBOOT);
        for (;;)
                pause();
}

static int write_all(int fd, const void *p, size_t n)
{
        const char *c = p;
        while (n > 0) {
                ssize_t w = write(fd, c, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                c += w;
                n -= (size_t) w;
        }
        return 0;
}

static int read_full(int fd, void *p, size_t n)
{
        char *c = p;
        size_t got = 0;
        while (got < n) {
                ssize_t r = read(fd, c + got, n - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -1;
                if (r == 0)
                        return got == 0 ? 0 : -1;
                got += (size_t) r;
        }
        return 1;
}

static int send_frame_to(unsigned session, int type, const void *data, size_t len)
{
        unsigned char h[VS_VM_FRAME_HEADER];
        vs_vm_frame_header(h, type, session, len);
        if (ctl < 0)
                return -1;
        if (write_all(ctl, h, sizeof(h)) < 0)
                return -1;
        return len ? write_all(ctl, data, len) : 0;
}

static int send_frame(int type, const void *data, size_t len)
{
        return send_frame_to(0, type, data, len);
}

/* 1: a frame (payload malloc'd, NUL-terminated); 0: EOF; -1: error. */
static int read_frame_from(unsigned *session, int *type, char **data, size_t *len)
{
        unsigned char h[VS_VM_FRAME_HEADER];
        int r = read_full(ctl, h, sizeof(h));
        if (r <= 0)
                return r;
        size_t n = vs_vm_frame_len(h);
        if (n > VS_VM_FRAME_MAX)
                return -1;
        char *buf = malloc(n + 1);
        if (buf == NULL || (n && read_full(ctl, buf, n) != 1)) {
                free(buf);
                return -1;
        }
        buf[n] = '\0';
        *type = h[0];
        *session = h[1];
        *data = buf;
        *len = n;
        return 1;
}

static int read_frame(int *type, char **data, size_t *len)
{
        unsigned session;
        return read_frame_from(&session, type, data, len);
}

/* Reports a setup failure to the host and the console, then ends the VM. */
static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        dprintf(STDERR_FILENO, "vessel-agent: %s\n", msg);
        if (getpid() != 1)
                _exit(125); /* a process being set up, not the agent */
        send_frame(VS_VM_ERROR, msg, strlen(msg));
        power_off();
        _exit(1);
}

static void mount_or_fail(const char *src, const char *dst, const char *type, unsigned long flags,
                          const char *data)
{
        mkdir(dst, 0755);
        if (mount(src, dst, type, flags, data) < 0)
                fail("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

/* The control port: the virtio-serial port the host named VS_VM_PORT_NAME.
 * Ports are announced asynchronously after the device probes: wait for it
 * (bounded; the host's boot timeout is the real limit). */
static int open_control_port(void)
{
        for (int attempt = 0; attempt < 2000; attempt++) {
                DIR *d = opendir("/sys/class/virtio-ports");
                struct dirent *de;
                while (d && (de = readdir(d)) != NULL) {
                        if (de->d_name[0] == '.')
                                continue;
                        char path[300], name[64] = "";
                        snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
                        int fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        ssize_t n = read(fd, name, sizeof(name) - 1);
                        close(fd);
                        if (n > 0 && name[n - 1] == '\n')
                                n--;
                        if (n <= 0)
                                continue;
                        name[n] = '\0';
                        if (strcmp(name, VS_VM_PORT_NAME) != 0)
                                continue;
                        snprintf(path, sizeof(path), "/dev/%s", de->d_name);
                        closedir(d);
                        int port = open(path, O_RDWR | O_CLOEXEC);
                        if (port < 0)
                                fail("cannot open the control port %s: %s", path, strerror(errno));
                        return port;
                }
                if (d)
                        closedir(d);
                usleep(5000);
        }
        dprintf(STDERR_FILENO, "vessel-agent: no virtio-serial port named %s\n", VS_VM_PORT_NAME);
        power_off();
        return -1;
}

struct config {
        char **argv, **envp;
        size_t argc, envc;
        const char *cwd, *hostname;
        uid_t uid;
        gid_t gid;
        gid_t groups[64];
        size_t ngroups;
        char *mounts[32]; /* "<tag>:<ro|rw>:<destination>" */
        size_t nmounts;
        const char *etc[3]; /* hostname, hosts, resolv.conf contents */
        bool has_caps, nnp;
        bool tty, open_stdin; /* exec requests: a pty; stdin forwarded */
        /* eth0's address, netmask and gateway (NULL: no NIC): libslirp's
         * with net=user, the leased ones on a vessel network's tap. */
        const char *net_addr, *net_mask, *net_gw;
        unsigned net_mtu; /* eth0's MTU (0: the driver's): the network's */
        /* eth0's IPv6 address, prefix length and gateway on a dual-stack
         * vessel network (NULL: none). */
        const char *net_addr6, *net_gw6;
        unsigned net_prefix6;
        bool root_block;        /* the rootfs is /dev/vda (ext4), not 9p */
        bool readonly;          /* the rootfs read-only (--read-only) */
        bool new_pid;           /* the process in a pid namespace of its own */
        unsigned long pids_max; /* the container's pids limit (0: none) */
        char *tmpfs[32];        /* "<MS_ flags>:<options>:<destination>" */
        size_t ntmpfs;
        char *masks[64], *ropaths[64]; /* maskedPaths, readonlyPaths */
        size_t nmasks, nropaths;
        unsigned short rows, cols;
        uint64_t caps[5]; /* bounding, effective, permitted, inheritable, ambient */
        struct {
                int resource;
                struct rlimit rl;
        } rlimits[32];
        size_t nrlimits;
        struct sock_filter *seccomp;
        unsigned short seccomp_len;
        unsigned seccomp_flags;
};

static const char *const cap_keys[5] = {"caps.bounding", "caps.effective", "caps.permitted",
                                        "caps.inheritable", "caps.ambient"};

static const char *const etc_names[3] = {"hostname", "hosts", "resolv.conf"};

static unsigned long parse_num(const char *key, const char *s)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end)
                fail("bad %s in the configuration: '%s'", key, s);
        return v;
}

static int hexval(char ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        return -1;
}

/* "<flags>:<hex of the sock_filter array>", compiled by the host. */
static void parse_seccomp(struct config *c, const char *v)
{
        char *end;
        c->seccomp_flags = (unsigned) strtoul(v, &end, 10);
        if (*end != ':')
                fail("bad seccomp program");
        const char *hex = end + 1;
        size_t n = strlen(hex) / 2;
        if (strlen(hex) % 2 || n % sizeof(struct sock_filter) || n == 0 ||
            n / sizeof(struct sock_filter) > BPF_MAXINSNS)
                fail("bad seccomp program length");
        unsigned char *b = malloc(n);
        if (b == NULL)
                fail("out of memory");
        for (size_t i = 0; i < n; i++) {
                int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        fail("bad seccomp program");
                b[i] = (unsigned char) (hi << 4 | lo);
        }
        c->seccomp = (struct sock_filter *) b;
        c->seccomp_len = (unsigned short) (n / sizeof(struct sock_filter));
}

static void parse_config(char *buf, size_t len, struct config *c)
{
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                if (buf[i] == '\0')
                        n++;
        c->argv = calloc(n + 1, sizeof(char *));
        c->envp = calloc(n + 1, sizeof(char *));
        if (c->argv == NULL || c->envp == NULL)
                fail("out of memory");
        c->cwd = "/";
        for (char *p = buf, *next; p < buf + len; p = next) {
                next = p + strlen(p) + 1;
                char *eq = strchr(p, '=');
                if (eq == NULL)
                        fail("bad configuration entry '%.64s'", p);
                *eq = '\0';
                const char *v = eq + 1;
                if (strcmp(p, "arg") == 0)
                        c->argv[c->argc++] = (char *) v;
                else if (strcmp(p, "env") == 0)
                        c->envp[c->envc++] = (char *) v;
                else if (strcmp(p, "cwd") == 0)
                        c->cwd = v;
                else if (strcmp(p, "hostname") == 0)
                        c->hostname = v;
                else if (strcmp(p, "uid") == 0)
                        c->uid = (uid_t) parse_num(p, v);
                else if (strcmp(p, "gid") == 0)
                        c->gid = (gid_t) parse_num(p, v);
                else if (strncmp(p, "caps.", 5) == 0) {
                        for (size_t i = 0; i < 5; i++)
                                if (strcmp(p, cap_keys[i]) == 0) {
                                        char *end;
                                        c->caps[i] = strtoull(v, &end, 16);
                                        if (*end)
                                                fail("bad %s '%s'", p, v);
                                        c->has_caps = true;
                                }
                } else if (strcmp(p, "nnp") == 0) {
                        c->nnp = true;
                } else if (strcmp(p, "net") == 0) {
                        if (strcmp(v, "user") == 0) {
                                c->net_addr = "10.0.2.15";
                                c->net_mask = "255.255.255.0";
                                c->net_gw = "10.0.2.2";
                        }
                } else if (strcmp(p, "net.addr") == 0) {
                        c->net_addr = v;
                } else if (strcmp(p, "net.mask") == 0) {
                        c->net_mask = v;
                } else if (strcmp(p, "net.gw") == 0) {
                        c->net_gw = v;
                } else if (strcmp(p, "net.mtu") == 0) {
                        c->net_mtu = (unsigned) strtoul(v, NULL, 10);
                } else if (strcmp(p, "net.addr6") == 0) {
                        c->net_addr6 = v;
                } else if (strcmp(p, "net.prefix6") == 0) {
                        c->net_prefix6 = (unsigned) strtoul(v, NULL, 10);
                } else if (strcmp(p, "net.gw6") == 0) {
                        c->net_gw6 = v;
                } else if (strcmp(p, "root") == 0) {
                        c->root_block = strcmp(v, "block") == 0;
                } else if (strcmp(p, "tty") == 0) {
                        c->tty = true;
                } else if (strcmp(p, "stdin") == 0) {
                        c->open_stdin = true;
                } else if (strcmp(p, "rows") == 0) {
                        c->rows = (unsigned short) parse_num(p, v);
                } else if (strcmp(p, "cols") == 0) {
                        c->cols = (unsigned short) parse_num(p, v);
                } else if (strcmp(p, "rlimit") == 0) {
                        unsigned long long soft, hard;
                        int res;
                        if (c->nrlimits == sizeof(c->rlimits) / sizeof(c->rlimits[0]) ||
                            sscanf(v, "%d:%llu:%llu", &res, &soft, &hard) != 3)
                                fail("bad rlimit '%s'", v);
                        c->rlimits[c->nrlimits].resource = res;
                        c->rlimits[c->nrlimits].rl.rlim_cur = soft;
                        c->rlimits[c->nrlimits].rl.rlim_max = hard;
                        c->nrlimits++;
                } else if (strcmp(p, "seccomp") == 0) {
                        parse_seccomp(c, v);
                } else if (strncmp(p, "etc.", 4) == 0) {
                        for (size_t i = 0; i < 3; i++)
                                if (strcmp(p + 4, etc_names[i]) == 0)
                                        c->etc[i] = v;
                } else if (strcmp(p, "mount") == 0) {
                        if (c->nmounts == sizeof(c->mounts) / sizeof(c->mounts[0]))
                                fail("too many volumes");
                        c->mounts[c->nmounts++] = (char *) v;
                } else if (strcmp(p, "pids") == 0) {
                        c->pids_max = parse_num(p, v);
                } else if (strcmp(p, "readonly") == 0) {
                        c->readonly = true;
                } else if (strcmp(p, "ns") == 0) {
                        c->new_pid |= strcmp(v, "pid") == 0;
                } else if (strcmp(p, "tmpfs") == 0) {
                        if (c->ntmpfs == sizeof(c->tmpfs) / sizeof(c->tmpfs[0]))
                                fail("too many tmpfs mounts");
                        c->tmpfs[c->ntmpfs++] = (char *) v;
                } else if (strcmp(p, "mask") == 0) {
                        if (c->nmasks == sizeof(c->masks) / sizeof(c->masks[0]))
                                fail("too many masked paths");
                        c->masks[c->nmasks++] = (char *) v;
                } else if (strcmp(p, "ropath") == 0) {
                        if (c->nropaths == sizeof(c->ropaths) / sizeof(c->ropaths[0]))
                                fail("too many read-only paths");
                        c->ropaths[c->nropaths++] = (char *) v;
                } else if (strcmp(p, "group") == 0) {
                        if (c->ngroups == sizeof(c->groups) / sizeof(c->groups[0]))
                                fail("too many additional groups");
                        c->groups[c->ngroups++] = (gid_t) parse_num(p, v);
                }
                /* Unknown keys: from a newer host; ignored. */
        }
        if (c->argc == 0)
                fail("no command in the configuration");
}

/* /dev for the process: a tmpfs with the usual nodes, not the guest's
 * devtmpfs (which holds the control port). */
static void populate_dev(void)
{
        mount_or_fail("tmpfs", NEWROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
                      "mode=755,size=65536k");
        static const struct {
                const char *name;
                unsigned maj, min;
        } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                     {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
        for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
                char path[64];
                snprintf(path, sizeof(path), NEWROOT "/dev/%s", nodes[i].name);
                if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
                        fail("cannot create %s: %s", path, strerror(errno));
                chmod(path, 0666);
        }
        mount_or_fail("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                      "newinstance,ptmxmode=0666,mode=620");
        symlink("pts/ptmx", NEWROOT "/dev/ptmx");
        mount_or_fail("shm", NEWROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      "mode=1777,size=65536k");
        symlink("/proc/self/fd", NEWROOT "/dev/fd");
        symlink("/proc/self/fd/0", NEWROOT "/dev/stdin");
        symlink("/proc/self/fd/1", NEWROOT "/dev/stdout");
        symlink("/proc/self/fd/2", NEWROOT "/dev/stderr");
}

static void mkdir_p(char *path);

/* Every 9p mount's options. cache=mmap: reads, writes and metadata still go
 * to the host at once (what the host's overlay shows is what the guest
 * wrote, for diff, commit and cp), but mmap'd files go through the guest's
 * page cache, with readahead: exec reads a binary in msize pieces instead
 * of a 9p round trip per 4 KiB page (docs/vm.md, "9p with cache=mmap"), and shared
 * writable mappings work (cache=none refuses them). Dirty mapped pages
 * reach the host on msync, munmap, or the agent's sync() before EXIT. */
#define P9_OPTS "trans=virtio,version=9p2000.L,msize=262144,access=client,cache=mmap"

/* A file bind (mode "ro-file"/"rw-file"): the host shares a directory
 * that holds only the file, as "f" (QEMU's jail binds it there); the share
 * is mounted under /vessel-files, outside the container's root, and its
 * "f" bound over a file made at the destination. */
static void bind_shared_file(const char *tag, unsigned long flags, char *path, const char *dst)
{
        char share[256], src[300];
        snprintf(share, sizeof(share), "/vessel-files/%s", tag);
        snprintf(src, sizeof(src), "%s/f", share);
        mkdir_p(share);
        if (mount(tag, share, "9p", flags, P9_OPTS) < 0)
                fail("cannot mount the file share %s for %s: %s", tag, dst, strerror(errno));
        char *slash = strrchr(path, '/');
        *slash = '\0';
        mkdir_p(path);
        *slash = '/';
        int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0)
                close(fd);
        if (mount(src, path, NULL, MS_BIND, NULL) < 0)
                fail("cannot bind the file %s: %s", dst, strerror(errno));
        if (flags & MS_RDONLY &&
            mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                fail("cannot make %s read-only: %s", dst, strerror(errno));
}

/* The container's volumes: 9p shares mounted at their destinations,
 * "<tag>:<ro|rw>[-file]:<destination>", in the container's order (a bind
 * inside another lands on it). */
static void mount_volumes(struct config *c)
{
        for (size_t i = 0; i < c->nmounts; i++) {
                char *tag = c->mounts[i];
                char *mode = strchr(tag, ':');
                char *dst = mode ? strchr(mode + 1, ':') : NULL;
                if (dst == NULL || dst[1] != '/')
                        fail("bad volume entry '%.64s'", tag);
                *mode++ = '\0';
                *dst++ = '\0';
                char path[4096];
                if (snprintf(path, sizeof(path), NEWROOT "%s", dst) >= (int) sizeof(path))
                        fail("volume destination too long");
                unsigned long flags = strncmp(mode, "ro", 2) == 0 ? MS_RDONLY : 0;
                if (strcmp(mode + 2, "-file") == 0) {
                        bind_shared_file(tag, flags, path, dst);
                        continue;
                }
                mkdir_p(path);
                if (mount(tag, path, "9p", flags, P9_OPTS) < 0)
                        fail("cannot mount the volume %s on %s: %s", tag, dst, strerror(errno));
        }
}

/* --tmpfs and --mount type=tmpfs: "<MS_ flags>:<options>:<destination>". */
static void mount_tmpfs(struct config *c)
{
        for (size_t i = 0; i < c->ntmpfs; i++) {
                char *v = c->tmpfs[i], *end;
                unsigned long flags = strtoul(v, &end, 10);
                char *opts = *end == ':' ? end + 1 : NULL;
                char *dst = opts ? strchr(opts, ':') : NULL;
                if (dst == NULL || dst[1] != '/')
                        fail("bad tmpfs entry '%.64s'", v);
                *dst++ = '\0';
                char path[4096];
                if (snprintf(path, sizeof(path), NEWROOT "%s", dst) >= (int) sizeof(path))
                        fail("tmpfs destination too long");
                mkdir_p(path);
                if (mount("tmpfs", path, "tmpfs", flags, *opts ? opts : NULL) < 0)
                        fail("cannot mount a tmpfs on %s: %s", dst, strerror(errno));
        }
        /* Last, over everything bound into it: the root alone turns
         * read-only, as with runc (volumes and tmpfs keep their modes). */
        if (c->readonly && mount(NULL, NEWROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                fail("cannot make the rootfs read-only: %s", strerror(errno));
}

/* /etc/hostname, /etc/hosts, /etc/resolv.conf: written into the
 * initramfs and bound over the rootfs's files, as the engine binds them
 * into a container. */
static void bind_etc_files(struct config *c)
{
        mkdir("/etc-vessel", 0755);
        mkdir(NEWROOT "/etc", 0755);
        for (size_t i = 0; i < 3; i++) {
                if (c->etc[i] == NULL)
                        continue;
                char src[64], dst[64];
                snprintf(src, sizeof(src), "/etc-vessel/%s", etc_names[i]);
                snprintf(dst, sizeof(dst), NEWROOT "/etc/%s", etc_names[i]);
                int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write_all(fd, c->etc[i], strlen(c->etc[i])) < 0)
                        fail("cannot write %s: %s", src, strerror(errno));
                close(fd);
                fd = open(dst, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd >= 0)
                        close(fd);
                if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
                        fail("cannot bind %s: %s", dst, strerror(errno));
        }
}

static void if_up(int sock, const char *name, const char *addr, const char *mask, unsigned mtu)
{
        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (mtu) {
                ifr.ifr_mtu = (int) mtu;
                if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
                        fail("cannot set the MTU of %s to %u: %s", name, mtu, strerror(errno));
        }
        if (addr) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &ifr.ifr_addr;
                sin->sin_family = AF_INET;
                inet_pton(AF_INET, addr, &sin->sin_addr);
                if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
                        fail("cannot set the address of %s: %s", name, strerror(errno));
                inet_pton(AF_INET, mask, &sin->sin_addr);
                if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0)
                        fail("cannot set the netmask of %s: %s", name, strerror(errno));
        }
        if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
                fail("no network interface %s: %s", name, strerror(errno));
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
                fail("cannot bring %s up: %s", name, strerror(errno));
}

/* The kernel's struct in6_ifreq (<linux/ipv6.h> clashes with libc's
 * <netinet/in.h>). */
struct agent_in6_ifreq {
        struct in6_addr addr;
        uint32_t prefixlen;
        int ifindex;
};

static void write_proc(const char *path, const char *value)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, value, strlen(value)) < 0)
                fail("cannot write %s: %s", path, strerror(errno));
        close(fd);
}

/* eth0's IPv6 address and default route, with the ioctls of the IPv4 side.
 * No duplicate address detection: the lease is the network's own, and a
 * tentative address could not be used for the second or so DAD takes (as
 * Docker's endpoints, added with IFA_F_NODAD). */
static void setup_ipv6(const struct config *c)
{
        write_proc("/proc/sys/net/ipv6/conf/eth0/accept_dad", "0");
        int sock = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                fail("cannot create an IPv6 socket: %s", strerror(errno));
        struct agent_in6_ifreq req = {.prefixlen = c->net_prefix6,
                                      .ifindex = (int) if_nametoindex("eth0")};
        if (req.ifindex == 0 || inet_pton(AF_INET6, c->net_addr6, &req.addr) != 1 ||
            c->net_prefix6 < 1 || c->net_prefix6 > 128)
                fail("bad IPv6 address '%s/%u' for eth0", c->net_addr6, c->net_prefix6);
        if (ioctl(sock, SIOCSIFADDR, &req) < 0)
                fail("cannot set the IPv6 address of eth0: %s", strerror(errno));
        if (c->net_gw6) {
                struct in6_rtmsg rt = {.rtmsg_flags = RTF_UP | RTF_GATEWAY,
                                       .rtmsg_metric = 1,
                                       .rtmsg_ifindex = req.ifindex};
                if (inet_pton(AF_INET6, c->net_gw6, &rt.rtmsg_gateway) != 1)
                        fail("bad IPv6 gateway '%s'", c->net_gw6);
                if (ioctl(sock, SIOCADDRT, &rt) < 0)
                        fail("cannot add the IPv6 default route: %s", strerror(errno));
        }
        close(sock);
}

/* lo, as in a container; with a NIC, eth0 with the configuration's
 * address and default route (user-mode networking: as QEMU's libslirp
 * expects it, 10.0.2.15/24 via 10.0.2.2; a vessel network: the lease). */
static void setup_network(const struct config *c)
{
        int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                fail("cannot create a socket: %s", strerror(errno));
        if_up(sock, "lo", NULL, NULL, 0);
        if (c->net_addr && c->net_mask) {
                if_up(sock, "eth0", c->net_addr, c->net_mask, c->net_mtu);
        }
        if (c->net_addr && c->net_gw) {
                struct rtentry rt = {0};
                struct sockaddr_in *gw = (struct sockaddr_in *) &rt.rt_gateway;
                struct sockaddr_in *dst = (struct sockaddr_in *) &rt.rt_dst;
                struct sockaddr_in *mask = (struct sockaddr_in *) &rt.rt_genmask;
                gw->sin_family = dst->sin_family = mask->sin_family = AF_INET;
                if (inet_pton(AF_INET, c->net_gw, &gw->sin_addr) != 1)
                        fail("bad gateway '%s'", c->net_gw);
                rt.rt_flags = RTF_UP | RTF_GATEWAY;
                if (ioctl(sock, SIOCADDRT, &rt) < 0)
                        fail("cannot add the default route: %s", strerror(errno));
        }
        close(sock);
        if (c->net_addr && c->net_addr6)
                setup_ipv6(c);
}

static void setup_rootfs(const struct config *c)
{
        /* A block root (--vm-rootfs=block) keeps the VM migratable: QEMU
         * refuses to migrate while a 9p share is mounted. noinit_itable:
         * the host made it with lazy inode tables, which need no zeroing. */
        if (c->root_block)
                mount_or_fail("/dev/vda", NEWROOT, "ext4", 0, "noinit_itable");
        else
                mount_or_fail(VS_VM_ROOTFS_TAG, NEWROOT, "9p", 0, P9_OPTS);
        mount_or_fail("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_or_fail("sysfs", NEWROOT "/sys", "sysfs",
                      MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
        populate_dev();
}

static void mkdir_p(char *path)
{
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
        }
        mkdir(path, 0755);
}

static void __attribute__((noreturn, format(printf, 1, 2))) child_fail(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        dprintf(2, "vessel: ");
        vdprintf(2, fmt, ap);
        dprintf(2, ": %s\n", strerror(errno));
        va_end(ap);
        _exit(125);
}

static void install_seccomp(const struct config *c)
{
        struct sock_fprog prog = {.len = c->seccomp_len, .filter = c->seccomp};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->seccomp_flags, &prog) < 0)
                child_fail("cannot install the seccomp filter");
}

/* As the runtime does on the host: rlimits, the capability bounding set,
 * the user (capabilities kept across the uid change), the capability sets,
 * no_new_privs, and seccomp (before the uid change when no_new_privs is
 * off, so that CAP_SYS_ADMIN allows it; last otherwise). */
static void apply_security(const struct config *c)
{
        for (size_t i = 0; i < c->nrlimits; i++)
                if (setrlimit(c->rlimits[i].resource, &c->rlimits[i].rl) < 0)
                        child_fail("cannot set rlimit %d", c->rlimits[i].resource);
        if (c->has_caps) {
                for (int cap = 0; cap < 64; cap++)
                        if (!(c->caps[0] & (1ULL << cap)) &&
                            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                                child_fail("cannot drop capability %d from the bounding set", cap);
                if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                        child_fail("PR_SET_KEEPCAPS");
        }
        if (c->seccomp && !c->nnp)
                install_seccomp(c);
        if (setgroups(c->ngroups, c->groups) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0)
                child_fail("cannot switch to user %u:%u", (unsigned) c->uid, (unsigned) c->gid);
        if (c->has_caps) {
                struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
                struct __user_cap_data_struct d[2] = {
                    {(uint32_t) c->caps[1], (uint32_t) c->caps[2], (uint32_t) c->caps[3]},
                    {(uint32_t) (c->caps[1] >> 32), (uint32_t) (c->caps[2] >> 32),
                     (uint32_t) (c->caps[3] >> 32)},
                };
                if (syscall(SYS_capset, &h, d) < 0)
                        child_fail("cannot set the capabilities");
                for (int cap = 0; cap < 64; cap++)
                        if ((c->caps[4] & (1ULL << cap)) &&
                            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                                child_fail("cannot raise ambient capability %d", cap);
        }
        if (c->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_fail("PR_SET_NO_NEW_PRIVS");
        if (c->seccomp && c->nnp)
                install_seccomp(c);
}

/* The process's stdio: a pty's slave (its controlling terminal) or the
 * three pipe ends. */
struct stdio {
        int in, out, err, slave;
};

/* Runs the process: the container's main process enters the rootfs in a
 * mount namespace of its own (mntns < 0); an exec'd process joins that
 * namespace (mntns: /proc/<main>/ns/mnt, whose root setns() resolves to
 * the rootfs mounted on top). */
/* In the main process's mount namespace, after it entered the rootfs: a
 * /proc of its own pid namespace (the agent's shows every guest process),
 * then the masked paths (a directory under an empty read-only tmpfs, a
 * file under /dev/null) and the read-only ones, as the runtime does. Exec
 * sessions join this namespace and see the same. */
static void isolate_paths(const struct config *c)
{
        if (c->new_pid &&
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                child_fail("cannot mount /proc for the pid namespace");
        for (size_t i = 0; i < c->nmasks; i++) {
                struct stat st;
                const char *m = c->masks[i];
                if (lstat(m, &st) < 0)
                        continue;
                int r = S_ISDIR(st.st_mode)
                            ? mount("tmpfs", m, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=0")
                            : mount("/dev/null", m, NULL, MS_BIND, NULL);
                if (r < 0)
                        child_fail("cannot mask %s", m);
        }
        for (size_t i = 0; i < c->nropaths; i++) {
                const char *m = c->ropaths[i];
                if (access(m, F_OK) < 0)
                        continue;
                if (mount(m, m, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, m, NULL,
                          MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          NULL) < 0)
                        child_fail("cannot make %s read-only", m);
        }
}

/* The container's cgroup in the guest (cgroup2 at /cgroup, outside the
 * container's root) when it has a pids limit: its processes, exec'd ones
 * too, join it before they enter the root, as a runtime puts a
 * container's processes in its cgroup; the agent stays outside. */
static int ctr_cgroup = -1; /* its cgroup.procs, open for writing */

static void write_cgroup_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
                fail("cannot write %s: %s", path, strerror(errno));
        close(fd);
}

static void setup_cgroup(const struct config *c)
{
        if (c->pids_max == 0)
                return;
        char num[24];
        snprintf(num, sizeof(num), "%lu", c->pids_max);
        mkdir("/cgroup", 0700);
        /* favordynmods: moving a process into a cgroup then takes no
         * grace period (the guest's processes join one each). */
        if (mount("cgroup2", "/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "favordynmods") < 0) /* a kernel before 6.0 has no such option */
                mount_or_fail("cgroup2", "/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              NULL);
        write_cgroup_file("/cgroup/cgroup.subtree_control", "+pids");
        if (mkdir("/cgroup/container", 0755) < 0 && errno != EEXIST)
                fail("cannot create the container's cgroup: %s", strerror(errno));
        write_cgroup_file("/cgroup/container/pids.max", num);
        ctr_cgroup = open("/cgroup/container/cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (ctr_cgroup < 0)
                fail("cannot open the container's cgroup: %s", strerror(errno));
}

static void __attribute__((noreturn))
exec_process(struct config *c, const struct stdio *io, int mntns)
{
        if (ctr_cgroup >= 0 && write(ctr_cgroup, "0", 1) != 1)
                child_fail("cannot join the container's cgroup");
        setsid();
        if (io->slave >= 0) {
                if (ioctl(io->slave, TIOCSCTTY, 0) < 0)
                        child_fail("cannot make the pty the controlling terminal");
                dup2(io->slave, 0);
                dup2(io->slave, 1);
                dup2(io->slave, 2);
        } else {
                dup2(io->in, 0);
                dup2(io->out, 1);
                dup2(io->err, 2);
        }
        if (mntns >= 0) {
                if (setns(mntns, CLONE_NEWNS) < 0)
                        child_fail("cannot enter the container's mount namespace");
        } else if (unshare(CLONE_NEWNS) < 0 ||
                   mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || chdir(NEWROOT) < 0 ||
                   mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
                /* Enter the rootfs as switch_root does (the initramfs cannot
                 * be pivoted away): in a mount namespace of its own, move it
                 * over "/" and chroot into it. Its root is then the top of
                 * the namespace, not a chroot, which the kernel requires for
                 * user namespaces. */
                child_fail("cannot enter the rootfs");
        }
        if (mntns < 0)
                isolate_paths(c);
        if (syscall(SYS_close_range, 3u, ~0u, 0) < 0)
                for (int fd = 3; fd < 1024; fd++)
                        close(fd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* A copy on the stack: this child shares the agent's heap. */
        char cwd[4096];
        if (snprintf(cwd, sizeof(cwd), "%s", c->cwd) < (int) sizeof(cwd) && chdir(cwd) < 0 &&
            errno == ENOENT)
                mkdir_p(cwd);
        if (chdir(c->cwd) < 0) {
                dprintf(2, "vessel: cannot change to the working directory %s: %s\n", c->cwd,
                        strerror(errno));
                _exit(125);
        }
        apply_security(c);
        extern char **environ;
        environ = c->envp;
        execvp(c->argv[0], c->argv);
        int e = errno;
        dprintf(2, "vessel: cannot run %s: %s\n", c->argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
}

/* The process is started as posix_spawn() does: a child that shares the
 * agent's memory, on a stack of its own, while the agent waits for its
 * exec. A fork() would copy the agent's page tables for the child to
 * discard at exec, and under TCG that and the copy-on-write faults after
 * cost ~5 ms of a VM's start (docs/vm.md, "Boot time"). The child changes
 * nothing the agent uses: its fds, signal mask, credentials and
 * namespaces are its own; environ is set only in it (and restored here). */
struct spawn_args {
        struct config *c;
        const struct stdio *io;
        int mntns;
};

static int spawn_child(void *arg)
{
        struct spawn_args *a = arg;
        exec_process(a->c, a->io, a->mntns);
}

static pid_t spawn_process(struct config *c, const struct stdio *io, int mntns)
{
        /* Sized as glibc's posix_spawn sizes its own: execvp runs a script
         * without #! through /bin/sh with an argument vector on this stack
         * (a pointer per argument), plus room for the rest; a guard page
         * below, so that an overflow is a fault, never the agent's memory. */
        long page = sysconf(_SC_PAGESIZE);
        size_t size = 256 * 1024 + (c->argc + 2) * sizeof(char *) + c->envc * sizeof(char *);
        size = (size + (size_t) page - 1) / (size_t) page * (size_t) page + (size_t) page;
        char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
                return -1;
        if (mprotect(stack, (size_t) page, PROT_NONE) < 0) {
                munmap(stack, size);
                return -1;
        }
        extern char **environ;
        char **env = environ;
        struct spawn_args a = {c, io, mntns};
        pid_t pid = clone(spawn_child, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
        int e = errno;
        environ = env;
        /* CLONE_VFORK: the child has exec'd or exited, its stack is free. */
        munmap(stack, size);
        errno = e;
        return pid;
}

/* One process the host follows: session 0 is the container's main
 * process, 1-255 processes `vessel exec` started. With a pty, out is its
 * master (in too) and err is -1. */
struct session {
        bool used, exited;
        pid_t pid;
        int in, out, err, master;
        int status;
};
static struct session sessions[256];

static void session_close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

/* A pty from the container's devpts instance, so that the process sees its
 * slave as /dev/pts/N. */
static int open_pty(unsigned short rows, unsigned short cols, int *slave)
{
        int master = open(NEWROOT "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return -1;
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
            (*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
                close(master);
                return -1;
        }
        if (rows && cols) {
                struct winsize ws = {.ws_row = rows, .ws_col = cols};
                ioctl(master, TIOCSWINSZ, &ws);
        }
        return master;
}

/* Starts the process of session id (its configuration c) with a pty or
 * pipes; mntns as for exec_process(). -1 with errno on failure. */
static int session_start(unsigned id, struct config *c, int mntns)
{
        struct session *s = &sessions[id];
        struct stdio io = {-1, -1, -1, -1};
        int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
        *s = (struct session){.used = true, .in = -1, .out = -1, .err = -1, .master = -1};
        if (c->tty) {
                s->master = open_pty(c->rows, c->cols, &io.slave);
                if (s->master < 0)
                        goto fail;
                s->in = s->out = s->master;
        } else {
                if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
                    pipe2(err, O_CLOEXEC) < 0)
                        goto fail;
                io.in = in[0];
                io.out = out[1];
                io.err = err[1];
                s->in = in[1];
                s->out = out[0];
                s->err = err[0];
        }
        s->pid = spawn_process(c, &io, mntns);
        if (s->pid < 0)
                goto fail;
        session_close_fd(&io.slave);
        session_close_fd(&in[0]);
        session_close_fd(&out[1]);
        session_close_fd(&err[1]);
        if (!c->tty && !c->open_stdin && id != 0)
                session_close_fd(&s->in);
        return 0;
fail:;
        int e = errno;
        for (int i = 0; i < 2; i++) {
                session_close_fd(&in[i]);
                session_close_fd(&out[i]);
                session_close_fd(&err[i]);
        }
        session_close_fd(&io.slave);
        session_close_fd(&s->master);
        s->used = false;
        errno = e;
        return -1;
}

/* An exec request (host -> guest VS_VM_EXEC on session id): the process
 * runs in the container's mount namespace with its own configuration
 * (built by the host, like CONFIG). Whatever fails is reported on the
 * session as stderr text and exit code 126. */
static void session_exec(unsigned id, char *data, size_t len)
{
        char msg[256] = "";
        struct config c = {0};
        char path[64];
        int mntns = -1;
        if (id == 0 || sessions[id].used || sessions[0].exited) {
                snprintf(msg, sizeof(msg), "vessel: exec: session %u is not free\n", id);
                goto fail;
        }
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) sessions[0].pid);
        mntns = open(path, O_RDONLY | O_CLOEXEC);
        if (mntns < 0) {
                snprintf(msg, sizeof(msg), "vessel: exec: %s: %s\n", path, strerror(errno));
                goto fail;
        }
        parse_config(data, len, &c);
        if (session_start(id, &c, mntns) < 0)
                snprintf(msg, sizeof(msg), "vessel: exec: cannot start the process: %s\n",
                         strerror(errno));
        free(c.argv);
        free(c.envp);
        free(c.seccomp);
        close(mntns);
        if (msg[0] == '\0')
                return;
fail:
        send_frame_to(id, VS_VM_STDERR, msg, strlen(msg));
        send_frame_to(id, VS_VM_EXIT, "126", 3);
}

/* "<MemTotal kB> <MemAvailable kB> <processes>": processes are those with
 * a command line (no kernel threads), the agent not counted. */
static void send_stats(unsigned id)
{
        unsigned long total = 0, avail = 0, procs = 0;
        FILE *f = fopen("/proc/meminfo", "re");
        char line[128];
        while (f && fgets(line, sizeof(line), f)) {
                sscanf(line, "MemTotal: %lu kB", &total);
                sscanf(line, "MemAvailable: %lu kB", &avail);
        }
        if (f)
                fclose(f);
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 1)
                        continue;
                char path[64], c;
                snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0 && read(fd, &c, 1) == 1)
                        procs++;
                if (fd >= 0)
                        close(fd);
        }
        if (d)
                closedir(d);
        char msg[96];
        int n = snprintf(msg, sizeof(msg), "%lu %lu %lu", total, avail, procs);
        send_frame_to(id, VS_VM_STATS, msg, (size_t) n);
}

/* The guest's processes for `vessel top` (guest/proto.h, VS_VM_TOP):
 * those with a command line (no kernel threads), the agent not counted. */
static void send_top(unsigned id)
{
        size_t cap = 65536, n = 0;
        char *out = malloc(cap);
        if (out == NULL)
                return;
        double up = 0;
        FILE *f = fopen("/proc/uptime", "re");
        if (f) {
                if (fscanf(f, "%lf", &up) != 1)
                        up = 0;
                fclose(f);
        }
        long hz = sysconf(_SC_CLK_TCK);
        n += (size_t) snprintf(out, cap, "%llu %ld\n", (unsigned long long) (up * (double) hz), hz);
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 1)
                        continue;
                char path[64], stat[1024], cmd[2048], status[4096];
                snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t cl = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
                if (fd >= 0)
                        close(fd);
                if (cl <= 0)
                        continue;
                for (ssize_t k = 0; k < cl; k++)
                        if (cmd[k] == '\0' || cmd[k] == '\n')
                                cmd[k] = ' ';
                while (cl > 0 && cmd[cl - 1] == ' ')
                        cl--;
                cmd[cl] = '\0';
                snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t sl = fd >= 0 ? read(fd, stat, sizeof(stat) - 1) : -1;
                if (fd >= 0)
                        close(fd);
                snprintf(path, sizeof(path), "/proc/%ld/status", pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t stl = fd >= 0 ? read(fd, status, sizeof(status) - 1) : -1;
                if (fd >= 0)
                        close(fd);
                if (sl <= 0 || stl <= 0)
                        continue;
                stat[sl] = status[stl] = '\0';
                char *rp = strrchr(stat, ')');
                int ppid = 0, tty = 0;
                unsigned long long ut = 0, st = 0, start = 0;
                unsigned uid = 0;
                char *u = strstr(status, "\nUid:");
                if (rp == NULL || u == NULL ||
                    sscanf(rp + 2,
                           "%*c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                           "%*d %*d %llu",
                           &ppid, &tty, &ut, &st, &start) != 5 ||
                    sscanf(u + 5, "%u", &uid) != 1)
                        continue;
                if (cap - n < sizeof(cmd) + 128) {
                        char *bigger = realloc(out, cap * 2);
                        if (bigger == NULL)
                                break;
                        out = bigger;
                        cap *= 2;
                }
                n += (size_t) snprintf(out + n, cap - n, "%ld %d %u %llu %llu %d %s\n", pid, ppid,
                                       uid, ut + st, start, tty, cmd);
        }
        if (d)
                closedir(d);
        send_frame_to(id, VS_VM_TOP, out, n);
        free(out);
}

static void session_frame(unsigned id, int type, char *data, size_t len)
{
        struct session *s = &sessions[id];
        if (type == VS_VM_TOP) {
                send_top(id);
                return;
        }
        if (type == VS_VM_EXEC) {
                session_exec(id, data, len);
                return;
        }
        if (type == VS_VM_STATS) {
                send_stats(id);
                return;
        }
        if (!s->used || s->exited)
                return;
        if (type == VS_VM_STDIN && s->in >= 0) {
                if (write_all(s->in, data, len) < 0 && s->master < 0)
                        session_close_fd(&s->in);
        } else if (type == VS_VM_STDIN_EOF && s->in >= 0 && s->master < 0) {
                session_close_fd(&s->in);
        } else if (type == VS_VM_RESIZE && s->master >= 0) {
                unsigned rows, cols;
                if (sscanf(data, "%u %u", &rows, &cols) == 2) {
                        struct winsize ws = {.ws_row = (unsigned short) rows,
                                             .ws_col = (unsigned short) cols};
                        ioctl(s->master, TIOCSWINSZ, &ws);
                }
        } else if (type == VS_VM_SIGNAL) {
                kill(s->pid, atoi(data));
        }
}

static void reap(void)
{
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
                for (unsigned i = 0; i < 256; i++) {
                        struct session *s = &sessions[i];
                        if (!s->used || s->exited || s->pid != w)
                                continue;
                        s->exited = true;
                        s->status = st;
                        if (s->master < 0)
                                session_close_fd(&s->in);
                        if (i == 0)
                                /* As for a container: when its init ends, so
                                 * does everything it started (and so the pipes
                                 * close). */
                                kill(-1, SIGKILL);
                }
        }
}

static int exit_code(int status)
{
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Relays the processes' output until the main process and everything it
 * left are gone; exec sessions end with an EXIT frame of their own. */
static int supervise(int sfd)
{
        char buf[32768];
        for (;;) {
                struct pollfd p[2 + 2 * 256];
                unsigned owner[2 + 2 * 256];
                size_t n = 0;
                p[n++] = (struct pollfd){.fd = ctl, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
                for (unsigned i = 0; i < 256; i++) {
                        struct session *s = &sessions[i];
                        if (!s->used)
                                continue;
                        if (s->exited && s->out < 0 && s->err < 0) {
                                if (i == 0)
                                        return exit_code(s->status);
                                char num[16];
                                snprintf(num, sizeof(num), "%d", exit_code(s->status));
                                send_frame_to(i, VS_VM_EXIT, num, strlen(num));
                                session_close_fd(&s->master);
                                s->in = -1;
                                s->used = false;
                                continue;
                        }
                        if (s->out >= 0) {
                                owner[n] = i;
                                p[n++] = (struct pollfd){.fd = s->out, .events = POLLIN};
                        }
                        if (s->err >= 0) {
                                owner[n] = i | 0x100;
                                p[n++] = (struct pollfd){.fd = s->err, .events = POLLIN};
                        }
                }
                if (poll(p, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        fail("poll: %s", strerror(errno));
                }
                if (p[0].revents) {
                        int type;
                        unsigned id;
                        char *data;
                        size_t len;
                        if (read_frame_from(&id, &type, &data, &len) <= 0) {
                                /* The host is gone: nobody to report to. */
                                kill(-1, SIGKILL);
                                power_off();
                        }
                        session_frame(id, type, data, len);
                        free(data);
                }
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                ;
                        reap();
                }
                for (size_t k = 2; k < n; k++) {
                        if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        struct session *s = &sessions[owner[k] & 0xff];
                        bool is_err = owner[k] & 0x100;
                        int *fd = is_err ? &s->err : &s->out;
                        if (*fd != p[k].fd)
                                continue;
                        ssize_t r = read(*fd, buf, sizeof(buf));
                        if (r > 0) {
                                send_frame_to(owner[k] & 0xff, is_err ? VS_VM_STDERR : VS_VM_STDOUT,
                                              buf, (size_t) r);
                        } else if (r == 0 || errno != EINTR) {
                                /* EOF, or EIO: a pty whose slave is closed. */
                                if (*fd == s->master) {
                                        s->out = s->in = -1;
                                        session_close_fd(&s->master);
                                } else {
                                        session_close_fd(fd);
                                }
                        }
                }
        }
}

/* Free page reporting (the balloon's, docs/vm.md "Host memory") hands
 * free blocks of at least 2^order pages back to the host. The kernel sets
 * the order to its pageblock order when the balloon registers (10 here:
 * 4 MiB), which leaves what a boot freed in smaller pieces touched on the
 * host; from this order on (128 KiB) they go back too. A kernel without
 * the balloon has no such file: nothing to do. */
#define PAGE_REPORTING_ORDER "5"

static void tune_memory(void)
{
        int fd = open("/sys/module/page_reporting/parameters/page_reporting_order",
                      O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (write(fd, PAGE_REPORTING_ORDER, 1) < 0)
                fprintf(stderr, "vessel agent: page_reporting_order: %s\n", strerror(errno));
        close(fd);
}

int main(void)
{
        /* The kernel gave us /dev/console from the initramfs as 0/1/2. */
        mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
        mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_or_fail("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        tune_memory();
        ctl = open_control_port();

        int type;
        char *data;
        size_t len;
        if (read_frame(&type, &data, &len) != 1 || type != VS_VM_CONFIG)
                fail("expected the configuration from the host first");
        struct config c = {0};
        parse_config(data, len, &c);
        if (c.hostname && sethostname(c.hostname, strlen(c.hostname)) < 0)
                fail("cannot set the hostname: %s", strerror(errno));
        setup_network(&c);
        setup_rootfs(&c);
        bind_etc_files(&c);
        mount_volumes(&c);
        mount_tmpfs(&c);
        setup_cgroup(&c);

        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set, NULL);
        int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                fail("cannot create a signalfd: %s", strerror(errno));
        /* The main process keeps its stdin open until the host's
         * STDIN_EOF (sent at once without -i). */
        c.open_stdin = true;
        /* The process (and what `exec` starts later) in a pid namespace
         * of its own: it is pid 1 there and cannot see or signal the
         * agent. The agent stays in the guest's. */
        if (c.new_pid && unshare(CLONE_NEWPID) < 0)
                fail("cannot create a pid namespace: %s", strerror(errno));
        send_frame(VS_VM_READY, NULL, 0);
        if (session_start(0, &c, -1) < 0)
                fail("cannot start the process: %s", strerror(errno));
        int code = supervise(sfd);

        /* Writes through 9p are synchronous; what shared mappings dirtied
         * (cache=mmap) and a block root's writes reach the host here. Then
         * report. The host kills the VM on EXIT; should it not, wait for its
         * ACK a bounded time and end the VM ourselves. */
        sync();
        char num[16];
        snprintf(num, sizeof(num), "%d", code);
        send_frame(VS_VM_EXIT, num, strlen(num));
        struct pollfd p = {.fd = ctl, .events = POLLIN};
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                long left = 5000 - ((now.tv_sec - start.tv_sec) * 1000 +
                                    (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0 || poll(&p, 1, (int) left) <= 0)
                        break;
                if (read_frame(&type, &data, &len) != 1)
                        break;
                free(data);
                if (type == VS_VM_ACK)
                        break;
        }
        power_off();
        return 0;
}
