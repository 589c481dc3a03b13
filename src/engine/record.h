/* Container records (src/engine/record.c, hold.c): the typed record, loading, saving, locking,
 * resolving and listing, names, holds. Included by engine/engine.h (see there for the layout of a
 * container's directory). Strings and arrays returned through out-parameters
 * are the caller's to free unless a comment says otherwise. */
#ifndef VESSEL_ENGINE_RECORD_H
#define VESSEL_ENGINE_RECORD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_engine;
struct vs_ctr;
struct vs_run_flags;

struct vs_ctr_state {
        char *status; /* created|running|paused|restarting|exited|dead|removing */
        bool running, paused, restarting, oom_killed, dead;
        pid_t pid;
        int exit_code;
        char *error;
        char *started_at, *finished_at; /* RFC 3339 nano; "0001-01-01T00:00:00Z" when never */
        /* Docker's State.Health ({Status, FailingStreak, Log}), owned; NULL
         * when the container has no health check. Written by the monitor. */
        json_object *health;
};

/* The fields of Docker's Config that the engine reads, typed. Strings and
 * string vectors are NULL when the record has no value (cmd, entrypoint:
 * also when it holds null); every pointer is owned by the record. */
struct vs_ctr_config {
        char *hostname, *user, *working_dir, *stop_signal;
        char **env, **cmd, **entrypoint;
        bool tty, open_stdin, stdin_once;
        bool has_stop_timeout;
        int64_t stop_timeout; /* seconds, when has_stop_timeout */
        /* Healthcheck: Test (["CMD", ...], ["CMD-SHELL", cmd], ["NONE"]; NULL:
         * none), durations in ns (0: Docker's default), Retries (0: 3). */
        char **health_test;
        int64_t health_interval, health_timeout, health_start_period, health_retries;
        int64_t health_start_interval; /* StartInterval (Docker 25) */
};

/* The fields of Docker's HostConfig that the engine reads, typed. The JSON
 * members (ulimits, blkio_*, seccomp_profile, port_bindings) point into
 * vs_ctr.host_config: borrowed, NULL when absent, arrays checked to be
 * arrays. */
struct vs_ctr_host_config {
        char *network_mode, *ipv4_address, *isolation, *cpuset_cpus;
        char *restart_policy; /* "no", "always", "unless-stopped", "on-failure" */
        int64_t restart_max_retries;
        bool auto_remove, privileged, readonly_rootfs, no_new_privileges, init;
        char **cap_add, **cap_drop, **binds, **security_opt;
        int64_t memory, nano_cpus, cpu_shares, blkio_weight, memory_reservation; /* 0: unset */
        bool has_memory_swap, has_pids_limit;
        int64_t memory_swap, pids_limit;
        unsigned console_rows, console_cols; /* 0: unset */
        char *log_max_size, *log_max_file;   /* LogConfig.Config, as stored ("-1", "3") */
        char *log_type;                      /* LogConfig.Type: json-file, local, none */
        json_object *ulimits;                /* [{Name, Soft, Hard}] */
        json_object *blkio_read_bps, *blkio_write_bps, *blkio_read_iops, *blkio_write_iops;
        json_object *seccomp_profile; /* an OCI linux.seccomp object, or "unconfined" */
        json_object *port_bindings;   /* {"80/tcp": [{HostIp, HostPort}]}: checked at load */
        /* Networks: every network the container is on, in order (NULL: a
         * record from before it; empty: none); the rest belong to the first
         * network or to the container's /etc files. */
        char **networks, **network_aliases, **dns, **dns_search, **dns_options, **extra_hosts;
        char **cni_plugin_dirs;
        char *ipv6_address, *mac_address, *cni_network;
        char *ipc_mode, *pid_mode, *uts_mode; /* "host", "container:<id>", ... (nsmode.c) */
        /* Kernel and device settings (src/engine/hostopts.c): ShmSize (0:
         * a record from before it, 64m), CpuPeriod/CpuQuota (0: unset),
         * OomScoreAdj (absent: the engine's default), GroupAdd,
         * DeviceCgroupRules; Sysctls ({"K": "V"}) and Devices
         * ([{PathOnHost, PathInContainer, CgroupPermissions}]) checked at load. */
        int64_t shm_size, cpu_period, cpu_quota;
        bool oom_kill_disable, has_oom_score_adj;
        int64_t oom_score_adj;
        char **group_add, **device_cgroup_rules;
        json_object *sysctls, *devices;
};

