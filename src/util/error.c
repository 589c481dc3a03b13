#include "util/error.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vs_error_setv(vs_error **err, int errno_, const char *fmt, va_list ap)
{
        if (err == NULL || *err != NULL)
                return -1;
        char *base = xvasprintf(fmt, ap);
        vs_error *e = xmalloc(sizeof(*e));
        e->errno_ = errno_;
        if (errno_ != 0) {
                e->msg = xasprintf("%s: %s", base, strerror(errno_));
                free(base);
        } else {
                e->msg = base;
        }
        *err = e;
        return -1;
}

int vs_error_set(vs_error **err, int errno_, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vs_error_setv(err, errno_, fmt, ap);
        va_end(ap);
        return -1;
}

int vs_error_wrap(vs_error **err, const char *fmt, ...)
{
        if (err == NULL || *err == NULL)
                return -1;
        va_list ap;
        va_start(ap, fmt);
        char *ctx = xvasprintf(fmt, ap);
        va_end(ap);
        char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
        free(ctx);
        free((*err)->msg);
        (*err)->msg = msg;
        return -1;
}

void vs_error_free(vs_error **err)
{
        if (err == NULL || *err == NULL)
                return;
        free((*err)->msg);
        free(*err);
        *err = NULL;
}
