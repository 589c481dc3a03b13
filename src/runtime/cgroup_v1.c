/* cgroup v1 interface files: resource writes and stats. */
#include "runtime/cgroup_internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RES "linux.resources."

static int write_i64(const char *dir, const char *file, int64_t v, const char *field,
                     vs_error **err)
{
        return cg_writef(dir, file, field, err, "%" PRId64, v);
}

/* ---- memory ---- */

static int check_usage(const char *dir, const char *usage_file, int64_t limit, vs_error **err)
{
        uint64_t usage = 0;
        if (limit <= 0 || cg_read_u64(dir, usage_file, &usage, NULL) < 0)
                return 0;
        if ((uint64_t) limit < usage)
                return vs_fail(err,
                               RES "memory.limit: %" PRId64 " is below the current memory usage "
                                   "%" PRIu64 " of %s",
                               limit, usage, dir);
        return 0;
}

int cg_v1_memory(const char *dir, const struct oci_resources *r, bool update, vs_error **err)
{
        const typeof(r->memory) *m = &r->memory;
        /* The kernel would reclaim and then refuse with EBUSY, or, worse,
         * succeed by evicting the whole page cache: an update below what
         * the container uses is refused up front, whatever
         * checkBeforeUpdate says. */
        if (update && m->has_limit && check_usage(dir, "memory.usage_in_bytes", m->limit, err) < 0)
                return -1;

        int64_t limit = m->has_limit ? m->limit : 0, swap = m->has_swap ? m->swap : 0;
        bool memsw = cg_has_file(dir, "memory.memsw.limit_in_bytes");
        if (limit == -1 && swap == 0 && memsw)
                swap = -1; /* unlimited memory means unlimited memory+swap */
        if (swap == -1 && !memsw)
                swap = 0; /* no swap accounting: unlimited is all there is */
        if (swap > 0 && !memsw)
                return vs_fail(err,
                               RES "memory.swap: this kernel does no swap accounting (no "
                                   "memory.memsw.limit_in_bytes in %s; boot with swapaccount=1)",
                               dir);
        const char *lf = RES "memory.limit", *sf = RES "memory.swap";
        bool swap_first = false;
        if (limit != 0 && swap != 0) {
                /* memsw must stay >= the memory limit at every step, so the
                 * order of the two writes depends on where we come from. */
                uint64_t cur = 0;
                if (cg_read_u64(dir, "memory.limit_in_bytes", &cur, err) < 0)
                        return -1;
                swap_first = swap == -1 || cur < (uint64_t) swap;
        }
        if (swap_first && write_i64(dir, "memory.memsw.limit_in_bytes", swap, sf, err) < 0)
                return -1;
        if (limit != 0 && write_i64(dir, "memory.limit_in_bytes", limit, lf, err) < 0)
                return -1;
        if (!swap_first && swap != 0 &&
            write_i64(dir, "memory.memsw.limit_in_bytes", swap, sf, err) < 0)
                return -1;

        if (m->has_reservation && write_i64(dir, "memory.soft_limit_in_bytes", m->reservation,
                                            RES "memory.reservation", err) < 0)
                return -1;
        if (m->has_kernel && m->kernel != 0)
                vs_warn(RES "memory.kernel: kernel memory limits are deprecated by the kernel "
                            "and ignored (as runc does)");
        if (m->has_kernel_tcp && m->kernel_tcp != 0 &&
            write_i64(dir, "memory.kmem.tcp.limit_in_bytes", m->kernel_tcp, RES "memory.kernelTCP",
                      err) < 0)
                return -1;
        if (m->has_swappiness && cg_writef(dir, "memory.swappiness", RES "memory.swappiness", err,
                                           "%" PRIu64, m->swappiness) < 0)
                return -1;
        if (m->has_disable_oom_killer &&
            cg_write(dir, "memory.oom_control", m->disable_oom_killer ? "1" : "0",
                     RES "memory.disableOOMKiller", err) < 0)
                return -1;
        if (m->has_use_hierarchy) {
                /* Recent kernels fix use_hierarchy at 1 and refuse writes:
                 * only write when it would change something. */
                uint64_t cur = 0;
                if (cg_read_u64(dir, "memory.use_hierarchy", &cur, NULL) < 0 ||
                    (cur != 0) != m->use_hierarchy)
                        if (cg_write(dir, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0",
                                     RES "memory.useHierarchy", err) < 0)
                                return -1;
        }
        return 0;
}

