/* A layer unpacked by a child process while the importer streams the blob
 * to it: the child uncompresses, hashes and writes the files (and, when
 * given the blob's fd, hashes and stores the compressed bytes too), so a
 * load or pull costs little more than a plain `tar -x` on two cores. A
 * process rather than a thread keeps vs_layer_unpack free of any
 * thread-safety requirement.
 *
 * The bytes go through a ring of buffers in memory shared with the child,
 * not through the socket: the feeder copies them in once, the child hashes,
 * stores and inflates them in place. The socket carries only the length of
 * each filled buffer (feeder to child) and one byte per buffer the child is
 * done with (back), so the feeder knows what it may fill again. */
#include "image/layer.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* How far an unpack may lag behind the download before the feeder waits:
 * SLOTS buffers of SLOT_SIZE. */
#define SLOT_SIZE (1 << 20)
#define SLOTS     4

struct vs_unpack_job {
        pid_t pid;
        int data_fd;   /* buffer lengths go out, freed buffers come back */
        int result_fd; /* the child reports here */
        bool stopped;  /* the child no longer reads */
        bool ended;    /* no more input */
        char *ring;    /* SLOTS * SLOT_SIZE, shared with the child */
        unsigned next; /* the buffer being filled */
        size_t fill;   /* bytes in it */
        unsigned busy; /* buffers handed over and not given back */
        size_t mapped; /* the ring's first `mapped` bytes are populated */
};

/* The ring's pages are populated as the first pass fills them, a chunk at
 * a time (one madvise, not a fault per page), so a small layer (an empty
 * commit layer, a config-sized blob) costs a page or two, not the whole
 * ring. Slots fill in order, so what has been populated is a prefix.
 * Returns the new prefix; kernels without MADV_POPULATE_* fault pages in
 * as they come. */
#define POPULATE_CHUNK (256 << 10)
static size_t populate(const char *ring, size_t mapped, size_t end, int advice)
{
        if (end <= mapped)
                return mapped;
        end = (end + POPULATE_CHUNK - 1) / POPULATE_CHUNK * POPULATE_CHUNK;
        if (end > (size_t) SLOTS * SLOT_SIZE)
                end = (size_t) SLOTS * SLOT_SIZE;
        madvise((void *) (ring + mapped), end - mapped, advice);
        return end;
}

/* The child's end: the next filled buffer, in place. */
struct ring_input {
        struct vs_layer_input in;
        int fd;
        const char *ring;
        unsigned slot;
        bool holding;  /* the caller still uses ring[slot] */
        size_t mapped; /* as in struct vs_unpack_job, for this process */
};

