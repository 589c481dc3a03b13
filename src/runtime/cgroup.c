/* A container's cgroup across every mounted hierarchy: creation with
 * validation and rollback, entering, freezing, listing, signalling,
 * updating, stats and removal. The per-version writes live in
 * cgroup_v1.c and cgroup_v2.c, the layout and helpers in cgroup_layout.c. */
#include "runtime/cgroup.h"
#include "runtime/cgroup_internal.h"
#include "runtime/state.h"
#include "util/clock.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long freeze/thaw and destroy wait for the kernel before giving up:
 * long enough for a loaded host, short enough that a process stuck in D
 * state turns into an error instead of a hang. */
#define FREEZE_TIMEOUT_MS  10000
#define DESTROY_TIMEOUT_MS 10000

/* Sleeps 1ms, doubling up to 50ms, so short waits stay short. */
static void backoff(unsigned *delay_us)
{
        usleep(*delay_us);
        if (*delay_us < 50000)
                *delay_us *= 2;
}

static void dir_clear(struct cg_dir *d)
{
        free(d->mountpoint);
        strv_free(d->controllers);
        free(d->path);
        free(d->created);
}

void vs_cgroup_free(struct vs_cgroup *cg)
{
        if (cg == NULL)
                return;
        for (size_t i = 0; i < cg->n; i++)
                dir_clear(&cg->dirs[i]);
        free(cg->dirs);
        free(cg->mode);
        free(cg);
}

/* ---- validation: everything that can be checked before writing ---- */

static int need(const struct vs_cgroup *cg, const char *controller, const char *field,
                const struct cg_dir **out, vs_error **err)
{
        const struct cg_dir *d = cg_find(cg, controller);
        if (d == NULL)
                return vs_fail(err,
                               "%s: the %s controller is not available on this host (no cgroup "
                               "v1 hierarchy mounts it%s)",
                               field, controller,
                               cg_find_v2(cg) ? " and cgroup v2 does not offer it"
                                              : ", and cgroup v2 is not mounted");
        if (out)
                *out = d;
        return 0;
}

static bool memory_requested(const struct oci_resources *r)
{
        const typeof(r->memory) *m = &r->memory;
        return r->has_memory && (m->has_limit || m->has_reservation || m->has_swap ||
                                 m->has_kernel || m->has_kernel_tcp || m->has_swappiness ||
                                 m->has_disable_oom_killer || m->has_use_hierarchy);
}

static bool cpu_requested(const struct oci_resources *r)
{
        const typeof(r->cpu) *c = &r->cpu;
        return r->has_cpu && (c->has_shares || c->has_quota || c->has_period || c->has_burst ||
                              c->has_realtime_runtime || c->has_realtime_period || c->has_idle);
}

static bool blkio_requested(const struct oci_resources *r)
{
        const typeof(r->block_io) *b = &r->block_io;
        return r->has_block_io && (b->has_weight || b->has_leaf_weight || b->n_weight_device ||
                                   b->n_throttle_read_bps || b->n_throttle_write_bps ||
                                   b->n_throttle_read_iops || b->n_throttle_write_iops);
}

static const struct cg_dir *blkio_dir(const struct vs_cgroup *cg)
{
        const struct cg_dir *d = cg_find(cg, "blkio");
        return d ? d : cg_find(cg, "io");
}

static int check_block_device(const char *field, int64_t major, int64_t minor, vs_error **err)
{
        _cleanup_free_ char *p = xasprintf("/sys/dev/block/%" PRId64 ":%" PRId64, major, minor);
        if (!vs_path_exists(p))
                return vs_fail(err,
                               "%s: block device %" PRId64 ":%" PRId64
                               " does not exist on this host (no %s)",
                               field, major, minor, p);
        return 0;
}

static int validate_block_io(const struct vs_cgroup *cg, const struct oci_resources *r,
                             vs_error **err)
{
        if (!blkio_requested(r))
                return 0;
        const char *ctx = "linux.resources.blockIO";
        const struct cg_dir *d = blkio_dir(cg);
        if (d == NULL)
                return vs_fail(err,
                               "%s: neither the blkio (cgroup v1) nor the io (cgroup v2) "
                               "controller is available on this host",
                               ctx);
        const typeof(r->block_io) *b = &r->block_io;
        for (size_t i = 0; i < b->n_weight_device; i++) {
                _cleanup_free_ char *f = xasprintf("%s.weightDevice[%zu]", ctx, i);
                if (check_block_device(f, b->weight_device[i].major, b->weight_device[i].minor,
                                       err) < 0)
                        return -1;
                if (d->v2 && b->weight_device[i].has_leaf_weight)
                        return vs_fail(err, "%s.leafWeight: not supported on cgroup v2", f);
        }
        struct {
                const char *name;
                const struct oci_throttle_device *t;
                size_t n;
        } lists[] = {
            {"throttleReadBpsDevice", b->throttle_read_bps, b->n_throttle_read_bps},
            {"throttleWriteBpsDevice", b->throttle_write_bps, b->n_throttle_write_bps},
            {"throttleReadIOPSDevice", b->throttle_read_iops, b->n_throttle_read_iops},
            {"throttleWriteIOPSDevice", b->throttle_write_iops, b->n_throttle_write_iops},
        };
        for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
                for (size_t i = 0; i < lists[l].n; i++) {
                        _cleanup_free_ char *f = xasprintf("%s.%s[%zu]", ctx, lists[l].name, i);
                        if (check_block_device(f, lists[l].t[i].major, lists[l].t[i].minor, err) <
                            0)
                                return -1;
                }
        if (d->v2 && b->has_leaf_weight)
                return vs_fail(err, "%s.leafWeight: not supported on cgroup v2", ctx);
        return 0;
}

