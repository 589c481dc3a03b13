/* The Dockerfile parser: directives, continuations, comments, heredocs,
 * flags, JSON (exec) and shell forms, into struct vs_df_instr. Pure: no
 * file system, no globals. Follows moby/buildkit's frontend/dockerfile/parser
 * (the reference's grammar), checked instruction by instruction. */
#include "build/dockerfile.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {
    [VS_DF_FROM] = "FROM",
    [VS_DF_RUN] = "RUN",
    [VS_DF_CMD] = "CMD",
    [VS_DF_LABEL] = "LABEL",
    [VS_DF_MAINTAINER] = "MAINTAINER",
    [VS_DF_EXPOSE] = "EXPOSE",
    [VS_DF_ENV] = "ENV",
    [VS_DF_ADD] = "ADD",
    [VS_DF_COPY] = "COPY",
    [VS_DF_ENTRYPOINT] = "ENTRYPOINT",
    [VS_DF_VOLUME] = "VOLUME",
    [VS_DF_USER] = "USER",
    [VS_DF_WORKDIR] = "WORKDIR",
    [VS_DF_ARG] = "ARG",
    [VS_DF_ONBUILD] = "ONBUILD",
    [VS_DF_STOPSIGNAL] = "STOPSIGNAL",
    [VS_DF_HEALTHCHECK] = "HEALTHCHECK",
    [VS_DF_SHELL] = "SHELL",
};
#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

/* Flags each instruction accepts (Dockerfile reference, syntax 1.x). */
static const char *const *allowed_flags(enum vs_df_kind k)
{
        static const char *const from[] = {"platform", NULL};
        static const char *const run[] = {"mount", "network", "security", NULL};
        static const char *const copy[] = {"from",    "chown",   "chmod", "link",
                                           "parents", "exclude", NULL};
        static const char *const add[] = {"chown",        "chmod",   "checksum", "link",
                                          "keep-git-dir", "exclude", NULL};
        static const char *const hc[] = {"interval",       "timeout", "start-period",
                                         "start-interval", "retries", NULL};
        static const char *const none[] = {NULL};
        switch (k) {
        case VS_DF_FROM:
                return from;
        case VS_DF_RUN:
                return run;
        case VS_DF_COPY:
                return copy;
        case VS_DF_ADD:
                return add;
        case VS_DF_HEALTHCHECK:
                return hc;
        default:
                return none;
        }
}

const char *vs_df_kind_name(enum vs_df_kind k)
{
        return (size_t) k < N_KINDS ? kind_names[k] : "?";
}

static int kind_from_word(const char *w, size_t n)
{
        for (size_t i = 0; i < N_KINDS; i++)
                if (strlen(kind_names[i]) == n && strncasecmp(kind_names[i], w, n) == 0)
                        return (int) i;
        return -1;
}

void vs_df_instr_free(struct vs_df_instr *in)
{
        if (in == NULL)
                return;
        free(in->original);
        strv_free(in->flags);
        strv_free(in->args);
        free(in->has_value);
        for (size_t i = 0; i < in->n_heredocs; i++) {
                free(in->heredocs[i].word);
                free(in->heredocs[i].content);
        }
        free(in->heredocs);
        vs_df_instr_free(in->sub);
        free(in);
}

static void instr_clear(struct vs_df_instr *in)
{
        struct vs_df_instr *copy = xmalloc(sizeof(*copy));
        *copy = *in;
        vs_df_instr_free(copy);
        memset(in, 0, sizeof(*in));
}

void vs_dockerfile_free(struct vs_dockerfile *df)
{
        if (df == NULL)
                return;
        for (size_t i = 0; i < df->n; i++)
                instr_clear(&df->instrs[i]);
        free(df->instrs);
        free(df);
}

const char *vs_df_flag(const struct vs_df_instr *in, const char *name)
{
        size_t n = strlen(name);
        for (size_t i = 0; in->flags && in->flags[i]; i++) {
                const char *f = in->flags[i] + 2;
                if (strncmp(f, name, n) == 0) {
                        if (f[n] == '=')
                                return f + n + 1;
                        if (f[n] == '\0')
                                return "true";
                }
        }
        return NULL;
}

#define fail_at(err, name, line, ...) fail_line(err, name, line, xasprintf(__VA_ARGS__))

static int fail_line(vs_error **err, const char *name, int line, char *msg)
{
        vs_error_set(err, 0, "%s:%d: %s", name, line, msg);
        free(msg);
        return -1;
}

