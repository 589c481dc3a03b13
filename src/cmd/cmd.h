/* CLI front ends, one file per command (git/kvmtool style). Each returns the
 * process exit status; errors are reported through vs_report_error(). */
#ifndef VESSEL_CMD_H
#define VESSEL_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "util/error.h"

struct vs_command {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *summary;
};

/* Command tables. The engine (Docker-style: images and containers by name)
 * and the OCI runtime (runc-style: bundles and ids) share some command
 * names; main() picks the runtime table when the invocation is runc's (see
 * docs/cli.md, "Two command sets"). Each table ends with {NULL}. */
extern const struct vs_command vs_image_commands[];  /* src/cmd/image_table.c */
extern const struct vs_command vs_engine_commands[]; /* src/cmd/engine_table.c */

struct vs_globals {
        const char *root; /* runtime state root, default /run/vessel */
        bool debug;
        bool systemd_cgroup; /* accepted for runc compatibility */
        const char *log_path;
        const char *log_format;
        const char *data_root;        /* engine data, default /var/lib/vessel */
        const char *data_root_source; /* "flag", "environment (...)", a file, "default" */
        const char *config_path;      /* --config FILE */
};

extern struct vs_globals vs_globals;

/* Prints "vessel: <message>" on stderr (and to the --log file), frees err,
 * returns 1. */
int vs_report_error(vs_error **err);

/* Common usage failure: prints "vessel CMD: MSG" + a hint, returns 2. */
int vs_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Usage error for the option getopt_long just rejected (call with optstring
 * starting with ':' so a missing argument is told apart). Returns 2. */
int vs_option_error(const char *cmd, char **argv, bool missing_argument);

/* network prune's work (src/cmd/network.c): stale endpoints, and when
 * networks the unused user networks; nothing when no network was ever
 * used under the data root. */
int vs_cmd_network_prune(bool networks, char ***removed, vs_error **err);

/* --format (src/cmd/format.c). A list: "table" (or NULL) is default_table
 * with header's titles, "table FMT" a table of FMT, "json" {{json .}}, any
 * other FMT one line per row; fields outside the rows' are errors. Returns
 * the exit status. An object (inspect, info, version): one line, missing
 * fields print <no value>. */
#include <json-c/json.h>
int vs_cmd_format_list(const char *format, const char *default_table, json_object *header,
                       json_object *rows);
int vs_cmd_format_object(const char *format, json_object *o, vs_error **err);

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

#endif
