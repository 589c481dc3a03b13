/* The monitor's I/O: container streams -> log lines + attached clients;
 * clients' stdin -> the container. */
#include "engine/engine.h"
#include "engine/monitor_io.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- log lines ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
        size_t len;
        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
                len = 2;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3;
        else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
                len = 4;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return len;
}

char *vs_log_line_json(const char *data, size_t n, const char *stream, size_t *len)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char *out = xmalloc(n * 6 + 128);
        char *p = out;
        p += sprintf(p, "{\"log\":\"");
        const unsigned char *s = (const unsigned char *) data;
        for (size_t i = 0; i < n;) {
                unsigned char ch = s[i];
                if (ch == '"' || ch == '\\') {
                        *p++ = '\\';
                        *p++ = (char) ch;
                } else if (ch == '\n') {
                        p = memcpy(p, "\\n", 2) + 2;
                } else if (ch == '\r') {
                        p = memcpy(p, "\\r", 2) + 2;
                } else if (ch == '\t') {
                        p = memcpy(p, "\\t", 2) + 2;
                } else if (ch < 0x20 || ch == 0x7f) {
                        p += sprintf(p, "\\u%04x", ch);
                } else if (ch >= 0x80) {
                        size_t l = utf8_len(s + i, n - i);
                        if (l == 0) {
                                p = memcpy(p, "\\ufffd", 6) + 6;
                                i++;
                                continue;
                        }
                        memcpy(p, s + i, l);
                        p += l;
                        i += l;
                        continue;
                } else {
                        *p++ = (char) ch;
                }
                i++;
        }
        p += sprintf(p, "\",\"stream\":\"%s\",\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\"}\n",
                     stream, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec);
        *len = (size_t) (p - out);
        return out;
}

void vs_mon_io_set_log_rotation(struct vs_mon_io *io, long long max_size, int max_file)
{
        io->log_max_size = max_size;
        io->log_max_file = max_file < 1 ? 1 : max_file;
}

/* Shifts container.log.N-1 -> .N ... container.log -> .1 (the oldest
 * falls off), then starts a new container.log; with one file, truncates.
 * Whole lines only: a reader never sees a line split across files. */
static void log_rotate(struct vs_mon_io *io)
{
        if (io->log_max_file <= 1) {
                if (ftruncate(io->log_fd, 0) == 0)
                        io->log_size = 0;
                return;
        }
        for (int i = io->log_max_file - 1; i >= 1; i--) {
                _cleanup_free_ char *from =
                    i == 1 ? xstrdup(io->log_path) : xasprintf("%s.%d", io->log_path, i - 1);
                _cleanup_free_ char *to = xasprintf("%s.%d", io->log_path, i);
                if (rename(from, to) < 0 && errno != ENOENT)
                        return; /* keep appending rather than lose lines */
        }
        int fd = open(io->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        close(io->log_fd);
        io->log_fd = fd;
        io->log_size = 0;
}

static void log_write(struct vs_mon_io *io, int stream, const char *data, size_t n)
{
        if (io->log_fd < 0 || n == 0)
                return;
        size_t len;
        _cleanup_free_ char *line =
            vs_log_line_json(data, n, stream == 1 ? "stdout" : "stderr", &len);
        if (io->log_max_size > 0 && io->log_size > 0 &&
            io->log_size + (long long) len > io->log_max_size)
                log_rotate(io);
        if (vs_write_all(io->log_fd, line, len) == 0)
                io->log_size += (long long) len;
}

/* Splits data into lines (kept with their newline); a partial line waits
 * for more, up to VS_MON_LINE_MAX. */
static void log_data(struct vs_mon_io *io, int stream, const char *data, size_t n)
{
        struct vs_mon_line *l = &io->lines[stream - 1];
        while (n > 0) {
                const char *nl = memchr(data, '\n', n);
                size_t take = nl ? (size_t) (nl - data) + 1 : n;
                if (l->len == 0 && nl) {
                        log_write(io, stream, data, take);
                } else {
                        if (l->buf == NULL)
                                l->buf = xmalloc(VS_MON_LINE_MAX);
                        size_t room = VS_MON_LINE_MAX - l->len;
                        if (take > room)
                                take = room;
                        memcpy(l->buf + l->len, data, take);
                        l->len += take;
                        if (l->buf[l->len - 1] == '\n' || l->len == VS_MON_LINE_MAX) {
                                log_write(io, stream, l->buf, l->len);
                                l->len = 0;
                        }
                }
                data += take;
                n -= take;
        }
        if (l->len == 0 && l->buf) {
                free(l->buf);
                l->buf = NULL;
        }
}

static void log_flush(struct vs_mon_io *io)
{
        for (int s = 0; s < 2; s++) {
                struct vs_mon_line *l = &io->lines[s];
                if (l->len)
                        log_write(io, s + 1, l->buf, l->len);
                free(l->buf);
                l->buf = NULL;
                l->len = 0;
        }
}

/* ---- clients ---- */

static void client_remove(struct vs_mon_io *io, size_t i)
{
        struct vs_mon_client *c = &io->clients[i];
        if (c->stdin_owner && io->stdin_once && io->in_fd >= 0 && io->master < 0) {
                close(io->in_fd);
                io->in_fd = -1;
        }
        close(c->fd);
        io->clients[i] = io->clients[--io->n_clients];
}

void vs_mon_io_add_client(struct vs_mon_io *io, int fd, bool stdin_owner)
{
        if (io->n_clients == VS_MON_MAX_CLIENTS) {
                close(fd);
                return;
        }
        /* A client that stops reading must not stall the container. */
        struct timeval tv = {.tv_sec = 10};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        struct timeval rtv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof(rtv));
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        io->clients[io->n_clients++] = (struct vs_mon_client){.fd = fd, .stdin_owner = stdin_owner};
}

