/* cgroup v2 interface files: controller enabling, resource writes (with
 * runc's conversions from the v1-shaped spec fields), unified keys and
 * stats. Device rules are in cgroup_devices_bpf.c. */
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

#define RES "linux.resources."

/* "max" for -1 (unlimited), the number otherwise. */
static int write_limit(const char *dir, const char *file, int64_t v, const char *field,
                       vs_error **err)
{
        if (v < 0)
                return cg_write(dir, file, "max", field, err);
        return cg_writef(dir, file, field, err, "%" PRId64, v);
}

void cg_v2_enable_controllers(const char *mountpoint, const char *leaf, char *const *only)
{
        size_t ml = strlen(mountpoint);
        if (strncmp(leaf, mountpoint, ml) != 0 || leaf[ml] != '/')
                return;
        _cleanup_free_ char *p = xstrdup(leaf);
        char *end = strrchr(p, '/');
        if (end == NULL)
                return;
        *end = '\0'; /* the leaf itself keeps an empty subtree_control */
        for (char *s = p + ml;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                _cleanup_free_ char *avail = NULL, *enabled = NULL;
                _cleanup_error_ vs_error *ignored = NULL;
                if (cg_read(p, "cgroup.controllers", &avail, &ignored) == 0 &&
                    cg_read(p, "cgroup.subtree_control", &enabled, &ignored) == 0) {
                        _cleanup_strv_ char **have = NULL;
                        char *save = NULL;
                        for (char *t = strtok_r(enabled, " ", &save); t;
                             t = strtok_r(NULL, " ", &save))
                                strv_push(&have, t);
                        save = NULL;
                        for (char *t = strtok_r(avail, " ", &save); t;
                             t = strtok_r(NULL, " ", &save)) {
                                if (cg_strv_has(have, t) || (only && !cg_strv_has(only, t)))
                                        continue;
                                _cleanup_error_ vs_error *e = NULL;
                                /* One at a time: a refusal (EBUSY when the
                                 * cgroup has processes of its own) must not
                                 * stop the others. */
                                if (cg_writef(p, "cgroup.subtree_control", NULL, &e, "+%s", t) < 0)
                                        vs_debug("cgroup2: cannot enable %s in %s: %s", t,
                                                 *p ? p : "/", e->msg);
                        }
                }
                *s = c;
                if (c == '\0')
                        break;
        }
}

/* ---- memory ---- */

int cg_v2_memory(const char *dir, const struct oci_resources *r, bool update, vs_error **err)
{
        const typeof(r->memory) *m = &r->memory;
        if (update && m->has_limit && m->limit > 0) {
                /* cgroup v2 would not refuse: it would OOM-kill the
                 * container. Refuse an update below the present usage. */
                uint64_t usage = 0;
                if (cg_read_u64(dir, "memory.current", &usage, NULL) == 0 &&
                    (uint64_t) m->limit < usage)
                        return vs_fail(err,
                                       RES "memory.limit: %" PRId64 " is below the current "
                                           "memory usage %" PRIu64 " of %s",
                                       m->limit, usage, dir);
        }
        int64_t limit = m->has_limit ? m->limit : 0;
        if (m->has_swap && !m->has_limit) {
                /* An update of the swap alone: convert against the limit in
                 * force. */
                uint64_t cur = 0;
                if (cg_read_u64(dir, "memory.max", &cur, NULL) == 0)
                        limit = cur == UINT64_MAX ? -1 : (int64_t) cur;
        }
        int64_t swap = 0;
        if (vs_cgroup_swap_to_v2(m->has_swap ? m->swap : 0, limit, &swap, err) < 0)
                return -1;
        if (swap != 0) {
                if (!cg_has_file(dir, "memory.swap.max")) {
                        if (swap > 0)
                                return vs_fail(err,
                                               RES "memory.swap: this kernel does no swap "
                                                   "accounting (no memory.swap.max in %s)",
                                               dir);
                } else if (write_limit(dir, "memory.swap.max", swap, RES "memory.swap", err) < 0) {
                        return -1;
                }
        }
        if (m->has_limit && write_limit(dir, "memory.max", m->limit, RES "memory.limit", err) < 0)
                return -1;
        if (m->has_reservation &&
            write_limit(dir, "memory.low", m->reservation, RES "memory.reservation", err) < 0)
                return -1;
        /* No v2 counterpart; runc ignores these too. Say so once. */
        if (m->has_kernel && m->kernel != 0)
                vs_warn(RES "memory.kernel: not supported on cgroup v2, ignored");
        if (m->has_kernel_tcp && m->kernel_tcp != 0)
                vs_warn(RES "memory.kernelTCP: not supported on cgroup v2, ignored");
        if (m->has_swappiness)
                vs_warn(RES "memory.swappiness: not supported on cgroup v2, ignored");
        if (m->has_disable_oom_killer && m->disable_oom_killer)
                vs_warn(RES "memory.disableOOMKiller: not supported on cgroup v2, ignored");
        return 0;
}

