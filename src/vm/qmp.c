/* QEMU's machine protocol (QMP), as the VM launcher speaks it on the
 * socket pair it hands QEMU (`-chardev socket,fd=4 -mon mode=control`):
 * JSON objects, one a line. Only the launcher holds the socket, so only
 * it (on a request over vm.sock) can stop or continue the VM. */
#include "vm/vm.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QMP_TIMEOUT_MS 10000

/* The next JSON line from QEMU within the timeout; NULL on EOF/timeout. */
static json_object *read_line(struct vs_qmp *q)
{
        for (;;) {
                char *nl = memchr(q->buf, '\n', q->len);
                if (nl) {
                        *nl = '\0';
                        json_object *o = json_tokener_parse(q->buf);
                        size_t used = (size_t) (nl - q->buf) + 1;
                        memmove(q->buf, nl + 1, q->len - used);
                        q->len -= used;
                        if (o)
                                return o;
                        continue; /* not JSON (cannot happen with QMP): skip */
                }
                if (q->len == sizeof(q->buf))
                        q->len = 0; /* a line longer than we care for: drop it */
                struct pollfd p = {.fd = q->fd, .events = POLLIN};
                int r = poll(&p, 1, QMP_TIMEOUT_MS);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return NULL;
                ssize_t n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return NULL;
                q->len += (size_t) n;
        }
}

/* The line, with fd (>= 0) attached as SCM_RIGHTS (QMP getfd). */
static int send_line(int sock, const char *line, int fd)
{
        return fd < 0 ? vs_write_all(sock, line, strlen(line)) : vs_send_fd(sock, fd, line, NULL);
}

/* Sends one command (args: a JSON object's text, or NULL) and waits for
 * its answer (events on the way are skipped); *ret (when not NULL) gets
 * the "return" value. */
static int command_full(struct vs_qmp *q, const char *name, const char *args, int fd,
                        json_object **ret, vs_error **err)
{
        _cleanup_free_ char *line =
            args ? xasprintf("{\"execute\":\"%s\",\"arguments\":%s}\n", name, args)
                 : xasprintf("{\"execute\":\"%s\"}\n", name);
        if (send_line(q->fd, line, fd) < 0)
                return vs_fail_errno(err, "QMP %s: cannot write to QEMU", name);
        for (;;) {
                _cleanup_json_ json_object *o = read_line(q);
                if (o == NULL)
                        return vs_fail(err, "QMP %s: no answer from QEMU", name);
                json_object *r = json_object_object_get(o, "return");
                if (r) {
                        if (ret)
                                *ret = json_object_get(r);
                        return 0;
                }
                json_object *e = json_object_object_get(o, "error");
                if (e)
                        return vs_fail(err, "QMP %s: %s", name,
                                       json_object_get_string(json_object_object_get(e, "desc")));
        }
}

static int command(struct vs_qmp *q, const char *name, vs_error **err)
{
        return command_full(q, name, NULL, -1, NULL, err);
}

int vs_qmp_execute(struct vs_qmp *q, const char *name, vs_error **err)
{
        return vs_qmp_call(q, name, NULL, -1, NULL, err);
}

int vs_qmp_call(struct vs_qmp *q, const char *name, const char *args, int fd, json_object **ret,
                vs_error **err)
{
        if (!q->ready) {
                /* The greeting, then capabilities negotiation. */
                _cleanup_json_ json_object *hello = read_line(q);
                if (hello == NULL || json_object_object_get(hello, "QMP") == NULL)
                        return vs_fail(err, "QMP: no greeting from QEMU");
                if (command(q, "qmp_capabilities", err) < 0)
                        return -1;
                q->ready = true;
        }
        return command_full(q, name, args, fd, ret, err);
}