/* ---- cpu ---- */

int cg_v1_cpu(const char *dir, const struct oci_resources *r, vs_error **err)
{
        const typeof(r->cpu) *c = &r->cpu;
        if (c->has_shares) {
                if (cg_writef(dir, "cpu.shares", RES "cpu.shares", err, "%" PRIu64, c->shares) < 0)
                        return -1;
                uint64_t got = 0;
                if (cg_read_u64(dir, "cpu.shares", &got, NULL) == 0 && got != c->shares)
                        return vs_fail(err,
                                       RES "cpu.shares: the kernel turned %" PRIu64 " into %" PRIu64
                                           " in %s",
                                       c->shares, got, dir);
        }
        bool period_later = false;
        if (c->has_period) {
                vs_error *perr = NULL;
                if (write_i64(dir, "cpu.cfs_period_us", (int64_t) c->period, RES "cpu.period",
                              &perr) < 0) {
                        /* A shorter period can be refused while the old
                         * quota/period ratio exceeds the parent's; runc
                         * retries after writing the quota. */
                        if (perr->errno_ == EINVAL && c->has_quota) {
                                period_later = true;
                                vs_error_free(&perr);
                        } else {
                                if (err && *err == NULL)
                                        *err = perr;
                                else
                                        vs_error_free(&perr);
                                return -1;
                        }
                }
        }
        if (c->has_quota && write_i64(dir, "cpu.cfs_quota_us", c->quota, RES "cpu.quota", err) < 0)
                return -1;
        if (period_later &&
            write_i64(dir, "cpu.cfs_period_us", (int64_t) c->period, RES "cpu.period", err) < 0)
                return -1;
        if (c->has_burst &&
            cg_writef(dir, "cpu.cfs_burst_us", RES "cpu.burst", err, "%" PRIu64, c->burst) < 0)
                return -1;
        if (c->has_realtime_period && c->realtime_period != 0 &&
            cg_writef(dir, "cpu.rt_period_us", RES "cpu.realtimePeriod", err, "%" PRIu64,
                      c->realtime_period) < 0)
                return -1;
        if (c->has_realtime_runtime && c->realtime_runtime != 0 &&
            write_i64(dir, "cpu.rt_runtime_us", c->realtime_runtime, RES "cpu.realtimeRuntime",
                      err) < 0)
                return -1;
        if (c->has_idle && write_i64(dir, "cpu.idle", c->idle, RES "cpu.idle", err) < 0)
                return -1;
        return 0;
}

/* ---- blkio ---- */