/* ---- cpu ---- */

int cg_v2_cpu(const char *dir, const struct oci_resources *r, vs_error **err)
{
        const typeof(r->cpu) *c = &r->cpu;
        if (c->has_shares && cg_writef(dir, "cpu.weight", RES "cpu.shares", err, "%" PRIu64,
                                       vs_cgroup_shares_to_weight(c->shares)) < 0)
                return -1;
        if (c->has_quota || c->has_period) {
                _cleanup_free_ char *cur = NULL;
                if (!c->has_quota)
                        cg_read(dir, "cpu.max", &cur, NULL);
                _cleanup_free_ char *max =
                    vs_cgroup_cpu_max(c->has_quota, c->quota, c->has_period, c->period, cur);
                if (cg_write(dir, "cpu.max", max, c->has_quota ? RES "cpu.quota" : RES "cpu.period",
                             err) < 0)
                        return -1;
        }
        if (c->has_burst &&
            cg_writef(dir, "cpu.max.burst", RES "cpu.burst", err, "%" PRIu64, c->burst) < 0)
                return -1;
        if (c->has_idle && cg_writef(dir, "cpu.idle", RES "cpu.idle", err, "%" PRId64, c->idle) < 0)
                return -1;
        return 0;
}

/* ---- io ---- */

int cg_v2_io(const char *dir, const struct oci_resources *r, vs_error **err)
{
        const typeof(r->block_io) *b = &r->block_io;
        /* BFQ takes blkio-range weights as they are; io.weight (iocost)
         * takes 1-10000 and gets runc's conversion. */
        bool bfq = cg_has_file(dir, "io.bfq.weight");
        if ((b->has_weight || b->n_weight_device) && !bfq && !cg_has_file(dir, "io.weight"))
                return vs_fail(err,
                               RES "blockIO.weight: no proportional-weight I/O control here "
                                   "(neither io.bfq.weight nor io.weight in %s)",
                               dir);
        const char *wfile = bfq ? "io.bfq.weight" : "io.weight";
        if (b->has_weight) {
                uint64_t w = bfq ? b->weight : vs_cgroup_blkio_weight_to_io_weight(b->weight);
                if (cg_writef(dir, wfile, RES "blockIO.weight", err, "default %" PRIu64, w) < 0)
                        return -1;
        }
        for (size_t i = 0; i < b->n_weight_device; i++) {
                const struct oci_weight_device *wd = &b->weight_device[i];
                if (!wd->has_weight)
                        continue;
                _cleanup_free_ char *f = xasprintf(RES "blockIO.weightDevice[%zu]", i);
                uint64_t w = bfq ? wd->weight : vs_cgroup_blkio_weight_to_io_weight(wd->weight);
                if (cg_writef(dir, wfile, f, err, "%" PRId64 ":%" PRId64 " %" PRIu64, wd->major,
                              wd->minor, w) < 0)
                        return -1;
        }
        struct {
                const char *name, *key;
                const struct oci_throttle_device *t;
                size_t n;
        } lists[] = {
            {"throttleReadBpsDevice", "rbps", b->throttle_read_bps, b->n_throttle_read_bps},
            {"throttleWriteBpsDevice", "wbps", b->throttle_write_bps, b->n_throttle_write_bps},
            {"throttleReadIOPSDevice", "riops", b->throttle_read_iops, b->n_throttle_read_iops},
            {"throttleWriteIOPSDevice", "wiops", b->throttle_write_iops, b->n_throttle_write_iops},
        };
        for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
                for (size_t i = 0; i < lists[l].n; i++) {
                        const struct oci_throttle_device *t = &lists[l].t[i];
                        _cleanup_free_ char *f = xasprintf(RES "blockIO.%s[%zu]", lists[l].name, i);
                        /* v1 reads a rate of 0 as "no limit"; v2 spells it max. */
                        _cleanup_free_ char *rate =
                            t->rate ? xasprintf("%" PRIu64, t->rate) : xstrdup("max");
                        if (cg_writef(dir, "io.max", f, err, "%" PRId64 ":%" PRId64 " %s=%s",
                                      t->major, t->minor, lists[l].key, rate) < 0)
                                return -1;
                }
        return 0;
}