static int validate_hugetlb(const struct vs_cgroup *cg, const struct oci_resources *r,
                            vs_error **err)
{
        if (r->n_hugepage_limits == 0)
                return 0;
        if (need(cg, "hugetlb", "linux.resources.hugepageLimits", NULL, err) < 0)
                return -1;
        _cleanup_strv_ char **sizes = vs_cgroup_hugepage_sizes();
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
                if (strv_contains(sizes, r->hugepage_limits[i].page_size))
                        continue;
                _cleanup_free_ char *list = xstrdup("");
                for (char **s = sizes; *s; s++) {
                        char *n = xasprintf("%s%s%s", list, *list ? ", " : "", *s);
                        free(list);
                        list = n;
                }
                return vs_fail(err,
                               "linux.resources.hugepageLimits[%zu].pageSize: '%s' is not a huge "
                               "page size of this host (available: %s)",
                               i, r->hugepage_limits[i].page_size, *list ? list : "none");
        }
        return 0;
}

static int validate_unified(const struct vs_cgroup *cg, const struct oci_resources *r,
                            vs_error **err)
{
        const struct cg_dir *v2 = cg_find_v2(cg);
        for (size_t i = 0; i < r->n_unified; i++) {
                const char *key = r->unified[i].key;
                _cleanup_free_ char *ctrl = xstrndup(key, strcspn(key, "."));
                if (v2 == NULL)
                        return vs_fail(err,
                                       "linux.resources.unified: key '%s' needs cgroup v2, which "
                                       "is not mounted on this host (cgroup %s)",
                                       key, cg->mode);
                /* Core files ("cgroup.*", and PSI/stat files the root of
                 * cgroup2 shows without any controller) are always there. */
                if (strcmp(ctrl, "cgroup") == 0 || cg_strv_has(v2->controllers, ctrl) ||
                    cg_has_file(v2->mountpoint, key))
                        continue;
                const struct cg_dir *d = cg_find(cg, ctrl);
                if (d != NULL && !d->v2)
                        return vs_fail(err,
                                       "linux.resources.unified: key '%s' needs cgroup v2, but "
                                       "the %s controller is bound to cgroup v1 on this host "
                                       "(%s mode)",
                                       key, ctrl, cg->mode);
                return vs_fail(err,
                               "linux.resources.unified: key '%s' needs cgroup v2 with the %s "
                               "controller, which this host's cgroup v2 does not offer",
                               key, ctrl);
        }
        return 0;
}

static int validate(const struct vs_cgroup *cg, const struct oci_resources *r, vs_error **err)
{
        if (r == NULL)
                return 0;
        const struct cg_dir *d = NULL;
        if (memory_requested(r)) {
                if (need(cg, "memory", "linux.resources.memory", &d, err) < 0)
                        return -1;
                const typeof(r->memory) *m = &r->memory;
                /* No memsw files at the hierarchy root means the kernel
                 * does no swap accounting: a swap limit cannot be honoured
                 * (-1, unlimited, is what there already is). */
                if (!d->v2 && m->has_swap && m->swap > 0 &&
                    !cg_has_file(d->mountpoint, "memory.memsw.limit_in_bytes"))
                        return vs_fail(err,
                                       "linux.resources.memory.swap: this kernel does no swap "
                                       "accounting (no memory.memsw.limit_in_bytes in %s; boot "
                                       "with swapaccount=1)",
                                       d->mountpoint);
        }
        if (cpu_requested(r)) {
                if (need(cg, "cpu", "linux.resources.cpu", &d, err) < 0)
                        return -1;
                if (d->v2 && r->cpu.has_realtime_runtime && r->cpu.realtime_runtime != 0)
                        return vs_fail(err, "linux.resources.cpu.realtimeRuntime: not supported "
                                            "on cgroup v2");
                if (d->v2 && r->cpu.has_realtime_period && r->cpu.realtime_period != 0)
                        return vs_fail(err, "linux.resources.cpu.realtimePeriod: not supported "
                                            "on cgroup v2");
        }
        if (r->has_cpu && ((r->cpu.cpus && *r->cpu.cpus) || (r->cpu.mems && *r->cpu.mems))) {
                if (need(cg, "cpuset", "linux.resources.cpu", NULL, err) < 0)
                        return -1;
                _cleanup_free_ char *cpus = NULL, *mems = NULL;
                _cleanup_error_ vs_error *ignored = NULL;
                if (vs_read_file("/sys/devices/system/cpu/online", &cpus, NULL, &ignored) < 0)
                        cpus = NULL;
                if (vs_read_file("/sys/devices/system/node/online", &mems, NULL, &ignored) < 0)
                        mems = xstrdup("0"); /* no NUMA: node 0 only */
                if (r->cpu.cpus && *r->cpu.cpus && cpus &&
                    vs_cgroup_check_id_subset(r->cpu.cpus, strtok(cpus, "\n"),
                                              "linux.resources.cpu.cpus", "CPU", err) < 0)
                        return -1;
                if (r->cpu.mems && *r->cpu.mems &&
                    vs_cgroup_check_id_subset(r->cpu.mems, strtok(mems, "\n"),
                                              "linux.resources.cpu.mems", "memory node", err) < 0)
                        return -1;
        }
        if (r->has_pids && need(cg, "pids", "linux.resources.pids", NULL, err) < 0)
                return -1;
        if (validate_block_io(cg, r, err) < 0 || validate_hugetlb(cg, r, err) < 0)
                return -1;
        if (r->n_devices > 0 && need(cg, "devices", "linux.resources.devices", NULL, err) < 0)
                return -1;
        /* net_cls/net_prio exist only on cgroup v1; asking for them where
         * they are not mounted is an error rather than a silent no-op. */
        if (r->has_network && r->network.has_class_id &&
            need(cg, "net_cls", "linux.resources.network.classID", NULL, err) < 0)
                return -1;
        if (r->has_network && r->network.n_priorities > 0 &&
            need(cg, "net_prio", "linux.resources.network.priorities", NULL, err) < 0)
                return -1;
        return validate_unified(cg, r, err);
}

