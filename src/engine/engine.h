/* Containers as users see them (Docker-style): records with names, image
 * config + flags -> OCI config, a per-container monitor, logs, restart
 * policies. Daemonless: every command works on the records under
 * <data-root>/containers/<id>/ and on the runtime's state, and each running
 * container is supervised by its own monitor process (`vessel monitor`).
 *
 *   <data-root>/containers/<64-hex id>/
 *     record.json      the container record (Docker's inspect shape, mostly)
 *     config.json      OCI config generated at each start (the bundle)
 *     rootfs/          overlay mount point while the container is up
 *     upper/ work/     overlay upper and work dirs (image code)
 *     hostname hosts resolv.conf   bind-mounted into the container
 *     container.log    JSON lines {"log","stream","time"}
 *     attach.sock      the monitor's attach socket while it runs
 *     monitor.log      the monitor's own warnings and errors
 */
#ifndef VESSEL_ENGINE_H
#define VESSEL_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"
#include "util/log.h"

struct vs_store;

/* Where things live; built by the command front ends from the globals. */
struct vs_engine {
        char *data_root;
        char *runtime_root; /* runtime state root (VESSEL_RUNTIME_ROOT, or derived) */
        char *ctr_root;     /* <data-root>/containers */
        bool debug;
        struct vs_store *store; /* opened on first vs_engine_store() */
};

#define VS_ENGINE_DEFAULT_DATA_ROOT    "/var/lib/vessel"
#define VS_ENGINE_DEFAULT_RUNTIME_ROOT "/run/vessel"

/* Opens the engine on data_root (created when missing). runtime_root NULL
 * derives the runtime state root from the data root: /run/vessel for the
 * default data root, /run/vessel/engine@<hash of its canonical path> for any
 * other, so two data roots never share runtime state. */
int vs_engine_open(const char *data_root, const char *runtime_root, bool debug,
                   struct vs_engine **out, vs_error **err);
/* $VESSEL_RUNTIME_ROOT when set (an explicit runtime state root: --root
 * selects the runtime CLI), else NULL: derive it from the data root. */
const char *vs_engine_runtime_root(void);
void vs_engine_close(struct vs_engine *e);
/* The image store, with the in-use check registered (rmi refuses images
 * that container records use). */
int vs_engine_store(struct vs_engine *e, struct vs_store **out, vs_error **err);
/* Registers the engine's in-use check on a store opened elsewhere (the image
 * commands call it): images that container records under the store's data
 * root use cannot be removed. */
void vs_engine_register_image_checks(struct vs_store *s);

struct vs_ctr_state {
        char *status; /* created|running|paused|restarting|exited|dead|removing */
        bool running, paused, restarting, oom_killed, dead;
        pid_t pid;
        int exit_code;
        char *error;
        char *started_at, *finished_at; /* RFC 3339 nano; "0001-01-01T00:00:00Z" when never */
};

struct vs_ctr {
        char *id, *name, *created;
        char *image_id, *image_name;
        char *path;
        char **args;
        json_object *config;      /* Docker's Config: Env, Cmd, Entrypoint, User, Tty... */
        json_object *host_config; /* Docker's HostConfig: Binds, Memory, RestartPolicy... */
        json_object *mounts;      /* Docker's Mounts array */
        struct vs_ctr_state state;
        int restart_count;
        pid_t monitor_pid;
        unsigned long long monitor_start; /* /proc/<pid>/stat starttime */
        char *boot_id;                    /* the boot the monitor ran in */
        char *runtime_root;
        bool manually_stopped; /* a stop/kill by the user: no restart */
        char *dir;             /* not stored */
        char *log_path;
        /* Derived by vs_ctr_refresh(), not stored. */
        bool unmonitored;  /* running, but its monitor is gone */
        bool exit_unknown; /* stopped while nothing watched it */
};

/* Records. Every change is load + modify + save under vs_ctr_lock(). */
int vs_ctr_load(struct vs_engine *e, const char *id, struct vs_ctr **out, vs_error **err);
int vs_ctr_save(const struct vs_ctr *c, vs_error **err);
/* Re-reads the record from disk into c (after taking the lock). */
int vs_ctr_reload(struct vs_engine *e, struct vs_ctr **c, vs_error **err);
/* Exclusive flock on the container's directory; returns an fd to close. */
int vs_ctr_lock(const struct vs_ctr *c, vs_error **err);
void vs_ctr_free(struct vs_ctr *c);
json_object *vs_ctr_to_json(const struct vs_ctr *c);
/* Docker's `inspect` object for the container (derived state). */
json_object *vs_ctr_inspect(struct vs_engine *e, const struct vs_ctr *c);

/* Resolves a full id, a name or an unambiguous id prefix. Errors:
 * "no such container: 'x'", "'ab' matches several containers". */