int cg_v1_blkio(const char *dir, const struct oci_resources *r, vs_error **err)
{
        const typeof(r->block_io) *b = &r->block_io;
        /* BFQ's files where BFQ is the scheduler, CFQ's on old kernels. */
        bool bfq = cg_has_file(dir, "blkio.bfq.weight");
        const char *wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
        const char *wdfile = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
        if ((b->has_weight || b->n_weight_device) && !bfq && !cg_has_file(dir, "blkio.weight"))
                return vs_fail(err,
                               RES "blockIO.weight: no proportional-weight I/O scheduler here "
                                   "(neither blkio.bfq.weight nor blkio.weight in %s)",
                               dir);
        if (b->has_weight &&
            cg_writef(dir, wfile, RES "blockIO.weight", err, "%u", (unsigned) b->weight) < 0)
                return -1;
        if (b->has_leaf_weight && cg_writef(dir, "blkio.leaf_weight", RES "blockIO.leafWeight", err,
                                            "%u", (unsigned) b->leaf_weight) < 0)
                return -1;
        for (size_t i = 0; i < b->n_weight_device; i++) {
                const struct oci_weight_device *w = &b->weight_device[i];
                _cleanup_free_ char *f = xasprintf(RES "blockIO.weightDevice[%zu]", i);
                if (w->has_weight && cg_writef(dir, wdfile, f, err, "%" PRId64 ":%" PRId64 " %u",
                                               w->major, w->minor, (unsigned) w->weight) < 0)
                        return -1;
                if (w->has_leaf_weight &&
                    cg_writef(dir, "blkio.leaf_weight_device", f, err, "%" PRId64 ":%" PRId64 " %u",
                              w->major, w->minor, (unsigned) w->leaf_weight) < 0)
                        return -1;
        }
        struct {
                const char *name, *file;
                const struct oci_throttle_device *t;
                size_t n;
        } lists[] = {
            {"throttleReadBpsDevice", "blkio.throttle.read_bps_device", b->throttle_read_bps,
             b->n_throttle_read_bps},
            {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b->throttle_write_bps,
             b->n_throttle_write_bps},
            {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b->throttle_read_iops,
             b->n_throttle_read_iops},
            {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b->throttle_write_iops,
             b->n_throttle_write_iops},
        };
        for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
                for (size_t i = 0; i < lists[l].n; i++) {
                        const struct oci_throttle_device *t = &lists[l].t[i];
                        _cleanup_free_ char *f = xasprintf(RES "blockIO.%s[%zu]", lists[l].name, i);
                        if (cg_writef(dir, lists[l].file, f, err,
                                      "%" PRId64 ":%" PRId64 " %" PRIu64, t->major, t->minor,
                                      t->rate) < 0)
                                return -1;
                }
        return 0;
}

/* ---- hugetlb, net_cls, net_prio ---- */

int cg_v1_hugetlb(const char *dir, const struct oci_resources *r, vs_error **err)
{
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
                const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
                _cleanup_free_ char *file = xasprintf("hugetlb.%s.limit_in_bytes", h->page_size);
                _cleanup_free_ char *f = xasprintf(RES "hugepageLimits[%zu].limit", i);
                if (cg_writef(dir, file, f, err, "%" PRIu64, h->limit) < 0)
                        return -1;
        }
        return 0;
}

int cg_v1_net_cls(const char *dir, const struct oci_resources *r, vs_error **err)
{
        if (!r->network.has_class_id)
                return 0;
        return cg_writef(dir, "net_cls.classid", RES "network.classID", err, "%u",
                         r->network.class_id);
}

int cg_v1_net_prio(const char *dir, const struct oci_resources *r, vs_error **err)
{
        for (size_t i = 0; i < r->network.n_priorities; i++) {
                const struct oci_net_priority *p = &r->network.priorities[i];
                _cleanup_free_ char *f = xasprintf(RES "network.priorities[%zu]", i);
                if (cg_writef(dir, "net_prio.ifpriomap", f, err, "%s %u", p->name, p->priority) < 0)
                        return -1;
        }
        return 0;
}

/* ---- devices ---- */

static char *device_rule(const struct oci_device_cgroup *d)
{
        if (d->type == 'a')
                return xstrdup("a");
        char maj[24], min[24];
        if (d->major < 0)
                strcpy(maj, "*");
        else
                snprintf(maj, sizeof(maj), "%" PRId64, d->major);
        if (d->minor < 0)
                strcpy(min, "*");
        else
                snprintf(min, sizeof(min), "%" PRId64, d->minor);
        return xasprintf("%c %s:%s %s", d->type, maj, min, d->access);
}

int cg_v1_devices(const char *dir, const struct oci_resources *r, bool update, vs_error **err)
{
        /* The rules describe the whole access list starting from "deny
         * everything" (runc's emulator starts from an empty whitelist), so
         * reset first, then replay them in order: later rules win, like
         * the kernel's own list. */
        _cleanup_close_ int deny = cg_open_write(dir, "devices.deny", "a", RES "devices", err);
        if (deny < 0 || cg_write_fd(deny, dir, "devices.deny", "a", RES "devices", err) < 0)
                return -1;
        /* The kernel takes one rule per write: one open file for all. */
        _cleanup_close_ int allow = -1;
        for (size_t i = 0; i < r->n_devices; i++) {
                const struct oci_device_cgroup *d = &r->devices[i];
                const char *file = d->allow ? "devices.allow" : "devices.deny";
                _cleanup_free_ char *rule = device_rule(d);
                _cleanup_free_ char *f = xasprintf(RES "devices[%zu]", i);
                if (d->allow && allow < 0 && (allow = cg_open_write(dir, file, rule, f, err)) < 0)
                        return -1;
                if (cg_write_fd(d->allow ? allow : deny, dir, file, rule, f, err) < 0)
                        return -1;
        }
        return 0;
}