static bool blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Splits s at unquoted blanks, keeping quotes and escapes (the expansion
 * removes them later). */
static char **split_words(const char *s, char escape)
{
        char **v = NULL;
        const char *p = s;
        while (*p) {
                while (blank(*p) || *p == '\n' || *p == '\r')
                        p++;
                if (!*p)
                        break;
                const char *start = p;
                char quote = 0;
                while (*p && (quote || !(blank(*p) || *p == '\n' || *p == '\r'))) {
                        if (*p == escape && quote != '\'' && p[1]) {
                                p += 2;
                                continue;
                        }
                        if (quote && *p == quote)
                                quote = 0;
                        else if (!quote && (*p == '"' || *p == '\''))
                                quote = *p;
                        p++;
                }
                _cleanup_free_ char *w = xstrndup(start, (size_t) (p - start));
                strv_push(&v, w);
        }
        if (v == NULL)
                v = xcalloc(1, sizeof(char *));
        return v;
}

/* '["a","b"]' -> strings; false when text is not a JSON array of strings. */
static bool parse_json_array(const char *text, char ***out)
{
        json_tokener *tok = json_tokener_new();
        json_object *a = json_tokener_parse_ex(tok, text, (int) strlen(text));
        bool ok = a && json_tokener_get_error(tok) == json_tokener_success &&
                  json_object_is_type(a, json_type_array);
        /* Nothing but blanks may follow the array. */
        if (ok) {
                size_t used = json_tokener_get_parse_end(tok);
                for (const char *p = text + used; *p; p++)
                        if (!isspace((unsigned char) *p))
                                ok = false;
        }
        char **v = NULL;
        for (size_t i = 0; ok && i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string)) {
                        ok = false;
                        break;
                }
                strv_push(&v, json_object_get_string(e));
        }
        json_object_put(a);
        json_tokener_free(tok);
        if (!ok) {
                strv_free(v);
                return false;
        }
        *out = v ? v : xcalloc(1, sizeof(char *));
        return true;
}

/* Leading "--flag[=value]" words of rest; *rest moves past them. */
static int take_flags(struct vs_df_instr *in, const char **rest, const char *name, int line,
                      vs_error **err)
{
        const char *p = *rest;
        const char *const *ok = allowed_flags(in->kind);
        while (p[0] == '-' && p[1] == '-') {
                const char *start = p;
                while (*p && !blank(*p) && *p != '\n')
                        p++;
                _cleanup_free_ char *f = xstrndup(start, (size_t) (p - start));
                size_t klen = strcspn(f + 2, "=");
                bool known = false;
                for (size_t i = 0; ok[i]; i++)
                        if (strlen(ok[i]) == klen && strncmp(ok[i], f + 2, klen) == 0)
                                known = true;
                if (!known || klen == 0)
                        return fail_at(err, name, line, "unknown flag: %.*s for %s", (int) klen + 2,
                                       f, vs_df_kind_name(in->kind));
                strv_push(&in->flags, f);
                while (blank(*p))
                        p++;
        }
        *rest = p;
        return 0;
}

/* ENV/LABEL: "k=v k2=v2" or the legacy "k value with blanks". */
static int key_values(struct vs_df_instr *in, const char *rest, char escape, const char *name,
                      int line, vs_error **err)
{
        _cleanup_strv_ char **words = split_words(rest, escape);
        const char *kw = vs_df_kind_name(in->kind);
        if (words[0] == NULL)
                return fail_at(err, name, line, "%s requires at least one argument", kw);
        if (strchr(words[0], '=') == NULL) {
                if (in->kind == VS_DF_ARG)
                        goto pairs;
                if (words[1] == NULL)
                        return fail_at(err, name, line, "%s must have two arguments", kw);
                const char *v = rest + strlen(words[0]);
                while (blank(*v))
                        v++;
                strv_push(&in->args, words[0]);
                _cleanup_free_ char *val = xstrdup(v);
                size_t n = strlen(val);
                while (n && (blank(val[n - 1]) || val[n - 1] == '\n'))
                        val[--n] = '\0';
                strv_push(&in->args, val);
                return 0;
        }
pairs:
        for (size_t i = 0; words[i]; i++) {
                char *eq = strchr(words[i], '=');
                if (eq == NULL && in->kind != VS_DF_ARG)
                        return fail_at(err, name, line,
                                       "syntax error - can't find = in \"%s\". Must be of the "
                                       "form: name=value",
                                       words[i]);
                size_t klen = eq ? (size_t) (eq - words[i]) : strlen(words[i]);
                if (klen == 0)
                        return fail_at(err, name, line, "%s names must not be blank", kw);
                _cleanup_free_ char *k = xstrndup(words[i], klen);
                strv_push(&in->args, k);
                strv_push(&in->args, eq ? eq + 1 : "");
                size_t np = strv_len(in->args) / 2;
                in->has_value = xrealloc(in->has_value, np * sizeof(bool));
                in->has_value[np - 1] = eq != NULL;
        }
        return 0;
}

