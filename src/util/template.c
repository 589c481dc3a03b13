/* Go text/template: the parser (see template.h for the subset). A
 * recursive descent over the text; actions are {{ ... }} with optional
 * trim markers "{{- " and " -}}". */
#include "util/cleanup.h"
#include "util/template_internal.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

static const char *const known_funcs[] = {
    "and",   "or",    "not", "len",      "index", "print", "printf", "println",  "eq",
    "ne",    "lt",    "le",  "gt",       "ge",    "json",  "join",   "split",    "upper",
    "lower", "title", "pad", "truncate", "slice", "html",  "js",     "urlquery", NULL,
};

struct parser {
        const char *s;
        size_t pos, len;
        int line;
        size_t line_start;
        int depth;
        bool trim_next; /* the last action ended with " -}}" */
        vs_error **err;
};

enum term { T_EOF, T_END, T_ELSE, T_ERROR };

static int perr(struct parser *p, const char *fmt, const char *arg)
{
        char msg[256];
        snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
        return vs_fail(p->err, "template: :%d: %s", p->line, msg);
}

static void list_push(struct tpl_list *l, struct tpl_node *n)
{
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n++] = n;
}

static void list_clear(struct tpl_list *l);

static void arg_free(struct tpl_arg *a)
{
        if (!a)
                return;
        free(a->str);
        for (size_t i = 0; a->fields && a->fields[i]; i++)
                free(a->fields[i]);
        free(a->fields);
        tpl_pipe_free(a->pipe);
        free(a);
}

void tpl_pipe_free(struct tpl_pipe *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                for (size_t j = 0; j < p->cmds[i]->n; j++)
                        arg_free(p->cmds[i]->args[j]);
                free(p->cmds[i]->args);
                free(p->cmds[i]);
        }
        free(p->cmds);
        free(p->decl[0]);
        free(p->decl[1]);
        free(p->src);
        free(p);
}

static void node_free(struct tpl_node *n)
{
        if (!n)
                return;
        free(n->text);
        tpl_pipe_free(n->pipe);
        list_clear(&n->body);
        list_clear(&n->alt);
        free(n);
}

