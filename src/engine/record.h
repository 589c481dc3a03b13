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

/* Holds (src/engine/hold.c): state a command takes on a container for its
 * own duration, recorded with its holder (pid + start time) so that the
 * next command undoes it when the holder died. */
/* Freezes the container (commit --pause) / thaws it and drops the hold. */
int vs_ctr_freeze_held(struct vs_ctr *c, vs_error **err);
int vs_ctr_thaw_held(struct vs_ctr *c, vs_error **err);
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
