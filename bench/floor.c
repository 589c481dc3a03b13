/* floor: the least work a container start needs, as the benchmarks' baseline.
 *
 *   floor [--full] ROOTFS /CMD [ARG...]
 *
 * Bare (default): clone() into new mount, pid, uts, ipc and net namespaces; in
 * the child make the mount tree private, bind ROOTFS onto itself, pivot_root
 * into it, detach the old root and exec CMD. No /proc, /dev, cgroups,
 * capabilities or config parsing.
 *
 * --full: the kernel work that `vessel spec`'s default config requires, done
 * the plainest way (mount(2) on paths, no fd-based resolution, no config
 * parsing, no state on disk, no synchronisation with a parent):
 *   parent  a cgroup directory in every hierarchy of /proc/self/cgroup,
 *           beneath this process's own cgroup there (where vessel puts the
 *           container's), cpuset.cpus/mems copied from the parent cgroup, the
 *           default device rules in a v1 devices cgroup; clone() as above;
 *           after the child ends, rmdir of those directories;
 *   child   joins the cgroups; / rslave; bind ROOTFS; hostname; proc, /dev
 *           tmpfs, devpts, /dev/shm, mqueue, read-only sysfs, a read-only
 *           tmpfs on /sys/fs/cgroup with a read-only bind of the container's
 *           cgroup of every hierarchy; the six default device nodes and the
 *           /dev symlinks; a cgroup namespace; pivot_root; the masked paths
 *           (read-only tmpfs on directories, /dev/null on files) and the
 *           read-only paths (bind + read-only remount); RLIMIT_NOFILE;
 *           no_new_privs; the bounding set and capabilities cut to the three
 *           defaults; exec.
 * Whatever a runtime spends beyond --full is the runtime's own overhead.
 *
 * The parent waits and exits with the child's status (128+N when the child
 * is killed by signal N; 125 when floor itself fails, 127/126 when CMD cannot
 * be executed).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOOR_FAILED    125
#define STACK_SIZE      (256 * 1024)
#define MAX_HIERARCHIES 32

/* One cgroup hierarchy: where it is mounted and the container's dir in it. */
struct hierarchy {
        char mountpoint[256]; /* e.g. /sys/fs/cgroup/memory */
        char parent[512];     /* this process's cgroup: mountpoint + own path */
        char dir[600];        /* parent/floor-PID */
        bool v2, cpuset, devices;
};

struct child_args {
        const char *rootfs;
        char **argv;
        bool full;
        struct hierarchy *h;
        size_t nh;
        bool in_v2; /* born in its cgroup2 directory (CLONE_INTO_CGROUP) */
};

/* The cgroups the parent created so far: removed when the parent fails. */
static pid_t parent_pid;
static struct hierarchy *created;
static size_t ncreated;

static int remove_cgroups(const struct hierarchy *h, size_t nh);

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        fputs("floor: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(saved));
        if (getpid() == parent_pid)
                remove_cgroups(created, ncreated);
        _exit(FLOOR_FAILED);
}

static void write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                die("cannot open %s", path);
        if (write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                die("cannot write '%s' to %s", text, path);
        close(fd);
}

static void read_file(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                die("cannot open %s", path);
        n = read(fd, buf, size - 1);
        if (n < 0)
                die("cannot read %s", path);
        buf[n] = '\0';
        close(fd);
}

/* --- parent: the container's cgroups ---------------------------------- */

/* The mount point of the hierarchy whose /proc/self/cgroup controller list
 * is controllers ("" for cgroup2), from mountinfo; false when unmounted. */