static bool takes_heredocs(enum vs_df_kind k)
{
        return k == VS_DF_RUN || k == VS_DF_COPY || k == VS_DF_ADD;
}

/* Heredoc markers ("<<EOF", "<<-'EOF'", "3<<EOF") among the words of rest. */
static int find_heredocs(struct vs_df_instr *in, const char *rest, char escape, bool *chomp,
                         const char *name, int line, vs_error **err)
{
        _cleanup_strv_ char **words = split_words(rest, escape);
        for (size_t i = 0; words[i]; i++) {
                const char *w = words[i];
                while (isdigit((unsigned char) *w))
                        w++;
                if (strncmp(w, "<<", 2) != 0 || w[2] == '<')
                        continue;
                w += 2;
                bool dash = *w == '-';
                if (dash)
                        w++;
                if (*w == '\0')
                        continue;
                bool quoted = strpbrk(w, "'\"") != NULL;
                char *word = xmalloc(strlen(w) + 1);
                size_t n = 0;
                for (const char *p = w; *p; p++)
                        if (*p != '\'' && *p != '"')
                                word[n++] = *p;
                word[n] = '\0';
                if (n == 0) {
                        free(word);
                        return fail_at(err, name, line, "empty heredoc delimiter");
                }
                in->heredocs = xrealloc(in->heredocs, (in->n_heredocs + 1) * sizeof(*in->heredocs));
                chomp[in->n_heredocs < 16 ? in->n_heredocs : 15] = dash;
                in->heredocs[in->n_heredocs++] =
                    (struct vs_df_heredoc){.word = word, .content = NULL, .expand = !quoted};
                if (in->n_heredocs > 16)
                        return fail_at(err, name, line, "too many heredocs");
        }
        return 0;
}

static char *trim_dup(const char *s)
{
        while (blank(*s))
                s++;
        size_t n = strlen(s);
        while (n && (blank(s[n - 1]) || s[n - 1] == '\n' || s[n - 1] == '\r'))
                n--;
        return xstrndup(s, n);
}

static int parse_command(struct vs_df_instr *in, const char *rest, const char *name, int line,
                         vs_error **err)
{
        const char *kw = vs_df_kind_name(in->kind);
        if (*rest == '\0' && in->n_heredocs == 0)
                return fail_at(err, name, line, "%s requires at least one argument", kw);
        if (*rest == '[' && parse_json_array(rest, &in->args)) {
                in->exec_form = true;
                if (in->kind == VS_DF_SHELL && in->args[0] == NULL)
                        return fail_at(err, name, line, "SHELL requires at least one argument");
                return 0;
        }
        if (in->kind == VS_DF_SHELL)
                return fail_at(err, name, line, "SHELL requires the arguments to be in JSON form");
        /* RUN/CMD/ENTRYPOINT: text that is not a valid JSON array is the
         * shell form (as Docker does). */
        _cleanup_free_ char *t = trim_dup(rest);
        strv_push(&in->args, t);
        return 0;
}

static int parse_args(struct vs_df_instr *in, const char *rest, char escape, const char *name,
                      int line, vs_error **err);

static int parse_healthcheck(struct vs_df_instr *in, const char *rest, char escape,
                             const char *name, int line, vs_error **err)
{
        size_t kw = strcspn(rest, " \t\n");
        if (kw == 4 && strncasecmp(rest, "NONE", 4) == 0) {
                const char *p = rest + 4;
                while (isspace((unsigned char) *p))
                        p++;
                if (*p || in->flags)
                        return fail_at(err, name, line, "HEALTHCHECK NONE takes no arguments");
                strv_push(&in->args, "NONE");
                return 0;
        }
        if (kw != 3 || strncasecmp(rest, "CMD", 3) != 0)
                return fail_at(err, name, line, "HEALTHCHECK expects NONE or CMD");
        const char *p = rest + 3;
        while (blank(*p))
                p++;
        in->sub = xzalloc(sizeof(*in->sub));
        in->sub->kind = VS_DF_CMD;
        in->sub->line = line;
        in->sub->original = xstrdup(rest);
        strv_push(&in->args, "CMD");
        return parse_command(in->sub, p, name, line, err);
}

