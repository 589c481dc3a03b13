/* Word expansion of the Dockerfile reference (buildkit's shell lexer):
 * single quotes are literal, double quotes expand variables and let the
 * escape character escape '"', '$' and itself, outside quotes the escape
 * character makes the next character literal. $V, ${V} and the modifiers
 * :- - :+ + :? ? are supported; an unknown modifier is an error. */
#include "build/dockerfile.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <string.h>

struct buf {
        char *s;
        size_t n, cap;
};

static void put(struct buf *b, char c)
{
        if (b->n + 2 > b->cap) {
                b->cap = b->cap ? b->cap * 2 : 64;
                b->s = xrealloc(b->s, b->cap);
        }
        b->s[b->n++] = c;
        b->s[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
        while (*s)
                put(b, *s++);
}

struct lexer {
        const char *p;
        char escape;
        vs_df_lookup_fn lookup;
        void *arg;
        int depth;
        /* Words mode: finished words, and whether the current one exists. */
        char ***words;
        bool in_word;
};

static bool name_char(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

static int process(struct lexer *lx, struct buf *out, char stop, vs_error **err);

static int dollar(struct lexer *lx, struct buf *out, vs_error **err)
{
        /* lx->p is just past '$'. */
        if (*lx->p != '{') {
                const char *s = lx->p;
                while (name_char(*lx->p))
                        lx->p++;
                if (lx->p == s) {
                        put(out, '$');
                        return 0;
                }
                _cleanup_free_ char *name = xstrndup(s, (size_t) (lx->p - s));
                const char *v = lx->lookup(name, lx->arg);
                if (v)
                        puts_(out, v);
                return 0;
        }
        lx->p++;
        const char *s = lx->p;
        while (name_char(*lx->p))
                lx->p++;
        if (lx->p == s)
                return vs_fail(err, "bad substitution: empty or invalid variable name in ${}");
        _cleanup_free_ char *name = xstrndup(s, (size_t) (lx->p - s));
        const char *v = lx->lookup(name, lx->arg);
        if (*lx->p == '}') {
                lx->p++;
                if (v)
                        puts_(out, v);
                return 0;
        }
        bool colon = *lx->p == ':';
        if (colon)
                lx->p++;
        char mod = *lx->p;
        if (mod != '-' && mod != '+' && mod != '?')
                return vs_fail(err, "unsupported modifier (%c) in substitution of ${%s}",
                               mod ? mod : '}', name);
        lx->p++;
        if (++lx->depth > 64)
                return vs_fail(err, "substitutions nested too deeply");
        struct buf word = {0};
        char ***saved = lx->words;
        lx->words = NULL; /* the word of a modifier is never split */
        int r = process(lx, &word, '}', err);
        lx->words = saved;
        lx->depth--;
        if (r < 0) {
                free(word.s);
                return -1;
        }
        if (*lx->p != '}') {
                free(word.s);
                return vs_fail(err, "syntax error: missing '}' in ${%s", name);
        }
        lx->p++;
        bool set = v != NULL, nonempty = v && *v;
        bool present = colon ? nonempty : set;
        const char *w = word.s ? word.s : "";
        switch (mod) {
        case '-':
                puts_(out, present ? v : w);
                break;
        case '+':
                if (present)
                        puts_(out, w);
                break;
        case '?':
                if (!present) {
                        vs_fail(err, "%s: %s", name, *w ? w : "is not allowed to be unset");
                        free(word.s);
                        return -1;
                }
                puts_(out, v);
                break;
        }
        free(word.s);
        return 0;
}

static void end_word(struct lexer *lx, struct buf *out)
{
        if (lx->words && lx->in_word) {
                strv_push(lx->words, out->s ? out->s : "");
                out->n = 0;
                if (out->s)
                        out->s[0] = '\0';
        }
        lx->in_word = false;
}

static int process(struct lexer *lx, struct buf *out, char stop, vs_error **err)
{
        while (*lx->p && *lx->p != stop) {
                char c = *lx->p;
                if (lx->words && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
                        end_word(lx, out);
                        lx->p++;
                        continue;
                }
                lx->in_word = true;
                if (c == '\'') {
                        const char *end = strchr(lx->p + 1, '\'');
                        if (end == NULL)
                                return vs_fail(err, "unexpected end of statement while looking "
                                                    "for matching single-quote");
                        for (const char *q = lx->p + 1; q < end; q++)
                                put(out, *q);
                        lx->p = end + 1;
                        continue;
                }
                if (c == '"') {
                        lx->p++;
                        while (*lx->p && *lx->p != '"') {
                                char d = *lx->p;
                                if (d == lx->escape) {
                                        char e = lx->p[1];
                                        if (e == '\0') {
                                                lx->p++;
                                                continue;
                                        }
                                        if (e == '"' || e == '$' || e == lx->escape) {
                                                put(out, e);
                                                lx->p += 2;
                                                continue;
                                        }
                                        put(out, d);
                                        lx->p++;
                                        continue;
                                }
                                lx->p++;
                                if (d == '$') {
                                        char ***saved = lx->words;
                                        lx->words = NULL;
                                        int r = dollar(lx, out, err);
                                        lx->words = saved;
                                        if (r < 0)
                                                return -1;
                                        continue;
                                }
                                put(out, d);
                        }
                        if (*lx->p != '"')
                                return vs_fail(err, "unexpected end of statement while looking "
                                                    "for matching double-quote");
                        lx->p++;
                        continue;
                }
                if (c == lx->escape) {
                        lx->p++;
                        if (*lx->p) {
                                put(out, *lx->p);
                                lx->p++;
                        }
                        continue;
                }
                lx->p++;
                if (c == '$') {
                        if (dollar(lx, out, err) < 0)
                                return -1;
                        continue;
                }
                put(out, c);
        }
        return 0;
}

int vs_df_expand(const char *word, char escape, vs_df_lookup_fn lookup, void *arg, char **out,
                 vs_error **err)
{
        struct lexer lx = {.p = word, .escape = escape, .lookup = lookup, .arg = arg};
        struct buf b = {0};
        if (process(&lx, &b, '\0', err) < 0) {
                free(b.s);
                return -1;
        }
        *out = b.s ? b.s : xstrdup("");
        return 0;
}

int vs_df_expand_words(const char *text, char escape, vs_df_lookup_fn lookup, void *arg,
                       char ***out, vs_error **err)
{
        char **words = NULL;
        struct lexer lx = {
            .p = text, .escape = escape, .lookup = lookup, .arg = arg, .words = &words};
        struct buf b = {0};
        int r = process(&lx, &b, '\0', err);
        if (r == 0)
                end_word(&lx, &b);
        free(b.s);
        if (r < 0) {
                strv_free(words);
                return -1;
        }
        *out = words ? words : xcalloc(1, sizeof(char *));
        return 0;
}