/* ---- writing resources ---- */

static int apply_cpuset(const char *dir, const struct oci_resources *r, vs_error **err)
{
        if (r->cpu.cpus && *r->cpu.cpus &&
            cg_write(dir, "cpuset.cpus", r->cpu.cpus, "linux.resources.cpu.cpus", err) < 0)
                return -1;
        if (r->cpu.mems && *r->cpu.mems &&
            cg_write(dir, "cpuset.mems", r->cpu.mems, "linux.resources.cpu.mems", err) < 0)
                return -1;
        return 0;
}

static int apply_pids(const char *dir, const struct oci_resources *r, vs_error **err)
{
        if (r->pids_limit < 0)
                return cg_write(dir, "pids.max", "max", "linux.resources.pids.limit", err);
        return cg_writef(dir, "pids.max", "linux.resources.pids.limit", err, "%" PRId64,
                         r->pids_limit);
}

static int apply(const struct vs_cgroup *cg, const struct oci_resources *r, bool update,
                 vs_error **err)
{
        if (r == NULL)
                return 0;
        const struct cg_dir *d = NULL;
        /* runc's order: cpuset before anything that may depend on it,
         * unified last so that it can override converted values. */
        if (r->has_cpu && (d = cg_find(cg, "cpuset")) && apply_cpuset(d->path, r, err) < 0)
                return -1;
        if (memory_requested(r) || (update && r->has_memory)) {
                d = cg_find(cg, "memory");
                if (d && (d->v2 ? cg_v2_memory(d->path, r, update, err)
                                : cg_v1_memory(d->path, r, update, err)) < 0)
                        return -1;
        }
        if (cpu_requested(r)) {
                d = cg_find(cg, "cpu");
                if (d && (d->v2 ? cg_v2_cpu(d->path, r, err) : cg_v1_cpu(d->path, r, err)) < 0)
                        return -1;
        }
        if (r->has_pids && (d = cg_find(cg, "pids")) && apply_pids(d->path, r, err) < 0)
                return -1;
        if (blkio_requested(r) && (d = blkio_dir(cg)) &&
            (d->v2 ? cg_v2_io(d->path, r, err) : cg_v1_blkio(d->path, r, err)) < 0)
                return -1;
        if (r->n_hugepage_limits && (d = cg_find(cg, "hugetlb")) &&
            (d->v2 ? cg_v2_hugetlb(d->path, r, err) : cg_v1_hugetlb(d->path, r, err)) < 0)
                return -1;
        if (r->n_devices && (d = cg_find(cg, "devices")) &&
            (d->v2 ? cg_v2_devices(d->path, r, err) : cg_v1_devices(d->path, r, update, err)) < 0)
                return -1;
        if (r->has_network && (d = cg_find(cg, "net_cls")) && !d->v2 &&
            cg_v1_net_cls(d->path, r, err) < 0)
                return -1;
        if (r->has_network && (d = cg_find(cg, "net_prio")) && !d->v2 &&
            cg_v1_net_prio(d->path, r, err) < 0)
                return -1;
        if (r->n_unified && (d = cg_find_v2(cg)) && cg_v2_unified(d->path, r, err) < 0)
                return -1;
        return 0;
}

/* Controllers of cgroup2 that res needs (on a hybrid host, where cgroup2
 * serves only what v1 left over, vessel enables just those rather than
 * changing the host's root subtree_control for nothing). */
static char **v2_controllers_needed(const struct vs_cgroup *cg, const struct oci_resources *r)
{
        char **v = xcalloc(1, sizeof(char *));
        if (r == NULL)
                return v;
        struct {
                const char *controller;
                bool wanted;
        } groups[] = {
            {"memory", memory_requested(r)},
            {"cpu", cpu_requested(r)},
            {"cpuset",
             r->has_cpu && ((r->cpu.cpus && *r->cpu.cpus) || (r->cpu.mems && *r->cpu.mems))},
            {"pids", r->has_pids},
            {"io", blkio_requested(r)},
            {"hugetlb", r->n_hugepage_limits > 0},
        };
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
                const struct cg_dir *d =
                    groups[i].wanted ? cg_find(cg, groups[i].controller) : NULL;
                if (d && d->v2 && !strv_contains(v, groups[i].controller))
                        strv_push(&v, groups[i].controller);
        }
        for (size_t i = 0; i < r->n_unified; i++) {
                _cleanup_free_ char *c =
                    xstrndup(r->unified[i].key, strcspn(r->unified[i].key, "."));
                const struct cg_dir *d = cg_find(cg, c);
                if (d && d->v2 && cg_strv_has(d->controllers, c) && !strv_contains(v, c))
                        strv_push(&v, c);
        }
        return v;
}

static void enable_v2(const struct vs_cgroup *cg, const struct oci_resources *r)
{
        const struct cg_dir *v2 = cg_find_v2(cg);
        if (v2 == NULL)
                return;
        if (strcmp(cg->mode, "v2") == 0) {
                cg_v2_enable_controllers(v2->mountpoint, v2->path, NULL);
                return;
        }
        _cleanup_strv_ char **only = v2_controllers_needed(cg, r);
        if (only[0] != NULL)
                cg_v2_enable_controllers(v2->mountpoint, v2->path, only);
}

/* ---- directories ---- */