static int parse_from(struct vs_df_instr *in, const char *rest, char escape, const char *name,
                      int line, vs_error **err)
{
        in->args = split_words(rest, escape);
        size_t n = strv_len(in->args);
        if (n == 1)
                return 0;
        if (n == 3 && strcasecmp(in->args[1], "AS") == 0) {
                const char *s = in->args[2];
                for (const char *p = s; *p; p++)
                        if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '-' || *p == '.'))
                                return fail_at(err, name, line,
                                               "invalid name for build stage: "
                                               "\"%s\"",
                                               s);
                return 0;
        }
        return fail_at(err, name, line, "FROM requires either one or three arguments");
}

static int parse_args(struct vs_df_instr *in, const char *rest, char escape, const char *name,
                      int line, vs_error **err)
{
        const char *kw = vs_df_kind_name(in->kind);
        switch (in->kind) {
        case VS_DF_FROM:
                if (!*rest)
                        return fail_at(err, name, line,
                                       "FROM requires either one or three "
                                       "arguments");
                return parse_from(in, rest, escape, name, line, err);
        case VS_DF_RUN:
        case VS_DF_CMD:
        case VS_DF_ENTRYPOINT:
        case VS_DF_SHELL:
                return parse_command(in, rest, name, line, err);
        case VS_DF_ENV:
        case VS_DF_LABEL:
        case VS_DF_ARG:
                return key_values(in, rest, escape, name, line, err);
        case VS_DF_HEALTHCHECK:
                return parse_healthcheck(in, rest, escape, name, line, err);
        case VS_DF_ONBUILD: {
                size_t k = strcspn(rest, " \t\n");
                int sub = kind_from_word(rest, k);
                if (!*rest)
                        return fail_at(err, name, line, "ONBUILD requires at least one argument");
                if (sub == VS_DF_ONBUILD || sub == VS_DF_FROM || sub == VS_DF_MAINTAINER)
                        return fail_at(err, name, line, "%.*s isn't allowed as an ONBUILD trigger",
                                       (int) k, rest);
                strv_push(&in->args, rest);
                return vs_df_parse_line(rest, escape, name, line, &in->sub, err);
        }
        case VS_DF_VOLUME:
                if (*rest == '[' && parse_json_array(rest, &in->args)) {
                        in->exec_form = true;
                        if (in->args[0] == NULL)
                                return fail_at(err, name, line,
                                               "VOLUME requires at least one "
                                               "argument");
                        return 0;
                }
                in->args = split_words(rest, escape);
                if (in->args[0] == NULL)
                        return fail_at(err, name, line, "VOLUME requires at least one argument");
                return 0;
        case VS_DF_COPY:
        case VS_DF_ADD:
                if (*rest == '[' && parse_json_array(rest, &in->args))
                        in->exec_form = true;
                else
                        in->args = split_words(rest, escape);
                if (strv_len(in->args) < 2)
                        return fail_at(err, name, line,
                                       "%s requires at least two arguments, but "
                                       "only %zu provided",
                                       kw, strv_len(in->args));
                return 0;
        case VS_DF_EXPOSE:
                in->args = split_words(rest, escape);
                if (in->args[0] == NULL)
                        return fail_at(err, name, line, "EXPOSE requires at least one argument");
                return 0;
        case VS_DF_USER:
        case VS_DF_WORKDIR:
        case VS_DF_STOPSIGNAL:
        case VS_DF_MAINTAINER: {
                _cleanup_free_ char *t = trim_dup(rest);
                if (!*t)
                        return fail_at(err, name, line, "%s requires exactly one argument", kw);
                if (in->kind == VS_DF_STOPSIGNAL || in->kind == VS_DF_USER) {
                        _cleanup_strv_ char **w = split_words(t, escape);
                        if (strv_len(w) != 1)
                                return fail_at(err, name, line, "%s requires exactly one argument",
                                               kw);
                }
                strv_push(&in->args, t);
                return 0;
        }
        }
        return fail_at(err, name, line, "unknown instruction: %s", kw);
}

