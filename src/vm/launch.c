/* Boots one microVM with QEMU and relays its control channel until the
 * container's process ends (docs/vm.md). */
#include "vm/vm.h"
#include "../guest/proto.h"
#include "engine/engine.h"
#include "runtime/terminal.h"
#include "util/clock.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Loops per jiffy preset on the command line: under TCG the kernel's
 * calibrate_delay loop can spin forever waiting for jiffies to move
 * (DESIGN.md), and x86 delays use the TSC once it is calibrated, so the
 * value only skips the loop. */
#define GUEST_LPJ "4000000"

/* The guest kernel's command line (bench/vm-boot.sh's floor boots with the
 * same). rcu_expedited: every synchronize_rcu() in the guest is an
 * expedited grace period. The agent's cgroup set-up and each exit of a
 * process that held mount and pid namespaces wait for one, and a normal
 * grace period is one to three 10 ms ticks of the guest's HZ=100 (docs/vm.md,
 * "Boot time"). */
#define GUEST_CMDLINE                                                                              \
        "console=ttyS0 quiet panic=-1 reboot=t tsc=reliable rcupdate.rcu_expedited=1 "             \
        "lpj=" GUEST_LPJ

/* TCG's translation cache, in MiB (QEMU's default is 1 GiB). Every page of
 * it that fills stays resident for the VM's life; a bare boot fills ~19
 * MiB, a vessel run ~26. At 8 the cache is flushed and refilled during the
 * agent's work (boot 1.30x the floor, 72 MiB idle); at 16, 1.15x and 82
 * MiB (docs/vm.md, "Host memory"; bench/vm-boot.sh and vm-mem.sh read this
 * line). */
#define VS_VM_TB_SIZE_MIB 16
#define STR_(x)           #x
#define STR(x)            STR_(x)

static bool cpu_has_virt(void)
{
        _cleanup_free_ char *info = NULL;
        size_t n;
        if (vs_read_file("/proc/cpuinfo", &info, &n, NULL) < 0)
                return false;
        for (char *line = strtok(info, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "flags", 5) != 0)
                        continue;
                return strstr(line, " vmx") != NULL || strstr(line, " svm") != NULL;
        }
        return false;
}

const char *vs_vm_accel_detect(const char **why)
{
        const char *force = getenv("VESSEL_VM_ACCEL");
        if (force && (strcmp(force, "tcg") == 0 || strcmp(force, "kvm") == 0)) {
                *why = "set by VESSEL_VM_ACCEL";
                return force;
        }
        if (!cpu_has_virt()) {
                *why = "the CPU shows no vmx/svm: KVM cannot run guests here";
                return "tcg";
        }
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                *why = "/dev/kvm cannot be opened";
                return "tcg";
        }
        int v = ioctl(fd, KVM_GET_API_VERSION, 0);
        int vm = v == KVM_API_VERSION ? ioctl(fd, KVM_CREATE_VM, 0) : -1;
        close(fd);
        if (vm < 0) {
                *why = "/dev/kvm does not create VMs";
                return "tcg";
        }
        close(vm);
        *why = "vmx/svm and a working /dev/kvm";
        return "kvm";
}

int vs_vm_qemu_path(char **path, vs_error **err)
{
        const char *env = getenv("VESSEL_QEMU");
        if (env && *env) {
                if (access(env, X_OK) < 0)
                        /* errno-less: `run` would turn ENOENT into 127. */
                        return vs_fail(err, "QEMU %s (VESSEL_QEMU) cannot be run: %s", env,
                                       strerror(errno));
                *path = xstrdup(env);
                return 0;
        }
        *path = vs_find_program("qemu-system-x86_64");
        if (*path)
                return 0;
        return vs_fail(err, "QEMU is not installed: qemu-system-x86_64 is not in PATH "
                            "(install Debian's qemu-system-x86)");
}

/* QEMU's option syntax: a comma inside a value is written twice. */
static char *opt_escape(const char *v)
{
        size_t n = strlen(v), commas = 0;
        for (size_t i = 0; i < n; i++)
                commas += v[i] == ',';
        char *out = xmalloc(n + commas + 1), *o = out;
        for (size_t i = 0; i < n; i++) {
                *o++ = v[i];
                if (v[i] == ',')
                        *o++ = ',';
        }
        *o = '\0';
        return out;
}

static void add_share(char ***v, const char *id, const char *tag, const char *path, bool ro)
{
        _cleanup_free_ char *p = opt_escape(path);
        _cleanup_free_ char *fsdev = xasprintf("local,id=%s,path=%s,security_model=passthrough%s",
                                               id, p, ro ? ",readonly=on" : "");
        _cleanup_free_ char *dev = xasprintf("virtio-9p-device,fsdev=%s,mount_tag=%s", id, tag);
        strv_push(v, "-fsdev");
        strv_push(v, fsdev);
        strv_push(v, "-device");
        strv_push(v, dev);
}