static int read_procs(const char *dir, pid_t **pids, size_t *n)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *ignored = NULL;
        if (cg_read(dir, "cgroup.procs", &text, &ignored) < 0)
                return -1;
        char *save = NULL;
        for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                pid_t p = (pid_t) strtol(t, NULL, 10);
                if (p <= 0)
                        continue;
                bool dup = false;
                for (size_t i = 0; i < *n && !dup; i++)
                        dup = (*pids)[i] == p;
                if (dup)
                        continue;
                *pids = xrealloc(*pids, (*n + 1) * sizeof(pid_t));
                (*pids)[(*n)++] = p;
        }
        return 0;
}

/* Pids of dir and of every cgroup below it (a container may create its
 * own sub-cgroups through a cgroup namespace). */
static void collect_pids(const char *dir, pid_t **pids, size_t *n)
{
        read_procs(dir, pids, n);
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
                collect_pids(sub, pids, n);
        }
}

/* rmdir of a cgroup can briefly fail with EBUSY after its last task
 * exited (css references are dropped asynchronously). */
static int rmdir_retry(const char *path)
{
        unsigned delay = 1000;
        for (int i = 0; i < 40; i++) {
                if (rmdir(path) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -1;
                backoff(&delay);
        }
        return -1;
}

/* Removes path and the cgroups below it, deepest first. */
static int rmdir_tree(const char *path, vs_error **err)
{
        /* The usual case, a leaf: control files never block rmdir. */
        if (rmdir(path) == 0 || errno == ENOENT)
                return 0;
        _cleanup_closedir_ DIR *d = opendir(path);
        if (d == NULL) {
                if (errno == ENOENT)
                        return 0;
                return vs_fail_errno(err, "cannot open cgroup %s", path);
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
                if (rmdir_tree(sub, err) < 0)
                        return -1;
        }
        if (rmdir_retry(path) < 0)
                return vs_fail_errno(err, "cannot remove cgroup %s", path);
        return 0;
}

/* The container's directory, then the ancestors vessel created for it as
 * long as nothing else lives in them (another container may share them). */
static int remove_dir(const struct cg_dir *d, vs_error **err)
{
        if (rmdir_tree(d->path, err) < 0)
                return -1;
        if (d->created == NULL || strcmp(d->created, d->path) == 0)
                return 0;
        size_t top = strlen(d->created);
        if (strncmp(d->path, d->created, top) != 0 || d->path[top] != '/')
                return 0;
        _cleanup_free_ char *p = xstrdup(d->path);
        for (;;) {
                char *slash = strrchr(p, '/');
                if (slash == NULL || (size_t) (slash - p) < top)
                        break;
                *slash = '\0';
                if (rmdir(p) < 0 && errno != ENOENT)
                        break;
        }
        return 0;
}

static int remove_created(const struct vs_cgroup *cg)
{
        int ret = 0;
        for (size_t i = cg->n; i-- > 0;) {
                _cleanup_error_ vs_error *e = NULL;
                if (cg->dirs[i].created && remove_dir(&cg->dirs[i], &e) < 0) {
                        vs_warn("%s", e->msg);
                        ret = -1;
                }
        }
        return ret;
}

/* cgroup v1 cpuset starts empty in a new cgroup, and a task cannot join an
 * empty cpuset: inherit the parent's CPUs and nodes where they are unset. */
static int cpuset_fill(const char *dir, vs_error **err)
{
        _cleanup_free_ char *parent = xstrdup(dir);
        char *slash = strrchr(parent, '/');
        if (slash == NULL || slash == parent)
                return 0;
        *slash = '\0';
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *cur = NULL, *inherit = NULL;
                if (cg_read(dir, files[i], &cur, err) < 0)
                        return -1;
                if (*cur != '\0')
                        continue;
                if (cg_read(parent, files[i], &inherit, err) < 0)
                        return -1;
                if (cg_write(dir, files[i], inherit, NULL, err) < 0)
                        return -1;
        }
        return 0;
}

static int make_dir(struct cg_dir *d, vs_error **err)
{
        size_t ml = strlen(d->mountpoint);
        _cleanup_free_ char *p = xstrdup(d->path);
        if (strncmp(p, d->mountpoint, ml) != 0 || p[ml] != '/')
                return vs_fail(err, "cgroup %s is outside its hierarchy %s", p, d->mountpoint);
        bool cpuset = !d->v2 && cg_strv_has(d->controllers, "cpuset");
        for (char *s = p + ml + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, 0755) == 0) {
                        if (d->created == NULL)
                                d->created = xstrdup(p);
                } else if (errno != EEXIST) {
                        return vs_fail_errno(err, "cannot create cgroup %s", p);
                }
                if (cpuset && cpuset_fill(p, err) < 0)
                        return -1;
                *s = c;
                if (c == '\0')
                        break;
        }
        if (d->created == NULL) {
                /* Joining an existing cgroup is allowed (pod-style parents
                 * made by someone else), joining a busy one is not. A zombie
                 * is no process of anyone's any more: the init of a create
                 * killed before it could record anything dies at once
                 * (vs_init_main) but stays listed until the host's init
                 * reaps it, which can take a while. */
                pid_t *pids = NULL;
                size_t n = 0, live = 0;
                read_procs(d->path, &pids, &n);
                for (size_t i = 0; i < n; i++)
                        live += vs_pid_live(pids[i]);
                free(pids);
                if (live > 0)
                        return vs_fail(err, "cgroup %s already exists and has %zu process(es)",
                                       d->path, live);
        }
        return 0;
}

