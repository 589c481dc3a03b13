/* A layer unpacked by a child process while the importer streams the blob
 * to it: the parent hashes and stores the compressed bytes, the child
 * uncompresses, hashes and writes the files, so a load costs little more
 * than a plain `tar -x` on two cores. A process rather than a thread keeps
 * vs_layer_unpack free of any thread-safety requirement. */
#include "image/layer.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* How far an unpack may lag behind the download before the feeder waits
 * (the feeder serves every layer of a pull, so a wait stalls them all). */
#define SOCKET_BUFFER (16 << 20)

struct vs_unpack_job {
        pid_t pid;
        int data_fd;   /* we write the blob here */
        int result_fd; /* the child reports here */
        bool stopped;  /* the child no longer reads */
};

static void write_result(int fd, const char *text)
{
        size_t len = strlen(text);
        while (len > 0) {
                ssize_t n = write(fd, text, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                text += n;
                len -= (size_t) n;
        }
}

static void __attribute__((noreturn))
child(int data_fd, int blob_fd, int result_fd, const char *dest_dir, const char *media_type)
{
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_DFL);
        _cleanup_free_ char *diff_id = NULL, *blob = NULL, *kept = NULL;
        int64_t size = 0, blob_size = 0;
        vs_error *err = NULL, *kept_err = NULL;
        int r;
        if (blob_fd >= 0) {
                /* "B<digest> <size>\n" first: the blob was kept whole. */
                if (vs_layer_unpack_keeping(data_fd, blob_fd, media_type, dest_dir, &diff_id, &size,
                                            &blob, &blob_size, &err, &kept_err) == 0)
                        kept = xasprintf("B%s %lld\n", blob, (long long) blob_size);
                else {
                        vs_error_free(&err);
                        err = steal_ptr(kept_err);
                }
                r = diff_id ? 0 : -1;
        } else {
                r = vs_layer_unpack(data_fd, media_type, dest_dir, false, &diff_id, &size, &err);
        }
        char *msg;
        if (r < 0)
                msg = xasprintf("%sE%s", kept ? kept : "",
                                err && err->msg ? err->msg : "unpacking failed");
        else
                msg = xasprintf("%sO%s %lld", kept ? kept : "", diff_id, (long long) size);
        write_result(result_fd, msg);
        _exit(0);
}

int vs_unpack_job_start(const char *dest_dir, const char *media_type, int blob_fd,
                        struct vs_unpack_job **out, vs_error **err)
{
        int sv[2], res[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return vs_fail_errno(err, "cannot create a socket pair to unpack %s", dest_dir);
        if (pipe2(res, O_CLOEXEC) < 0) {
                int saved = errno;
                close(sv[0]);
                close(sv[1]);
                return vs_error_set(err, saved, "cannot create a pipe to unpack %s", dest_dir);
        }
        int size = SOCKET_BUFFER;
        if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        if (setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int saved = errno;
                close(sv[0]);
                close(sv[1]);
                close(res[0]);
                close(res[1]);
                return vs_error_set(err, saved, "cannot fork to unpack %s", dest_dir);
        }
        if (pid == 0) {
                close(sv[0]);
                close(res[0]);
                child(sv[1], blob_fd, res[1], dest_dir, media_type);
        }
        close(sv[1]);
        close(res[1]);
        struct vs_unpack_job *j = xzalloc(sizeof(*j));
        j->pid = pid;
        j->data_fd = sv[0];
        j->result_fd = res[0];
        *out = j;
        return 0;
}

void vs_unpack_job_feed(struct vs_unpack_job *j, const void *buf, size_t len)
{
        const char *p = buf;
        while (!j->stopped && len > 0) {
                ssize_t n = send(j->data_fd, p, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        /* EPIPE/ECONNRESET: the child finished or gave up. */
                        j->stopped = true;
                        break;
                }
                p += n;
                len -= (size_t) n;
        }
}

size_t vs_unpack_job_try_feed(struct vs_unpack_job *j, const void *buf, size_t len)
{
        const char *p = buf;
        size_t taken = 0;
        while (!j->stopped && taken < len) {
                ssize_t n = send(j->data_fd, p + taken, len - taken, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return taken;
                if (n < 0) {
                        j->stopped = true;
                        break;
                }
                taken += (size_t) n;
        }
        return len; /* all taken, or dropped: the job no longer reads */
}

int vs_unpack_job_fd(const struct vs_unpack_job *j)
{
        return j->data_fd;
}

static void reap(pid_t pid)
{
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

void vs_unpack_job_end_input(struct vs_unpack_job *j)
{
        if (j->data_fd < 0)
                return;
        shutdown(j->data_fd, SHUT_WR);
        close(j->data_fd);
        j->data_fd = -1;
}

int vs_unpack_job_finish(struct vs_unpack_job *j, char **diff_id, int64_t *size, char **blob,
                         int64_t *blob_size, vs_error **err)
{
        vs_unpack_job_end_input(j);
        char buf[8192];
        size_t n = 0;
        for (;;) {
                ssize_t r = read(j->result_fd, buf + n, sizeof(buf) - 1 - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                n += (size_t) r;
                if (n == sizeof(buf) - 1)
                        break;
        }
        buf[n] = '\0';
        close(j->result_fd);
        reap(j->pid);
        free(j);
        char *p = buf;
        if (blob)
                *blob = NULL;
        if (p[0] == 'B') {
                char *space = strchr(p + 1, ' '), *nl = strchr(p + 1, '\n');
                if (space == NULL || nl == NULL || space - (p + 1) != VS_DIGEST_LEN)
                        return vs_fail(err, "the layer unpacking process died");
                if (blob) {
                        *blob = xstrndup(p + 1, VS_DIGEST_LEN);
                        *blob_size = strtoll(space + 1, NULL, 10);
                }
                p = nl + 1;
        }
        if (p[0] == 'O') {
                char *space = strchr(p + 1, ' ');
                if (space && space - (p + 1) == VS_DIGEST_LEN) {
                        *diff_id = xstrndup(p + 1, VS_DIGEST_LEN);
                        *size = strtoll(space + 1, NULL, 10);
                        return 0;
                }
        }
        if (p[0] == 'E')
                return vs_fail(err, "%s", p + 1);
        return vs_fail(err, "the layer unpacking process died");
}

void vs_unpack_job_abort(struct vs_unpack_job *j)
{
        if (j == NULL)
                return;
        kill(j->pid, SIGKILL);
        if (j->data_fd >= 0)
                close(j->data_fd);
        close(j->result_fd);
        reap(j->pid);
        free(j);
}
