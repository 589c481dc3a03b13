/* Holds: temporary state a command puts on a container for its own
 * duration (a freeze for `commit --pause`, a rootfs mount for cp, commit or
 * the monitor), recorded as <ctr dir>/hold.<kind> = "<pid> <starttime>" of
 * the holder. flock'd locks die with their holder; these would not. When
 * the holder is gone (kill -9, OOM, a crash), vs_ctr_recover(), which every
 * vs_ctr_refresh() runs first (ps, inspect, rm, pause, unpause, stop,
 * kill, commit...), undoes the state and drops the record.
 *
 * Taking, releasing and recovering a hold happen under <ctr dir>/hold.lock
 * (not the record lock: callers of vs_ctr_refresh may hold that one), so a
 * recovery never undoes a hold taken after it looked. The record is written
 * before the state is taken and removed after it is undone: a kill in
 * between leaves a record of state that may not exist, which recovery
 * undoes harmlessly (thawing a thawed cgroup, unmounting nothing). */
#include "engine/engine.h"
#include "engine/create.h"
#include "image/image.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/vm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int hold_lock(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/hold.lock", c->dir);
        return vs_lock_open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600, err);
}

static char *hold_path(const struct vs_ctr *c, const char *kind)
{
        return xasprintf("%s/hold.%s", c->dir, kind);
}

/* Call with the hold lock. */
static int hold_record(const struct vs_ctr *c, const char *kind, vs_error **err)
{
        _cleanup_free_ char *path = hold_path(c, kind);
        char text[64];
        int n =
            snprintf(text, sizeof(text), "%d %llu\n", (int) getpid(), vs_proc_start_time(getpid()));
        return vs_write_file_replace(path, text, (size_t) n, 0600, err);
}

static void hold_drop(const struct vs_ctr *c, const char *kind)
{
        _cleanup_free_ char *path = hold_path(c, kind);
        if (unlink(path) < 0 && errno != ENOENT)
                vs_warn("cannot remove %s: %s", path, strerror(errno));
}

/* Recorded and its holder gone? A record that cannot be read is stale too
 * (written by no one alive: the write is atomic). */
static bool hold_stale(const struct vs_ctr *c, const char *kind)
{
        _cleanup_free_ char *path = hold_path(c, kind);
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_read_file(path, &text, NULL, &err) < 0)
                return err->errno_ != ENOENT;
        int pid = 0;
        unsigned long long start = 0;
        if (sscanf(text, "%d %llu", &pid, &start) != 2)
                return true;
        return !vs_pid_is(pid, start);
}

/* Freezes are counted: every holder (a `commit --pause`, keyed by its pid,
 * or the user's `pause`, keyed "user") records hold.freeze.<key>; the first
 * freezes the cgroup and the last one out thaws it, all under the hold
 * lock. So two commits of one running container both succeed, and a user's
 * pause outlives the commits that overlap it. */
#define FREEZE_PREFIX "hold.freeze."

static char *freeze_kind(const char *key)
{
        return xasprintf("freeze.%s", key);
}

/* Call with the hold lock. The user's record never goes stale. */
static bool freeze_stale(const struct vs_ctr *c, const char *name)
{
        if (strcmp(name, FREEZE_PREFIX "user") == 0)
                return false;
        return hold_stale(c, name + strlen("hold."));
}

/* Call with the hold lock: live freeze holders, dropping the stale. */
static size_t freeze_holders(const struct vs_ctr *c)
{
        _cleanup_closedir_ DIR *d = opendir(c->dir);
        if (d == NULL)
                return 0;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strncmp(de->d_name, FREEZE_PREFIX, strlen(FREEZE_PREFIX)) != 0)
                        continue;
                if (freeze_stale(c, de->d_name)) {
                        vs_debug("container %.12s: dropping %s of a dead holder", c->id,
                                 de->d_name);
                        hold_drop(c, de->d_name + strlen("hold."));
                        continue;
                }
                n++;
        }
        return n;
}

static bool runtime_paused(const struct vs_ctr *c)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_state_load(c->runtime_root, c->id, &st, &err) < 0)
                return false;
        return strcmp(vs_state_status(c->runtime_root, st), "paused") == 0;
}