struct vs_ctr {
        char *id, *name, *created;
        char *image_id, *image_name;
        char *path;
        char **args;
        /* Read cfg and hc, never the JSON: record.c's table fills them from
         * it (one reader) and writes them back over it (one writer). The
         * JSON keeps what has no typed field, as it was read. */
        struct vs_ctr_config cfg;
        struct vs_ctr_host_config hc;
        json_object *config;      /* Docker's Config as stored */
        json_object *host_config; /* Docker's HostConfig as stored */
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
/* A record from JSON (an imported one: ctx names it in errors); no dir. */
int vs_ctr_from_json(json_object *o, const char *ctx, struct vs_ctr **out, vs_error **err);
int vs_ctr_save(const struct vs_ctr *c, vs_error **err);
/* A change of running state only (the monitor's claim, start, exit,
 * restart; pause, health, a manual stop), which a reboot voids anyway
 * (vs_ctr_refresh): written ordered but without the directory's fsync, and
 * for an --rm container, whose record a power cut may as well remove,
 * without fsync (its first record too: vs_engine_create). Atomic for every
 * reader either way. */
int vs_ctr_save_state(const struct vs_ctr *c, vs_error **err);
/* Re-reads the record from disk into c (after taking the lock). */
int vs_ctr_reload(struct vs_engine *e, struct vs_ctr **c, vs_error **err);
/* Exclusive flock on the container's directory; returns an fd to close. */
int vs_ctr_lock(const struct vs_ctr *c, vs_error **err);
void vs_ctr_free(struct vs_ctr *c);
/* The record's JSON (record.json's shape); the caller puts it. */
json_object *vs_ctr_to_json(const struct vs_ctr *c);
/* Fills c->cfg and c->hc from c->config and c->host_config (load does it;
 * create after building the JSON). Errors name ctx (the record's path). */
int vs_ctr_read_fields(struct vs_ctr *c, const char *ctx, vs_error **err);
/* Config (host false) or HostConfig as stored: the typed fields written over
 * the JSON they were read from. The caller puts it. */
json_object *vs_ctr_config_json(const struct vs_ctr *c, bool host);
/* Docker's `inspect` object for the container (derived state). */
json_object *vs_ctr_inspect(struct vs_engine *e, const struct vs_ctr *c); /* caller puts */

/* Resolves a full id, a name or an unambiguous id prefix. Errors:
 * "no such container: 'x'", "'ab' matches several containers". */
int vs_ctr_resolve(struct vs_engine *e, const char *ref, struct vs_ctr **out, vs_error **err);
/* Every record, newest first; the caller frees them with vs_ctr_list_free. */
int vs_ctr_list(struct vs_engine *e, struct vs_ctr ***out, size_t *n, vs_error **err);
void vs_ctr_list_free(struct vs_ctr **v, size_t n);

/* Derives the live state (monitor alive? runtime state present? init
 * alive?) into c->state without saving it. */
void vs_ctr_refresh(struct vs_engine *e, struct vs_ctr *c);
bool vs_ctr_monitor_alive(const struct vs_ctr *c);

/* Names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, unique. */
int vs_name_validate(const char *name, vs_error **err);
/* A free-looking "adjective_noun" name. Caller frees. */
char *vs_name_generate(void);
/* Lock held while names are checked and claimed (create, rename). */
int vs_names_lock(struct vs_engine *e, vs_error **err);
/* 0 when free; -1 with "name 'x' is already in use by container <id>". */
int vs_name_check_free(struct vs_engine *e, const char *name, const char *self_id, vs_error **err);

/* Holds (src/engine/hold.c): state a command takes on a container for its
 * own duration, recorded with its holder (pid + start time) so that the
 * next command undoes it when the holder died. */
/* Freezes the container (commit --pause) / thaws it and drops the hold. */
int vs_ctr_freeze_held(struct vs_ctr *c, vs_error **err);
int vs_ctr_thaw_held(struct vs_ctr *c, vs_error **err);
/* Around the runtime's kill of every process (which freezes the cgroup,
 * signals and thaws): a freeze record of this command's, taken without
 * freezing, so that a command killed in between leaves a dead holder's
 * record and the next command's recovery thaws what it left frozen. */
void vs_ctr_kill_hold(const struct vs_ctr *c);
void vs_ctr_kill_release(const struct vs_ctr *c);
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

#define VS_ZERO_TIME "0001-01-01T00:00:00Z"

static inline void vs_ctr_freep(struct vs_ctr **c)
{
        if (*c)
                vs_ctr_free(*c);
}
#define _cleanup_ctr_ __attribute__((cleanup(vs_ctr_freep)))

#endif
