/* Error objects, crun-style: a function that can fail returns a negative
 * value and fills *err; callers add context with vs_error_wrap() and
 * propagate. Only main() prints. */
#ifndef VESSEL_UTIL_ERROR_H
#define VESSEL_UTIL_ERROR_H

#include <stdarg.h>

typedef struct vs_error {
        int errno_; /* 0 when the failure has no errno */
        char *msg;  /* complete message, strerror already appended */
} vs_error;

/* Fills *err (if err != NULL and *err is empty) with the formatted message
 * followed by ": strerror(errno_)" when errno_ != 0. Returns -1 always so it
 * can be used as `return vs_error_set(err, errno, "...")`. */
int vs_error_set(vs_error **err, int errno_, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vs_error_setv(vs_error **err, int errno_, const char *fmt, va_list ap);

/* Prefixes the existing message with "context: ". Returns -1. */
int vs_error_wrap(vs_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void vs_error_free(vs_error **err);

/* Convenience: errno-based failure return. */
#define vs_fail_errno(err, ...) vs_error_set((err), errno, __VA_ARGS__)
#define vs_fail(err, ...)       vs_error_set((err), 0, __VA_ARGS__)

#endif