static int freeze_take(struct vs_ctr *c, const char *key, vs_error **err)
{
        _cleanup_close_ int lock = hold_lock(c, err);
        if (lock < 0)
                return -1;
        size_t others = freeze_holders(c);
        _cleanup_free_ char *kind = freeze_kind(key);
        int r;
        if (strcmp(key, "user") == 0) {
                _cleanup_free_ char *path = hold_path(c, kind);
                r = vs_write_file_replace(path, "user\n", 5, 0600, err);
        } else {
                r = hold_record(c, kind, err);
        }
        if (r < 0)
                return -1;
        if (others > 0)
                return 0; /* frozen already, by another holder */
        if (vs_container_pause(c->runtime_root, c->id, err) < 0) {
                if (runtime_paused(c)) {
                        /* left frozen by a holder that died */
                        vs_error_free(err);
                        return 0;
                }
                hold_drop(c, kind);
                return -1;
        }
        return 0;
}

static int freeze_release(struct vs_ctr *c, const char *key, vs_error **err)
{
        _cleanup_close_ int lock = hold_lock(c, err);
        if (lock < 0)
                return -1;
        _cleanup_free_ char *kind = freeze_kind(key);
        _cleanup_free_ char *mine = hold_path(c, kind);
        size_t holders = freeze_holders(c);
        if (holders > (vs_path_exists(mine) ? 1u : 0u)) {
                hold_drop(c, kind);
                return 0; /* another holder keeps it frozen */
        }
        /* Thaw, then drop the record: killed in between, the record is a
         * dead holder's and the next command thaws (a no-op) and drops it;
         * the other order left a frozen container nobody held. */
        int r = vs_container_resume(c->runtime_root, c->id, err);
        hold_drop(c, kind);
        return r;
}

/* This command's freeze key: its pid. */
static void own_key(char key[static 16])
{
        snprintf(key, 16, "%d", (int) getpid());
}

int vs_ctr_freeze_held(struct vs_ctr *c, vs_error **err)
{
        char key[16];
        own_key(key);
        return freeze_take(c, key, err);
}

int vs_ctr_thaw_held(struct vs_ctr *c, vs_error **err)
{
        char key[16];
        own_key(key);
        /* A container that died meanwhile is not frozen: its resume fails. */
        return freeze_release(c, key, err);
}

/* The record alone, no freeze (the runtime's kill freezes and thaws). */
void vs_ctr_kill_hold(const struct vs_ctr *c)
{
        char key[16];
        own_key(key);
        _cleanup_free_ char *kind = freeze_kind(key);
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_close_ int lock = hold_lock(c, &err);
        if (lock < 0 || hold_record(c, kind, &err) < 0)
                vs_debug("%s", err->msg);
}

void vs_ctr_kill_release(const struct vs_ctr *c)
{
        char key[16];
        own_key(key);
        _cleanup_free_ char *kind = freeze_kind(key);
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_close_ int lock = hold_lock(c, &err);
        if (lock >= 0)
                hold_drop(c, kind);
}

int vs_ctr_freeze_user(struct vs_ctr *c, bool pause, vs_error **err)
{
        return pause ? freeze_take(c, "user", err) : freeze_release(c, "user", err);
}

void vs_ctr_thaw_all(struct vs_ctr *c)
{
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_close_ int lock = hold_lock(c, &err);
        if (lock < 0) {
                vs_debug("%s", err->msg);
                return;
        }
        _cleanup_closedir_ DIR *d = opendir(c->dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL)
                if (strncmp(de->d_name, FREEZE_PREFIX, strlen(FREEZE_PREFIX)) == 0)
                        hold_drop(c, de->d_name + strlen("hold."));
        if (vs_container_resume(c->runtime_root, c->id, &err) < 0)
                vs_debug("%s", err->msg);
}

int vs_ctr_hold_mount(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_close_ int lock = hold_lock(c, err);
        if (lock < 0)
                return -1;
        return hold_record(c, "mount", err);
}

void vs_ctr_release_mount(const struct vs_ctr *c)
{
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_close_ int lock = hold_lock(c, &err);
        if (lock >= 0)
                hold_drop(c, "mount");
}