int vs_ctr_resolve(struct vs_engine *e, const char *ref, struct vs_ctr **out, vs_error **err);
/* Every record, newest first. */
int vs_ctr_list(struct vs_engine *e, struct vs_ctr ***out, size_t *n, vs_error **err);
void vs_ctr_list_free(struct vs_ctr **v, size_t n);

/* Derives the live state (monitor alive? runtime state present? init
 * alive?) into c->state without saving it. */
void vs_ctr_refresh(struct vs_engine *e, struct vs_ctr *c);
bool vs_ctr_monitor_alive(const struct vs_ctr *c);

/* Names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, unique. */
int vs_name_validate(const char *name, vs_error **err);
char *vs_name_generate(void);
/* Lock held while names are checked and claimed (create, rename). */
int vs_names_lock(struct vs_engine *e, vs_error **err);
/* 0 when free; -1 with "name 'x' is already in use by container <id>". */
int vs_name_check_free(struct vs_engine *e, const char *name, const char *self_id, vs_error **err);

/* Flags of `vessel run`/`create`, as typed (validated by the engine, each
 * error naming its flag). */
struct vs_run_flags {
        const char *image;
        char **cmd; /* NULL: the image's */
        const char *name;
        bool detach, interactive, tty, rm, read_only, privileged;
        char **env, **env_files, **volumes, **tmpfs, **cap_add, **cap_drop, **security_opts,
            **ulimits, **device_read_bps, **device_write_bps, **device_read_iops,
            **device_write_iops;
        const char *workdir, *user, *hostname, *entrypoint; /* entrypoint "" clears it */
        bool has_entrypoint;
        const char *memory, *memory_swap, *cpus, *cpu_shares, *cpuset_cpus, *pids_limit,
            *blkio_weight;
        const char *network, *restart, *stop_signal, *stop_timeout;
        const char *isolation;               /* NULL/"container" or "vm" (src/vm) */
        const char *ip;                      /* --ip: on the --network bridge network */
        char **publish;                      /* -p [HOSTIP:]HOSTPORT:CTRPORT[/PROTO] */
        unsigned console_rows, console_cols; /* -t from a terminal: its size */
};

/* Validates the flags, merges the image config, claims the name and writes
 * the record (state "created"). */
int vs_engine_create(struct vs_engine *e, const struct vs_run_flags *f, struct vs_ctr **out,
                     vs_error **err);

/* The resource flags of f (--memory, --cpus, ...) into HostConfig keys
 * of hc, validated (errors name the flag). */
int vs_engine_parse_resources(const struct vs_run_flags *f, json_object *hc, vs_error **err);
/* The OCI linux.resources object for a HostConfig. */
int vs_engine_resources(json_object *hc, json_object **out, vs_error **err);
/* `update`: the given resource flags (and restart policy when not NULL)
 * merged into the record's HostConfig under its lock, saved, and applied to
 * the running container's cgroup; inspect, restarts and rm see them. */
struct vs_update {
        struct vs_run_flags f;          /* memory, memory_swap, cpus, ... */
        const char *memory_reservation; /* not a run flag yet */
};
int vs_engine_update(struct vs_engine *e, struct vs_ctr *c, const struct vs_update *u,
                     vs_error **err);

/* Parsers shared with exec/commit (errors name flag). */
int vs_parse_size(const char *flag, const char *s, int64_t *out, vs_error **err);
int vs_parse_restart(const char *s, char **name, int *max_retries, vs_error **err);
int vs_parse_signal(const char *flag, const char *s, int *out, vs_error **err);

/* OCI config for a container (src/engine/ociconfig.c). rootfd: the mounted
 * root, for user/group names; writes hostname/hosts/resolv.conf into the
 * container dir. */
int vs_oci_config(struct vs_engine *e, const struct vs_ctr *c, int rootfd, json_object **out,
                  vs_error **err);
/* Docker-style default seccomp profile for the given capability set
 * ("CAP_SYS_ADMIN" ...), as a linux.seccomp object. */
json_object *vs_seccomp_default_profile(char *const *caps);
/* User spec "name|uid[:group|gid]" resolved through the root's /etc/passwd
 * and /etc/group; fills uid, gid, additional gids and home. */
struct vs_user {
        uint32_t uid, gid;
        uint32_t *gids;
        size_t n_gids;
        char *home;
};
int vs_resolve_user(int rootfd, const char *spec, struct vs_user *out, vs_error **err);
void vs_user_clear(struct vs_user *u);

/* Lifecycle (src/engine/lifecycle.c). */
/* Spawns the monitor (double fork + exec of /proc/self/exe) and waits until
 * the container runs or failed to. attach_fd >= 0: a socket end the
 * monitor treats as an attached client from the very start (foreground
 * run, start -a), so no early output is missed. */
