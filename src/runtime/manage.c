/* pause, resume, update, ps and stats: what a running container's cgroup
 * lets one do to it after start. */
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The container's cgroup as recorded at create; an error naming the
 * container when it was created without one (nothing to freeze or update). */
static int load_cgroup(const struct vs_state *st, const char *what, struct vs_cgroup **cg,
                       vs_error **err)
{
        if (st->cgroup == NULL)
                return vs_fail(err, "cannot %s container '%s': it has no cgroup", what, st->id);
        if (vs_cgroup_from_json(st->cgroup, cg, err) < 0)
                return vs_error_wrap(err, "container '%s': broken cgroup record in state.json",
                                     st->id);
        return 0;
}

int vs_container_pause(const char *root, const char *id, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_close_ int lock = -1;
        if (vs_state_open_locked(root, id, &st, &lock, err) < 0)
                return -1;
        /* runc pauses created containers too: the init then stays frozen
         * on its exec fifo until resumed and started. */
        const char *status = vs_state_status(root, st);
        if (strcmp(status, "paused") == 0)
                return vs_fail(err, "container '%s' is already paused", id);
        if (strcmp(status, "running") != 0 && strcmp(status, "created") != 0)
                return vs_fail(err, "container '%s' is not running", id);
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (load_cgroup(st, "pause", &cg, err) < 0)
                return -1;
        if (vs_cgroup_freeze(cg, true, err) < 0)
                return vs_error_wrap(err, "cannot pause container '%s'", id);
        return 0;
}

int vs_container_resume(const char *root, const char *id, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_close_ int lock = -1;
        if (vs_state_open_locked(root, id, &st, &lock, err) < 0)
                return -1;
        const char *status = vs_state_status(root, st);
        if (strcmp(status, "stopped") == 0)
                return vs_fail(err, "container '%s' is not running", id);
        if (strcmp(status, "paused") != 0)
                return vs_fail(err, "container '%s' is not paused", id);
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (load_cgroup(st, "resume", &cg, err) < 0)
                return -1;
        if (vs_cgroup_freeze(cg, false, err) < 0)
                return vs_error_wrap(err, "cannot resume container '%s'", id);
        return 0;
}

int vs_container_update(const char *root, const char *id, const struct oci_resources *res,
                        vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_close_ int lock = -1;
        if (vs_state_open_locked(root, id, &st, &lock, err) < 0)
                return -1;
        /* A stopped container's cgroup is about to be removed by delete:
         * limits written there would mean nothing. */
        if (strcmp(vs_state_status(root, st), "stopped") == 0)
                return vs_fail(err, "container '%s' is not running", id);
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (load_cgroup(st, "update", &cg, err) < 0)
                return -1;
        if (vs_cgroup_update(cg, res, err) < 0)
                return vs_error_wrap(err, "cannot update container '%s'", id);
        return 0;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

int vs_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, vs_error **err)
{
        *pids = NULL;
        *n = 0;
        _cleanup_state_ struct vs_state *st = NULL;
        if (vs_state_load(root, id, &st, err) < 0)
                return -1;
        bool alive = vs_state_pid_alive(st);
        if (st->cgroup == NULL) {
                /* Without a cgroup the init is the only process known to be
                 * the container's. */
                if (alive) {
                        *pids = xmalloc(sizeof(pid_t));
                        (*pids)[0] = st->pid;
                        *n = 1;
                }
                return 0;
        }
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (load_cgroup(st, "list the processes of", &cg, err) < 0)
                return -1;
        _cleanup_error_ vs_error *perr = NULL;
        if (vs_cgroup_pids(cg, pids, n, &perr) < 0) {
                /* A stopped container whose cgroup is already gone has no
                 * processes; anything else is a real failure. */
                if (!alive && perr->errno_ == ENOENT)
                        return 0;
                *err = steal_ptr(perr);
                return vs_error_wrap(err, "container '%s'", id);
        }
        if (*n > 1)
                qsort(*pids, *n, sizeof(pid_t), cmp_pid);
        return 0;
}

int vs_container_stats(const char *root, const char *id, struct json_object **out, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        if (vs_state_load(root, id, &st, err) < 0)
                return -1;
        if (strcmp(vs_state_status(root, st), "stopped") == 0)
                return vs_fail(err, "container '%s' is not running", id);
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (load_cgroup(st, "read the statistics of", &cg, err) < 0)
                return -1;
        json_object *data = NULL;
        if (vs_cgroup_stats(cg, &data, err) < 0)
                return vs_error_wrap(err, "container '%s'", id);
        json_object *ev = json_object_new_object();
        json_object_object_add(ev, "type", json_object_new_string("stats"));
        json_object_object_add(ev, "id", json_object_new_string(id));
        json_object_object_add(ev, "data", data);
        *out = ev;
        return 0;
}