int vs_cgroup_plan(const char *id, const char *cgroups_path, const struct oci_resources *res,
                   struct vs_cgroup **out, vs_error **err)
{
        const struct cg_layout *l = cg_layout_get(err);
        if (l == NULL)
                return -1;
        _cleanup_cgroup_ struct vs_cgroup *cg = xzalloc(sizeof(*cg));
        cg->mode = xstrdup(l->mode);
        cg->dirs = xcalloc(l->n, sizeof(*cg->dirs));
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_free_ char *cgpath = NULL;
                if (cg_container_path(&l->h[i], id, cgroups_path, &cgpath, err) < 0)
                        return -1;
                struct cg_dir *d = &cg->dirs[cg->n++];
                d->v2 = l->h[i].v2;
                d->mountpoint = xstrdup(l->h[i].mountpoint);
                d->controllers = strv_copy(l->h[i].controllers);
                d->path = cg_hier_dir(&l->h[i], cgpath);
        }
        if (validate(cg, res, err) < 0)
                return -1;
        *out = steal_ptr(cg);
        return 0;
}

int vs_cgroup_begin(struct vs_cgroup *cg, vs_error **err)
{
        for (size_t i = 0; i < cg->n; i++) {
                if (cg->dirs[i].v2 && make_dir(&cg->dirs[i], err) < 0) {
                        remove_created(cg);
                        return -1;
                }
                _cleanup_free_ char *names = strv_join(cg->dirs[i].controllers, ",");
                vs_debug("cgroup: %s (%s%s)", cg->dirs[i].path, cg->dirs[i].v2 ? "cgroup2: " : "",
                         names);
        }
        return 0;
}

int vs_cgroup_complete(struct vs_cgroup *cg, const struct oci_resources *res, vs_error **err)
{
        int ret = 0;
        for (size_t i = 0; i < cg->n && ret == 0; i++)
                if (!cg->dirs[i].v2)
                        ret = make_dir(&cg->dirs[i], err);
        if (ret == 0)
                enable_v2(cg, res);
        if (ret == 0)
                ret = apply(cg, res, false, err);
        return ret;
}

int vs_cgroup_create(const char *id, const char *cgroups_path, const struct oci_resources *res,
                     struct vs_cgroup **out, vs_error **err)
{
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (vs_cgroup_plan(id, cgroups_path, res, &cg, err) < 0 || vs_cgroup_begin(cg, err) < 0)
                return -1;
        if (vs_cgroup_complete(cg, res, err) < 0) {
                remove_created(cg);
                return -1;
        }
        *out = steal_ptr(cg);
        return 0;
}

void vs_cgroup_remove_idle(const struct vs_cgroup *cg)
{
        for (size_t i = cg->n; i-- > 0;)
                if (rmdir(cg->dirs[i].path) < 0 && errno != ENOENT)
                        vs_debug("cgroup %s left in place: %s", cg->dirs[i].path, strerror(errno));
}

