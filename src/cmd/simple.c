/* vessel start / state / kill / delete: one container id each. */
#include "cmd/cmd.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/json.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Parses [-h] [extra flag] ID [ARG]; returns 0 to go on, else an exit code + 1. */
struct simple_cmd {
        const char *name;
        const char *usage;
        const char *flag_long; /* optional boolean flag */
        char flag_short;
        bool flag;
        int max_args; /* after ID */
        char *id;
        char *arg;
};

static int parse(struct simple_cmd *s, int argc, char **argv)
{
        struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {s->flag_long ? s->flag_long : "help", no_argument, NULL,
                 s->flag_long ? s->flag_short : 'h'},
                {0},
        };
        char optstring[8] = ":h";
        if (s->flag_long) {
                optstring[2] = s->flag_short;
                optstring[3] = '\0';
        }
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("%s", s->usage);
                        return 1;
                }
                if (s->flag_long && c == s->flag_short) {
                        s->flag = true;
                        continue;
                }
                return 1 + vs_option_error(s->name, argv, c == ':');
        }
        int left = argc - optind;
        if (left < 1)
                return 1 + vs_usage_error(s->name, "missing container ID");
        if (left > 1 + s->max_args)
                return 1 + vs_usage_error(s->name, "too many arguments");
        s->id = argv[optind];
        s->arg = left > 1 ? argv[optind + 1] : NULL;
        return 0;
}

int cmd_start(int argc, char **argv)
{
        struct simple_cmd s = {.name = "start",
                               .usage = "Usage: vessel start ID\n\nRun the user process of a "
                                        "created container.\n"};
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
                               .usage = "Usage: vessel state ID\n\nPrint the runtime-spec state "
                                        "of a container as JSON.\n"};
        int r = parse(&s, argc, argv);
        if (r)
                return r - 1;
        vs_error *err = NULL;
        _cleanup_state_ struct vs_state *st = NULL;
        if (vs_state_load(vs_globals.root, s.id, &st, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *o = vs_state_to_json(vs_globals.root, st);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_SPACED |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}

int cmd_kill(int argc, char **argv)
{
        struct simple_cmd s = {
                .name = "kill",
                .usage = "Usage: vessel kill [--all] ID [SIGNAL]\n\nSend SIGNAL (name or number, "
                         "default SIGTERM) to the container's init.\n\n"
                         "  -a, --all   signal every process of the container\n",
                .flag_long = "all",
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
        struct simple_cmd s = {
                .name = "delete",
                .usage = "Usage: vessel delete [--force] ID\n\nDelete a stopped or created "
                         "container.\n\n  -f, --force   kill a running container first\n",
                .flag_long = "force",
                .flag_short = 'f'};
        int r = parse(&s, argc, argv);
        if (r)
                return r - 1;
        vs_error *err = NULL;
        if (vs_container_delete(vs_globals.root, s.id, s.flag, &err) < 0)
                return vs_report_error(&err);
        return 0;
}
