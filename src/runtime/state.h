/* Container state under the runtime root: <root>/<id>/state.json, written
 * atomically; the status is derived from the live process, never trusted
 * from disk. */
#ifndef VESSEL_RUNTIME_STATE_H
#define VESSEL_RUNTIME_STATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_cgroup;

struct vs_state {
        char *id;
        char *bundle;
        char *rootfs;
        char *created;                /* RFC 3339, UTC */
        char *owner;                  /* user name of the creator, for `list` */
        pid_t pid;                    /* container init, in the runtime's pid namespace */
        unsigned long long pid_start; /* /proc/<pid>/stat starttime, guards pid reuse */
        json_object *annotations;     /* object, owned; never NULL after load */
        json_object *cgroup;          /* vs_cgroup_to_json() blob, owned; NULL if none */
        bool has_exit_status;
        int exit_status;
        /* Set while `create` runs (0 once it has finished): a creation
         * whose creator died is "stopped", and delete -f removes whatever
         * it recorded. */
        pid_t creator;
        unsigned long long creator_start;
        bool cgroup_pending; /* cgroup planned, perhaps not (fully) made */
};

/* Ids: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes (no '/', no "..").
 * Returns -1 with an error naming the id otherwise. */
int vs_validate_id(const char *id, vs_error **err);

/* Caller frees. */
char *vs_state_dir(const char *root, const char *id);

/* "container 'ID' does not exist" (errno ENOENT) when absent. */
int vs_state_load(const char *root, const char *id, struct vs_state **out, vs_error **err);
int vs_state_save(const char *root, const struct vs_state *st, vs_error **err);
/* The same, into the state directory dir. */
int vs_state_save_in(const char *dir, const struct vs_state *st, vs_error **err);
void vs_state_free(struct vs_state *st);

/* Exclusive flock on <root>/<id>/ (returns the fd, held until closed), so
 * concurrent start/kill/delete on one container serialise. */
int vs_state_lock(const char *root, const char *id, vs_error **err);

/* Locks the container (see vs_state_lock) and then loads its state, so
 * what is read cannot change under the caller. *lockfd is the lock. */
int vs_state_open_locked(const char *root, const char *id, struct vs_state **out, int *lockfd,
                         vs_error **err);

/* /proc/<pid>/stat starttime (clock ticks since boot); 0 when gone. */
unsigned long long vs_proc_start_time(pid_t pid);

/* Live status: "creating" (its `create` still runs), "created", "running",
 * "paused" or "stopped" (which includes a creation whose `create` died). */
const char *vs_state_status(const char *root, const struct vs_state *st);
/* True when st->pid is the same process that was recorded (start time). */
/* pid exists and is no zombie. */
bool vs_pid_live(pid_t pid);
bool vs_state_pid_alive(const struct vs_state *st);
/* pidfd on the recorded init if it is still that process; -1 otherwise. */
int vs_state_pidfd(const struct vs_state *st);

/* The runtime-spec state object (ociVersion, id, status, pid, bundle,
 * annotations) plus vessel's "created", "rootfs" and "owner". */
json_object *vs_state_to_json(const char *root, const struct vs_state *st);

/* Ids of every container under root (sorted). */
int vs_state_list(const char *root, char ***ids, vs_error **err);

/* The config as it was at create (<root>/<id>/config.json), resolved
 * against the container's bundle. */
struct oci_config;
int vs_state_load_config(const char *root, const struct vs_state *st, struct oci_config **out,
                         vs_error **err);

/* --pid-file: the pid as text, written by temp + rename. */
int vs_write_pid_file(const char *path, pid_t pid, vs_error **err);

/* Path of the exec fifo: <root>/<id>/exec.fifo. Caller frees. */
char *vs_state_fifo_path(const char *root, const char *id);

static inline void vs_state_freep(struct vs_state **s)
{
        if (*s)
                vs_state_free(*s);
}
#define _cleanup_state_ __attribute__((cleanup(vs_state_freep)))

#endif
