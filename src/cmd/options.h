/* Declarative command-line options (kvmtool's parse-options idea): each
 * command describes its flags in one table, which yields both the parser
 * and the `--help` text. How to add a flag: docs/cli.md. */
#ifndef VESSEL_CMD_OPTIONS_H
#define VESSEL_CMD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

enum vs_opt_type {
        VS_OPT_END = 0,
        VS_OPT_BOOL,     /* bool *: --x, --x=true|false */
        VS_OPT_STRING,   /* const char **: the last one given wins; NULL target: ignored */
        VS_OPT_INT,      /* int *: a decimal integer (may be negative) */
        VS_OPT_SIZE,     /* int64_t *: Docker's sizes ("64m", "1.5g"), vs_parse_size() */
        VS_OPT_DURATION, /* int64_t *: a Go duration in ns ("5s", "500ms", "1m30s"), > 0 */
        VS_OPT_LIST,     /* char ***: repeatable, every value appended */
        VS_OPT_KV,       /* char ***: repeatable KEY=VALUE (KEY non-empty) */
        VS_OPT_CALLBACK, /* cb(opt, value, err): the value checked and stored by the command */
};

struct vs_option {
        const char *name; /* long name without "--"; matched exactly */
        char short_name;  /* 0: none */
        enum vs_opt_type type;
        void *target;
        const char *arg;  /* value placeholder in --help ("SIZE"); NULL for a bool */
        const char *help; /* one line; NULL: accepted but not listed (aliases) */
        int (*cb)(const struct vs_option *o, const char *value, vs_error **err);
};

#define VS_OPT_TABLE_END                                                                           \
        {                                                                                          \
                0                                                                                  \
        }

/* How a command parses. */
enum {
        VS_PARSE_INTERSPERSED = 1 << 0, /* options may follow operands (getopt's permuting) */
        VS_PARSE_H_IS_HELP = 1 << 1,    /* -h means --help (runc's commands) */
};

struct vs_cmdline {
        const char *cmd;     /* "run", "network create": in messages */
        const char *usage;   /* "[OPTIONS] IMAGE [COMMAND [ARG...]]" */
        const char *summary; /* one paragraph under the usage line */
        const struct vs_option *opts;
        unsigned flags;
        int status; /* exit status when vs_parse_options() returned -1 */
};

/* Parses argv[1..] against cl->opts. Returns the index of the first operand
 * (argv is reordered so that operands come last with VS_PARSE_INTERSPERSED),
 * or -1 with cl->status set: 0 after printing --help, the usage status
 * (vs_usage_status()) after printing one error line. "--" ends the options. */
int vs_parse_options(struct vs_cmdline *cl, int argc, char **argv);

/* Prints the usage line, summary and option table. */
void vs_print_help(const struct vs_cmdline *cl);

/* The value parsers behind the typed options, for callbacks and tests.
 * Each fails with "invalid value 'V' for --NAME: WHY". */
int vs_opt_parse_int(const char *name, const char *s, int *out, vs_error **err);
int vs_opt_parse_duration(const char *name, const char *s, int64_t *ns, vs_error **err);
int vs_opt_parse_bool(const char *name, const char *s, bool *out, vs_error **err);

#endif
