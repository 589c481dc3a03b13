/* The attach protocol between a CLI and a container's monitor: frames of
 * an 8-byte header (type, three zero bytes, big-endian payload length) and
 * a payload, over a unix stream socket. */
#include "engine/engine.h"
#include "vm/vm.h"
#include "runtime/container.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define FRAME_MAX (1 << 20)

int vs_frame_write(int fd, enum vs_frame_type type, const void *data, size_t len)
{
        unsigned char hdr[8] = {(unsigned char) type,
                                0,
                                0,
                                0,
                                (unsigned char) (len >> 24),
                                (unsigned char) (len >> 16),
                                (unsigned char) (len >> 8),
                                (unsigned char) len};
        struct iovec iov[2] = {{.iov_base = hdr, .iov_len = 8},
                               {.iov_base = (void *) data, .iov_len = len}};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
        size_t total = 8 + len;
        while (total > 0) {
                ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                total -= (size_t) n;
                while (n > 0 && msg.msg_iovlen > 0) {
                        if ((size_t) n >= msg.msg_iov[0].iov_len) {
                                n -= (ssize_t) msg.msg_iov[0].iov_len;
                                msg.msg_iov++;
                                msg.msg_iovlen--;
                        } else {
                                msg.msg_iov[0].iov_base = (char *) msg.msg_iov[0].iov_base + n;
                                msg.msg_iov[0].iov_len -= (size_t) n;
                                n = 0;
                        }
                }
        }
        return 0;
}

static int read_full(int fd, void *buf, size_t n)
{
        size_t got = 0;
        while (got < n) {
                ssize_t r = read(fd, (char *) buf + got, n - got);
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

int vs_frame_read(int fd, enum vs_frame_type *type, char **data, size_t *len)
{
        unsigned char hdr[8];
        int r = read_full(fd, hdr, 8);
        if (r <= 0)
                return r;
        size_t n =
            ((size_t) hdr[4] << 24) | ((size_t) hdr[5] << 16) | ((size_t) hdr[6] << 8) | hdr[7];
        if (n > FRAME_MAX)
                return -1;
        char *buf = xmalloc(n + 1);
        if (n && read_full(fd, buf, n) != 1) {
                free(buf);
                return -1;
        }
        buf[n] = '\0';
        *type = (enum vs_frame_type) hdr[0];
        *data = buf;
        *len = n;
        return 1;
}

int vs_attach_connect(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/attach.sock", c->dir);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create a socket");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int dirfd = -1;
        if (strlen(path) < sizeof(sa.sun_path)) {
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        } else {
                dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach.sock", dirfd);
        }
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return vs_error_set(err, e, "cannot attach to container %.12s (%s)", c->id, path);
        }
        return fd;
}

static void send_winsize(int fd)
{
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
                return;
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%u %u", ws.ws_row, ws.ws_col);
        vs_frame_write(fd, VS_FRAME_RESIZE, buf, (size_t) n);
}

int vs_parse_detach_keys(const char *spec, char *keys, size_t *len, vs_error **err)
{
        static const char ctrl[] = "@abcdefghijklmnopqrstuvwxyz[\\]^_";
        _cleanup_free_ char *copy = xstrdup(spec);
        *len = 0;
        char *save = NULL;
        for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
                if (*len >= VS_DETACH_KEYS_MAX)
                        return vs_fail(err, "--detach-keys: more than %d keys in '%s'",
                                       VS_DETACH_KEYS_MAX, spec);
                const char *c = strlen(k) == 6 && strncasecmp(k, "ctrl-", 5) == 0
                                    ? strchr(ctrl, tolower((unsigned char) k[5]))
                                    : NULL;
                if (c && *c)
                        keys[(*len)++] = (char) (c - ctrl);
                else if (strlen(k) == 1)
                        keys[(*len)++] = k[0];
                else
                        return vs_fail(err,
                                       "--detach-keys: unknown key '%s' in '%s' (a character, or "
                                       "ctrl-@, ctrl-a..ctrl-z, ctrl-[, ctrl-\\, ctrl-], ctrl-^, "
                                       "ctrl-_)",
                                       k, spec);
        }
        if (*len == 0)
                return vs_fail(err, "--detach-keys: no key in '%s'", spec);
        return 0;
}