int vs_cgroup_v2_dirfd(const struct vs_cgroup *cg)
{
        for (size_t i = 0; i < cg->n; i++)
                if (cg->dirs[i].v2)
                        return open(cg->dirs[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return -1;
}

int vs_cgroup_enter_self(const struct vs_cgroup *cg, bool skip_v2, vs_error **err)
{
        for (size_t i = 0; i < cg->n; i++) {
                const struct cg_dir *d = &cg->dirs[i];
                if (d->v2 && skip_v2)
                        continue;
                if (!d->v2 && cg_strv_has(d->controllers, "cpuset") &&
                    cpuset_fill(d->path, err) < 0)
                        return vs_error_wrap(err, "cannot enter cgroup %s", d->path);
                _cleanup_free_ char *file =
                    xasprintf("%s/%s", d->path, d->v2 ? "cgroup.procs" : "tasks");
                _cleanup_close_ int fd = open(file, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) < 0)
                        return vs_fail_errno(err, "cannot enter cgroup %s", d->path);
        }
        return 0;
}

int vs_cgroup_open_v1_tasks(const struct vs_cgroup *cg, int *fds, size_t max, size_t *n,
                            vs_error **err)
{
        *n = 0;
        for (size_t i = 0; i < cg->n; i++) {
                const struct cg_dir *d = &cg->dirs[i];
                if (d->v2)
                        continue;
                if (*n == max) {
                        vs_fail(err, "cannot enter cgroup %s: more than %zu v1 hierarchies",
                                d->path, max);
                        goto fail;
                }
                if (cg_strv_has(d->controllers, "cpuset") && cpuset_fill(d->path, err) < 0) {
                        vs_error_wrap(err, "cannot enter cgroup %s", d->path);
                        goto fail;
                }
                _cleanup_free_ char *file = xasprintf("%s/tasks", d->path);
                fds[*n] = open(file, O_WRONLY | O_CLOEXEC);
                if (fds[*n] < 0) {
                        vs_fail_errno(err, "cannot enter cgroup %s", d->path);
                        goto fail;
                }
                (*n)++;
        }
        return 0;
fail:
        while (*n > 0)
                close(fds[--*n]);
        return -1;
}

static int enter(const struct vs_cgroup *cg, pid_t pid, int which, vs_error **err)
{
        for (size_t i = 0; i < cg->n; i++) {
                const struct cg_dir *d = &cg->dirs[i];
                if (which >= 0 && d->v2 != (which == 1))
                        continue;
                if (!d->v2 && cg_strv_has(d->controllers, "cpuset") &&
                    cpuset_fill(d->path, err) < 0)
                        return vs_error_wrap(err, "cannot move process %d into %s", (int) pid,
                                             d->path);
                _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", d->path);
                _cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
                _cleanup_free_ char *val = xasprintf("%d", (int) pid);
                if (fd < 0 || write(fd, val, strlen(val)) < 0)
                        return vs_fail_errno(err, "cannot move process %d into cgroup %s",
                                             (int) pid, d->path);
        }
        return 0;
}

int vs_cgroup_enter(const struct vs_cgroup *cg, pid_t pid, vs_error **err)
{
        return enter(cg, pid, -1, err);
}

int vs_cgroup_enter_v(const struct vs_cgroup *cg, pid_t pid, bool v2, vs_error **err)
{
        return enter(cg, pid, v2 ? 1 : 0, err);
}

bool vs_cgroup_v2_pids_room(const struct vs_cgroup *cg, long long n)
{
        for (size_t i = 0; i < cg->n; i++) {
                const struct cg_dir *d = &cg->dirs[i];
                if (!d->v2 || !cg_strv_has(d->controllers, "pids"))
                        continue;
                _cleanup_error_ vs_error *ignored = NULL;
                _cleanup_free_ char *max = NULL, *cur = NULL;
                if (cg_read(d->path, "pids.max", &max, &ignored) < 0)
                        return false;
                if (strncmp(max, "max", 3) == 0)
                        return true;
                if (cg_read(d->path, "pids.current", &cur, &ignored) < 0)
                        return false;
                return strtoll(cur, NULL, 10) + n <= strtoll(max, NULL, 10);
        }
        return true;
}

/* ---- freezing ---- */

int vs_cgroup_freeze(const struct vs_cgroup *cg, bool frozen, vs_error **err)
{
        const struct cg_dir *d = cg_find(cg, "freezer");
        const char *verb = frozen ? "freeze" : "thaw";
        if (d == NULL)
                return vs_fail(err,
                               "cannot %s the container: no freezer (the cgroup v1 freezer is "
                               "not mounted and there is no cgroup v2)",
                               verb);
        long long deadline = vs_monotonic_ms() + FREEZE_TIMEOUT_MS;
        unsigned delay = 1000;
        if (!d->v2) {
                const char *want = frozen ? "FROZEN" : "THAWED";
                for (;;) {
                        /* Rewriting FROZEN retries tasks that could not be
                         * frozen yet (the state stays FREEZING meanwhile). */
                        if (cg_write(d->path, "freezer.state", want, NULL, err) < 0)
                                return -1;
                        _cleanup_free_ char *state = NULL;
                        if (cg_read(d->path, "freezer.state", &state, err) < 0)
                                return -1;
                        if (strcmp(state, want) == 0)
                                return 0;
                        if (vs_monotonic_ms() > deadline)
                                break;
                        backoff(&delay);
                }
                if (frozen)
                        cg_write(d->path, "freezer.state", "THAWED", NULL, NULL);
                return vs_fail(err, "cannot %s %s: freezer.state did not become %s within %d s",
                               verb, d->path, want, FREEZE_TIMEOUT_MS / 1000);
        }
        if (cg_write(d->path, "cgroup.freeze", frozen ? "1" : "0", NULL, err) < 0)
                return -1;
        for (;;) {
                uint64_t v = 0;
                if (cg_read_keyed(d->path, "cgroup.events", "frozen", &v) < 0)
                        return vs_fail(err, "cannot %s %s: cannot read frozen from cgroup.events",
                                       verb, d->path);
                if ((v != 0) == frozen)
                        return 0;
                if (vs_monotonic_ms() > deadline)
                        break;
                backoff(&delay);
        }
        if (frozen)
                cg_write(d->path, "cgroup.freeze", "0", NULL, NULL);
        return vs_fail(err, "cannot %s %s: cgroup.events did not report frozen %d within %d s",
                       verb, d->path, frozen, FREEZE_TIMEOUT_MS / 1000);
}

bool vs_cgroup_is_frozen(const struct vs_cgroup *cg)
{
        const struct cg_dir *d = cg_find(cg, "freezer");
        if (d == NULL)
                return false;
        if (d->v2) {
                uint64_t v = 0;
                return cg_read_keyed(d->path, "cgroup.events", "frozen", &v) == 0 && v != 0;
        }
        _cleanup_free_ char *state = NULL;
        _cleanup_error_ vs_error *ignored = NULL;
        return cg_read(d->path, "freezer.state", &state, &ignored) == 0 &&
               strcmp(state, "FROZEN") == 0;
}

/* ---- processes ---- */

int vs_cgroup_pids(const struct vs_cgroup *cg, pid_t **pids, size_t *n, vs_error **err)
{
        const struct cg_dir *d = NULL;
        static const char *const order[] = {"pids", "freezer", "memory"};
        for (int o = 0; o < 3 && d == NULL; o++)
                for (size_t i = 0; i < cg->n && d == NULL; i++)
                        if (!cg->dirs[i].v2 && cg_strv_has(cg->dirs[i].controllers, order[o]))
                                d = &cg->dirs[i];
        if (d == NULL)
                d = cg_find_v2(cg);
        if (d == NULL && cg->n > 0)
                d = &cg->dirs[0];
        if (d == NULL)
                return vs_fail(err, "container has no cgroup");
        if (!vs_is_dir(d->path))
                return vs_error_set(err, ENOENT, "cannot list processes: cgroup %s", d->path);
        *pids = NULL;
        *n = 0;
        collect_pids(d->path, pids, n);
        return 0;
}

static void all_pids(const struct vs_cgroup *cg, pid_t **pids, size_t *n)
{
        *pids = NULL;
        *n = 0;
        for (size_t i = 0; i < cg->n; i++)
                collect_pids(cg->dirs[i].path, pids, n);
}

int vs_cgroup_kill_all(const struct vs_cgroup *cg, int sig, vs_error **err)
{
        /* SIGKILL through cgroup.kill (Linux 5.14): the kernel kills the
         * whole cgroup tree and fends off concurrent forks itself, in one
         * write rather than freeze, list, signal each, thaw (the v1
         * freezer settles asynchronously: 1-5 ms of polling here). Every
         * container process is in its cgroup2 directory on a hybrid host
         * too (born or moved there as into the v1 ones); one that is not
         * is found when the cgroup is destroyed (rmdir fails, then list
         * and kill). A task frozen by the v1 freezer dies once thawed. */
        const struct cg_dir *v2 = cg_find_v2(cg);
        if (sig == SIGKILL && v2 && cg_write(v2->path, "cgroup.kill", "1", NULL, NULL) == 0) {
                const struct cg_dir *fz = cg_find(cg, "freezer");
                if (fz && !fz->v2 && vs_cgroup_is_frozen(cg))
                        return vs_cgroup_freeze(cg, false, err);
                return 0;
        }
        /* Freezing first means no process can fork a child we would miss.
         * A cgroup frozen already (paused) stays so, except for SIGKILL: a
         * frozen v1 task dies only once thawed, and a thawed task with
         * SIGKILL pending dies before it runs again. */
        bool thaw = false;
        if (cg_find(cg, "freezer") && vs_cgroup_is_frozen(cg)) {
                thaw = sig == SIGKILL;
        } else if (cg_find(cg, "freezer")) {
                _cleanup_error_ vs_error *ferr = NULL;
                if (vs_cgroup_freeze(cg, true, &ferr) == 0)
                        thaw = true;
                else
                        vs_warn("killing without freezing: %s", ferr->msg);
        }
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        all_pids(cg, &pids, &n);
        int ret = 0;
        for (size_t i = 0; i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH && ret == 0)
                        ret = vs_fail_errno(err, "cannot send signal %d to process %d", sig,
                                            (int) pids[i]);
        if (thaw && vs_cgroup_freeze(cg, false, ret == 0 ? err : NULL) < 0 && ret == 0)
                ret = -1;
        return ret;
}

int vs_cgroup_destroy(struct vs_cgroup *cg, vs_error **err)
{
        if (cg == NULL)
                return 0;
        const struct cg_dir *v2 = cg_find_v2(cg);
        const struct cg_dir *fz = cg_find(cg, "freezer");
        long long deadline = vs_monotonic_ms() + DESTROY_TIMEOUT_MS;
        unsigned delay = 1000;
        /* The usual case: the init is reaped and left nothing behind, so
         * every directory is an empty leaf. rmdir refuses (EBUSY, ENOTEMPTY)
         * wherever a process or a child cgroup is left: only then list and
         * kill, which costs two opens per hierarchy. */
        bool removed = true;
        for (size_t i = cg->n; i-- > 0 && removed;)
                removed = rmdir(cg->dirs[i].path) == 0 || errno == ENOENT;
        while (!removed) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                all_pids(cg, &pids, &n);
                if (n == 0)
                        break;
                if (vs_monotonic_ms() > deadline)
                        return vs_fail(err,
                                       "cannot remove the container's cgroup %s: %zu process(es) "
                                       "still there after SIGKILL for %d s (first: %d)",
                                       cg->dirs[0].path, n, DESTROY_TIMEOUT_MS / 1000,
                                       (int) pids[0]);
                /* cgroup.kill also reaches processes forked meanwhile. */
                if (v2 && cg_has_file(v2->path, "cgroup.kill"))
                        cg_write(v2->path, "cgroup.kill", "1", NULL, NULL);
                for (size_t i = 0; i < n; i++)
                        kill(pids[i], SIGKILL);
                /* A frozen v1 task only dies once thawed. */
                if (fz && !fz->v2)
                        cg_write(fz->path, "freezer.state", "THAWED", NULL, NULL);
                else if (fz)
                        cg_write(fz->path, "cgroup.freeze", "0", NULL, NULL);
                backoff(&delay);
        }
        int ret = 0;
        for (size_t i = cg->n; i-- > 0;) {
                vs_error *e = NULL;
                if (remove_dir(&cg->dirs[i], &e) < 0) {
                        if (ret == 0 && err && *err == NULL)
                                *err = e;
                        else
                                vs_error_free(&e);
                        ret = -1;
                }
        }
        return ret;
}