/* ---- stats ---- */

static void mem_entry(const char *dir, json_object *e, const char *prefix)
{
        _cleanup_free_ char *u = xasprintf("%s.usage_in_bytes", prefix);
        _cleanup_free_ char *m = xasprintf("%s.max_usage_in_bytes", prefix);
        _cleanup_free_ char *f = xasprintf("%s.failcnt", prefix);
        _cleanup_free_ char *l = xasprintf("%s.limit_in_bytes", prefix);
        cg_set_u64(e, "usage", cg_read_or_zero(dir, u));
        cg_set_u64(e, "max", cg_read_or_zero(dir, m));
        cg_set_u64(e, "failcnt", cg_read_or_zero(dir, f));
        cg_set_u64(e, "limit", cg_read_or_zero(dir, l));
}

/* "key value" lines into obj (memory.stat, cpu.stat). */
static void read_flat(const char *dir, const char *file, json_object *obj)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *ignored = NULL;
        if (cg_read(dir, file, &text, &ignored) < 0)
                return;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char key[128];
                unsigned long long v;
                if (sscanf(line, "%127s %llu", key, &v) == 2)
                        cg_set_u64(obj, key, v);
        }
}

static uint64_t get_u64(json_object *o, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        return json_object_get_uint64(v);
}

/* Lines "8:0 Read 4096" (and "Total N", skipped) -> runc blkio entries. */
static size_t blkio_entries(const char *dir, const char *file, json_object *arr)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *ignored = NULL;
        size_t n = 0;
        if (cg_read(dir, file, &text, &ignored) < 0)
                return 0;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned long long maj, min, v;
                char op[32];
                if (sscanf(line, "%llu:%llu %31s %llu", &maj, &min, op, &v) != 4)
                        continue;
                json_object *e = json_object_new_object();
                cg_set_u64(e, "major", maj);
                cg_set_u64(e, "minor", min);
                json_object_object_add(e, "op", json_object_new_string(op));
                cg_set_u64(e, "value", v);
                json_object_array_add(arr, e);
                n++;
        }
        return n;
}

