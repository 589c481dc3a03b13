/* Dockerfiles: the parser (a pure library: text in, typed instructions out)
 * and the word expansion of the Dockerfile reference ($V, ${V}, ${V:-x},
 * ${V:+x}, quotes, the escape character). See docs/build.md.
 *
 * Errors name the file and line: "Dockerfile:3: unknown instruction: FOO". */
#ifndef VESSEL_BUILD_DOCKERFILE_H
#define VESSEL_BUILD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

enum vs_df_kind {
        VS_DF_FROM,
        VS_DF_RUN,
        VS_DF_CMD,
        VS_DF_LABEL,
        VS_DF_MAINTAINER,
        VS_DF_EXPOSE,
        VS_DF_ENV,
        VS_DF_ADD,
        VS_DF_COPY,
        VS_DF_ENTRYPOINT,
        VS_DF_VOLUME,
        VS_DF_USER,
        VS_DF_WORKDIR,
        VS_DF_ARG,
        VS_DF_ONBUILD,
        VS_DF_STOPSIGNAL,
        VS_DF_HEALTHCHECK,
        VS_DF_SHELL,
};

/* "FROM", "RUN", ... */
const char *vs_df_kind_name(enum vs_df_kind k);

struct vs_df_heredoc {
        char *word;    /* the delimiter, unquoted */
        char *content; /* lines between the instruction and the delimiter, each
                        * ending in '\n' (leading tabs removed for <<-) */
        bool expand;   /* delimiter unquoted: $VARS in content are expanded */
};

struct vs_df_instr {
        enum vs_df_kind kind;
        int line;       /* first line of the instruction, 1-based */
        char *original; /* the instruction as written, continuations joined */
        char **flags;   /* "--name=value" as written (before expansion), NULL-terminated */
        bool exec_form; /* RUN/CMD/ENTRYPOINT/SHELL/VOLUME given as a JSON array */
        /* exec form: the JSON strings. ENV/LABEL/ARG: alternating key, raw
         * value (ARG without default: value NULL is stored as the key's
         * pair with has_value false in the n-th bit of kv_has_value). Other
         * instructions: the words, or for shell forms one element: the text. */
        char **args;
        bool *has_value; /* ARG: per pair, whether "=default" was given */
        struct vs_df_heredoc *heredocs;
        size_t n_heredocs;
        struct vs_df_instr *sub; /* ONBUILD: the trigger instruction (owned) */
};

struct vs_dockerfile {
        char escape; /* '\\' or '`' */
        struct vs_df_instr *instrs;
        size_t n;
};

/* Parses text (length len, may contain NULs: refused). name is the file
 * name used in error messages ("Dockerfile"). On success *out is owned by
 * the caller (vs_dockerfile_free). Checks: known instruction, arguments
 * present, JSON form where required, heredoc terminated, a FROM before any
 * instruction but ARG. */
int vs_dockerfile_parse(const char *text, size_t len, const char *name, struct vs_dockerfile **out,
                        vs_error **err);
void vs_dockerfile_free(struct vs_dockerfile *df);
/* Parses one instruction line (ONBUILD triggers when an image with them is
 * used as a base); line is reported in errors. */
int vs_df_parse_line(const char *text, char escape, const char *name, int line,
                     struct vs_df_instr **out, vs_error **err);
void vs_df_instr_free(struct vs_df_instr *in);

/* Value of flag --name (e.g. "from") of an instruction, or NULL. */
const char *vs_df_flag(const struct vs_df_instr *in, const char *name);

/* Variable lookup for expansion: returns the value or NULL when unset. */
typedef const char *(*vs_df_lookup_fn)(const char *name, void *arg);

/* Expands one word as the Dockerfile reference does: quotes removed,
 * escape character honoured, $V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w}
 * ${V:?msg} replaced. Errors (bad substitution, ${V:?msg}) are one line. */
int vs_df_expand(const char *word, char escape, vs_df_lookup_fn lookup, void *arg, char **out,
                 vs_error **err);
/* Same, splitting into words at unquoted blanks (EXPOSE, VOLUME, COPY
 * sources): the result is a NULL-terminated vector. */
int vs_df_expand_words(const char *text, char escape, vs_df_lookup_fn lookup, void *arg,
                       char ***out, vs_error **err);

#endif