static char **qemu_argv(const struct vs_vm_spec *s)
{
        bool kvm = strcmp(s->accel, "kvm") == 0;
        char **v = NULL;
        _cleanup_free_ char *mem = xasprintf("%u", s->mem_mib);
        _cleanup_free_ char *smp = xasprintf("%u", s->cpus);
        /* Paths as QEMU sees them in its jail (src/vm/jail.c). */
        _cleanup_free_ char *serial = xasprintf("file:%s", VS_VM_JAIL_CONSOLE);
        _cleanup_free_ char *where = opt_escape(s->jail_dir);
        _cleanup_free_ char *name =
            xasprintf("vessel,debug-threads=off,process=vessel-vm:%s", where);
        const char *fixed[] = {
            s->qemu,
            "-M",
            /* No ACPI: QEMU lists the virtio-mmio devices on the kernel
             * command line and SMP comes from the MP table. */
            "microvm,acpi=off,x-option-roms=off,rtc=on",
            "-accel",
            kvm ? "kvm" : "tcg,tb-size=" STR(VS_VM_TB_SIZE_MIB),
            "-cpu",
            kvm ? "host" : "max",
            "-m",
            mem,
            "-smp",
            smp,
            "-nodefaults",
            "-no-user-config",
            "-nographic",
            "-no-reboot",
            "-kernel",
            VS_VM_JAIL_KERNEL,
            "-initrd",
            VS_VM_JAIL_INITRD,
            /* Names the container's directory in ps (the paths above do
             * not). */
            "-name",
            name,
            "-append",
            GUEST_CMDLINE,
            "-serial",
            serial,
            "-device",
            "virtio-serial-device,max_ports=2",
            "-chardev",
            "socket,id=ctl,fd=3",
            "-device",
            "virtserialport,chardev=ctl,name=" VS_VM_PORT_NAME,
            /* The guest hands the pages it frees back to the host (free
             * page reporting): QEMU's memory follows what the guest uses,
             * not what its boot once touched. */
            "-device",
            "virtio-balloon-device,free-page-reporting=on",
            /* QMP on fd 4, for the launcher alone (pause, resume). */
            "-chardev",
            "socket,id=qmp,fd=4",
            "-mon",
            "chardev=qmp,mode=control",
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            NULL,
        };
        for (size_t i = 0; fixed[i]; i++)
                strv_push(&v, fixed[i]);
        if (s->netdev) {
                strv_push(&v, "-netdev");
                strv_push(&v, s->netdev);
                strv_push(&v, "-device");
                char *dev = s->mac ? xasprintf("virtio-net-device,netdev=net0,mac=%s", s->mac)
                                   : xstrdup("virtio-net-device,netdev=net0");
                strv_push(&v, dev);
                free(dev);
        }
        if (s->root_image) {
                /* aio=threads: no io_uring/native AIO for QEMU's seccomp. */
                strv_push(&v, "-drive");
                strv_push(&v, "file=" VS_VM_JAIL_ROOTIMG
                              ",if=none,id=rootdisk,format=raw,aio=threads,discard=unmap");
                strv_push(&v, "-device");
                strv_push(&v, "virtio-blk-device,drive=rootdisk");
        } else {
                add_share(&v, "root", VS_VM_ROOTFS_TAG, VS_VM_JAIL_ROOTFS, false);
        }
        if (s->restore_state) {
                /* The stream's file is QEMU's fd 5 (spawn_qemu). */
                strv_push(&v, "-incoming");
                strv_push(&v, "fd:5");
        }
        for (size_t i = 0; s->shares && s->shares[i] && s->shares[i + 1]; i += 2) {
                const char *tag = s->shares[i];
                bool ro = strncmp(tag, "ro:", 3) == 0;
                if (ro)
                        tag += 3;
                _cleanup_free_ char *path = xasprintf("/vm/%s", tag);
                add_share(&v, tag, tag, path, ro);
        }
        return v;
}

/* The last non-empty line of a log file, for error messages. */
static char *last_line(const char *path)
{
        _cleanup_free_ char *text = NULL;
        size_t n;
        if (path == NULL || vs_read_file(path, &text, &n, NULL) < 0)
                return NULL;
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
                text[--n] = '\0';
        if (n == 0)
                return NULL;
        char *nl = strrchr(text, '\n');
        char *line = nl ? nl + 1 : text;
        if (*line == '\r')
                line++;
        return xstrdup(line);
}