/* One logical line (continuations joined) into *in, without heredoc bodies. */
static int parse_logical(struct vs_df_instr *in, const char *text, char escape, const char *name,
                         int line, bool *chomp, vs_error **err)
{
        const char *p = text;
        while (isspace((unsigned char) *p))
                p++;
        size_t k = 0;
        while (p[k] && !isspace((unsigned char) p[k]))
                k++;
        int kind = kind_from_word(p, k);
        if (kind < 0)
                return fail_at(err, name, line, "unknown instruction: %.*s",
                               (int) (k > 64 ? 64 : k), p);
        in->kind = (enum vs_df_kind) kind;
        in->line = line;
        in->original = trim_dup(p);
        const char *rest = p + k;
        while (isspace((unsigned char) *rest))
                rest++;
        if (take_flags(in, &rest, name, line, err) < 0)
                return -1;
        if (takes_heredocs(in->kind) && *rest != '[' &&
            find_heredocs(in, rest, escape, chomp, name, line, err) < 0)
                return -1;
        _cleanup_free_ char *r = trim_dup(rest);
        return parse_args(in, r, escape, name, line, err);
}

int vs_df_parse_line(const char *text, char escape, const char *name, int line,
                     struct vs_df_instr **out, vs_error **err)
{
        struct vs_df_instr *in = xzalloc(sizeof(*in));
        bool chomp[16] = {0};
        if (parse_logical(in, text, escape, name, line, chomp, err) < 0) {
                vs_df_instr_free(in);
                return -1;
        }
        if (in->n_heredocs) {
                vs_df_instr_free(in);
                return fail_at(err, name, line, "heredocs are not allowed here");
        }
        *out = in;
        return 0;
}

/* The source as lines (no terminators; "\r\n" taken as "\n"). */
struct lines {
        char **v;
        size_t n;
};

static void split_lines(const char *text, size_t len, struct lines *l)
{
        size_t cap = 0;
        const char *p = text, *end = text + len;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                size_t keep = n;
                if (keep && p[keep - 1] == '\r')
                        keep--;
                if (l->n == cap) {
                        cap = cap ? cap * 2 : 64;
                        l->v = xrealloc(l->v, cap * sizeof(char *));
                }
                l->v[l->n++] = xstrndup(p, keep);
                p += n + (nl ? 1 : 0);
        }
}

static bool is_comment(const char *s)
{
        while (isspace((unsigned char) *s))
                s++;
        return *s == '#';
}

static bool is_empty(const char *s)
{
        while (isspace((unsigned char) *s))
                s++;
        return *s == '\0';
}

