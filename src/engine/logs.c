/* `vessel logs`: prints the JSON-lines log the monitor writes, optionally
 * its last N lines, with timestamps, and following it while the container
 * runs. */
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static void print_line(const char *line, size_t len, const struct vs_log_opts *opts)
{
        bool timestamps = opts->timestamps;
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, line, (int) len);
        json_tokener_free(tok);
        if (o == NULL)
                return;
        json_object *log = json_object_object_get(o, "log");
        json_object *stream = json_object_object_get(o, "stream");
        json_object *time = json_object_object_get(o, "time");
        int fd = stream && strcmp(json_object_get_string(stream), "stderr") == 0 ? STDERR_FILENO
                                                                                 : STDOUT_FILENO;
        if (opts->since_ns || opts->until_ns) {
                int64_t t = time ? vs_rfc3339_to_ns(json_object_get_string(time)) : 0;
                if ((opts->since_ns && t < opts->since_ns) ||
                    (opts->until_ns && t > opts->until_ns)) {
                        json_object_put(o);
                        return;
                }
        }
        if (timestamps && time) {
                _cleanup_free_ char *prefix = xasprintf("%s ", json_object_get_string(time));
                vs_write_all(fd, prefix, strlen(prefix));
        }
        if (log)
                vs_write_all(fd, json_object_get_string(log),
                             (size_t) json_object_get_string_len(log));
        json_object_put(o);
}

/* Prints the complete lines of buf[0..len), skipping the first `skip`;
 * returns the bytes consumed (a trailing partial line is left). */
static size_t print_lines(const char *buf, size_t len, long skip, const struct vs_log_opts *opts)
{
        size_t off = 0;
        while (off < len) {
                const char *nl = memchr(buf + off, '\n', len - off);
                if (nl == NULL)
                        break;
                size_t l = (size_t) (nl - (buf + off));
                if (skip > 0)
                        skip--;
                else if (l > 0)
                        print_line(buf + off, l, opts);
                off += l + 1;
        }
        return off;
}

static long count_lines(const char *buf, size_t len)
{
        long n = 0;
        for (size_t i = 0; i < len; i++)
                n += buf[i] == '\n';
        return n;
}

static bool still_running(struct vs_engine *e, const struct vs_ctr *c)
{
        struct vs_ctr *cur = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_ctr_load(e, c->id, &cur, &err) < 0)
                return false;
        vs_ctr_refresh(e, cur);
        bool r = vs_ctr_monitor_alive(cur) || cur->unmonitored;
        vs_ctr_free(cur);
        return r;
}

/* Appends what remains to be read from fd to *buf. */
static int read_rest(int fd, const char *path, char **buf, size_t *len, size_t *cap, vs_error **err)
{
        for (;;) {
                if (*cap - *len < 65536) {
                        *cap = *cap ? *cap * 2 : 65536;
                        *buf = xrealloc(*buf, *cap);
                }
                ssize_t n = read(fd, *buf + *len, *cap - *len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return vs_fail_errno(err, "cannot read %s", path);
                if (n == 0)
                        return 0;
                *len += (size_t) n;
        }
}

/* The rotated files (container.log.N ... .1, oldest first; see
 * monitor_io.c), whole, into *buf. */
static int read_rotated(const char *log_path, char **buf, size_t *len, size_t *cap, vs_error **err)
{
        int last = 0;
        for (;;) {
                _cleanup_free_ char *p = xasprintf("%s.%d", log_path, last + 1);
                if (access(p, F_OK) < 0)
                        break;
                last++;
        }
        for (int i = last; i >= 1; i--) {
                _cleanup_free_ char *p = xasprintf("%s.%d", log_path, i);
                _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0 && errno == ENOENT)
                        continue; /* rotated away meanwhile */
                if (fd < 0)
                        return vs_fail_errno(err, "cannot open %s", p);
                if (read_rest(fd, p, buf, len, cap, err) < 0)
                        return -1;
        }
        return 0;
}

static bool same_file(int fd, const char *path)
{
        struct stat a, b;
        return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
               a.st_dev == b.st_dev;
}

int vs_logs_print(struct vs_engine *e, struct vs_ctr *c, const struct vs_log_opts *o,
                  vs_error **err)
{
        if (c->hc.log_type && strcmp(c->hc.log_type, "none") == 0)
                return vs_fail(err, "configured logging driver does not support reading");
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        if (read_rotated(c->log_path, &buf, &len, &cap, err) < 0)
                return -1;
        _cleanup_close_ int fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return vs_fail_errno(err, "cannot open %s", c->log_path);
        if (fd >= 0 && read_rest(fd, c->log_path, &buf, &len, &cap, err) < 0)
                return -1;
        long skip = 0;
        if (o->tail >= 0) {
                long total = count_lines(buf, len);
                skip = total > o->tail ? total - o->tail : 0;
        }
        size_t used = print_lines(buf, len, skip, o);
        if (!o->follow)
                return 0;
        /* Keep the unterminated tail for when its newline comes. */
        memmove(buf, buf + used, len - used);
        len -= used;
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC);
        if (in < 0)
                return vs_fail_errno(err, "inotify");
        inotify_add_watch(in, c->dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF);
        for (;;) {
                /* Checked before reading: what a stopped container wrote is
                 * all in the file by the time its monitor is gone. */
                bool running = still_running(e, c);
                if (fd < 0)
                        fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
                for (;;) {
                        if (fd < 0)
                                break;
                        if (cap - len < 65536) {
                                cap = cap ? cap * 2 : 65536;
                                buf = xrealloc(buf, cap);
                        }
                        ssize_t n = read(fd, buf + len, cap - len);
                        if (n <= 0)
                                break;
                        len += (size_t) n;
                        used = print_lines(buf, len, 0, o);
                        memmove(buf, buf + used, len - used);
                        len -= used;
                }
                /* Rotated: the old file is read to its end; go on with the
                 * new one. */
                if (fd >= 0 && !same_file(fd, c->log_path)) {
                        close(fd);
                        fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
                        continue;
                }
                if (!running)
                        return 0;
                struct pollfd p = {.fd = in, .events = POLLIN};
                if (poll(&p, 1, 1000) > 0) {
                        char ev[4096];
                        if (read(in, ev, sizeof(ev)) < 0 && errno != EAGAIN)
                                return 0;
                }
        }
}
