/* Go text/template: the parsed tree, shared by the parser (template.c) and
 * the executor (template_exec.c). */
#ifndef VESSEL_UTIL_TEMPLATE_INTERNAL_H
#define VESSEL_UTIL_TEMPLATE_INTERNAL_H

#include "util/template.h"

#include <stddef.h>
#include <stdint.h>

enum tpl_arg_kind {
        TA_DOT,    /* .  (fields: .A.B) */
        TA_VAR,    /* $x (fields: $x.A) */
        TA_STRING, /* "..." or `...` */
        TA_INT,
        TA_FLOAT,
        TA_BOOL,
        TA_NIL,
        TA_FUNC, /* an identifier: a function */
        TA_PIPE, /* ( pipeline ) (fields: (p).A) */
};

struct tpl_pipe;

struct tpl_arg {
        enum tpl_arg_kind kind;
        char *str; /* string value, variable or function name */
        int64_t i;
        double d;
        bool b;
        char **fields; /* field chain after the term; NULL-terminated */
        struct tpl_pipe *pipe;
};

struct tpl_cmd {
        struct tpl_arg **args;
        size_t n;
};

struct tpl_pipe {
        char *decl[2]; /* declared/assigned variables ("$x"), or NULL */
        size_t ndecl;
        bool assign; /* "=" rather than ":=" */
        struct tpl_cmd **cmds;
        size_t n;
        int line, col;
        char *src; /* the action's text, for errors */
};

enum tpl_node_kind { TN_TEXT, TN_ACTION, TN_IF, TN_RANGE, TN_WITH };

struct tpl_list {
        struct tpl_node **v;
        size_t n;
};

struct tpl_node {
        enum tpl_node_kind kind;
        char *text; /* TN_TEXT */
        size_t len;
        struct tpl_pipe *pipe;
        struct tpl_list body, alt; /* if/range/with: the else branch */
};

struct vs_template {
        struct tpl_list root;
        bool strict;
        const struct vs_template_method *methods;
};

void tpl_pipe_free(struct tpl_pipe *p);

#endif
