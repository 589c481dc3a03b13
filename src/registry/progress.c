/* Docker-style per-layer progress (see progress.h). */
#include "registry/progress.h"
#include "image/store.h"
#include "image/transfer.h"
#include "util/xalloc.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

struct line {
        char id[13];
        char status[32];
        int64_t done, total;
        bool dirty, drawn;
};

struct vs_progress {
        FILE *out;
        bool tty, quiet;
        struct line *lines;
        size_t n, shown; /* lines printed on the terminal so far */
        struct timespec last;
};

struct vs_progress *vs_progress_new(FILE *out, bool quiet)
{
        struct vs_progress *p = xzalloc(sizeof(*p));
        p->out = out;
        p->quiet = quiet;
        p->tty = !quiet && vs_progress_enabled();
        return p;
}

void vs_progress_free(struct vs_progress *p)
{
        if (p == NULL)
                return;
        free(p->lines);
        free(p);
}

size_t vs_progress_add(struct vs_progress *p, const char *id, const char *status)
{
        p->lines = xrealloc(p->lines, (p->n + 1) * sizeof(*p->lines));
        struct line *l = &p->lines[p->n];
        memset(l, 0, sizeof(*l));
        snprintf(l->id, sizeof(l->id), "%.12s", id);
        snprintf(l->status, sizeof(l->status), "%s", status);
        l->dirty = true;
        if (!p->tty && !p->quiet)
                fprintf(p->out, "%s: %s\n", l->id, l->status);
        return p->n++;
}

void vs_progress_update(struct vs_progress *p, size_t line, const char *status, int64_t done,
                        int64_t total)
{
        if (p == NULL || line >= p->n)
                return;
        struct line *l = &p->lines[line];
        snprintf(l->status, sizeof(l->status), "%s", status);
        l->done = done;
        l->total = total;
        l->dirty = true;
}

void vs_progress_done(struct vs_progress *p, size_t line, const char *status)
{
        if (p == NULL || line >= p->n)
                return;
        vs_progress_update(p, line, status, 0, 0);
        if (!p->tty && !p->quiet)
                fprintf(p->out, "%s: %s\n", p->lines[line].id, status);
}

static void size_text(char *buf, size_t n, int64_t v)
{
        if (v >= 1000 * 1000)
                snprintf(buf, n, "%.1fMB", (double) v / 1e6);
        else if (v >= 1000)
                snprintf(buf, n, "%.1fkB", (double) v / 1e3);
        else
                snprintf(buf, n, "%lldB", (long long) v);
}

static void draw(struct vs_progress *p, struct line *l)
{
        fprintf(stderr, "\r\033[K%s: %s", l->id, l->status);
        if (l->total > 0) {
                char a[32], b[32], bar[51];
                int fill = (int) (l->done * 50 / l->total);
                for (int i = 0; i < 50; i++)
                        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
                bar[50] = '\0';
                size_text(a, sizeof(a), l->done);
                size_text(b, sizeof(b), l->total);
                fprintf(stderr, " [%s]  %s/%s", bar, a, b);
        }
}

void vs_progress_flush(struct vs_progress *p, bool force)
{
        if (p == NULL || !p->tty)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000;
        if (!force && ms < 100)
                return;
        p->last = now;
        /* New lines are appended; changed ones are redrawn in place. */
        for (size_t i = 0; i < p->n; i++) {
                struct line *l = &p->lines[i];
                if (i >= p->shown) {
                        draw(p, l);
                        fputc('\n', stderr);
                        p->shown++;
                } else if (l->dirty) {
                        size_t up = p->shown - i;
                        fprintf(stderr, "\033[%zuA", up);
                        draw(p, l);
                        fprintf(stderr, "\r\033[%zuB", up);
                }
                l->dirty = false;
        }
        fflush(stderr);
}