int vs_cgroup_update(const struct vs_cgroup *cg, const struct oci_resources *res, vs_error **err)
{
        for (size_t i = 0; i < cg->n; i++)
                if (!vs_is_dir(cg->dirs[i].path))
                        return vs_error_set(err, ENOENT, "cannot update cgroup %s",
                                            cg->dirs[i].path);
        if (validate(cg, res, err) < 0)
                return -1;
        /* An update may be the first to need a cgroup2 controller. */
        if (strcmp(cg->mode, "v2") != 0)
                enable_v2(cg, res);
        return apply(cg, res, true, err);
}

long vs_cgroup_oom_kills(const struct vs_cgroup *cg)
{
        const struct cg_dir *d = cg_find(cg, "memory");
        uint64_t v = 0;
        if (d == NULL)
                return 0;
        if (cg_read_keyed(d->path, d->v2 ? "memory.events" : "memory.oom_control", "oom_kill", &v) <
            0)
                return 0;
        return (long) v;
}

/* ---- stats ---- */

static json_object *mem_entry(void)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "usage", json_object_new_uint64(0));
        json_object_object_add(o, "max", json_object_new_uint64(0));
        json_object_object_add(o, "failcnt", json_object_new_uint64(0));
        json_object_object_add(o, "limit", json_object_new_uint64(0));
        return o;
}

/* runc's `events --stats` data, every member present (zero when the
 * controller is missing) so consumers need no existence checks. */
