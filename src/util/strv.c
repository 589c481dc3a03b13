#include "util/strv.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

size_t strv_len(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

void strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

void strv_push(char ***v, const char *s)
{
        size_t n = strv_len(*v);
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = xstrdup(s);
        (*v)[n + 1] = NULL;
}

char **strv_copy(char *const *v)
{
        size_t n = strv_len(v);
        char **c = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **v)
{
        if (v)
                qsort(v, strv_len(v), sizeof(char *), cmp_str);
}

char *strv_join(char *const *v, const char *sep)
{
        char *out = xstrdup("");
        for (char *const *p = v; p && *p; p++) {
                char *n = xasprintf("%s%s%s", out, p == v ? "" : sep, *p);
                free(out);
                out = n;
        }
        return out;
}

bool strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

void strv_env_set(char ***env, const char *kv)
{
        size_t klen = strcspn(kv, "=");
        for (size_t i = 0; *env && (*env)[i]; i++)
                if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
                        free((*env)[i]);
                        (*env)[i] = xstrdup(kv);
                        return;
                }
        strv_push(env, kv);
}

uint64_t vs_fnv1a(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 1099511628211ULL;
        }
        return h;
}

char *vs_str_escape(const char *s)
{
        size_t n = 0;
        for (const char *p = s; *p; p++)
                n += 4;
        char *out = xmalloc(n + 1), *o = out;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '\n') {
                        *o++ = '\\';
                        *o++ = 'n';
                } else if (*p == '\t') {
                        *o++ = '\\';
                        *o++ = 't';
                } else if (*p == '\\') {
                        *o++ = '\\';
                        *o++ = '\\';
                } else if (*p < 0x20 || *p == 0x7f) {
                        o += sprintf(o, "\\x%02x", *p);
                } else {
                        *o++ = (char) *p;
                }
        }
        *o = '\0';
        return out;
}
