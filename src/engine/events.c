/* The event log (events.h). Writers: open O_APPEND, take the log's flock,
 * check it is still the file at the path (a rotation may have renamed it
 * while we waited), start the line with a newline when the file does not
 * end in one (a writer killed mid-line leaves a fragment: it becomes a line
 * of its own that readers skip, and never swallows the next event), and
 * write the whole line with one write(2). Not fsynced: a crash of the
 * machine may lose the last events, never mix them up (docs/engine.md). */
#include "engine/engine.h"
#include "engine/events.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_locked(const char *path, const char *old_path)
{
        for (int attempt = 0; attempt < 10; attempt++) {
                int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return -1;
                while (flock(fd, LOCK_EX) < 0)
                        if (errno != EINTR) {
                                close(fd);
                                return -1;
                        }
                struct stat a, b;
                if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
                    a.st_ino == b.st_ino) {
                        if (a.st_size < VS_EVENTS_MAX_SIZE)
                                return fd;
                        /* Full: this one becomes events.log.1, and we
                         * start the next one (the loop opens it). */
                        if (rename(path, old_path) < 0) {
                                close(fd);
                                return -1;
                        }
                }
                close(fd);
        }
        errno = EAGAIN;
        return -1;
}

static void append_line(const char *data_root, const char *line)
{
        _cleanup_free_ char *path = xasprintf("%s/" VS_EVENTS_LOG, data_root);
        _cleanup_free_ char *old_path = xasprintf("%s/" VS_EVENTS_LOG ".1", data_root);
        _cleanup_close_ int fd = open_locked(path, old_path);
        if (fd < 0) {
                vs_warn("cannot write the event log %s: %s", path, strerror(errno));
                return;
        }
        struct stat st;
        char last = '\n';
        if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
                last = '\n';
        _cleanup_free_ char *text = xasprintf("%s%s\n", last == '\n' ? "" : "\n", line);
        if (vs_write_all(fd, text, strlen(text)) < 0)
                vs_warn("cannot write the event log %s: %s", path, strerror(errno));
}

void vs_event_log(const char *data_root, const char *type, const char *action, const char *id,
                  json_object *extra, ...)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t nano = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
        json_object *attrs = extra ? extra : json_object_new_object();
        va_list ap;
        va_start(ap, extra);
        for (const char *k; (k = va_arg(ap, const char *));) {
                const char *v = va_arg(ap, const char *);
                if (v)
                        json_object_object_add(attrs, k, json_object_new_string(v));
        }
        va_end(ap);
        _cleanup_json_ json_object *ev = json_object_new_object();
        /* Docker's older fields (status, id, from) for containers and images. */
        bool legacy = strcmp(type, "container") == 0 || strcmp(type, "image") == 0;
        if (legacy) {
                json_object_object_add(ev, "status", json_object_new_string(action));
                json_object_object_add(ev, "id", json_object_new_string(id));
                json_object *image = json_object_object_get(attrs, "image");
                if (image && strcmp(type, "container") == 0)
                        json_object_object_add(ev, "from", json_object_get(image));
        }
        json_object_object_add(ev, "Type", json_object_new_string(type));
        json_object_object_add(ev, "Action", json_object_new_string(action));
        json_object *actor = json_object_new_object();
        json_object_object_add(actor, "ID", json_object_new_string(id));
        json_object_object_add(actor, "Attributes", attrs);
        json_object_object_add(ev, "Actor", actor);
        json_object_object_add(ev, "scope", json_object_new_string("local"));
        json_object_object_add(ev, "time", json_object_new_int64(ts.tv_sec));
        json_object_object_add(ev, "timeNano", json_object_new_int64(nano));
        append_line(data_root, json_object_to_json_string_ext(
                                   ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A container's event: Docker's attributes (the labels, image, name),
 * then those of extra (taken over; may be NULL). */
static void ctr_event_attrs(struct vs_engine *e, const struct vs_ctr *c, const char *action,
                            json_object *extra)
{
        json_object *attrs = json_object_new_object();
        json_object *labels = c->config ? json_object_object_get(c->config, "Labels") : NULL;
        if (labels && json_object_is_type(labels, json_type_object)) {
                json_object_object_foreach(labels, k, v)
                {
                        json_object_object_add(attrs, k,
                                               json_object_new_string(json_object_get_string(v)));
                }
        }
        const char *image =
            json_object_get_string(c->config ? json_object_object_get(c->config, "Image") : NULL);
        image = image ? image : c->image_name;
        if (image)
                json_object_object_add(attrs, "image", json_object_new_string(image));
        if (c->name)
                json_object_object_add(attrs, "name", json_object_new_string(c->name));
        if (extra) {
                json_object_object_foreach(extra, k, v)
                {
                        json_object_object_add(attrs, k, json_object_get(v));
                }
                json_object_put(extra);
        }
        vs_event_log(e->data_root, "container", action, c->id, attrs, NULL);
}

void vs_ctr_event(struct vs_engine *e, const struct vs_ctr *c, const char *action, const char *key,
                  const char *value)
{
        json_object *extra = NULL;
        if (key && value) {
                extra = json_object_new_object();
                json_object_object_add(extra, key, json_object_new_string(value));
        }
        ctr_event_attrs(e, c, action, extra);
}

void vs_image_event(void *data_root, const char *action, const char *id, const char *name,
                    json_object *labels)
{
        /* Docker's: the labels, then name (which wins over a label "name"). */
        json_object *attrs = json_object_new_object();
        if (labels) {
                json_object_object_foreach(labels, k, v)
                {
                        json_object_object_add(attrs, k,
                                               json_object_new_string(json_object_get_string(v)));
                }
        }
        vs_event_log(data_root, "image", action, id, attrs, "name", name, NULL);
}

void vs_network_event(const char *data_root, const char *action, const char *id, const char *name,
                      const char *container)
{
        vs_event_log(data_root, "network", action, id, NULL, "container", container, "name", name,
                     "type", "bridge", NULL);
}

void vs_exec_event(struct vs_engine *e, const struct vs_ctr *c, const char *action,
                   const char *exec_id, char *const *argv, const char *exit_code)
{
        _cleanup_free_ char *full = NULL;
        if (argv) {
                size_t len = strlen(action) + 2;
                for (size_t i = 0; argv[i]; i++)
                        len += strlen(argv[i]) + 1;
                full = xmalloc(len);
                char *p = full + sprintf(full, "%s:", action);
                for (size_t i = 0; argv[i]; i++)
                        p += sprintf(p, " %s", argv[i]);
        }
        json_object *attrs = json_object_new_object();
        json_object_object_add(attrs, "execID", json_object_new_string(exec_id));
        if (exit_code)
                json_object_object_add(attrs, "exitCode", json_object_new_string(exit_code));
        ctr_event_attrs(e, c, full ? full : action, attrs);
}

/* Reading. */

static int open_read(struct vs_events_reader *r, const char *path, bool at_end)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -1;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return -1;
        }
        if (at_end)
                lseek(fd, st.st_size, SEEK_SET);
        r->fd = fd;
        r->dev = st.st_dev;
        r->ino = st.st_ino;
        r->len = 0;
        return 0;
}