static bool find_mount(const char *mountinfo, const char *controllers, char *out, size_t size)
{
        const char *line = mountinfo;

        while (line != NULL && *line != '\0') {
                const char *end = strchr(line, '\n');
                char buf[1024], *field[16], *save = NULL, *dash;
                size_t nf = 0;

                snprintf(buf, sizeof(buf), "%.*s", (int) (end ? end - line : (long) strlen(line)),
                         line);
                line = end ? end + 1 : NULL;
                dash = strstr(buf, " - ");
                if (dash == NULL)
                        continue;
                *dash = '\0';
                for (char *t = strtok_r(buf, " ", &save); t && nf < 5;
                     t = strtok_r(NULL, " ", &save))
                        field[nf++] = t;
                char *fstype = strtok_r(dash + 3, " ", &save);
                strtok_r(NULL, " ", &save); /* source */
                char *opts = strtok_r(NULL, " ", &save);
                if (nf < 5 || fstype == NULL || opts == NULL || strcmp(field[3], "/") != 0)
                        continue;
                if (controllers[0] == '\0') {
                        if (strcmp(fstype, "cgroup2") != 0)
                                continue;
                } else {
                        char want[256], *c, *csave = NULL;
                        bool all = true;

                        if (strcmp(fstype, "cgroup") != 0)
                                continue;
                        snprintf(want, sizeof(want), "%s", controllers);
                        for (c = strtok_r(want, ",", &csave); c; c = strtok_r(NULL, ",", &csave)) {
                                char padded[300], o[1024];

                                snprintf(padded, sizeof(padded), ",%s,", c);
                                snprintf(o, sizeof(o), ",%s,", opts);
                                all = all && strstr(o, padded) != NULL;
                        }
                        if (!all)
                                continue;
                }
                snprintf(out, size, "%s", field[4]);
                return true;
        }
        return false;
}

static size_t find_hierarchies(struct hierarchy *h)
{
        static char mountinfo[1 << 16], cgroup[4096];
        size_t n = 0;
        char *save = NULL;

        read_file("/proc/self/mountinfo", mountinfo, sizeof(mountinfo));
        read_file("/proc/self/cgroup", cgroup, sizeof(cgroup));
        for (char *line = strtok_r(cgroup, "\n", &save); line && n < MAX_HIERARCHIES;
             line = strtok_r(NULL, "\n", &save)) {
                char *controllers = strchr(line, ':'), *path;

                if (controllers == NULL || (path = strchr(++controllers, ':')) == NULL)
                        continue;
                *path++ = '\0';
                if (!find_mount(mountinfo, controllers, h[n].mountpoint, sizeof(h[n].mountpoint)))
                        continue;
                snprintf(h[n].parent, sizeof(h[n].parent), "%s%s", h[n].mountpoint,
                         strcmp(path, "/") == 0 ? "" : path);
                snprintf(h[n].dir, sizeof(h[n].dir), "%s/floor-%d", h[n].parent, (int) getpid());
                h[n].v2 = controllers[0] == '\0';
                h[n].cpuset = strstr(controllers, "cpuset") != NULL;
                h[n].devices = strstr(controllers, "devices") != NULL;
                n++;
        }
        return n;
}

/* The device rules of vessel's default config: deny all, then runc's list. */
static const char *const device_rules[] = {
    "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
};

static void create_cgroups(struct hierarchy *h, size_t nh)
{
        char path[700], value[256];

        created = h;
        for (size_t i = 0; i < nh; i++) {
                if (mkdir(h[i].dir, 0755) < 0)
                        die("cannot create cgroup %s", h[i].dir);
                ncreated = i + 1;
                if (h[i].cpuset) {
                        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

                        for (int f = 0; f < 2; f++) {
                                snprintf(path, sizeof(path), "%s/%s", h[i].parent, files[f]);
                                read_file(path, value, sizeof(value));
                                snprintf(path, sizeof(path), "%s/%s", h[i].dir, files[f]);
                                write_file(path, value);
                        }
                }
                if (h[i].devices && !h[i].v2) {
                        snprintf(path, sizeof(path), "%s/devices.deny", h[i].dir);
                        write_file(path, "a");
                        snprintf(path, sizeof(path), "%s/devices.allow", h[i].dir);
                        int fd = open(path, O_WRONLY | O_CLOEXEC);
                        if (fd < 0)
                                die("cannot open %s", path);
                        /* One rule per write(), all through one open file. */
                        for (size_t r = 0; r < sizeof(device_rules) / sizeof(*device_rules); r++)
                                if (write(fd, device_rules[r], strlen(device_rules[r])) < 0)
                                        die("cannot write '%s' to %s", device_rules[r], path);
                        close(fd);
                }
        }
}

static int remove_cgroups(const struct hierarchy *h, size_t nh)
{
        int ret = 0;

        for (size_t i = nh; i-- > 0;)
                if (rmdir(h[i].dir) < 0) {
                        fprintf(stderr, "floor: cannot remove cgroup %s: %s\n", h[i].dir,
                                strerror(errno));
                        ret = -1;
                }
        return ret;
}

/* --- child: the container's mounts, devices and process --------------- */

static void mount_at(const char *rootfs, const char *target, const char *fstype,
                     unsigned long flags, const char *data)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", rootfs, target);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                die("cannot create %s", path);
        if (mount(fstype, path, fstype, flags, data) < 0)
                die("cannot mount %s on %s", fstype, path);
}