static void broadcast(struct vs_mon_io *io, enum vs_frame_type type, const char *data, size_t n)
{
        for (size_t i = io->n_clients; i-- > 0;)
                if (vs_frame_write(io->clients[i].fd, type, data, n) < 0)
                        client_remove(io, i);
}

void vs_mon_io_send_exit(struct vs_mon_io *io, int exit_code)
{
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", exit_code);
        broadcast(io, VS_FRAME_EXIT, buf, (size_t) n);
        while (io->n_clients)
                client_remove(io, io->n_clients - 1);
}

static void stdin_write(struct vs_mon_io *io)
{
        while (io->pending && io->in_fd >= 0) {
                ssize_t w = write(io->in_fd, io->pending + io->pending_off,
                                  io->pending_len - io->pending_off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN)
                        return;
                if (w <= 0) {
                        /* The container closed its stdin: drop what is left. */
                        io->pending_off = io->pending_len;
                } else {
                        io->pending_off += (size_t) w;
                }
                if (io->pending_off == io->pending_len) {
                        free(io->pending);
                        io->pending = NULL;
                        io->pending_len = io->pending_off = 0;
                }
        }
}

static void client_read(struct vs_mon_io *io, size_t i)
{
        struct vs_mon_client *c = &io->clients[i];
        enum vs_frame_type type;
        char *data = NULL;
        size_t n = 0;
        int r = vs_frame_read(c->fd, &type, &data, &n);
        if (r <= 0) {
                client_remove(io, i);
                return;
        }
        switch (type) {
        case VS_FRAME_STDIN:
                if (io->in_fd >= 0 && n > 0 && io->pending == NULL) {
                        io->pending = data;
                        io->pending_len = n;
                        data = NULL;
                        stdin_write(io);
                }
                break;
        case VS_FRAME_STDIN_EOF:
                if (c->stdin_owner && io->stdin_once && io->in_fd >= 0 && io->master < 0) {
                        stdin_write(io);
                        close(io->in_fd);
                        io->in_fd = -1;
                        free(io->pending);
                        io->pending = NULL;
                        io->pending_len = io->pending_off = 0;
                }
                break;
        case VS_FRAME_RESIZE: {
                unsigned rows, cols;
                if (io->master >= 0 && sscanf(data, "%u %u", &rows, &cols) == 2) {
                        struct winsize ws = {.ws_row = (unsigned short) rows,
                                             .ws_col = (unsigned short) cols};
                        ioctl(io->master, TIOCSWINSZ, &ws);
                }
                break;
        }
        case VS_FRAME_SIGNAL: {
                /* An attached client's signal, for a VM container (the
                 * client signals a runtime container itself). */
                int sig = atoi(data);
                if (io->signal_pid > 0 && sig > 0 && sig < 65)
                        kill(io->signal_pid, sig);
                break;
        }
        default:
                break;
        }
        free(data);
}