static void stats_blkio(const char *dir, json_object *blkio)
{
        /* runc's order: BFQ, then CFQ, then the throttling layer, which
         * counts all I/O whatever the scheduler. */
        static const char *const src[][2] = {
            {"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
            {"blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"},
            {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
        };
        for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
                json_object *bytes = json_object_new_array();
                if (blkio_entries(dir, src[i][0], bytes) == 0 &&
                    i + 1 < sizeof(src) / sizeof(src[0])) {
                        json_object_put(bytes);
                        continue;
                }
                json_object *ios = json_object_new_array();
                blkio_entries(dir, src[i][1], ios);
                json_object_object_add(blkio, "ioServiceBytesRecursive", bytes);
                json_object_object_add(blkio, "ioServicedRecursive", ios);
                return;
        }
}

static void stats_hugetlb(const char *dir, json_object *hugetlb)
{
        _cleanup_strv_ char **sizes = vs_cgroup_hugepage_sizes();
        for (size_t i = 0; sizes[i]; i++) {
                const char *size = sizes[i];
                _cleanup_free_ char *prefix = xasprintf("hugetlb.%s", size);
                _cleanup_free_ char *u = xasprintf("%s.usage_in_bytes", prefix);
                _cleanup_free_ char *m = xasprintf("%s.max_usage_in_bytes", prefix);
                _cleanup_free_ char *f = xasprintf("%s.failcnt", prefix);
                json_object *e = json_object_new_object();
                cg_set_u64(e, "usage", cg_read_or_zero(dir, u));
                cg_set_u64(e, "max", cg_read_or_zero(dir, m));
                cg_set_u64(e, "failcnt", cg_read_or_zero(dir, f));
                json_object_object_add(hugetlb, size, e);
        }
}

static const struct cg_dir *v1_dir(const struct vs_cgroup *cg, const char *controller)
{
        const struct cg_dir *d = cg_find(cg, controller);
        return d && !d->v2 ? d : NULL;
}

int cg_v1_stats(const struct vs_cgroup *cg, json_object *s, vs_error **err)
{
        const struct cg_dir *d;
        json_object *cpu = json_object_object_get(s, "cpu");
        if ((d = v1_dir(cg, "cpuacct")) != NULL) {
                json_object *usage = json_object_object_get(cpu, "usage");
                cg_set_u64(usage, "total", cg_read_or_zero(d->path, "cpuacct.usage"));
                _cleanup_free_ char *percpu = NULL;
                json_object *arr = json_object_new_array();
                if (cg_read(d->path, "cpuacct.usage_percpu", &percpu, NULL) == 0) {
                        char *save = NULL;
                        for (char *t = strtok_r(percpu, " \n", &save); t;
                             t = strtok_r(NULL, " \n", &save))
                                json_object_array_add(
                                    arr, json_object_new_uint64(strtoull(t, NULL, 10)));
                }
                json_object_object_add(usage, "percpu", arr);
                if (cg_has_file(d->path, "cpuacct.usage_sys")) {
                        cg_set_u64(usage, "kernel", cg_read_or_zero(d->path, "cpuacct.usage_sys"));
                        cg_set_u64(usage, "user", cg_read_or_zero(d->path, "cpuacct.usage_user"));
                } else {
                        /* cpuacct.stat counts USER_HZ ticks. */
                        uint64_t ns_per_tick = 1000000000ULL / (uint64_t) sysconf(_SC_CLK_TCK);
                        uint64_t user = 0, sys = 0;
                        cg_read_keyed(d->path, "cpuacct.stat", "user", &user);
                        cg_read_keyed(d->path, "cpuacct.stat", "system", &sys);
                        cg_set_u64(usage, "kernel", sys * ns_per_tick);
                        cg_set_u64(usage, "user", user * ns_per_tick);
                }
        }
        if ((d = v1_dir(cg, "cpu")) != NULL) {
                json_object *thr = json_object_object_get(cpu, "throttling");
                uint64_t v = 0;
                if (cg_read_keyed(d->path, "cpu.stat", "nr_periods", &v) == 0)
                        cg_set_u64(thr, "periods", v);
                if (cg_read_keyed(d->path, "cpu.stat", "nr_throttled", &v) == 0)
                        cg_set_u64(thr, "throttledPeriods", v);
                if (cg_read_keyed(d->path, "cpu.stat", "throttled_time", &v) == 0)
                        cg_set_u64(thr, "throttledTime", v);
        }
        if ((d = v1_dir(cg, "memory")) != NULL) {
                json_object *mem = json_object_object_get(s, "memory");
                mem_entry(d->path, json_object_object_get(mem, "usage"), "memory");
                mem_entry(d->path, json_object_object_get(mem, "swap"), "memory.memsw");
                mem_entry(d->path, json_object_object_get(mem, "kernel"), "memory.kmem");
                mem_entry(d->path, json_object_object_get(mem, "kernelTCP"), "memory.kmem.tcp");
                json_object *raw = json_object_object_get(mem, "raw");
                read_flat(d->path, "memory.stat", raw);
                cg_set_u64(mem, "cache", get_u64(raw, "cache"));
        }
        if ((d = v1_dir(cg, "pids")) != NULL) {
                json_object *pids = json_object_object_get(s, "pids");
                uint64_t max = cg_read_or_zero(d->path, "pids.max");
                cg_set_u64(pids, "current", cg_read_or_zero(d->path, "pids.current"));
                cg_set_u64(pids, "limit", max == UINT64_MAX ? 0 : max); /* runc: 0 is "max" */
        }
        if ((d = v1_dir(cg, "blkio")) != NULL)
                stats_blkio(d->path, json_object_object_get(s, "blkio"));
        if ((d = v1_dir(cg, "hugetlb")) != NULL)
                stats_hugetlb(d->path, json_object_object_get(s, "hugetlb"));
        return 0;
}