/* ---- hugetlb, unified ---- */

int cg_v2_hugetlb(const char *dir, const struct oci_resources *r, vs_error **err)
{
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
                const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
                _cleanup_free_ char *file = xasprintf("hugetlb.%s.max", h->page_size);
                _cleanup_free_ char *rsvd = xasprintf("hugetlb.%s.rsvd.max", h->page_size);
                _cleanup_free_ char *f = xasprintf(RES "hugepageLimits[%zu].limit", i);
                if (cg_writef(dir, file, f, err, "%" PRIu64, h->limit) < 0)
                        return -1;
                /* Reservations too (runc >= 1.2), so a mapping cannot
                 * reserve more than it may fault in. */
                if (cg_has_file(dir, rsvd) &&
                    cg_writef(dir, rsvd, f, err, "%" PRIu64, h->limit) < 0)
                        return -1;
        }
        return 0;
}

int cg_v2_unified(const char *dir, const struct oci_resources *r, vs_error **err)
{
        for (size_t i = 0; i < r->n_unified; i++) {
                _cleanup_free_ char *f = xasprintf(RES "unified.%s", r->unified[i].key);
                if (cg_write(dir, r->unified[i].key, r->unified[i].value, f, err) < 0)
                        return -1;
        }
        return 0;
}

/* ---- stats ---- */


static uint64_t keyed_or_zero(const char *dir, const char *file, const char *key)
{
        uint64_t v = 0;
        if (cg_read_keyed(dir, file, key, &v) < 0)
                return 0;
        return v;
}

static void read_flat(const char *dir, const char *file, json_object *obj)
{
        _cleanup_free_ char *text = NULL;
        if (cg_read(dir, file, &text, NULL) < 0)
                return;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char key[128];
                unsigned long long v;
                if (sscanf(line, "%127s %llu", key, &v) == 2)
                        cg_set_u64(obj, key, v);
        }
}

static void add_blkio(json_object *arr, unsigned long long maj, unsigned long long min,
                      const char *op, uint64_t v)
{
        json_object *e = json_object_new_object();
        cg_set_u64(e, "major", maj);
        cg_set_u64(e, "minor", min);
        json_object_object_add(e, "op", json_object_new_string(op));
        cg_set_u64(e, "value", v);
        json_object_array_add(arr, e);
}

/* io.stat: "254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
static void stats_io(const char *dir, json_object *blkio)
{
        _cleanup_free_ char *text = NULL;
        if (cg_read(dir, "io.stat", &text, NULL) < 0)
                return;
        json_object *bytes = json_object_object_get(blkio, "ioServiceBytesRecursive");
        json_object *ios = json_object_object_get(blkio, "ioServicedRecursive");
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned long long maj, min;
                int off = 0;
                if (sscanf(line, "%llu:%llu%n", &maj, &min, &off) != 2)
                        continue;
                char *save2 = NULL;
                for (char *kv = strtok_r(line + off, " ", &save2); kv;
                     kv = strtok_r(NULL, " ", &save2)) {
                        char *eq = strchr(kv, '=');
                        if (eq == NULL)
                                continue;
                        *eq = '\0';
                        uint64_t v = strtoull(eq + 1, NULL, 10);
                        if (strcmp(kv, "rbytes") == 0)
                                add_blkio(bytes, maj, min, "Read", v);
                        else if (strcmp(kv, "wbytes") == 0)
                                add_blkio(bytes, maj, min, "Write", v);
                        else if (strcmp(kv, "rios") == 0)
                                add_blkio(ios, maj, min, "Read", v);
                        else if (strcmp(kv, "wios") == 0)
                                add_blkio(ios, maj, min, "Write", v);
                }
        }
}

static void stats_hugetlb(const char *dir, json_object *hugetlb)
{
        _cleanup_closedir_ DIR *d = opendir("/sys/kernel/mm/hugepages");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                unsigned long kb;
                if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
                        continue;
                _cleanup_free_ char *size = vs_cgroup_hugepage_name(kb);
                _cleanup_free_ char *cur = xasprintf("hugetlb.%s.current", size);
                _cleanup_free_ char *max = xasprintf("hugetlb.%s.max", size);
                _cleanup_free_ char *ev = xasprintf("hugetlb.%s.events", size);
                if (!cg_has_file(dir, cur))
                        continue;
                json_object *e = json_object_new_object();
                cg_set_u64(e, "usage", cg_read_or_zero(dir, cur));
                cg_set_u64(e, "max", cg_read_or_zero(dir, max));
                cg_set_u64(e, "failcnt", keyed_or_zero(dir, ev, "max"));
                json_object_object_add(hugetlb, size, e);
        }
}

/* The v2 directory when it serves controller; cpu usage (cpu.stat) is a
 * core file, there even without the cpu controller. */