/* ---- streams ---- */

static int stream_read(struct vs_mon_io *io, int *fd, int stream)
{
        char buf[8192];
        ssize_t n = read(*fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n <= 0) {
                /* EOF, or EIO from a pty whose last slave closed. */
                if (*fd != io->master)
                        close(*fd);
                *fd = -1;
                return -1;
        }
        log_data(io, stream, buf, (size_t) n);
        broadcast(io, stream == 1 ? VS_FRAME_STDOUT : VS_FRAME_STDERR, buf, (size_t) n);
        return (int) n;
}

int vs_mon_io_poll(struct vs_mon_io *io, int sfd, int timeout_ms)
{
        struct pollfd p[5 + VS_MON_MAX_CLIENTS];
        size_t n = 0;
        p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = io->out_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = io->err_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = io->listen_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = io->pending ? io->in_fd : -1, .events = POLLOUT};
        size_t nc = io->n_clients;
        for (size_t i = 0; i < nc; i++)
                /* While stdin backs up, stop taking more from clients. */
                p[n++] =
                    (struct pollfd){.fd = io->pending ? -1 : io->clients[i].fd, .events = POLLIN};
        int r = poll(p, (nfds_t) n, timeout_ms);
        if (r <= 0)
                return 0;
        int ret = (p[0].revents & POLLIN) ? VS_MON_SIGNAL : 0;
        if (p[1].revents)
                stream_read(io, &io->out_fd, 1);
        if (p[2].revents)
                stream_read(io, &io->err_fd, 2);
        if (p[4].revents)
                stdin_write(io);
        if (p[3].revents & POLLIN) {
                int fd = accept4(io->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                        vs_mon_io_add_client(io, fd, false);
        }
        /* Clients by fd: removal reorders the array. */
        for (size_t k = 0; k < nc; k++) {
                if (!p[5 + k].revents)
                        continue;
                for (size_t i = 0; i < io->n_clients; i++)
                        if (io->clients[i].fd == p[5 + k].fd) {
                                client_read(io, i);
                                break;
                        }
        }
        return ret;
}

void vs_mon_io_drain(struct vs_mon_io *io, int timeout_ms)
{
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        while (io->out_fd >= 0 || io->err_fd >= 0) {
                struct pollfd p[2] = {{.fd = io->out_fd, .events = POLLIN},
                                      {.fd = io->err_fd, .events = POLLIN}};
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long spent =
                    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
                int left = timeout_ms - (int) spent;
                if (left < 0)
                        left = 0;
                int r = poll(p, 2, left);
                if (r <= 0)
                        return;
                if (p[0].revents)
                        stream_read(io, &io->out_fd, 1);
                if (p[1].revents)
                        stream_read(io, &io->err_fd, 2);
        }
}

/* ---- setup ---- */

static int make_listener(struct vs_mon_io *io, const char *dir, vs_error **err)
{
        io->sock_path = xasprintf("%s/attach.sock", dir);
        unlink(io->sock_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create the attach socket");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int dirfd = -1;
        if (strlen(io->sock_path) < sizeof(sa.sun_path)) {
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", io->sock_path);
        } else {
                /* Long data roots: bind through the directory's fd. */
                dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach.sock", dirfd);
        }
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
                int e = errno;
                close(fd);
                return vs_error_set(err, e, "cannot listen on %s", io->sock_path);
        }
        chmod(io->sock_path, 0600);
        io->listen_fd = fd;
        return 0;
}