void vs_ctr_recover(struct vs_engine *e, struct vs_ctr *c)
{
        (void) e;
        bool mount = false, freeze = false;
        {
                _cleanup_closedir_ DIR *d = opendir(c->dir);
                struct dirent *de;
                while (d && (de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, "hold.mount") == 0)
                                mount = true;
                        else if (!freeze &&
                                 strncmp(de->d_name, FREEZE_PREFIX, strlen(FREEZE_PREFIX)) == 0)
                                freeze = freeze_stale(c, de->d_name);
                }
        }
        if (!freeze && !mount)
                return; /* the common case: one readdir */
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_close_ int lock = hold_lock(c, &err);
        if (lock < 0) {
                vs_debug("%s", err->msg);
                return;
        }
        if (freeze && freeze_holders(c) == 0) {
                vs_debug("container %.12s: thawing after a dead holder", c->id);
                /* Fails when the holder died before freezing: nothing to undo. */
                if (vs_container_resume(c->runtime_root, c->id, &err) < 0)
                        vs_debug("%s", err->msg);
                vs_error_free(&err);
        }
        if (mount && hold_stale(c, "mount") && !vs_ctr_monitor_alive(c)) {
                /* A container that still runs without its monitor keeps its
                 * rootfs: stop and rm clean it up with the runtime state. */
                _cleanup_state_ struct vs_state *st = NULL;
                if (vs_state_load(c->runtime_root, c->id, &st, &err) < 0) {
                        vs_error_free(&err);
                        vs_debug("container %.12s: unmounting after a dead holder", c->id);
                        vs_engine_shm_umount(c->dir);
                        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
                        for (int i = 0; i < 8 && vs_is_mountpoint(rootfs); i++)
                                if (vs_image_rootfs_umount(rootfs, &err) < 0)
                                        break;
                        if (vs_is_mountpoint(rootfs))
                                vs_warn("container %.12s: %s", c->id,
                                        err ? err->msg : "rootfs still mounted");
                        else
                                hold_drop(c, "mount");
                }
        }
}

/* A container directory without record.json is what a create killed
 * between mkdir and the record, or an rm killed after removing the record,
 * left (listings skip it). Both happen under the names lock, so under it
 * such a directory is garbage. */
static bool is_full_id(const char *s)
{
        return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int vs_engine_prune_leftovers(struct vs_engine *e, size_t *removed, vs_error **err)
{
        *removed = 0;
        struct vs_ctr **v = NULL;
        size_t n = 0;
        if (vs_ctr_list(e, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                vs_ctr_refresh(e, v[i]); /* recovers dead holders' holds */
        vs_ctr_list_free(v, n);
        _cleanup_close_ int lock = vs_names_lock(e, err);
        if (lock < 0)
                return -1;
        _cleanup_closedir_ DIR *d = opendir(e->ctr_root);
        if (d == NULL)
                return vs_fail_errno(err, "cannot read %s", e->ctr_root);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (!is_full_id(de->d_name) ||
                    faccessat(dirfd(d), de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                _cleanup_free_ char *rec = xasprintf("%s/record.json", de->d_name);
                if (faccessat(dirfd(d), rec, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
                        continue;
                _cleanup_free_ char *dir = xasprintf("%s/%s", e->ctr_root, de->d_name);
                _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
                _cleanup_error_ vs_error *rerr = NULL;
                /* A VM container's cgroup (QEMU's, the launcher's): killed
                 * and removed before the file naming it goes. */
                if (vs_vm_cgroup_release_dir(dir, &rerr) < 0) {
                        vs_warn("cannot remove the leftover %s: %s", dir, rerr->msg);
                        continue;
                }
                vs_engine_shm_umount(dir);
                for (int i = 0; i < 8 && vs_is_mountpoint(rootfs); i++)
                        if (vs_image_rootfs_umount(rootfs, &rerr) < 0)
                                break;
                if (vs_is_mountpoint(rootfs) || vs_rm_rf(dir, &rerr) < 0) {
                        vs_warn("cannot remove the leftover %s: %s", dir,
                                rerr ? rerr->msg : "its rootfs is still mounted");
                        continue;
                }
                /* and its id range (--userns=auto, a VM's QEMU), stale now */
                vs_userns_release(e, de->d_name);
                (*removed)++;
        }
        return 0;
}
