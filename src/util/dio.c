#include "util/dio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

/* Alignment of the buffer, the file offsets and the lengths of direct
 * writes: a multiple of any logical block size. */
#define VS_DIO_ALIGN 4096

static void go_buffered(struct vs_dio *d)
{
        int fl = fcntl(d->fd, F_GETFL);
        if (fl >= 0)
                fcntl(d->fd, F_SETFL, fl & ~O_DIRECT);
        d->direct = false;
}

void *vs_dio_buffer_new(void)
{
        void *buf;
        if (posix_memalign(&buf, VS_DIO_ALIGN, VS_DIO_CHUNK) != 0)
                return NULL;
        return buf;
}

void vs_dio_buffer_free(void *buf)
{
        free(buf);
}

void vs_dio_init(struct vs_dio *d, int fd, void *buf)
{
        *d = (struct vs_dio){.fd = fd};
        if (buf == NULL)
                return;
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_DIRECT) < 0)
                return;
        d->buf = buf;
        d->direct = true;
}

/* n bytes at p, directly while O_DIRECT is set. A filesystem that
 * accepted the flag but refuses the write (EINVAL) gets them, and all that
 * follows, through the page cache. */
static int send(struct vs_dio *d, const char *p, size_t n)
{
        size_t off = 0;
        while (off < n) {
                ssize_t w = write(d->fd, p + off, n - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EINVAL && d->direct && off == 0) {
                        go_buffered(d);
                        continue;
                }
                if (w <= 0) {
                        if (w == 0)
                                errno = EIO;
                        return -1;
                }
                off += (size_t) w;
        }
        d->sent += (int64_t) n;
        return 0;
}

int vs_dio_write(struct vs_dio *d, const void *p, size_t n)
{
        if (d->buf == NULL) {
                if (vs_write_all(d->fd, p, n) < 0)
                        return -1;
                d->sent += (int64_t) n;
                return 0;
        }
        const char *src = p;
        while (n > 0) {
                size_t take = VS_DIO_CHUNK - d->len;
                if (take > n)
                        take = n;
                memcpy(d->buf + d->len, src, take);
                d->len += take;
                src += take;
                n -= take;
                if (d->len == VS_DIO_CHUNK) {
                        if (send(d, d->buf, d->len) < 0)
                                return -1;
                        d->len = 0;
                }
        }
        return 0;
}

int vs_dio_finish(struct vs_dio *d)
{
        int ret = 0;
        if (d->buf != NULL) {
                /* whole blocks directly, the last partial one buffered */
                size_t whole = d->direct ? d->len / VS_DIO_ALIGN * VS_DIO_ALIGN : 0;
                if (whole > 0)
                        ret = send(d, d->buf, whole);
                if (d->direct)
                        go_buffered(d);
                if (ret == 0 && d->len > whole)
                        ret = send(d, d->buf + whole, d->len - whole);
        }
        vs_dio_release(d);
        return ret;
}

void vs_dio_release(struct vs_dio *d)
{
        d->buf = NULL;
        d->len = 0;
}