/* "# key=value" at the top of the file. Returns true for a directive. */
static bool directive(const char *s, char **key, char **value)
{
        if (*s != '#')
                return false;
        s++;
        while (blank(*s))
                s++;
        const char *k = s;
        while (isalnum((unsigned char) *s))
                s++;
        size_t klen = (size_t) (s - k);
        while (blank(*s))
                s++;
        if (klen == 0 || *s != '=')
                return false;
        s++;
        while (blank(*s))
                s++;
        _cleanup_free_ char *v = trim_dup(s);
        *key = xstrndup(k, klen);
        for (char *c = *key; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        *value = steal_ptr(v);
        return true;
}

/* Ends in the escape character (trailing blanks allowed): cuts it off. */
static bool continues(char *s, char escape)
{
        size_t n = strlen(s);
        while (n && blank(s[n - 1]))
                n--;
        if (n && s[n - 1] == escape) {
                s[n - 1] = '\0';
                return true;
        }
        return false;
}

static int read_directives(struct lines *l, size_t *i, struct vs_dockerfile *df, const char *name,
                           vs_error **err)
{
        bool seen_escape = false;
        for (; *i < l->n; (*i)++) {
                _cleanup_free_ char *k = NULL, *v = NULL;
                if (!directive(l->v[*i], &k, &v))
                        return 0;
                if (strcmp(k, "escape") == 0) {
                        if (seen_escape)
                                return fail_at(err, name, (int) *i + 1,
                                               "only one escape parser directive can be used");
                        if (strcmp(v, "\\") != 0 && strcmp(v, "`") != 0)
                                return fail_at(err, name, (int) *i + 1,
                                               "invalid escape token '%s' does not match ` or \\",
                                               v);
                        df->escape = v[0];
                        seen_escape = true;
                }
                /* syntax=, check=: accepted, ignored (one frontend here). */
        }
        return 0;
}

/* Heredoc bodies that follow an instruction's last line. */
static int read_heredocs(struct vs_df_instr *in, const bool *chomp, struct lines *l, size_t *i,
                         const char *name, vs_error **err)
{
        for (size_t h = 0; h < in->n_heredocs; h++) {
                struct vs_df_heredoc *hd = &in->heredocs[h];
                size_t cap = 64, n = 0;
                char *body = xmalloc(cap);
                body[0] = '\0';
                bool done = false;
                for (; *i < l->n; (*i)++) {
                        const char *s = l->v[*i];
                        if (chomp[h < 16 ? h : 15])
                                while (*s == '\t')
                                        s++;
                        if (strcmp(s, hd->word) == 0) {
                                (*i)++;
                                done = true;
                                break;
                        }
                        size_t sl = strlen(s);
                        while (n + sl + 2 > cap)
                                cap *= 2;
                        body = xrealloc(body, cap);
                        memcpy(body + n, s, sl);
                        n += sl;
                        body[n++] = '\n';
                        body[n] = '\0';
                }
                hd->content = body;
                if (!done)
                        return fail_at(err, name, in->line, "unterminated heredoc %s", hd->word);
        }
        return 0;
}

static int parse_all(struct lines *l, struct vs_dockerfile *df, const char *name, vs_error **err)
{
        size_t i = 0, cap = 0;
        if (read_directives(l, &i, df, name, err) < 0)
                return -1;
        bool stage = false;
        while (i < l->n) {
                if (is_empty(l->v[i]) || is_comment(l->v[i])) {
                        i++;
                        continue;
                }
                int line = (int) i + 1;
                size_t tn = 0, tcap = 256;
                _cleanup_free_ char *text = xmalloc(tcap);
                text[0] = '\0';
                for (;;) {
                        char *s = l->v[i++];
                        bool more = continues(s, df->escape);
                        size_t sl = strlen(s);
                        while (tn + sl + 2 > tcap)
                                tcap *= 2;
                        text = xrealloc(text, tcap);
                        memcpy(text + tn, s, sl);
                        tn += sl;
                        text[tn] = '\0';
                        if (!more)
                                break;
                        /* Comments and empty lines inside a continuation are skipped. */
                        while (i < l->n && (is_comment(l->v[i]) || is_empty(l->v[i])))
                                i++;
                        if (i >= l->n)
                                break;
                }
                if (cap == df->n) {
                        cap = cap ? cap * 2 : 16;
                        df->instrs = xrealloc(df->instrs, cap * sizeof(*df->instrs));
                }
                struct vs_df_instr *in = &df->instrs[df->n];
                memset(in, 0, sizeof(*in));
                df->n++;
                bool chomp[16] = {0};
                if (parse_logical(in, text, df->escape, name, line, chomp, err) < 0)
                        return -1;
                if (read_heredocs(in, chomp, l, &i, name, err) < 0)
                        return -1;
                if (in->kind == VS_DF_FROM)
                        stage = true;
                else if (!stage && in->kind != VS_DF_ARG)
                        return fail_at(err, name, line,
                                       "%s before the first FROM: only ARG may precede FROM",
                                       vs_df_kind_name(in->kind));
        }
        if (!stage)
                return fail_at(err, name, l->n ? (int) l->n : 1,
                               df->n ? "no FROM instruction" : "file with no instructions");
        return 0;
}

int vs_dockerfile_parse(const char *text, size_t len, const char *name, struct vs_dockerfile **out,
                        vs_error **err)
{
        if (memchr(text, '\0', len))
                return vs_fail(err, "%s: contains a NUL byte: not a Dockerfile", name);
        struct vs_dockerfile *df = xzalloc(sizeof(*df));
        df->escape = '\\';
        struct lines l = {0};
        /* A UTF-8 byte order mark is skipped, as Docker does. */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
                text += 3;
                len -= 3;
        }
        split_lines(text, len, &l);
        int r = parse_all(&l, df, name, err);
        for (size_t i = 0; i < l.n; i++)
                free(l.v[i]);
        free(l.v);
        if (r < 0) {
                vs_dockerfile_free(df);
                return -1;
        }
        *out = df;
        return 0;
}
