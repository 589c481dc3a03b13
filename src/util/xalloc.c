#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p)
{
        if (p == NULL) {
                fputs("vessel: out of memory\n", stderr);
                abort();
        }
        return p;
}

void *xmalloc(size_t n)
{
        return check(malloc(n ? n : 1));
}

void *xzalloc(size_t n)
{
        return check(calloc(1, n ? n : 1));
}

void *xcalloc(size_t nmemb, size_t n)
{
        return check(calloc(nmemb ? nmemb : 1, n ? n : 1));
}

void *xrealloc(void *p, size_t n)
{
        return check(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
        return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
        return check(strndup(s, n));
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                check(NULL);
        return s;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = xvasprintf(fmt, ap);
        va_end(ap);
        return s;
}