static pid_t spawn_qemu(const struct vs_vm_spec *s, int ctl, int qmp, int *alive_w, vs_error **err)
{
        _cleanup_close_ int state = -1;
        if (s->restore_state) {
                state = open(s->restore_state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (state < 0)
                        return vs_fail_errno(err, "cannot open the checkpoint %s",
                                             s->restore_state);
        }
        _cleanup_strv_ char **argv = qemu_argv(s);
        _cleanup_close_ int log = open(s->qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log < 0)
                return vs_fail_errno(err, "cannot create %s", s->qemu_log);
        _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return vs_fail_errno(err, "cannot open /dev/null");
        _cleanup_free_ char *cmd = vs_command_string(argv[0], argv + 1);
        vs_debug("vm: %s", cmd);
        /* The serial console's file exists before the jail binds it. */
        _cleanup_close_ int con =
            open(s->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (con < 0)
                return vs_fail_errno(err, "cannot create %s", s->console_log);
        if (mkdir(s->jail_dir, 0700) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create %s", s->jail_dir);
        /* Our end stays open while we live: the child sees it hang up if we
         * died before its PR_SET_PDEATHSIG (getppid() says nothing across
         * the pid namespace). */
        int alive[2];
        if (pipe2(alive, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        /* QEMU's own ids (jail.c): the namespace for its idmapped binds,
         * and a channel to map its user namespace. */
        _cleanup_close_ int idmap = -1, sync_p = -1, sync_c = -1;
        if (s->jail_uid) {
                int sp[2];
                idmap = vs_vm_jail_idmap_fd(s, err);
                if (idmap < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
                        close(alive[0]);
                        close(alive[1]);
                        return idmap < 0 ? -1 : vs_fail_errno(err, "cannot create a socket pair");
                }
                sync_p = sp[0];
                sync_c = sp[1];
        }
        /* Its own pid, mount, IPC, UTS (and without a NIC, network)
         * namespaces (the jail). */
        struct clone_args ca = {
            /* User-mode networking needs the host's network namespace;
             * a tap's fd works from an empty one. */
            .flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
                     (s->netdev && strncmp(s->netdev, "user", 4) == 0 ? 0 : CLONE_NEWNET),
            .exit_signal = SIGCHLD,
        };
        pid_t pid = (pid_t) syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid < 0) {
                close(alive[0]);
                close(alive[1]);
                return vs_fail_errno(err, "cannot start QEMU in new namespaces");
        }
        if (pid == 0) {
                /* QEMU never outlives whoever started it. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(alive[1]);
                struct pollfd hup = {.fd = alive[0], .events = POLLIN};
                if (poll(&hup, 1, 0) != 0)
                        _exit(1);
                dup2(null, 0);
                dup2(null, 1);
                dup2(log, 2);
                /* The control channel on 3, QMP on 4 (through fds above
                 * both, so that neither overwrites the other). */
                int hi_ctl = fcntl(ctl, F_DUPFD_CLOEXEC, 10);
                int hi_qmp = fcntl(qmp, F_DUPFD_CLOEXEC, 10);
                int hi_state = state >= 0 ? fcntl(state, F_DUPFD_CLOEXEC, 10) : -1;
                int hi_tap = s->tap_fd > 0 ? fcntl(s->tap_fd, F_DUPFD_CLOEXEC, 10) : -1;
                if (hi_ctl < 0 || hi_qmp < 0 || dup2(hi_ctl, 3) < 0 || dup2(hi_qmp, 4) < 0)
                        _exit(127);
                if (state >= 0 && (hi_state < 0 || dup2(hi_state, 5) < 0))
                        _exit(127);
                /* A vessel network's tap. */
                if (s->tap_fd > 0 && (hi_tap < 0 || dup2(hi_tap, VS_VM_TAP_FD) < 0))
                        _exit(127);
                /* Closed at exec: the jail still needs its own fds. */
                syscall(SYS_close_range,
                        s->tap_fd > 0 ? VS_VM_TAP_FD + 1
                        : state >= 0  ? 6
                                      : 5,
                        ~0U, CLOSE_RANGE_CLOEXEC);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                vs_vm_jail_enter(s, s->jail_dir, idmap, sync_c, alive[0]);
                /* Under /usr (Debian's): its own path, from which QEMU finds
                 * its firmware (../share/qemu); otherwise the bound copy. */
                execv(strncmp(s->qemu, "/usr/", 5) == 0 ? s->qemu : VS_VM_JAIL_QEMU, argv);
                dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(alive[0]);
        *alive_w = alive[1];
        /* The child's end: a jail that fails before its user namespace
         * then reads as end of file, not as a wait for ever. */
        if (sync_c >= 0)
                close(steal_fd(sync_c));
        if (s->jail_uid && vs_vm_jail_map(s, pid, sync_p, err) < 0) {
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                /* The jail's own words, when it said why. */
                _cleanup_free_ char *why = last_line(s->qemu_log);
                if (why && strncmp(why, "QEMU jail: ", 11) == 0) {
                        vs_error_free(err);
                        vs_fail(err, "%s", why);
                }
                close(alive[1]);
                *alive_w = -1;
                return -1;
        }
        return pid;
}

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* Frames on the control channel carry a session number in the header's
 * second byte (guest/proto.h); the engine's framing leaves it 0. */
static int ctl_write(int fd, int type, unsigned session, const void *data, size_t len)
{
        unsigned char h[VS_VM_FRAME_HEADER];
        vs_vm_frame_header(h, type, session, len);
        if (vs_write_all(fd, h, sizeof(h)) < 0)
                return -1;
        return len ? vs_write_all(fd, data, len) : 0;
}

static int read_exact(int fd, void *p, size_t n)
{
        size_t got = 0;
        while (got < n) {
                ssize_t r = read(fd, (char *) p + got, n - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return r == 0 && got == 0 ? 0 : -1;
                got += (size_t) r;
        }
        return 1;
}

/* One frame from the guest (hostile: the length is bounded); 1, 0 at EOF,
 * -1 on error. */
static int ctl_read(int fd, int *type, unsigned *session, char **data, size_t *len)
{
        unsigned char h[VS_VM_FRAME_HEADER];
        int r = read_exact(fd, h, sizeof(h));
        if (r <= 0)
                return r;
        size_t n = vs_vm_frame_len(h);
        if (n > VS_VM_FRAME_MAX)
                return -1;
        char *buf = xmalloc(n + 1);
        if (n && read_exact(fd, buf, n) != 1) {
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

#define MAX_SESSIONS 256

struct relay {
        const struct vs_vm_spec *s;
        int ctl, in_fd, out_fd, err_fd, sfd;
        int listen_fd; /* exec requests (<sock_dir>/vm.sock); -1: none */
        struct vs_qmp qmp;
        bool paused;
        int clients[MAX_SESSIONS]; /* exec clients by session; 0 unused (main) */
        pid_t qemu;
        int qemu_status;
        bool qemu_exited, ready, exited;
        int exit_code;
        char *guest_error;
};

static void reap_qemu(struct relay *r)
{
        int st;
        if (!r->qemu_exited && waitpid(r->qemu, &st, WNOHANG) == r->qemu) {
                r->qemu_exited = true;
                r->qemu_status = st;
        }
}

static void client_close(struct relay *r, unsigned id)
{
        if (r->clients[id] >= 0)
                close(r->clients[id]);
        r->clients[id] = -1;
}

/* A frame of an exec session: to its client, if it is still there. */
static void session_output(struct relay *r, int type, unsigned id, const char *data, size_t len)
{
        if (id == 0 || id >= MAX_SESSIONS || r->clients[id] < 0)
                return;
        if (type == VS_VM_STATS || type == VS_VM_TOP) {
                ctl_write(r->clients[id], type, 0, data, len);
                client_close(r, id);
                return;
        }
        if (type != VS_VM_STDOUT && type != VS_VM_STDERR && type != VS_VM_EXIT)
                return;
        if (type == VS_VM_EXIT) {
                /* Hostile: a code outside 0-255 becomes 255. */
                char *end;
                long code = strtol(data, &end, 10);
                char num[8];
                int n =
                    snprintf(num, sizeof(num), "%ld",
                             end != data && *end == '\0' && code >= 0 && code <= 255 ? code : 255L);
                ctl_write(r->clients[id], VS_FRAME_EXIT, 0, num, (size_t) n);
                client_close(r, id);
                return;
        }
        if (ctl_write(r->clients[id], type, 0, data, len) < 0)
                client_close(r, id);
}

/* Handles one frame from the guest; -1 when the channel ended. */
static int guest_frame(struct relay *r)
{
        int type;
        unsigned session;
        char *data = NULL;
        size_t len = 0;
        int fr = ctl_read(r->ctl, &type, &session, &data, &len);
        if (fr <= 0)
                return -1;
        if (session != 0) {
                session_output(r, type, session, data, len);
                free(data);
                return 0;
        }
        switch (type) {
        case VS_VM_STDOUT:
                vs_write_all(r->out_fd, data, len);
                break;
        case VS_VM_STDERR:
                vs_write_all(r->err_fd, data, len);
                break;
        case VS_VM_READY:
                r->ready = true;
                break;
        case VS_VM_EXIT: {
                char *end;
                long code = strtol(data, &end, 10);
                r->exit_code =
                    (end != data && *end == '\0' && code >= 0 && code <= 255) ? (int) code : 255;
                r->exited = true;
                break;
        }
        case VS_VM_ERROR:
                free(r->guest_error);
                /* Printable characters only: the guest is not trusted. */
                for (size_t i = 0; i < len; i++)
                        if ((unsigned char) data[i] < 0x20 || (unsigned char) data[i] == 0x7f)
                                data[i] = '?';
                r->guest_error = steal_ptr(data);
                break;
        default:
                break; /* unknown types from the guest are ignored */
        }
        free(data);
        return 0;
}

/* With a pty (-t), stdin is its slave and our controlling terminal: the
 * monitor sets its size, we get SIGWINCH and tell the guest. */
static void send_winsize(struct relay *r)
{
        struct winsize ws;
        if (!r->s->tty || r->in_fd < 0 || ioctl(r->in_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
                return;
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%u %u", ws.ws_row, ws.ws_col);
        ctl_write(r->ctl, VS_VM_RESIZE, 0, buf, (size_t) n);
}

/* pause/unpause requests: QMP stop/cont. */
static int set_paused(struct relay *r, bool pause, vs_error **err)
{
        if (r->paused == pause)
                return 0;
        if (vs_qmp_execute(&r->qmp, pause ? "stop" : "cont", err) < 0)
                return -1;
        r->paused = pause;
        return 0;
}

static void forward_signals(struct relay *r)
{
        struct signalfd_siginfo si;
        while (read(r->sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGCHLD) {
                        reap_qemu(r);
                        continue;
                }
                if (si.ssi_signo == SIGWINCH) {
                        send_winsize(r);
                        continue;
                }
                /* A paused VM cannot take it: continue it first (as a frozen
                 * container is thawed after a signal). */
                _cleanup_error_ vs_error *perr = NULL;
                if (set_paused(r, false, &perr) < 0)
                        vs_warn("%s", perr->msg);
                char num[16];
                int n = snprintf(num, sizeof(num), "%u", si.ssi_signo);
                vs_frame_write(r->ctl, (enum vs_frame_type) VS_VM_SIGNAL, num, (size_t) n);
        }
}

static void copy_stdin(struct relay *r)
{
        char buf[16384];
        ssize_t n = read(r->in_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
                return;
        if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                        return;
                vs_frame_write(r->ctl, (enum vs_frame_type) VS_VM_STDIN_EOF, NULL, 0);
                r->in_fd = -1;
                return;
        }
        vs_frame_write(r->ctl, (enum vs_frame_type) VS_VM_STDIN, buf, (size_t) n);
}

static void answer_pause(struct relay *r, int fd, bool pause)
{
        _cleanup_error_ vs_error *perr = NULL;
        if (set_paused(r, pause, &perr) < 0) {
                ctl_write(fd, VS_FRAME_STDERR, 0, perr->msg, strlen(perr->msg));
                ctl_write(fd, VS_FRAME_EXIT, 0, "1", 1);
                return;
        }
        ctl_write(fd, VS_FRAME_EXIT, 0, "0", 1);
}

/* QEMU migrates the stopped VM into fd (a regular file): RAM and device
 * state, in one pass (the VM does not run, so nothing is re-sent). */
static int migrate_to(struct relay *r, int fd, vs_error **err)
{
        /* The default bandwidth cap (32 MiB/s) is for live migration over a
         * network; a file takes what the disk gives. */
        if (vs_qmp_call(&r->qmp, "migrate-set-parameters", "{\"max-bandwidth\":1099511627776}", -1,
                        NULL, err) < 0 ||
            vs_qmp_call(&r->qmp, "getfd", "{\"fdname\":\"vessel-ckpt\"}", fd, NULL, err) < 0 ||
            vs_qmp_call(&r->qmp, "migrate", "{\"uri\":\"fd:vessel-ckpt\"}", -1, NULL, err) < 0)
                return -1;
        for (int64_t deadline = vs_monotonic_ms() + 600000; vs_monotonic_ms() < deadline;) {
                _cleanup_json_ json_object *st = NULL;
                if (vs_qmp_call(&r->qmp, "query-migrate", NULL, -1, &st, err) < 0)
                        return -1;
                const char *status = json_object_get_string(json_object_object_get(st, "status"));
                if (status && strcmp(status, "completed") == 0)
                        return 0;
                if (status && (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0)) {
                        const char *why =
                            json_object_get_string(json_object_object_get(st, "error-desc"));
                        return vs_fail(err, "QEMU could not save the VM: %s", why ? why : status);
                }
                usleep(5000);
        }
        return vs_fail(err, "QEMU did not save the VM within 600 s");
}

static void answer_error(int fd, const char *msg)
{
        ctl_write(fd, VS_FRAME_STDERR, 0, msg, strlen(msg));
        ctl_write(fd, VS_FRAME_EXIT, 0, "1", 1);
}

/* A checkpoint request (guest/proto.h, VS_VM_CHECKPOINT): stop the VM,
 * take what QEMU had already passed on of the guest's output, migrate into
 * the client's file, then end or continue as the client says. An attached
 * exec client would lose its session: refused, as podman refuses a
 * checkpoint with exec sessions. */
static void answer_checkpoint(struct relay *r, int fd)
{
        /* The file comes as SCM_RIGHTS on a 1-byte message after the
         * request (nothing else is sent until we answer). */
        _cleanup_close_ int state = vs_recv_fd(fd, NULL);
        if (state < 0) {
                answer_error(fd, "checkpoint: no file for the VM's state");
                return;
        }
        for (unsigned i = 1; i < MAX_SESSIONS; i++)
                if (r->clients[i] >= 0) {
                        answer_error(fd, "the VM has exec sessions attached: wait for them to end");
                        return;
                }
        bool was_paused = r->paused;
        _cleanup_error_ vs_error *e = NULL;
        if (set_paused(r, true, &e) < 0) {
                answer_error(fd, e->msg);
                return;
        }
        /* The guest is stopped: what is in the channel now is all there is
         * until it runs again. */
        struct pollfd p = {.fd = r->ctl, .events = POLLIN};
        while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
                if (guest_frame(r) < 0)
                        break;
        if (migrate_to(r, state, &e) < 0) {
                answer_error(fd, e->msg);
                vs_error_free(&e);
                if (!was_paused && set_paused(r, false, &e) < 0)
                        vs_warn("%s", e->msg);
                return;
        }
        ctl_write(fd, VS_FRAME_EXIT, 0, "0", 1);
        /* The client stores the state (and the disk) and says how to end. */
        struct timeval tv = {.tv_sec = 600};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        enum vs_frame_type type;
        char *data = NULL;
        size_t len = 0;
        int rd = vs_frame_read(fd, &type, &data, &len);
        bool end = rd > 0 && (int) type == VS_VM_CHECKPOINT && data && strcmp(data, "end") == 0;
        free(data);
        if (end) {
                /* The VM's life goes on from the file: the process did not
                 * exit, the container stops (code 0, as podman records). */
                r->exited = true;
                r->exit_code = 0;
                ctl_write(fd, VS_FRAME_EXIT, 0, "0", 1);
                return;
        }
        if (rd <= 0 && r->s->sock_dir) {
                /* The client died before it finished: what it had stored
                 * of this checkpoint goes (the last whole one stays). */
                _cleanup_free_ char *partial =
                    xasprintf("%s/" VS_VM_CKPT_DIR ".new", r->s->sock_dir);
                vs_rm_rf(partial, NULL);
        }
        if (!was_paused && set_paused(r, false, &e) < 0) {
                answer_error(fd, e->msg);
                return;
        }
        ctl_write(fd, VS_FRAME_EXIT, 0, "0", 1);
}

/* A new client: its first frame is the request. VS_VM_EXEC and
 * VS_VM_STATS open a session in the guest; VS_VM_PAUSE and VS_VM_RESUME
 * are answered here. */
static void client_accept(struct relay *r)
{
        int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return;
        unsigned id = 1;
        while (id < MAX_SESSIONS && r->clients[id] >= 0)
                id++;
        enum vs_frame_type type;
        char *data = NULL;
        size_t len = 0;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        int rd = vs_frame_read(fd, &type, &data, &len);
        if (rd > 0 && ((int) type == VS_VM_PAUSE || (int) type == VS_VM_RESUME)) {
                answer_pause(r, fd, (int) type == VS_VM_PAUSE);
                free(data);
                close(fd);
                return;
        }
        if (rd > 0 && (int) type == VS_VM_CHECKPOINT) {
                answer_checkpoint(r, fd);
                free(data);
                close(fd);
                return;
        }
        if (rd > 0 && ((int) type == VS_VM_STATS || (int) type == VS_VM_TOP) && r->paused) {
                ctl_write(fd, VS_FRAME_EXIT, 0, "1", 1); /* the guest cannot answer */
                free(data);
                close(fd);
                return;
        }
        if (rd <= 0 ||
            ((int) type != VS_VM_EXEC && (int) type != VS_VM_STATS && (int) type != VS_VM_TOP) ||
            id == MAX_SESSIONS) {
                const char *msg = id == MAX_SESSIONS ? "vessel: exec: too many sessions\n"
                                                     : "vessel: exec: bad request\n";
                ctl_write(fd, VS_FRAME_STDERR, 0, msg, strlen(msg));
                ctl_write(fd, VS_FRAME_EXIT, 0, "126", 3);
                free(data);
                close(fd);
                return;
        }
        tv.tv_sec = 0;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        r->clients[id] = fd;
        ctl_write(r->ctl, (int) type, id, data, len);
        free(data);
}

/* A frame from exec client id: stdin, its end, a window size, a signal. */
static void client_frame(struct relay *r, unsigned id)
{
        enum vs_frame_type type;
        char *data = NULL;
        size_t len = 0;
        if (vs_frame_read(r->clients[id], &type, &data, &len) <= 0) {
                /* The client went away (exec -d, or killed): its process
                 * stays, as Docker's does, without stdin. */
                ctl_write(r->ctl, VS_VM_STDIN_EOF, id, NULL, 0);
                client_close(r, id);
                return;
        }
        switch (type) {
        case VS_FRAME_STDIN:
        case VS_FRAME_STDIN_EOF:
        case VS_FRAME_RESIZE:
                ctl_write(r->ctl, (int) type, id, data, len);
                break;
        case VS_FRAME_SIGNAL:
                ctl_write(r->ctl, VS_VM_SIGNAL, id, data, len);
                break;
        default:
                break;
        }
        free(data);
}

static int listen_exec(struct relay *r, vs_error **err)
{
        if (r->s->sock_dir == NULL)
                return 0;
        _cleanup_close_ int dirfd = open(r->s->sock_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return vs_fail_errno(err, "cannot open %s", r->s->sock_dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" VS_VM_EXEC_SOCK, dirfd);
        unlink(sa.sun_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create a socket");
        mode_t old = umask(0077);
        int b = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (b < 0 || listen(fd, 16) < 0) {
                close(fd);
                return vs_fail_errno(err, "cannot listen on %s/" VS_VM_EXEC_SOCK, r->s->sock_dir);
        }
        r->listen_fd = fd;
        return 0;
}

static int relay_loop(struct relay *r, vs_error **err)
{
        int64_t deadline = vs_monotonic_ms() + r->s->boot_timeout_ms;
        bool channel_open = true;
        while (!r->exited && r->guest_error == NULL) {
                int timeout = -1;
                if (!r->ready) {
                        int64_t left = deadline - vs_monotonic_ms();
                        if (left <= 0)
                                break;
                        timeout = (int) left;
                }
                if (!channel_open && r->qemu_exited)
                        break;
                if (r->ready && r->listen_fd < 0 && listen_exec(r, err) < 0)
                        return -1;
                struct pollfd p[4 + MAX_SESSIONS] = {
                    {.fd = channel_open ? r->ctl : -1, .events = POLLIN},
                    {.fd = r->ready ? r->in_fd : -1, .events = POLLIN},
                    {.fd = r->sfd, .events = POLLIN},
                    {.fd = r->listen_fd, .events = POLLIN},
                };
                for (unsigned i = 1; i < MAX_SESSIONS; i++)
                        p[4 + i] = (struct pollfd){.fd = r->clients[i], .events = POLLIN};
                if (poll(p, 4 + MAX_SESSIONS, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        return vs_fail_errno(err, "poll");
                }
                if (p[2].revents)
                        forward_signals(r);
                if (p[0].revents && guest_frame(r) < 0)
                        channel_open = false;
                if (p[1].revents)
                        copy_stdin(r);
                if (p[3].revents)
                        client_accept(r);
                for (unsigned i = 1; i < MAX_SESSIONS; i++)
                        if (p[4 + i].revents && r->clients[i] >= 0)
                                client_frame(r, i);
                if (!channel_open && !r->qemu_exited) {
                        /* QEMU closed the channel: it is exiting. */
                        int st;
                        if (waitpid(r->qemu, &st, 0) == r->qemu) {
                                r->qemu_exited = true;
                                r->qemu_status = st;
                        }
                }
        }
        return 0;
}

static int failure(struct relay *r, vs_error **err)
{
        const struct vs_vm_spec *s = r->s;
        if (r->guest_error)
                return vs_fail(err, "the VM's agent failed: %s", r->guest_error);
        if (!r->ready && !r->qemu_exited)
                return vs_fail(err, "the VM did not boot within %d s (%s; console: %s)",
                               s->boot_timeout_ms / 1000, s->accel, s->console_log);
        _cleanup_free_ char *qline = last_line(s->qemu_log);
        if (qline)
                return vs_fail(err, "QEMU failed: %s", qline);
        _cleanup_free_ char *cline = last_line(s->console_log);
        if (r->qemu_exited && WIFSIGNALED(r->qemu_status))
                return vs_fail(err, "QEMU was killed by signal %d", WTERMSIG(r->qemu_status));
        return vs_fail(err, "the VM stopped before the process ended%s%s", cline ? ": " : "",
                       cline ? cline : "");
}

/* Restore: until QEMU has loaded the checkpoint, then continues the VM.
 * A stream QEMU cannot load ends it with its reason on
 * stderr (vm-qemu.log), quoted here. */
static int wait_incoming(struct relay *r, vs_error **err)
{
        for (int64_t deadline = vs_monotonic_ms() + 600000; vs_monotonic_ms() < deadline;) {
                _cleanup_json_ json_object *st = NULL;
                _cleanup_error_ vs_error *qerr = NULL;
                if (vs_qmp_call(&r->qmp, "query-migrate", NULL, -1, &st, &qerr) < 0) {
                        int wst;
                        if (waitpid(r->qemu, &wst, 0) == r->qemu) {
                                r->qemu_exited = true;
                                r->qemu_status = wst;
                        }
                        _cleanup_free_ char *line = last_line(r->s->qemu_log);
                        return vs_fail(err, "QEMU could not load the checkpoint %s: %s",
                                       r->s->restore_state, line ? line : qerr->msg);
                }
                const char *status = json_object_get_string(json_object_object_get(st, "status"));
                /* The stream says the VM was stopped (it was, to be
                 * saved): QEMU leaves it so; it runs from here. */
                if (status && strcmp(status, "completed") == 0)
                        return vs_qmp_execute(&r->qmp, "cont", err);
                if (status && strcmp(status, "failed") == 0)
                        return vs_fail(err, "QEMU could not load the checkpoint %s",
                                       r->s->restore_state);
                usleep(2000);
        }
        return vs_fail(err, "QEMU did not load the checkpoint within 600 s");
}

int vs_vm_run(const struct vs_vm_spec *s, int in_fd, int out_fd, int err_fd, int *exit_code,
              vs_error **err)
{
        sigset_t set, old;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
                sigaddset(&set, forwarded[i]);
        signal(SIGPIPE, SIG_IGN);
        struct relay r = {.s = s,
                          .in_fd = in_fd,
                          .out_fd = out_fd,
                          .err_fd = err_fd,
                          .qemu = -1,
                          .listen_fd = -1};
        for (unsigned i = 0; i < MAX_SESSIONS; i++)
                r.clients[i] = -1;
        if (s->tty)
                sigaddset(&set, SIGWINCH);
        sigprocmask(SIG_BLOCK, &set, &old);
        r.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        int sv[2], qv[2];
        if (r.sfd < 0)
                return vs_fail_errno(err, "cannot create a signalfd");
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                close(r.sfd);
                return vs_fail_errno(err, "cannot create a socket pair");
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qv) < 0) {
                close(r.sfd);
                close(sv[0]);
                close(sv[1]);
                return vs_fail_errno(err, "cannot create a socket pair");
        }
        r.ctl = sv[0];
        r.qmp.fd = qv[0];
        int64_t t0 = vs_monotonic_ms();
        int alive_w = -1;
        r.qemu = spawn_qemu(s, sv[1], qv[1], &alive_w, err);
        close(sv[1]);
        close(qv[1]);
        int ret = -1;
        if (r.qemu < 0)
                goto out;
        if (s->started_fd >= 0)
                close(s->started_fd); /* the OCI `start` returns */
        if (s->restore_state) {
                /* The guest is past its CONFIG and READY: it goes on where
                 * the checkpoint stopped it. */
                if (wait_incoming(&r, err) < 0)
                        goto out;
                vs_debug("vm: state loaded after %lld ms", (long long) (vs_monotonic_ms() - t0));
                r.ready = true;
                if (s->ready_fd >= 0) {
                        vs_write_all(s->ready_fd, "ok", 2);
                        close(s->ready_fd);
                }
        } else if (vs_frame_write(r.ctl, (enum vs_frame_type) VS_VM_CONFIG, s->config,
                                  s->config_len) < 0) {
                /* Queued in the socket until the agent reads it: a
                 * failure means QEMU closed its end, i.e. it is ending;
                 * its own reason (vm-qemu.log) says more than EPIPE. */
                int saved = errno;
                for (int64_t until = vs_monotonic_ms() + 2000;
                     !r.qemu_exited && vs_monotonic_ms() < until; usleep(5000))
                        if (waitpid(r.qemu, &r.qemu_status, WNOHANG) == r.qemu)
                                r.qemu_exited = true;
                if (r.qemu_exited) {
                        failure(&r, err);
                } else {
                        errno = saved;
                        vs_fail_errno(err, "cannot send the configuration to the VM");
                }
                goto out;
        } else if (in_fd < 0) {
                vs_frame_write(r.ctl, (enum vs_frame_type) VS_VM_STDIN_EOF, NULL, 0);
        }
        if (relay_loop(&r, err) < 0)
                goto out;
        if (!r.exited) {
                failure(&r, err);
                goto out;
        }
        vs_debug("vm: process exited with %d after %lld ms", r.exit_code,
                 (long long) (vs_monotonic_ms() - t0));
        *exit_code = r.exit_code;
        ret = 0;
out:
        /* Everything the guest had to say is said: no need for it to shut
         * down (9p writes reached the host synchronously). */
        if (r.qemu > 0 && !r.qemu_exited) {
                kill(r.qemu, SIGKILL);
                while (waitpid(r.qemu, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        /* Exec sessions end with the VM: their processes were killed. */
        for (unsigned i = 1; i < MAX_SESSIONS; i++)
                if (r.clients[i] >= 0) {
                        ctl_write(r.clients[i], VS_FRAME_EXIT, 0, "137", 3);
                        client_close(&r, i);
                }
        if (r.listen_fd >= 0) {
                close(r.listen_fd);
                _cleanup_free_ char *sock = xasprintf("%s/" VS_VM_EXEC_SOCK, s->sock_dir);
                unlink(sock);
        }
        if (alive_w >= 0)
                close(alive_w);
        close(r.ctl);
        close(r.qmp.fd);
        close(r.sfd);
        free(r.guest_error);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return ret;
}