/* A bind mount made read-only (a bind ignores MS_RDONLY until remounted). */
static void bind_readonly(const char *source, const char *target)
{
        const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

        if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
                die("cannot bind %s on %s", source, target);
        if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | ro, NULL) < 0)
                die("cannot remount %s read-only", target);
}

static void mount_cgroups(const char *rootfs, const struct hierarchy *h, size_t nh)
{
        const unsigned long nsd = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        char path[4096];

        mount_at(rootfs, "sys/fs/cgroup", "tmpfs", nsd, "mode=755");
        for (size_t i = 0; i < nh; i++) {
                const char *base = strrchr(h[i].mountpoint, '/') + 1;

                snprintf(path, sizeof(path), "%s/sys/fs/cgroup/%s", rootfs, base);
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        die("cannot create %s", path);
                bind_readonly(h[i].dir, path);
        }
        snprintf(path, sizeof(path), "%s/sys/fs/cgroup", rootfs);
        if (mount(NULL, path, NULL, MS_REMOUNT | MS_RDONLY | nsd, "mode=755") < 0)
                die("cannot remount %s read-only", path);
}

static void make_devices(const char *rootfs)
{
        static const struct {
                const char *name;
                unsigned major, minor;
        } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                     {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
        static const char *const links[][2] = {
            {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
            {"pts/ptmx", "ptmx"},
        };
        char path[4096];
        int dev;

        snprintf(path, sizeof(path), "%s/dev", rootfs);
        dev = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dev < 0)
                die("cannot open %s", path);
        umask(0); /* the nodes' modes as given */
        for (size_t i = 0; i < sizeof(nodes) / sizeof(*nodes); i++)
                if (mknodat(dev, nodes[i].name, S_IFCHR | 0666,
                            makedev(nodes[i].major, nodes[i].minor)) < 0)
                        die("cannot create %s/%s", path, nodes[i].name);
        for (size_t i = 0; i < sizeof(links) / sizeof(*links); i++)
                if (symlinkat(links[i][0], dev, links[i][1]) < 0)
                        die("cannot create %s/%s", path, links[i][1]);
        umask(022);
        close(dev);
}

static const char *const masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
    "/sys/devices/virtual/tpm",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static void mask_and_protect(void)
{
        struct stat st;

        for (size_t i = 0; i < sizeof(masked_paths) / sizeof(*masked_paths); i++) {
                if (stat(masked_paths[i], &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (mount("tmpfs", masked_paths[i], "tmpfs",
                                  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                                die("cannot mask %s", masked_paths[i]);
                } else if (mount("/dev/null", masked_paths[i], NULL, MS_BIND, NULL) < 0) {
                        die("cannot mask %s", masked_paths[i]);
                }
        }
        for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(*readonly_paths); i++)
                if (access(readonly_paths[i], F_OK) == 0)
                        bind_readonly(readonly_paths[i], readonly_paths[i]);
}

/* Bounding set, then capabilities, cut to vessel spec's three. */
static void drop_capabilities(void)
{
        const unsigned long keep =
            1UL << CAP_AUDIT_WRITE | 1UL << CAP_KILL | 1UL << CAP_NET_BIND_SERVICE;
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2] = {{0}};
        char buf[16] = "";
        int last;

        read_file("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf));
        last = atoi(buf);
        for (int cap = 0; cap <= last; cap++)
                if (!(keep & (1UL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        die("cannot drop capability %d from the bounding set", cap);
        data[0].effective = data[0].permitted = (unsigned) keep;
        if (syscall(SYS_capset, &hdr, data) < 0)
                die("cannot set capabilities");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                die("cannot clear ambient capabilities");
}

static void full_setup(const struct child_args *args)
{
        const unsigned long nsd = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        const char *r = args->rootfs;
        char path[700];

        /* cgroup2 was joined at birth where clone3 could (in_v2). */
        for (size_t i = 0; i < args->nh; i++) {
                if (args->h[i].v2 && args->in_v2)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", args->h[i].dir,
                         args->h[i].v2 ? "cgroup.procs" : "tasks");
                write_file(path, "0");
        }
        if (sethostname("vessel", 6) < 0)
                die("cannot set the hostname");
        mount_at(r, "proc", "proc", 0, NULL);
        mount_at(r, "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
        mount_at(r, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620,gid=5");
        mount_at(r, "dev/shm", "tmpfs", nsd, "mode=1777,size=65536k");
        mount_at(r, "dev/mqueue", "mqueue", nsd, NULL);
        mount_at(r, "sys", "sysfs", MS_RDONLY | nsd, NULL);
        mount_cgroups(r, args->h, args->nh);
        make_devices(r);
        if (unshare(CLONE_NEWCGROUP) < 0)
                die("cannot create a cgroup namespace");
}

static void full_process(void)
{
        const struct rlimit nofile = {1024, 1024};

        mask_and_protect();
        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
                die("cannot set RLIMIT_NOFILE");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                die("cannot set no_new_privs");
        drop_capabilities();
}

static int child_main(void *data)
{
        const struct child_args *args = data;

        /* Keep the pivot and the detach below from propagating to the host. */
        if (mount(NULL, "/", NULL, MS_REC | (args->full ? MS_SLAVE : MS_PRIVATE), NULL) < 0)
                die("cannot make / rprivate");
        /* pivot_root needs the new root to be a mount point. */
        if (mount(args->rootfs, args->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                die("cannot bind-mount %s onto itself", args->rootfs);
        if (args->full)
                full_setup(args);
        if (chdir(args->rootfs) < 0)
                die("cannot chdir to %s", args->rootfs);
        /* pivot_root(".", ".") stacks the old root on top of the new one;
         * detaching "." then drops it without needing a put_old directory. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                die("cannot pivot_root into %s", args->rootfs);
        if (umount2(".", MNT_DETACH) < 0)
                die("cannot detach the old root after pivot_root into %s", args->rootfs);
        if (chdir("/") < 0)
                die("cannot chdir to / in %s", args->rootfs);
        if (args->full)
                full_process();
        execv(args->argv[0], args->argv);
        int saved = errno;
        fprintf(stderr, "floor: cannot execute %s in %s: %s\n", args->argv[0], args->rootfs,
                strerror(saved));
        _exit(saved == ENOENT ? 127 : 126);
}

/* --full: clone3() straight into the cgroup2 directory, as the cheapest way
 * in (no migration afterwards); the child runs on our stack, like fork().
 * Returns -1 with errno when the kernel cannot (then clone() below). */
static pid_t clone_into_cgroup(struct child_args *args, unsigned long flags)
{
        struct clone_args ca = {.flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD};
        int fd = -1;
        pid_t pid;

        for (size_t i = 0; i < args->nh && fd < 0; i++)
                if (args->h[i].v2)
                        fd = open(args->h[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ca.cgroup = (unsigned long long) fd;
        args->in_v2 = true;
        pid = (pid_t) syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid == 0)
                _exit(child_main(args));
        args->in_v2 = pid > 0;
        close(fd);
        return pid;
}

int main(int argc, char **argv)
{
        const int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
        static struct hierarchy hierarchies[MAX_HIERARCHIES];
        struct child_args args = {0};
        char *stack;
        pid_t pid;
        int status, first = 1;

        if (argc > 1 && strcmp(argv[1], "--full") == 0) {
                args.full = true;
                first = 2;
        }
        if (argc < first + 2 || argv[first + 1][0] != '/') {
                fprintf(stderr, "usage: %s [--full] ROOTFS /ABSOLUTE/CMD [ARG...]\n", argv[0]);
                return 2;
        }
        args.rootfs = argv[first];
        args.argv = &argv[first + 1];

        parent_pid = getpid();
        if (args.full) {
                args.h = hierarchies;
                args.nh = find_hierarchies(hierarchies);
                create_cgroups(args.h, args.nh);
        }
        stack = malloc(STACK_SIZE);
        if (stack == NULL) {
                fprintf(stderr, "floor: cannot allocate the child's stack: %s\n", strerror(errno));
                return FLOOR_FAILED;
        }
        pid = args.full ? clone_into_cgroup(&args, (unsigned long) flags) : -1;
        if (pid < 0)
                pid = clone(child_main, stack + STACK_SIZE, flags | SIGCHLD, &args);
        if (pid < 0) {
                fprintf(stderr, "floor: cannot clone into new namespaces: %s\n", strerror(errno));
                if (args.full)
                        remove_cgroups(args.h, args.nh);
                return FLOOR_FAILED;
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        fprintf(stderr, "floor: cannot wait for child %d: %s\n", (int) pid,
                                strerror(errno));
                        return FLOOR_FAILED;
                }
        }
        free(stack);
        if (args.full && remove_cgroups(args.h, args.nh) < 0)
                return FLOOR_FAILED;
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
