/* cgroups v1, hybrid and v2, chosen per controller from /proc/self/mountinfo
 * and /proc/self/cgroup. By default a container's cgroup is created beneath
 * the invoking process's own cgroup in each hierarchy. */
#ifndef VESSEL_RUNTIME_CGROUP_H
#define VESSEL_RUNTIME_CGROUP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci/config.h"
#include "util/error.h"

struct vs_cgroup; /* opaque: the per-controller paths of one container */

/* Creates the container's cgroup in every hierarchy and applies res (may be
 * NULL). cgroups_path: linux.cgroupsPath (absolute: from each hierarchy's
 * root; relative: beneath the invoking process's cgroup; NULL: <own
 * cgroup>/vessel-<id>). On any failure nothing is left behind. */
int vs_cgroup_create(const char *id, const char *cgroups_path, const struct oci_resources *res,
                     struct vs_cgroup **out, vs_error **err);
/* vs_cgroup_create in three steps. plan computes and validates the
 * directories without making any, so that they can be recorded before they
 * exist; begin makes the cgroup2 directory (the init is born there); then
 * the runtime starts the init, and complete makes the other directories and
 * applies res while the init builds its mounts. begin removes what it made
 * on failure; after a failed complete the caller destroys cg
 * (vs_cgroup_destroy). */
int vs_cgroup_plan(const char *id, const char *cgroups_path, const struct oci_resources *res,
                   struct vs_cgroup **out, vs_error **err);
int vs_cgroup_begin(struct vs_cgroup *cg, vs_error **err);
int vs_cgroup_complete(struct vs_cgroup *cg, const struct oci_resources *res, vs_error **err);
/* For a cgroup planned but perhaps never made: removes each directory
 * that is empty, kills nothing (a busy one is not ours). */
void vs_cgroup_remove_idle(const struct vs_cgroup *cg);
/* Moves pid into the container's cgroup in every hierarchy. */
int vs_cgroup_enter(const struct vs_cgroup *cg, pid_t pid, vs_error **err);
/* Fast placement, for a container init that is not in a user namespace:
 * the first write of another pid into a cgroup v1 cgroup.procs waits for an
 * RCU grace period (5-10 ms), while a task moving itself through "tasks"
 * does not, nor does clone3(CLONE_INTO_CGROUP). vs_cgroup_v2_dirfd opens
 * the container's cgroup2 directory for CLONE_INTO_CGROUP (-1 with no v2
 * hierarchy); vs_cgroup_enter_self moves the calling single-threaded process
 * into every v1 hierarchy (and the v2 one too unless skip_v2). */
int vs_cgroup_v2_dirfd(const struct vs_cgroup *cg);
int vs_cgroup_enter_self(const struct vs_cgroup *cg, bool skip_v2, vs_error **err);
/* The same fast placement for a process that cannot reach the cgroup paths
 * (exec's, already in the container's mount namespace when it moves):
 * vs_cgroup_open_v1_tasks opens the "tasks" file of every v1 hierarchy for
 * writing (filling empty cpusets first), at most max of them, for the
 * process to write "0" into (the exec stub does); vs_cgroup_enter_v moves
 * pid into the v2 hierarchy only (v2) or into the v1 ones only. */
int vs_cgroup_open_v1_tasks(const struct vs_cgroup *cg, int *fds, size_t max, size_t *n,
                            vs_error **err);
int vs_cgroup_enter_v(const struct vs_cgroup *cg, pid_t pid, bool v2, vs_error **err);
/* Whether the v2 hierarchy's pids limit (if any) leaves room for n more
 * processes right now (false when it cannot be read). */
bool vs_cgroup_v2_pids_room(const struct vs_cgroup *cg, long long n);
/* Kills what is left (SIGKILL, thawing first), waits, removes every
 * directory. Safe on a partly-gone cgroup; idempotent. */
int vs_cgroup_destroy(struct vs_cgroup *cg, vs_error **err);
void vs_cgroup_free(struct vs_cgroup *cg);

/* Persistence in state.json. */
json_object *vs_cgroup_to_json(const struct vs_cgroup *cg);
int vs_cgroup_from_json(json_object *j, struct vs_cgroup **out, vs_error **err);

int vs_cgroup_freeze(const struct vs_cgroup *cg, bool frozen, vs_error **err);
bool vs_cgroup_is_frozen(const struct vs_cgroup *cg);
int vs_cgroup_update(const struct vs_cgroup *cg, const struct oci_resources *res, vs_error **err);
/* Pids (host view) of every process in the container's cgroup. */
int vs_cgroup_pids(const struct vs_cgroup *cg, pid_t **pids, size_t *n, vs_error **err);
int vs_cgroup_kill_all(const struct vs_cgroup *cg, int sig, vs_error **err);
/* runc-events-shaped stats object ({"cpu":..,"memory":..,"pids":..,"blkio":..}). */
int vs_cgroup_stats(const struct vs_cgroup *cg, json_object **out, vs_error **err);
/* Number of OOM kills recorded (memory.oom_control/memory.events); 0 when
 * the memory controller or the counter is not there. */
long vs_cgroup_oom_kills(const struct vs_cgroup *cg);

/* Path inside the container for the cgroup namespace/cgroupfs mount: not
 * needed by callers; exposed for `features`/tests: "v1", "hybrid" or "v2"
 * ("none" when no cgroup filesystem is mounted). */
const char *vs_cgroup_mode(void);

/* The container's directory for controller ("memory", "cpu", ...), or its
 * cgroup2 directory when controller is NULL; NULL when there is none. */
const char *vs_cgroup_path(const struct vs_cgroup *cg, const char *controller);
/* The i-th hierarchy (for mounting cgroupfs inside the container):
 * mountpoint on the host ("/sys/fs/cgroup/memory"), the container's
 * directory in it, and whether it is cgroup2. -1 when i is out of range. */
int vs_cgroup_hierarchy(const struct vs_cgroup *cg, size_t i, const char **mountpoint,
                        const char **path, bool *v2);
/* Forgets the detected layout so the next call re-reads it (tests point
 * VESSEL_CGROUP_MOUNTINFO / VESSEL_CGROUP_PROC_CGROUP at fixtures, and
 * VESSEL_CGROUP_V2_CONTROLLERS overrides cgroup2's controller list). */
void vs_cgroup_reset_detection(void);

static inline void vs_cgroup_freep(struct vs_cgroup **c)
{
        if (*c)
                vs_cgroup_free(*c);
}
#define _cleanup_cgroup_ __attribute__((cleanup(vs_cgroup_freep)))

#endif