int vs_events_open(struct vs_events_reader *r, const char *data_root, bool from_start,
                   vs_error **err)
{
        memset(r, 0, sizeof(*r));
        r->fd = -1;
        r->path = xasprintf("%s/" VS_EVENTS_LOG, data_root);
        r->old_path = xasprintf("%s/" VS_EVENTS_LOG ".1", data_root);
        r->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (r->inotify_fd < 0 ||
            inotify_add_watch(r->inotify_fd, data_root, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
                return vs_fail_errno(err, "cannot watch %s", data_root);
        /* events.log.1 first: when it is renamed away while we read it,
         * the fd still reads it whole, and events.log follows. */
        if (from_start && open_read(r, r->old_path, false) == 0)
                return 0;
        if (open_read(r, r->path, !from_start) < 0 && errno != ENOENT)
                return vs_fail_errno(err, "cannot open %s", r->path);
        return 0;
}

/* The fd is done (at its end): moves to the file now at the path when it
 * is another one (rotated, or we were reading events.log.1). */
static bool switch_file(struct vs_events_reader *r)
{
        struct stat st;
        if (stat(r->path, &st) < 0)
                return false;
        if (r->fd >= 0 && st.st_dev == r->dev && st.st_ino == r->ino)
                return false;
        if (r->fd >= 0)
                close(r->fd);
        r->fd = -1;
        return open_read(r, r->path, false) == 0;
}

static int next_line(struct vs_events_reader *r, char **line)
{
        for (;;) {
                char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
                if (nl) {
                        size_t n = (size_t) (nl - r->buf);
                        *line = xstrndup(r->buf, n);
                        memmove(r->buf, nl + 1, r->len - n - 1);
                        r->len -= n + 1;
                        return 1;
                }
                if (r->fd < 0 && !switch_file(r))
                        return 0;
                if (r->cap - r->len < 4096) {
                        r->cap = r->cap ? r->cap * 2 : 8192;
                        r->buf = xrealloc(r->buf, r->cap);
                }
                ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got > 0) {
                        r->len += (size_t) got;
                        continue;
                }
                /* At the end of this file: a rotated one's last fragment
                 * (no newline) was cut by a crash, dropped. */
                if (!switch_file(r))
                        return 0;
        }
}

int vs_events_next(struct vs_events_reader *r, json_object **out, vs_error **err)
{
        (void) err;
        for (;;) {
                _cleanup_free_ char *line = NULL;
                if (next_line(r, &line) == 0)
                        return 0;
                json_object *ev = json_tokener_parse(line);
                if (ev && json_object_is_type(ev, json_type_object) &&
                    json_object_object_get(ev, "timeNano")) {
                        *out = ev;
                        return 1;
                }
                if (ev)
                        json_object_put(ev);
        }
}

void vs_events_wait(struct vs_events_reader *r, int timeout_ms)
{
        struct pollfd p = {.fd = r->inotify_fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) > 0) {
                char buf[4096];
                while (read(r->inotify_fd, buf, sizeof(buf)) > 0)
                        ;
        }
}

void vs_events_close(struct vs_events_reader *r)
{
        if (r->fd >= 0)
                close(r->fd);
        if (r->inotify_fd >= 0)
                close(r->inotify_fd);
        free(r->path);
        free(r->old_path);
        free(r->buf);
        memset(r, 0, sizeof(*r));
        r->fd = r->inotify_fd = -1;
}