static json_object *stats_skeleton(void)
{
        json_object *s = json_object_new_object();
        json_object *cpu = json_object_new_object(), *usage = json_object_new_object(),
                    *thr = json_object_new_object();
        json_object_object_add(usage, "total", json_object_new_uint64(0));
        json_object_object_add(usage, "percpu", json_object_new_array());
        json_object_object_add(usage, "kernel", json_object_new_uint64(0));
        json_object_object_add(usage, "user", json_object_new_uint64(0));
        json_object_object_add(thr, "periods", json_object_new_uint64(0));
        json_object_object_add(thr, "throttledPeriods", json_object_new_uint64(0));
        json_object_object_add(thr, "throttledTime", json_object_new_uint64(0));
        json_object_object_add(cpu, "usage", usage);
        json_object_object_add(cpu, "throttling", thr);
        json_object_object_add(s, "cpu", cpu);

        json_object *mem = json_object_new_object();
        json_object_object_add(mem, "cache", json_object_new_uint64(0));
        json_object_object_add(mem, "usage", mem_entry());
        json_object_object_add(mem, "swap", mem_entry());
        json_object_object_add(mem, "kernel", mem_entry());
        json_object_object_add(mem, "kernelTCP", mem_entry());
        json_object_object_add(mem, "raw", json_object_new_object());
        json_object_object_add(s, "memory", mem);

        json_object *pids = json_object_new_object();
        json_object_object_add(pids, "current", json_object_new_uint64(0));
        json_object_object_add(pids, "limit", json_object_new_uint64(0));
        json_object_object_add(s, "pids", pids);

        json_object *blkio = json_object_new_object();
        json_object_object_add(blkio, "ioServiceBytesRecursive", json_object_new_array());
        json_object_object_add(blkio, "ioServicedRecursive", json_object_new_array());
        json_object_object_add(s, "blkio", blkio);
        json_object_object_add(s, "hugetlb", json_object_new_object());
        return s;
}

int vs_cgroup_stats(const struct vs_cgroup *cg, json_object **out, vs_error **err)
{
        for (size_t i = 0; i < cg->n; i++)
                if (!vs_is_dir(cg->dirs[i].path))
                        return vs_error_set(err, ENOENT, "cannot read stats of cgroup %s",
                                            cg->dirs[i].path);
        _cleanup_json_ json_object *s = stats_skeleton();
        if (cg_v1_stats(cg, s, err) < 0 || cg_v2_stats(cg, s, err) < 0)
                return -1;
        *out = steal_ptr(s);
        return 0;
}

/* ---- persistence ---- */

json_object *vs_cgroup_to_json(const struct vs_cgroup *cg)
{
        json_object *j = json_object_new_object();
        json_object_object_add(j, "mode", json_object_new_string(cg->mode));
        json_object *dirs = json_object_new_array();
        for (size_t i = 0; i < cg->n; i++) {
                const struct cg_dir *d = &cg->dirs[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, "v2", json_object_new_boolean(d->v2));
                json_object_object_add(o, "mountpoint", json_object_new_string(d->mountpoint));
                json_object *c = json_object_new_array();
                for (char **p = d->controllers; p && *p; p++)
                        json_object_array_add(c, json_object_new_string(*p));
                json_object_object_add(o, "controllers", c);
                json_object_object_add(o, "path", json_object_new_string(d->path));
                if (d->created)
                        json_object_object_add(o, "created", json_object_new_string(d->created));
                json_object_array_add(dirs, o);
        }
        json_object_object_add(j, "dirs", dirs);
        return j;
}

static bool safe_abs_path(const char *p)
{
        return p[0] == '/' && strstr(p, "/../") == NULL &&
               !(strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0);
}

int vs_cgroup_from_json(json_object *j, struct vs_cgroup **out, vs_error **err)
{
        const char *ctx = "cgroup";
        if (!json_object_is_type(j, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);
        _cleanup_cgroup_ struct vs_cgroup *cg = xzalloc(sizeof(*cg));
        if (vs_json_get_string(j, ctx, "mode", &cg->mode, err) < 0)
                return -1;
        if (cg->mode == NULL)
                cg->mode = xstrdup("v1");
        json_object *dirs;
        int r = vs_json_get_array(j, ctx, "dirs", &dirs, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "%s.dirs: required", ctx);
        size_t n = json_object_array_length(dirs);
        cg->dirs = xcalloc(n ? n : 1, sizeof(*cg->dirs));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ectx = xasprintf("%s.dirs[%zu]", ctx, i);
                json_object *o = json_object_array_get_idx(dirs, i);
                struct cg_dir *d = &cg->dirs[cg->n++];
                if (!json_object_is_type(o, json_type_object))
                        return vs_fail(err, "%s: expected an object", ectx);
                if (vs_json_get_bool(o, ectx, "v2", &d->v2, err) < 0 ||
                    vs_json_get_string(o, ectx, "mountpoint", &d->mountpoint, err) < 0 ||
                    vs_json_get_strv(o, ectx, "controllers", &d->controllers, err) < 0 ||
                    vs_json_get_string(o, ectx, "path", &d->path, err) < 0 ||
                    vs_json_get_string(o, ectx, "created", &d->created, err) < 0)
                        return -1;
                if (d->path == NULL || d->mountpoint == NULL)
                        return vs_fail(err, "%s: path and mountpoint are required", ectx);
                if (!safe_abs_path(d->path) || !safe_abs_path(d->mountpoint) ||
                    (d->created && !safe_abs_path(d->created)))
                        return vs_fail(err, "%s: paths must be absolute without '..'", ectx);
                if (d->controllers == NULL)
                        d->controllers = xcalloc(1, sizeof(char *));
        }
        *out = steal_ptr(cg);
        return 0;
}

/* ---- accessors ---- */

const char *vs_cgroup_path(const struct vs_cgroup *cg, const char *controller)
{
        if (controller == NULL) {
                const struct cg_dir *v2 = cg_find_v2(cg);
                return v2 ? v2->path : NULL;
        }
        const struct cg_dir *d = cg_find(cg, controller);
        return d ? d->path : NULL;
}

int vs_cgroup_hierarchy(const struct vs_cgroup *cg, size_t i, const char **mountpoint,
                        const char **path, bool *v2)
{
        if (i >= cg->n)
                return -1;
        if (mountpoint)
                *mountpoint = cg->dirs[i].mountpoint;
        if (path)
                *path = cg->dirs[i].path;
        if (v2)
                *v2 = cg->dirs[i].v2;
        return 0;
}