int vs_attach_session(struct vs_engine *e, const struct vs_ctr *c, int fd, bool tty,
                      bool forward_stdin, int *exit_code, vs_error **err)
{
        *exit_code = -1;
        struct termios saved;
        bool raw =
            tty && forward_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        if (raw) {
                struct termios t = saved;
                /* fully raw, as Docker's client: the container's pty already
                 * turns \n into \r\n (output processing here too gave \r\r\n) */
                cfmakeraw(&t);
                tcsetattr(STDIN_FILENO, TCSANOW, &t);
        }
        if (tty && isatty(STDIN_FILENO))
                send_winsize(fd);
        sigset_t set, old;
        sigemptyset(&set);
        int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
                sigaddset(&set, forwarded[i]);
        sigprocmask(SIG_BLOCK, &set, &old);
        int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        bool stdin_open = forward_stdin;
        size_t matched = 0; /* detach keys held back from the last read */
        const char *keys = e && e->detach_keys_len ? e->detach_keys : "\x10\x11";
        size_t nkeys = e && e->detach_keys_len ? e->detach_keys_len : 2;
        int r = 0;
        for (;;) {
                struct pollfd p[3] = {{.fd = fd, .events = POLLIN},
                                      {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
                                      {.fd = sfd, .events = POLLIN}};
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = vs_fail_errno(err, "poll");
                        break;
                }
                if (p[2].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH) {
                                        send_winsize(fd);
                                        continue;
                                }
                                /* --sig-proxy: the container gets our signals.
                                 * A VM's (exec) session takes them as frames. */
                                if (vs_ctr_is_vm(c)) {
                                        char num[16];
                                        int len = snprintf(num, sizeof(num), "%u", si.ssi_signo);
                                        vs_frame_write(fd, VS_FRAME_SIGNAL, num, (size_t) len);
                                        continue;
                                }
                                vs_container_kill(c->runtime_root, c->id, (int) si.ssi_signo, false,
                                                  NULL);
                        }
                }
                if (p[1].revents) {
                        char buf[8192];
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n > 0 && raw && vs_detach_keys_scan(keys, nkeys, buf, &n, &matched)) {
                                /* the detach keys: leave it running */
                                if (n > 0)
                                        vs_frame_write(fd, VS_FRAME_STDIN, buf, (size_t) n);
                                *exit_code = VS_ATTACH_DETACHED;
                                break;
                        }
                        if (n > 0) {
                                vs_frame_write(fd, VS_FRAME_STDIN, buf, (size_t) n);
                        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                                stdin_open = false;
                                vs_frame_write(fd, VS_FRAME_STDIN_EOF, NULL, 0);
                        }
                }
                if (p[0].revents) {
                        enum vs_frame_type type;
                        char *data = NULL;
                        size_t n = 0;
                        int fr = vs_frame_read(fd, &type, &data, &n);
                        if (fr <= 0)
                                break; /* the monitor hung up */
                        unsigned shown = e && e->attach_streams
                                             ? e->attach_streams
                                             : VS_ATTACH_STDOUT | VS_ATTACH_STDERR;
                        if (type == VS_FRAME_STDOUT && (shown & VS_ATTACH_STDOUT))
                                vs_write_all(STDOUT_FILENO, data, n);
                        else if (type == VS_FRAME_STDERR && (shown & VS_ATTACH_STDERR))
                                vs_write_all(STDERR_FILENO, data, n);
                        bool done = type == VS_FRAME_EXIT;
                        if (done)
                                *exit_code = atoi(data);
                        free(data);
                        if (done)
                                break;
                }
        }
        if (sfd >= 0)
                close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        return r;
}
