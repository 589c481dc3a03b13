/* CLI front ends, one file per command (git/kvmtool style). Each returns the
 * process exit status; errors are reported through vs_report_error(). */
#ifndef VESSEL_CMD_H
#define VESSEL_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "cmd/dispatch.h"
#include "util/error.h"

/* A row of the command table (src/cmd/commands.c). */
enum {
        VS_CMD_ENGINE = 1 << 0,  /* in the engine's command set */
        VS_CMD_RUNTIME = 1 << 1, /* in the runtime's (runc's) */
        VS_CMD_HIDDEN = 1 << 2,  /* not listed by help (aliases, internal) */
};

struct vs_command {
        const char *name; /* "run"; "image ls" for a group's subcommand */
        int (*fn)(int argc, char **argv);
        unsigned mode; /* VS_CMD_* */
        const char *summary;
};

/* The one command table, ending with {NULL}. The engine and the runtime
 * share some names; main() picks the set by the dispatch rule (docs/cli.md,
 * "Two command sets"). */
extern const struct vs_command vs_commands[];
/* The row of name in mode's command set, or NULL. */
const struct vs_command *vs_command_find(const char *name, enum vs_mode mode);
/* Both command sets and the global options (vessel --help). */
void vs_cmd_usage(FILE *out);
int vs_cmd_help(int argc, char **argv);
/* Handler of a group (image, network, system): runs "GROUP argv[1]". */
int vs_cmd_group(int argc, char **argv);

struct vs_globals {
        const char *root; /* runtime state root, default /run/vessel */
        bool debug;
        bool systemd_cgroup; /* accepted for runc compatibility */
        const char *log_path;
        const char *log_format;
        const char *data_root;        /* engine data, default /var/lib/vessel */
        const char *data_root_source; /* "flag", "environment (...)", a file, "default" */
        const char *config_path;      /* --config FILE */
        enum vs_mode mode;            /* the command set main() chose */
        bool vm; /* invoked as vessel-vm: every bundle runs in a VM (docs/vm.md) */
};

extern struct vs_globals vs_globals;

/* Prints "vessel: <message>" on stderr (and to the --log file), frees err,
 * returns 1. */
int vs_report_error(vs_error **err);

/* The exit status of a usage error: 125 for an engine command (Docker's),
 * 2 for a runtime command and before a command is chosen. */
int vs_usage_status(void);

/* Common usage failure: prints "vessel CMD: MSG" + a hint (cmd NULL: the
 * global options'), returns vs_usage_status(). */
int vs_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Docker's prune confirmation: prints "WARNING! WARNING\nAre you sure you
 * want to continue? [y/N] " and reads a line from stdin; true on y/Y. */
bool vs_cmd_confirm(const char *warning);

/* A --filter the command cannot apply: "vessel: --filter: MSG", status 1
 * (Docker's daemon-side refusal, not a usage error). */
int vs_filter_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* network prune's work (src/cmd/network.c): stale endpoints, and when
 * networks the unused user networks; nothing when no network was ever
 * used under the data root. */
struct vs_prune_filter;
int vs_cmd_network_prune(bool networks, const struct vs_prune_filter *f, char ***removed,
                         vs_error **err);

/* --format (src/cmd/format.c). A list: "table" (or NULL) is default_table
 * with header's titles, "table FMT" a table of FMT, "json" {{json .}}, any
 * other FMT one line per row; fields outside the rows' are errors. Returns
 * the exit status. An object (inspect, info, version): one line, missing
 * fields print <no value>. */
#include <json-c/json.h>
int vs_cmd_format_list(const char *format, const char *default_table, json_object *header,
                       json_object *rows);
/* The same for rows with Docker's Label(name) method ({{.Label "k"}} of
 * ps, volume ls, network ls): labels[i] is rows[i]'s labels object. */
int vs_cmd_format_labelled_list(const char *format, const char *default_table, json_object *header,
                                json_object *rows, json_object *labels);
int vs_cmd_format_object(const char *format, json_object *o, vs_error **err);
/* One object of an inspect command (volume, image, network inspect):
 * printed through format when one is given, else added to arr; o is
 * consumed either way. */
int vs_cmd_inspect_one(const char *format, json_object *o, json_object *arr, vs_error **err);
/* The end of such a command: arr as JSON ("[]" when empty, as Docker),
 * unless format printed each object already. */
void vs_cmd_inspect_done(const char *format, json_object *arr);

/* The host's ps with ps_args, keeping its header and the lines of the
 * given pids (found through its PID column): runc's ps and Docker's top
 * with ps options (src/cmd/ps.c). Returns the exit status. */
#include <sys/types.h>
int vs_cmd_host_ps(char **ps_args, int n_args, const pid_t *pids, size_t n);

#define VESSEL_DEFAULT_ROOT "/run/vessel"

int cmd_spec(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_events(int argc, char **argv);
/* vessel system config --check FILE (src/cmd/engine_config.c). */
int vs_cmd_system_config(int argc, char **argv);

/* The engine's commands (src/cmd/engine_*.c, network.c, vm.c). */
int cmd_engine_run(int argc, char **argv);
int cmd_engine_create(int argc, char **argv);
int cmd_engine_start(int argc, char **argv);
int cmd_engine_attach(int argc, char **argv);
int cmd_engine_monitor(int argc, char **argv);
int cmd_engine_stop(int argc, char **argv);
int cmd_engine_restart(int argc, char **argv);
int cmd_engine_kill(int argc, char **argv);
int cmd_engine_pause(int argc, char **argv);
int cmd_engine_unpause(int argc, char **argv);
int cmd_engine_rm(int argc, char **argv);
int cmd_engine_wait(int argc, char **argv);
int cmd_engine_rename(int argc, char **argv);
int cmd_engine_ps(int argc, char **argv);
int cmd_engine_inspect(int argc, char **argv);
int cmd_engine_logs(int argc, char **argv);
int cmd_engine_top(int argc, char **argv);
int cmd_engine_checkpoint(int argc, char **argv);
int cmd_engine_restore(int argc, char **argv);
int cmd_engine_stats(int argc, char **argv);
int cmd_engine_diff(int argc, char **argv);
int cmd_engine_exec(int argc, char **argv);
int cmd_engine_cp(int argc, char **argv);
int cmd_engine_commit(int argc, char **argv);
int cmd_engine_info(int argc, char **argv);
int cmd_engine_unshare(int argc, char **argv); /* src/cmd/unshare.c */
int cmd_vm(int argc, char **argv);
int cmd_network_create(int argc, char **argv);
int cmd_network_ls(int argc, char **argv);
int cmd_network_inspect(int argc, char **argv);
int cmd_network_rm(int argc, char **argv);
int cmd_network_prune(int argc, char **argv);
int cmd_network_connect(int argc, char **argv);
int cmd_network_disconnect(int argc, char **argv);
int cmd_network_check(int argc, char **argv);
int cmd_engine_port(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_engine_update(int argc, char **argv);
int cmd_engine_export(int argc, char **argv);
int cmd_engine_version(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_worker(int argc, char **argv);
int cmd_engine_events(int argc, char **argv);
int cmd_container_prune(int argc, char **argv);
int cmd_volume_create(int argc, char **argv);
int cmd_volume_ls(int argc, char **argv);
int cmd_volume_inspect(int argc, char **argv);
int cmd_volume_rm(int argc, char **argv);
int cmd_volume_prune(int argc, char **argv);
int vs_cmd_system_df(int argc, char **argv);
int cmd_builder_prune(int argc, char **argv);

#endif
