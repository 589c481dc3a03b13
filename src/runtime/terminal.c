#include "runtime/terminal.h"
#include "runtime/rootfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif

int vs_console_socket_connect(const char *path, vs_error **err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(addr.sun_path))
                return vs_fail(err, "--console-socket: path %s is too long", path);
        strcpy(addr.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return vs_fail_errno(err, "--console-socket: cannot create socket");
        if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
                return vs_fail_errno(err, "--console-socket: cannot connect to %s", path);
        return steal_fd(fd);
}

int vs_console_open(const char *console_socket, int *console, int *peer, vs_error **err)
{
        *peer = -1;
        if (console_socket) {
                *console = vs_console_socket_connect(console_socket, err);
                return *console < 0 ? -1 : 0;
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return vs_fail_errno(err, "cannot create the console socket pair");
        *console = sv[1];
        *peer = sv[0];
        return 0;
}

int vs_send_fd(int sockfd, int fd, const char *name, vs_error **err)
{
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {.iov_base = (void *) name, .iov_len = strlen(name)};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        ssize_t n;
        do
                n = sendmsg(sockfd, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return vs_fail_errno(err, "cannot send the console to the console socket");
        return 0;
}

int vs_recv_fd(int sockfd, vs_error **err)
{
        char name[4096];
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        ssize_t n;
        do
                n = recvmsg(sockfd, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return vs_fail_errno(err, "cannot receive the console");
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (c == NULL || c->cmsg_type != SCM_RIGHTS)
                return vs_fail(err, "cannot receive the console: no descriptor was sent");
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}

int vs_terminal_setup(int rootfd, int sockfd, struct vs_rootfs_ctx *console, bool set_ctty,
                      bool set_size, uint16_t rows, uint16_t cols, vs_error **err)
{
        _cleanup_close_ int master = vs_open_in_root(rootfd, "/dev/ptmx", O_RDWR | O_NOCTTY, 0);
        if (master < 0)
                return vs_fail_errno(err,
                                     "process.terminal: cannot open /dev/ptmx in the container");
        if (!vs_fd_is_fs_type(master, DEVPTS_SUPER_MAGIC))
                return vs_fail(err, "process.terminal: /dev/ptmx is not on devpts (mount devpts on "
                                    "/dev/pts)");
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return vs_fail_errno(err, "process.terminal: cannot unlock the pty");
        /* The peer through the master, not through a path someone could swap. */
        _cleanup_close_ int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (peer < 0)
                return vs_fail_errno(err, "process.terminal: cannot open the pty peer");
        int ptyno = -1;
        if (ioctl(master, TIOCGPTN, &ptyno) < 0)
                return vs_fail_errno(err, "process.terminal: cannot read the pty number");
        if (set_size) {
                struct winsize ws = {.ws_row = rows, .ws_col = cols};
                if (ioctl(master, TIOCSWINSZ, &ws) < 0)
                        return vs_fail_errno(err, "process.consoleSize: cannot set it");
        }
        if (console && vs_rootfs_bind_fd(console, peer, "/dev/console", err) < 0)
                return vs_error_wrap(err, "process.terminal");
        char name[64];
        snprintf(name, sizeof(name), "/dev/pts/%d", ptyno);
        if (vs_send_fd(sockfd, master, name, err) < 0)
                return -1;
        if (set_ctty && setsid() < 0)
                return vs_fail_errno(err, "process.terminal: setsid");
        if (set_ctty && ioctl(peer, TIOCSCTTY, 0) < 0)
                return vs_fail_errno(err, "process.terminal: cannot make the pty the controlling "
                                          "terminal");
        for (int i = 0; i < 3; i++)
                if (dup3(peer, i, 0) < 0)
                        return vs_fail_errno(err, "process.terminal: cannot attach stdio");
        return 0;
}

static struct termios saved_termios;
static bool termios_saved;

static void restore_termios(void)
{
        if (termios_saved)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

void vs_terminal_resize_from_stdin(int master)
{
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                ioctl(master, TIOCSWINSZ, &ws);
}

int vs_terminal_proxy_start(int master, vs_error **err)
{
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
                struct termios raw = saved_termios;
                /* fully raw, as runc's and Docker's clients: the container's
                 * pty turns \n into \r\n already (output processing here
                 * too gave \r\r\n) */
                cfmakeraw(&raw);
                if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
                        termios_saved = true;
                        atexit(restore_termios);
                }
                vs_terminal_resize_from_stdin(master);
        }
        return 0;
}

/* The detach keys (Docker's default: ctrl-p ctrl-q) in the bytes read from
 * a raw terminal: true when they were typed (buf keeps what came before
 * them). A prefix of the keys is held back (*matched of them) until the
 * next bytes tell; when they are not the rest, it goes on with them. */
bool vs_detach_keys_scan(const char *keys, size_t nkeys, char *buf, ssize_t *n, size_t *matched)
{
        char out[8192 + VS_TERMINAL_KEYS_MAX + 1];
        ssize_t w = 0;
        for (ssize_t i = 0; i < *n; i++) {
                char ch = buf[i];
                if (ch == keys[*matched]) {
                        if (++*matched == nkeys) {
                                memcpy(buf, out, (size_t) w);
                                *n = w;
                                *matched = 0;
                                return true;
                        }
                        continue;
                }
                memcpy(out + w, keys, *matched);
                w += (ssize_t) *matched;
                *matched = 0;
                if (ch == keys[0] && nkeys > 1)
                        *matched = 1;
                else
                        out[w++] = ch;
        }
        memcpy(buf, out, (size_t) w);
        *n = w;
        return false;
}