static void list_clear(struct tpl_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                node_free(l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

/* ---- lexing inside an action ---- */

static char peek(const struct parser *p, size_t off)
{
        return p->pos + off < p->len ? p->s[p->pos + off] : '\0';
}

static void advance(struct parser *p, size_t n)
{
        for (size_t i = 0; i < n && p->pos < p->len; i++) {
                if (p->s[p->pos] == '\n') {
                        p->line++;
                        p->line_start = p->pos + 1;
                }
                p->pos++;
        }
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct parser *p)
{
        while (is_space(peek(p, 0)))
                advance(p, 1);
}

/* Length of the closing delimiter at the cursor ("}}" or "-}}" after a
 * space), 0 when there is none. */
static size_t at_close(const struct parser *p)
{
        if (peek(p, 0) == '}' && peek(p, 1) == '}')
                return 2;
        if (peek(p, 0) == '-' && peek(p, 1) == '}' && peek(p, 2) == '}' && p->pos > 0 &&
            is_space(p->s[p->pos - 1]))
                return 3;
        return 0;
}

static bool ident_char(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

static char *read_ident(struct parser *p)
{
        size_t start = p->pos;
        while (ident_char(peek(p, 0)))
                advance(p, 1);
        return xstrndup(p->s + start, p->pos - start);
}

/* Consumes the closing delimiter; remembers a right trim. */
static int expect_close(struct parser *p)
{
        skip_ws(p);
        size_t n = at_close(p);
        if (n == 0) {
                char c[2] = {peek(p, 0), 0};
                return perr(p, c[0] ? "unexpected \"%s\" in command" : "unclosed action", c);
        }
        p->trim_next = n == 3;
        advance(p, n);
        return 0;
}

static int parse_fields(struct parser *p, char ***fields)
{
        size_t n = 0;
        while (peek(p, 0) == '.' && (isalpha((unsigned char) peek(p, 1)) || peek(p, 1) == '_')) {
                advance(p, 1);
                *fields = xrealloc(*fields, (n + 2) * sizeof(char *));
                (*fields)[n++] = read_ident(p);
                (*fields)[n] = NULL;
        }
        if (peek(p, 0) == '.' && !is_space(peek(p, 1)) && peek(p, 1) != '}' && peek(p, 1) != ')' &&
            peek(p, 1) != '|' && peek(p, 1) != '\0')
                return perr(p, "bad character after field: %s", (char[]){peek(p, 1), 0});
        return 0;
}

static int parse_string(struct parser *p, struct tpl_arg *a)
{
        char q = peek(p, 0);
        advance(p, 1);
        size_t cap = 16, n = 0;
        char *out = xmalloc(cap);
        for (;;) {
                char c = peek(p, 0);
                if (c == '\0' || (c == '\n' && q == '"')) {
                        free(out);
                        return perr(p, "unterminated quoted string", NULL);
                }
                advance(p, 1);
                if (c == q)
                        break;
                if (c == '\\' && q == '"') {
                        char e = peek(p, 0);
                        advance(p, 1);
                        switch (e) {
                        case 'n':
                                c = '\n';
                                break;
                        case 't':
                                c = '\t';
                                break;
                        case 'r':
                                c = '\r';
                                break;
                        case '\\':
                                c = '\\';
                                break;
                        case '"':
                                c = '"';
                                break;
                        case '\'':
                                c = '\'';
                                break;
                        case '0':
                                c = '\0';
                                break;
                        default:
                                free(out);
                                return perr(p, "invalid escape in quoted string", NULL);
                        }
                }
                if (n + 2 > cap)
                        out = xrealloc(out, cap *= 2);
                out[n++] = c;
        }
        out[n] = '\0';
        a->kind = TA_STRING;
        a->str = out;
        return 0;
}

static int parse_number(struct parser *p, struct tpl_arg *a)
{
        const char *start = p->s + p->pos;
        char *end;
        errno = 0;
        long long v = strtoll(start, &end, 0);
        if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
                double d = strtod(start, &end);
                a->kind = TA_FLOAT;
                a->d = d;
        } else {
                a->kind = TA_INT;
                a->i = v;
        }
        if (end == start || ident_char(*end))
                return perr(p, "bad number syntax", NULL);
        advance(p, (size_t) (end - start));
        return 0;
}

static struct tpl_pipe *parse_pipeline(struct parser *p, bool in_paren);

static bool is_known_func(const char *name)
{
        for (size_t i = 0; known_funcs[i]; i++)
                if (strcmp(known_funcs[i], name) == 0)
                        return true;
        return false;
}

static struct tpl_arg *parse_operand(struct parser *p)
{
        struct tpl_arg *a = xzalloc(sizeof(*a));
        char c = peek(p, 0);
        int r = 0;
        if (c == '.' && !isdigit((unsigned char) peek(p, 1))) {
                a->kind = TA_DOT;
                if (isalpha((unsigned char) peek(p, 1)) || peek(p, 1) == '_')
                        r = parse_fields(p, &a->fields);
                else
                        advance(p, 1);
        } else if (c == '$') {
                a->kind = TA_VAR;
                advance(p, 1);
                _cleanup_free_ char *name = read_ident(p);
                a->str = xasprintf("$%s", name);
                r = parse_fields(p, &a->fields);
        } else if (c == '"' || c == '`') {
                r = parse_string(p, a);
        } else if (c == '\'') {
                advance(p, 1);
                a->kind = TA_INT;
                a->i = (unsigned char) peek(p, 0);
                advance(p, 1);
                if (peek(p, 0) != '\'')
                        r = perr(p, "unterminated character constant", NULL);
                advance(p, 1);
        } else if (isdigit((unsigned char) c) ||
                   ((c == '-' || c == '+' || c == '.') && isdigit((unsigned char) peek(p, 1)))) {
                r = parse_number(p, a);
        } else if (c == '(') {
                if (++p->depth > MAX_DEPTH) {
                        r = perr(p, "parentheses nested too deeply", NULL);
                } else {
                        advance(p, 1);
                        a->kind = TA_PIPE;
                        a->pipe = parse_pipeline(p, true);
                        if (!a->pipe)
                                r = -1;
                        else if (peek(p, 0) != ')')
                                r = perr(p, "unclosed left paren", NULL);
                        else {
                                advance(p, 1);
                                r = parse_fields(p, &a->fields);
                        }
                }
                p->depth--;
        } else if (isalpha((unsigned char) c) || c == '_') {
                _cleanup_free_ char *id = read_ident(p);
                if (strcmp(id, "true") == 0 || strcmp(id, "false") == 0) {
                        a->kind = TA_BOOL;
                        a->b = id[0] == 't';
                } else if (strcmp(id, "nil") == 0) {
                        a->kind = TA_NIL;
                } else if (is_known_func(id)) {
                        a->kind = TA_FUNC;
                        a->str = xstrdup(id);
                } else {
                        r = perr(p, "function \"%s\" not defined", id);
                }
        } else {
                char s[2] = {c, 0};
                r = perr(p, c ? "unexpected \"%s\" in operand" : "unclosed action", s);
        }
        if (r < 0) {
                arg_free(a);
                return NULL;
        }
        return a;
}

/* "$x :=", "$x =", "$i, $e :=" at the cursor? Consumes them when so. */
static int parse_decl(struct parser *p, struct tpl_pipe *pipe)
{
        size_t save = p->pos;
        int save_line = p->line;
        for (size_t k = 0; k < 2 && peek(p, 0) == '$'; k++) {
                advance(p, 1);
                _cleanup_free_ char *name = read_ident(p);
                skip_ws(p);
                char c = peek(p, 0);
                if (c == ',' && k == 0) {
                        pipe->decl[pipe->ndecl++] = xasprintf("$%s", name);
                        advance(p, 1);
                        skip_ws(p);
                        continue;
                }
                if ((c == ':' && peek(p, 1) == '=') || (c == '=' && peek(p, 1) != '=')) {
                        pipe->decl[pipe->ndecl++] = xasprintf("$%s", name);
                        pipe->assign = c == '=';
                        advance(p, c == ':' ? 2 : 1);
                        return 0;
                }
                break;
        }
        /* Not a declaration: back out. */
        for (size_t i = 0; i < pipe->ndecl; i++) {
                free(pipe->decl[i]);
                pipe->decl[i] = NULL;
        }
        pipe->ndecl = 0;
        p->pos = save;
        p->line = save_line;
        return 0;
}

static struct tpl_pipe *parse_pipeline(struct parser *p, bool in_paren)
{
        struct tpl_pipe *pipe = xzalloc(sizeof(*pipe));
        pipe->line = p->line;
        pipe->col = (int) (p->pos - p->line_start) + 1;
        size_t start = p->pos;
        skip_ws(p);
        parse_decl(p, pipe);
        struct tpl_cmd *cmd = NULL;
        for (;;) {
                skip_ws(p);
                char c = peek(p, 0);
                bool end = in_paren ? c == ')' : at_close(p) > 0;
                if (end || c == '|' || c == '\0') {
                        if (!cmd || cmd->n == 0) {
                                perr(p, c == '\0' ? "unclosed action" : "missing value for command",
                                     NULL);
                                goto fail;
                        }
                        pipe->cmds = xrealloc(pipe->cmds, (pipe->n + 1) * sizeof(*pipe->cmds));
                        pipe->cmds[pipe->n++] = cmd;
                        cmd = NULL;
                        if (c == '\0') {
                                perr(p, "unclosed action", NULL);
                                goto fail;
                        }
                        if (end)
                                break;
                        advance(p, 1); /* '|' */
                        continue;
                }
                if (in_paren && at_close(p)) {
                        perr(p, "unclosed left paren", NULL);
                        goto fail;
                }
                if (c == ')' && !in_paren) {
                        perr(p, "unexpected right paren", NULL);
                        goto fail;
                }
                struct tpl_arg *a = parse_operand(p);
                if (!a)
                        goto fail;
                if (!cmd)
                        cmd = xzalloc(sizeof(*cmd));
                cmd->args = xrealloc(cmd->args, (cmd->n + 1) * sizeof(*cmd->args));
                cmd->args[cmd->n++] = a;
        }
        pipe->src = xstrndup(p->s + start, p->pos - start);
        /* Go: only a function or a method (the last of a field chain) takes
         * arguments; whether a field is a method is known when it runs. */
        for (size_t i = 0; i < pipe->n; i++)
                if (pipe->cmds[i]->n > 1 && pipe->cmds[i]->args[0]->kind != TA_FUNC &&
                    !pipe->cmds[i]->args[0]->fields) {
                        perr(p, "can't give argument to non-function %s", pipe->src);
                        goto fail;
                }
        return pipe;
fail:
        if (cmd) {
                for (size_t j = 0; j < cmd->n; j++)
                        arg_free(cmd->args[j]);
                free(cmd->args);
                free(cmd);
        }
        tpl_pipe_free(pipe);
        return NULL;
}

/* ---- the tree ---- */

static void push_text(struct tpl_list *l, const char *s, size_t n)
{
        if (n == 0)
                return;
        struct tpl_node *t = xzalloc(sizeof(*t));
        t->kind = TN_TEXT;
        t->text = xstrndup(s, n);
        t->len = n;
        list_push(l, t);
}

/* The keyword at the cursor (followed by a non-identifier character). */
static bool keyword(struct parser *p, const char *kw)
{
        size_t n = strlen(kw);
        if (p->pos + n > p->len || strncmp(p->s + p->pos, kw, n) != 0 || ident_char(peek(p, n)))
                return false;
        advance(p, n);
        return true;
}

static enum term parse_list(struct parser *p, struct tpl_list *l);

static struct tpl_node *parse_control(struct parser *p, enum tpl_node_kind kind,
                                      struct tpl_pipe *pipe)
{
        struct tpl_node *n = xzalloc(sizeof(*n));
        n->kind = kind;
        n->pipe = pipe;
        if (++p->depth > MAX_DEPTH) {
                perr(p, "actions nested too deeply", NULL);
                goto fail;
        }
        if (expect_close(p) < 0)
                goto fail;
        enum term t = parse_list(p, &n->body);
        if (t == T_ELSE) {
                skip_ws(p);
                if ((kind == TN_IF && keyword(p, "if")) ||
                    (kind == TN_WITH && keyword(p, "with"))) {
                        /* else if: a nested if that shares our end */
                        struct tpl_pipe *np = parse_pipeline(p, false);
                        if (!np)
                                goto fail;
                        struct tpl_node *inner = parse_control(p, kind, np);
                        if (!inner)
                                goto fail;
                        list_push(&n->alt, inner);
                        p->depth--;
                        return n;
                }
                if (expect_close(p) < 0)
                        goto fail;
                t = parse_list(p, &n->alt);
                if (t == T_ELSE) {
                        perr(p, "expected end; found else", NULL);
                        goto fail;
                }
        }
        if (t == T_ERROR)
                goto fail;
        if (t != T_END) {
                perr(p, "unexpected EOF", NULL);
                goto fail;
        }
        p->depth--;
        return n;
fail:
        p->depth--;
        node_free(n);
        return NULL;
}

/* Parses one action whose "{{" is consumed. Returns a node (or NULL for a
 * comment), or sets *term for end/else/error. */
static struct tpl_node *parse_action(struct parser *p, enum term *term)
{
        *term = T_EOF;
        skip_ws(p);
        if (peek(p, 0) == '/' && peek(p, 1) == '*') {
                const char *e = strstr(p->s + p->pos + 2, "*/");
                if (!e) {
                        perr(p, "unclosed comment", NULL);
                        *term = T_ERROR;
                        return NULL;
                }
                advance(p, (size_t) (e - (p->s + p->pos)) + 2);
                if (expect_close(p) < 0)
                        *term = T_ERROR;
                return NULL;
        }
        if (keyword(p, "end")) {
                *term = expect_close(p) < 0 ? T_ERROR : T_END;
                return NULL;
        }
        if (keyword(p, "else")) {
                *term = T_ELSE; /* the caller reads the rest */
                return NULL;
        }
        enum tpl_node_kind kind = TN_ACTION;
        if (keyword(p, "if"))
                kind = TN_IF;
        else if (keyword(p, "range"))
                kind = TN_RANGE;
        else if (keyword(p, "with"))
                kind = TN_WITH;
        else if (keyword(p, "define") || keyword(p, "template") || keyword(p, "block") ||
                 keyword(p, "break") || keyword(p, "continue")) {
                perr(p, "this action is not supported", NULL);
                *term = T_ERROR;
                return NULL;
        }
        struct tpl_pipe *pipe = parse_pipeline(p, false);
        if (!pipe) {
                *term = T_ERROR;
                return NULL;
        }
        if (kind != TN_RANGE && pipe->ndecl > 1) {
                perr(p, "too many declarations in command", NULL);
                tpl_pipe_free(pipe);
                *term = T_ERROR;
                return NULL;
        }
        if (kind != TN_ACTION) {
                struct tpl_node *n = parse_control(p, kind, pipe);
                if (!n)
                        *term = T_ERROR;
                return n;
        }
        if (expect_close(p) < 0) {
                tpl_pipe_free(pipe);
                *term = T_ERROR;
                return NULL;
        }
        struct tpl_node *n = xzalloc(sizeof(*n));
        n->kind = TN_ACTION;
        n->pipe = pipe;
        return n;
}

static enum term parse_list(struct parser *p, struct tpl_list *l)
{
        for (;;) {
                const char *open = p->pos < p->len ? strstr(p->s + p->pos, "{{") : NULL;
                size_t text_end = open ? (size_t) (open - p->s) : p->len;
                size_t text_start = p->pos;
                if (p->trim_next)
                        while (text_start < text_end && is_space(p->s[text_start]))
                                text_start++;
                p->trim_next = false;
                bool ltrim = open && open[2] == '-' && is_space(open[3]);
                size_t keep_end = text_end;
                if (ltrim)
                        while (keep_end > text_start && is_space(p->s[keep_end - 1]))
                                keep_end--;
                push_text(l, p->s + text_start, keep_end - text_start);
                advance(p, text_end - p->pos);
                if (!open)
                        return T_EOF;
                advance(p, ltrim ? 3 : 2);
                enum term t;
                struct tpl_node *n = parse_action(p, &t);
                if (n)
                        list_push(l, n);
                else if (t != T_EOF)
                        return t;
        }
}

int vs_template_parse(const char *text, struct vs_template **out, vs_error **err)
{
        struct parser p = {.s = text, .len = strlen(text), .line = 1, .err = err};
        struct vs_template *t = xzalloc(sizeof(*t));
        enum term term = parse_list(&p, &t->root);
        if (term != T_EOF) {
                if (term == T_END)
                        perr(&p, "unexpected {{end}}", NULL);
                else if (term == T_ELSE)
                        perr(&p, "unexpected {{else}}", NULL);
                vs_template_free(t);
                return -1;
        }
        *out = t;
        return 0;
}

void vs_template_set_strict(struct vs_template *t, bool strict)
{
        t->strict = strict;
}

void vs_template_set_methods(struct vs_template *t, const struct vs_template_method *methods)
{
        t->methods = methods;
}

void vs_template_free(struct vs_template *t)
{
        if (!t)
                return;
        list_clear(&t->root);
        free(t);
}