int vs_engine_start(struct vs_engine *e, struct vs_ctr *c, int attach_fd, vs_error **err);
int vs_engine_stop(struct vs_engine *e, struct vs_ctr *c, int timeout, vs_error **err);
int vs_engine_restart(struct vs_engine *e, struct vs_ctr *c, int timeout, vs_error **err);
int vs_engine_kill(struct vs_engine *e, struct vs_ctr *c, int sig, vs_error **err);
int vs_engine_pause(struct vs_engine *e, struct vs_ctr *c, bool pause, vs_error **err);
int vs_engine_rm(struct vs_engine *e, struct vs_ctr *c, bool force, bool volumes, vs_error **err);
/* Blocks until the container is not running (nor restarting); its exit
 * code. */
int vs_engine_wait(struct vs_engine *e, struct vs_ctr *c, int *exit_code, vs_error **err);
int vs_engine_rename(struct vs_engine *e, struct vs_ctr *c, const char *name, vs_error **err);
/* Removes the anonymous volumes (-v /path) of a container record. */
void vs_engine_remove_anonymous_volumes(struct vs_engine *e, const struct vs_ctr *c);
/* Unmounts the rootfs, deletes leftover runtime state: after a monitor died. */
int vs_engine_cleanup_runtime(struct vs_engine *e, struct vs_ctr *c, vs_error **err);
/* Mounts the rootfs for cp/commit of a container that is not running;
 * *mounted says whether the caller must vs_engine_umount_rootfs(). */
int vs_engine_mount_rootfs(struct vs_engine *e, struct vs_ctr *c, bool *mounted, vs_error **err);
int vs_engine_umount_rootfs(struct vs_ctr *c, vs_error **err);
bool vs_is_mountpoint(const char *path);

/* Holds (src/engine/hold.c): state a command takes on a container for its
 * own duration, recorded with its holder (pid + start time) so that the
 * next command undoes it when the holder died. */
/* Freezes the container (commit --pause) / thaws it and drops the hold. */
int vs_ctr_freeze_held(struct vs_ctr *c, vs_error **err);
int vs_ctr_thaw_held(struct vs_ctr *c, vs_error **err);
/* The user's pause/unpause: one more freeze holder, that never goes stale. */
int vs_ctr_freeze_user(struct vs_ctr *c, bool pause, vs_error **err);
/* Drops every freeze holder and thaws (kill of a paused container, and a
 * container whose runtime state is gone). */
void vs_ctr_thaw_all(struct vs_ctr *c);
/* Records this process as the holder of the rootfs mount (before mounting
 * it, or using it mounted); vs_engine_umount_rootfs releases it. */
int vs_ctr_hold_mount(const struct vs_ctr *c, vs_error **err);
void vs_ctr_release_mount(const struct vs_ctr *c);
/* Undoes the holds of dead holders: thaws, unmounts a rootfs nothing runs
 * on. Run by vs_ctr_refresh(). */
void vs_ctr_recover(struct vs_engine *e, struct vs_ctr *c);
/* `system prune`: recovers every container's holds and removes the
 * directories that killed creates and removes left without a record. */
int vs_engine_prune_leftovers(struct vs_engine *e, size_t *removed, vs_error **err);
/* Networks (src/engine/network.c, over src/net). NetworkMode none, host,
 * default (a namespace with only loopback) or the name of a bridge
 * network, whose lease the container holds from its first start to rm. */
/* Validates --network/--ip and records them into the HostConfig. */
int vs_engine_net_check(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                        vs_error **err);
/* The bridge network of c, or NULL (none, host, default). */
const char *vs_engine_net_name(const struct vs_ctr *c);
/* Takes (or keeps) c's address; *hosts: the hosts-file lines for it. */
int vs_engine_net_lease(struct vs_engine *e, const struct vs_ctr *c, const char *hostname,
                        char **hosts, vs_error **err);
/* Wires c (created, not yet started: init pid) into its network. */
int vs_engine_net_attach(struct vs_engine *e, const struct vs_ctr *c, pid_t pid, vs_error **err);
/* Docker's NetworkSettings for inspect, or NULL when c holds no lease. */
json_object *vs_engine_net_settings(struct vs_engine *e, const struct vs_ctr *c);
/* Gives back c's veth, address and port rules (rm). */
int vs_engine_net_release(struct vs_engine *e, const struct vs_ctr *c, vs_error **err);

/* The monitor (src/engine/monitor.c): returns the process exit status. */
struct vs_monitor_opts {
        const char *id;
        int status_fd; /* -1: none; gets "0 ok" or "<errno> message" after the first start */
        int attach_fd; /* -1: none */
        /* A restart (the monitor re-executes itself for each): the delay to
         * wait first, and the exit code of the previous run. -1: first start. */
        long restart_delay_ms;
        int last_exit;
};
/* Returns only on an early failure (exit status); otherwise ends the process. */
int vs_monitor_main(struct vs_engine *e, const struct vs_monitor_opts *o);

