/* A file written once, front to back, past the page cache where the
 * filesystem allows it (O_DIRECT): whole blocks go from an aligned buffer
 * straight to the device, and only the tail goes through the page cache.
 *
 * For blobs that are written once and rarely read again (a pulled or
 * loaded layer's compressed bytes): they do not take page-cache pages
 * from the rest of the machine, which on a guest whose free memory is
 * handed back to its host (virtio-balloon free page reporting) is the
 * costly part of writing them (docs/registries.md). */
#ifndef VESSEL_UTIL_DIO_H
#define VESSEL_UTIL_DIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One direct write: large enough that the device sees long requests; a
 * file smaller than this gains nothing from going direct. */
#define VS_DIO_CHUNK (1 << 20)

struct vs_dio {
        int fd;
        bool direct;  /* O_DIRECT is set on fd */
        char *buf;    /* the caller's staging buffer, while in use */
        size_t len;   /* bytes waiting in buf */
        int64_t sent; /* bytes written to fd so far */
};

/* A staging buffer of VS_DIO_CHUNK bytes, aligned for direct writes, for
 * any number of files written one after the other (allocate it once: a
 * fresh one per file costs a mapping and its page faults each time). */
void *vs_dio_buffer_new(void);
void vs_dio_buffer_free(void *buf);

/* Starts writing fd (open for writing, at offset 0, empty) through buf
 * (from vs_dio_buffer_new): O_DIRECT when the filesystem takes it, plain
 * writes otherwise (and when buf is NULL). */
void vs_dio_init(struct vs_dio *d, int fd, void *buf);
/* Appends n bytes; 0, or -1 with errno. */
int vs_dio_write(struct vs_dio *d, const void *p, size_t n);
/* Where the next byte goes: all that was appended so far. */
static inline int64_t vs_dio_offset(const struct vs_dio *d)
{
        return d->sent + (int64_t) d->len;
}
/* Writes what is still buffered (whole blocks directly, a last partial
 * one through the page cache) and clears O_DIRECT; 0, or -1 with errno.
 * The fd stays open, at the end of what was written. */
int vs_dio_finish(struct vs_dio *d);
/* Stops using the buffer without writing what it holds (after a failure). */
void vs_dio_release(struct vs_dio *d);

#endif