static const char *v2_path(const struct vs_cgroup *cg, const char *controller)
{
        const struct cg_dir *d = cg_find(cg, controller);
        if (d && d->v2)
                return d->path;
        return NULL;
}

int cg_v2_stats(const struct vs_cgroup *cg, json_object *s, vs_error **err)
{
        const struct cg_dir *v2 = cg_find_v2(cg);
        if (v2 == NULL)
                return 0;
        const char *p;
        const struct cg_dir *acct = cg_find(cg, "cpuacct");
        if (acct == NULL || acct->v2) {
                json_object *cpu = json_object_object_get(s, "cpu");
                json_object *usage = json_object_object_get(cpu, "usage");
                cg_set_u64(usage, "total", keyed_or_zero(v2->path, "cpu.stat", "usage_usec") * 1000);
                cg_set_u64(usage, "user", keyed_or_zero(v2->path, "cpu.stat", "user_usec") * 1000);
                cg_set_u64(usage, "kernel", keyed_or_zero(v2->path, "cpu.stat", "system_usec") * 1000);
        }
        if ((p = v2_path(cg, "cpu")) != NULL) {
                json_object *thr =
                    json_object_object_get(json_object_object_get(s, "cpu"), "throttling");
                cg_set_u64(thr, "periods", keyed_or_zero(p, "cpu.stat", "nr_periods"));
                cg_set_u64(thr, "throttledPeriods", keyed_or_zero(p, "cpu.stat", "nr_throttled"));
                cg_set_u64(thr, "throttledTime",
                        keyed_or_zero(p, "cpu.stat", "throttled_usec") * 1000);
        }
        if ((p = v2_path(cg, "memory")) != NULL) {
                json_object *mem = json_object_object_get(s, "memory");
                json_object *usage = json_object_object_get(mem, "usage");
                json_object *swap = json_object_object_get(mem, "swap");
                uint64_t cur = cg_read_or_zero(p, "memory.current");
                uint64_t max = cg_read_or_zero(p, "memory.max");
                cg_set_u64(usage, "usage", cur);
                cg_set_u64(usage, "max", cg_read_or_zero(p, "memory.peak"));
                cg_set_u64(usage, "limit", max);
                cg_set_u64(usage, "failcnt", keyed_or_zero(p, "memory.events", "max"));
                /* runc reports v2 swap as memory+swap, the v1 meaning. */
                uint64_t sw = cg_read_or_zero(p, "memory.swap.current");
                uint64_t swmax = cg_read_or_zero(p, "memory.swap.max");
                cg_set_u64(swap, "usage", cur + sw);
                cg_set_u64(swap, "max", cg_read_or_zero(p, "memory.swap.peak"));
                cg_set_u64(swap, "limit",
                        (max == UINT64_MAX || swmax == UINT64_MAX) ? UINT64_MAX : max + swmax);
                cg_set_u64(swap, "failcnt", keyed_or_zero(p, "memory.swap.events", "max"));
                json_object *raw = json_object_object_get(mem, "raw");
                read_flat(p, "memory.stat", raw);
                json_object *file;
                if (json_object_object_get_ex(raw, "file", &file))
                        cg_set_u64(mem, "cache", json_object_get_uint64(file));
        }
        if ((p = v2_path(cg, "pids")) != NULL) {
                json_object *pids = json_object_object_get(s, "pids");
                uint64_t max = cg_read_or_zero(p, "pids.max");
                cg_set_u64(pids, "current", cg_read_or_zero(p, "pids.current"));
                cg_set_u64(pids, "limit", max == UINT64_MAX ? 0 : max);
        }
        if ((p = v2_path(cg, "io")) != NULL)
                stats_io(p, json_object_object_get(s, "blkio"));
        if ((p = v2_path(cg, "hugetlb")) != NULL)
                stats_hugetlb(p, json_object_object_get(s, "hugetlb"));
        return 0;
}