int vs_mon_io_init(struct vs_mon_io *io, const char *dir, const char *log_path, bool stdin_once,
                   vs_error **err)
{
        memset(io, 0, sizeof(*io));
        io->log_fd = io->listen_fd = io->out_fd = io->err_fd = io->in_fd = io->master = -1;
        io->stdin_once = stdin_once;
        io->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (io->devnull < 0)
                return vs_fail_errno(err, "cannot open /dev/null");
        if (log_path == NULL) /* --log-driver none */
                return make_listener(io, dir, err);
        io->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (io->log_fd < 0)
                return vs_fail_errno(err, "cannot open %s", log_path);
        io->log_path = xstrdup(log_path);
        struct stat st;
        io->log_size = fstat(io->log_fd, &st) == 0 ? (long long) st.st_size : 0;
        return make_listener(io, dir, err);
}

void vs_mon_io_close_listener(struct vs_mon_io *io)
{
        if (io->listen_fd >= 0) {
                close(io->listen_fd);
                io->listen_fd = -1;
                unlink(io->sock_path);
        }
}

void vs_mon_io_free(struct vs_mon_io *io)
{
        vs_mon_io_close_streams(io);
        vs_mon_io_close_listener(io);
        while (io->n_clients)
                client_remove(io, io->n_clients - 1);
        if (io->log_fd >= 0)
                close(io->log_fd);
        if (io->devnull >= 0)
                close(io->devnull);
        free(io->sock_path);
        free(io->log_path);
}

static int nonblock(int fd)
{
        return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int vs_mon_io_open(struct vs_mon_io *io, bool tty, bool open_stdin, int *in_r, int *out_w,
                   int *err_w, vs_error **err)
{
        *in_r = *out_w = *err_w = -1;
        if (tty)
                return 0; /* the runtime makes the pty; see vs_mon_io_set_master() */
        int o[2], e[2], i[2] = {-1, -1};
        if (pipe2(o, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create the stdout pipe");
        if (pipe2(e, O_CLOEXEC) < 0) {
                close(o[0]);
                close(o[1]);
                return vs_fail_errno(err, "cannot create the stderr pipe");
        }
        if (open_stdin && pipe2(i, O_CLOEXEC) < 0) {
                close(o[0]);
                close(o[1]);
                close(e[0]);
                close(e[1]);
                return vs_fail_errno(err, "cannot create the stdin pipe");
        }
        io->out_fd = o[0];
        io->err_fd = e[0];
        io->in_fd = i[1];
        nonblock(io->out_fd);
        nonblock(io->err_fd);
        if (io->in_fd >= 0)
                nonblock(io->in_fd);
        *out_w = o[1];
        *err_w = e[1];
        *in_r = i[0];
        return 0;
}

void vs_mon_io_close_child_ends(int *in_r, int *out_w, int *err_w)
{
        int *fds[] = {in_r, out_w, err_w};
        for (size_t k = 0; k < 3; k++)
                if (*fds[k] >= 0) {
                        close(*fds[k]);
                        *fds[k] = -1;
                }
}

void vs_mon_io_set_master(struct vs_mon_io *io, int master)
{
        fcntl(master, F_SETFD, FD_CLOEXEC);
        nonblock(master);
        io->master = master;
        io->out_fd = master;
        io->in_fd = master;
}

void vs_mon_io_close_streams(struct vs_mon_io *io)
{
        log_flush(io);
        if (io->out_fd >= 0 && io->out_fd != io->master)
                close(io->out_fd);
        if (io->err_fd >= 0)
                close(io->err_fd);
        if (io->in_fd >= 0 && io->in_fd != io->master)
                close(io->in_fd);
        if (io->master >= 0)
                close(io->master);
        io->out_fd = io->err_fd = io->in_fd = io->master = -1;
        free(io->pending);
        io->pending = NULL;
        io->pending_len = io->pending_off = 0;
}