/* Attach protocol (src/engine/attach.c): frames of an 8-byte header
 * (type, 3 zero bytes, big-endian length) + payload. */
enum vs_frame_type {
        VS_FRAME_STDIN = 0,
        VS_FRAME_STDOUT = 1,
        VS_FRAME_STDERR = 2,
        VS_FRAME_EXIT = 3,      /* payload: exit code in decimal */
        VS_FRAME_STDIN_EOF = 4, /* client's stdin ended */
        VS_FRAME_RESIZE = 5,    /* payload: "rows cols" */
};
int vs_frame_write(int fd, enum vs_frame_type type, const void *data, size_t len);
/* Reads one frame; payload malloc'd (NUL-terminated). 0 on EOF, 1 on a frame. */
int vs_frame_read(int fd, enum vs_frame_type *type, char **data, size_t *len);
/* Connects to a running container's monitor. */
int vs_attach_connect(const struct vs_ctr *c, vs_error **err);
/* The client side of an attached session: copies stdout/stderr frames to
 * 1/2, stdin to the monitor when forward_stdin, forwards signals to the
 * container (runtime kill) and window size changes (tty); returns when the
 * monitor sends the exit frame or hangs up (*exit_code -1 then). */
int vs_attach_session(struct vs_engine *e, const struct vs_ctr *c, int fd, bool tty,
                      bool forward_stdin, int *exit_code, vs_error **err);
/* *exit_code after the user typed the detach keys (ctrl-p ctrl-q) on a raw
 * terminal: the container keeps running; `attach` reattaches. */
#define VS_ATTACH_DETACHED (-2)

/* Logs (src/engine/logs.c). */
struct vs_log_opts {
        bool follow, timestamps;
        long tail;                  /* -1: all */
        int64_t since_ns, until_ns; /* lines' times, ns since the epoch; 0: no bound */
};
int vs_logs_print(struct vs_engine *e, struct vs_ctr *c, const struct vs_log_opts *o,
                  vs_error **err);

/* cp / commit / diff (src/engine/copy.c, commit.c). */
/* The files the engine binds into every container, relative to its root
 * ("etc/hostname", "etc/hosts", "etc/resolv.conf"; NULL-terminated): cp
 * reads them from the container's directory (what the container sees),
 * diff and commit leave their mount targets out. */
extern const char *const vs_engine_mounted_files[];
int vs_engine_cp(struct vs_engine *e, const char *src, const char *dst, vs_error **err);
struct vs_commit_opts {
        char **changes; /* Dockerfile instructions: 'CMD ["x"]', 'ENV A=b' */
        const char *message, *author;
        bool pause;
};
int vs_engine_commit(struct vs_engine *e, struct vs_ctr *c, const char *ref,
                     const struct vs_commit_opts *o, char **image_id, vs_error **err);
int vs_engine_diff(struct vs_engine *e, struct vs_ctr *c, char ***lines, vs_error **err);
/* Dockerfile-instruction changes -> image-config fields (commit --change). */
int vs_commit_changes(char **changes, json_object *base_config, json_object **out, vs_error **err);

/* Small shared helpers (src/engine/util.c). */
/* "3 seconds", "About a minute", "2 hours" since an RFC 3339 time. */
char *vs_human_since(const char *rfc3339);
int64_t vs_rfc3339_to_ns(const char *s);
char *vs_boot_id(void);
bool vs_pid_is(pid_t pid, unsigned long long start);
char *vs_random_hex(size_t bytes);
/* shell-ish display of argv: `sh -c 'echo hi'` */
char *vs_command_string(const char *path, char *const *args);

/* The monitor asks the kernel's OOM killer to spare it (-500, as dockerd;
 * needs CAP_SYS_RESOURCE, else it keeps its score), and its containers'
 * processes get its score + 500 (at most 1000): raising a score needs no
 * privilege, so the container dies before the monitor that reports it. */
void vs_monitor_oom_protect(void);
int vs_container_oom_score_adj(void);

#define VS_ZERO_TIME "0001-01-01T00:00:00Z"

static inline void vs_ctr_freep(struct vs_ctr **c)
{
        if (*c)
                vs_ctr_free(*c);
}
#define _cleanup_ctr_ __attribute__((cleanup(vs_ctr_freep)))

static inline void vs_engine_closep(struct vs_engine **e)
{
        if (*e)
                vs_engine_close(*e);
}
#define _cleanup_engine_ __attribute__((cleanup(vs_engine_closep)))

#endif