static ssize_t ring_next(struct vs_layer_input *in, const void **buf)
{
        struct ring_input *r = (struct ring_input *) in;
        if (r->holding) {
                char one = 1;
                /* The feeder may be gone (it closed its end): no SIGPIPE. */
                while (send(r->fd, &one, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
                        ;
                r->holding = false;
                r->slot = (r->slot + 1) % SLOTS;
        }
        uint32_t len;
        size_t got = 0;
        while (got < sizeof(len)) {
                ssize_t n = read(r->fd, (char *) &len + got, sizeof(len) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (n == 0) {
                        if (got == 0)
                                return 0;
                        errno = EIO;
                        return -1;
                }
                got += (size_t) n;
        }
        if (len == 0 || len > SLOT_SIZE) {
                errno = EIO;
                return -1;
        }
        *buf = r->ring + (size_t) r->slot * SLOT_SIZE;
        r->mapped =
            populate(r->ring, r->mapped, (size_t) r->slot * SLOT_SIZE + len, MADV_POPULATE_READ);
        r->holding = true;
        return len;
}

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
child(int data_fd, const char *ring, struct vs_layer_input *own, int blob_fd, int result_fd,
      const char *dest_dir, const char *media_type)
{
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_DFL);
        _cleanup_free_ char *diff_id = NULL, *blob = NULL, *kept = NULL;
        int64_t size = 0, blob_size = 0;
        vs_error *err = NULL, *kept_err = NULL;
        struct ring_input ring_in = {.in.next = ring_next, .fd = data_fd, .ring = ring};
        struct vs_layer_input *in = own ? own : &ring_in.in;
        if (vs_layer_unpack_keeping(in, blob_fd, media_type, dest_dir, &diff_id, &size, &blob,
                                    &blob_size, &err, &kept_err) < 0) {
                vs_error_free(&err);
                err = steal_ptr(kept_err);
                free(diff_id);
                diff_id = NULL;
        } else if (blob) {
                /* "B<digest> <size>\n" first: the blob was kept whole. */
                kept = xasprintf("B%s %lld\n", blob, (long long) blob_size);
        }
        char *msg;
        if (diff_id == NULL)
                msg = xasprintf("%sE%s", kept ? kept : "",
                                err && err->msg ? err->msg : "unpacking failed");
        else
                msg = xasprintf("%sO%s %lld", kept ? kept : "", diff_id, (long long) size);
        write_result(result_fd, msg);
        _exit(0);
}

static void unmap_ring(char *ring)
{
        if (ring)
                munmap(ring, (size_t) SLOTS * SLOT_SIZE);
}

static int start(const char *dest_dir, const char *media_type, int blob_fd,
                 struct vs_layer_input *own, struct vs_unpack_job **out, vs_error **err)
{
        int sv[2], res[2];
        /* Populated as it fills (populate()), not here. */
        char *ring = NULL;
        if (own == NULL) {
                ring = mmap(NULL, (size_t) SLOTS * SLOT_SIZE, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                if (ring == MAP_FAILED)
                        return vs_fail_errno(err, "cannot map buffers to unpack %s", dest_dir);
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                unmap_ring(ring);
                return vs_fail_errno(err, "cannot create a socket pair to unpack %s", dest_dir);
        }
        if (pipe2(res, O_CLOEXEC) < 0) {
                int saved = errno;
                close(sv[0]);
                close(sv[1]);
                unmap_ring(ring);
                return vs_error_set(err, saved, "cannot create a pipe to unpack %s", dest_dir);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int saved = errno;
                close(sv[0]);
                close(sv[1]);
                close(res[0]);
                close(res[1]);
                unmap_ring(ring);
                return vs_error_set(err, saved, "cannot fork to unpack %s", dest_dir);
        }
        if (pid == 0) {
                close(sv[0]);
                close(res[0]);
                child(sv[1], ring, own, blob_fd, res[1], dest_dir, media_type);
        }
        close(sv[1]);
        close(res[1]);
        struct vs_unpack_job *j = xzalloc(sizeof(*j));
        j->pid = pid;
        j->data_fd = sv[0];
        j->result_fd = res[0];
        j->ring = ring;
        j->ended = own != NULL; /* nothing to feed */
        *out = j;
        return 0;
}

int vs_unpack_job_start(const char *dest_dir, const char *media_type, int blob_fd,
                        struct vs_unpack_job **out, vs_error **err)
{
        return start(dest_dir, media_type, blob_fd, NULL, out, err);
}

int vs_unpack_job_start_input(const char *dest_dir, const char *media_type, int blob_fd,
                              struct vs_layer_input *in, struct vs_unpack_job **out, vs_error **err)
{
        return start(dest_dir, media_type, blob_fd, in, out, err);
}

/* Counts the buffers the child gave back (without waiting). */
static void take_freed(struct vs_unpack_job *j)
{
        char buf[64];
        while (!j->stopped && j->busy > 0) {
                ssize_t n = recv(j->data_fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                        j->stopped = true; /* the child is gone */
                if (n <= 0)
                        return;
                j->busy -= (unsigned) n < j->busy ? (unsigned) n : j->busy;
        }
}

/* Hands the buffer being filled over to the child. */
static void publish(struct vs_unpack_job *j)
{
        uint32_t len = (uint32_t) j->fill;
        size_t sent = 0;
        while (!j->stopped && sent < sizeof(len)) {
                ssize_t n =
                    send(j->data_fd, (char *) &len + sent, sizeof(len) - sent, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        /* EPIPE/ECONNRESET: the child finished or gave up. */
                        j->stopped = true;
                        break;
                }
                sent += (size_t) n;
        }
        j->busy++;
        j->next = (j->next + 1) % SLOTS;
        j->fill = 0;
}

/* Feeds what the job takes without waiting: the number of bytes taken (all
 * of them once the job has stopped reading). */
static size_t try_feed(struct vs_unpack_job *j, const void *buf, size_t len)
{
        const char *p = buf;
        size_t taken = 0;
        while (!j->stopped && taken < len) {
                if (j->fill == 0 && j->busy >= SLOTS) {
                        take_freed(j);
                        if (j->busy >= SLOTS && !j->stopped)
                                return taken;
                        continue;
                }
                size_t n = SLOT_SIZE - j->fill;
                if (n > len - taken)
                        n = len - taken;
                j->mapped = populate(j->ring, j->mapped, (size_t) j->next * SLOT_SIZE + j->fill + n,
                                     MADV_POPULATE_WRITE);
                memcpy(j->ring + (size_t) j->next * SLOT_SIZE + j->fill, p + taken, n);
                j->fill += n;
                taken += n;
                if (j->fill == SLOT_SIZE)
                        publish(j);
        }
        return len; /* all taken, or dropped: the job no longer reads */
}

void vs_unpack_job_feed(struct vs_unpack_job *j, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                size_t n = try_feed(j, p, len);
                p += n;
                len -= n;
                if (len > 0) {
                        struct pollfd pfd = {.fd = j->data_fd, .events = POLLIN};
                        poll(&pfd, 1, -1);
                }
        }
}

static void reap(pid_t pid)
{
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

void vs_unpack_job_end_input(struct vs_unpack_job *j)
{
        if (j->ended)
                return;
        if (j->fill > 0) {
                /* its buffer is ours: it was free when the first byte went in */
                publish(j);
        }
        /* Not closed before the child is done: it still gives buffers back,
         * and closing a socket with unread bytes resets the peer's end. */
        shutdown(j->data_fd, SHUT_WR);
        j->ended = true;
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
        close(j->data_fd);
        unmap_ring(j->ring);
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
        close(j->data_fd);
        close(j->result_fd);
        reap(j->pid);
        unmap_ring(j->ring);
        free(j);
}
