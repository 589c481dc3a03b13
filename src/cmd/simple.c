/* vessel start / state / kill / delete: one container id each. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/json.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Parses [extra flag] ID [ARG]; returns 0 to go on, else an exit code + 1. */
struct simple_cmd {
        const char *name;
        const char *usage, *summary;
        const char *flag_long; /* optional boolean flag */
        char flag_short;
        const char *flag_help;
        bool flag;
        int max_args; /* after ID */
        char *id;
        char *arg;
};

static int parse(struct simple_cmd *s, int argc, char **argv)
{
        const struct vs_option opts[] = {
            {s->flag_long, s->flag_short, s->flag_long ? VS_OPT_BOOL : VS_OPT_END, &s->flag, NULL,
             s->flag_help},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {s->name, s->usage, s->summary, opts,
                                VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return 1 + cl.status;
        int left = argc - first;
        if (left < 1)
                return 1 + vs_usage_error(s->name, "missing container ID");
        if (left > 1 + s->max_args)
                return 1 + vs_usage_error(s->name, "too many arguments");
        s->id = argv[first];
        s->arg = left > 1 ? argv[first + 1] : NULL;
        return 0;
}

int cmd_start(int argc, char **argv)
{
        struct simple_cmd s = {.name = "start",
                               .usage = "ID",
                               .summary = "Run the user process of a created container."};
        int r = parse(&s, argc, argv);
        if (r)
                return r - 1;
        vs_error *err = NULL;
        if (vs_container_start(vs_globals.root, s.id, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int cmd_state(int argc, char **argv)
{
        struct simple_cmd s = {.name = "state",
                               .usage = "ID",
                               .summary = "Print the runtime-spec state of a container as JSON."};
        int r = parse(&s, argc, argv);
        if (r)
                return r - 1;
        vs_error *err = NULL;
        _cleanup_state_ struct vs_state *st = NULL;
        if (vs_state_load(vs_globals.root, s.id, &st, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *o = vs_state_to_json(vs_globals.root, st);
        printf("%s\n",
               json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}

int cmd_kill(int argc, char **argv)
{
        struct simple_cmd s = {
            .name = "kill",
            .usage = "[--all] ID [SIGNAL]",
            .summary = "Send SIGNAL (name or number, default SIGTERM) to the container's init.",
            .flag_long = "all",
            .flag_help = "signal every process of the container",
            .flag_short = 'a',
            .max_args = 1};
        int r = parse(&s, argc, argv);
        if (r)
                return r - 1;
        int sig = SIGTERM;
        if (s.arg) {
                sig = vs_signal_from_name(s.arg);
                if (sig < 0)
                        return vs_usage_error("kill", "unknown signal '%s'", s.arg);
        }
        vs_error *err = NULL;
        if (vs_container_kill(vs_globals.root, s.id, sig, s.flag, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int cmd_delete(int argc, char **argv)
{
        struct simple_cmd s = {.name = "delete",
                               .usage = "[--force] ID",
                               .summary = "Delete a stopped or created container.",
                               .flag_long = "force",
                               .flag_help = "kill a running container first",
                               .flag_short = 'f'};
        int r = parse(&s, argc, argv);
        if (r)
                return r - 1;
        vs_error *err = NULL;
        if (vs_container_delete(vs_globals.root, s.id, s.flag, &err) < 0)
                return vs_report_error(&err);
        return 0;
}
