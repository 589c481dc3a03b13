/* linux.resources of the OCI runtime-spec: types and values are validated
 * here, so that errors name the field ("linux.resources.pids.limit: ...");
 * whether the host can honour a value (CPUs present, devices existing,
 * controllers mounted) is checked by src/runtime/cgroup*.c. */
#include "oci/config.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Kernel limits of the CFS bandwidth controller (kernel/sched/core.c):
 * period and quota between 1ms and 1s for the period, >= 1ms for quota. */
#define CFS_PERIOD_MIN_US 1000ULL
#define CFS_PERIOD_MAX_US 1000000ULL
#define CFS_QUOTA_MIN_US  1000LL
/* cpu.shares bounds of cgroup v1 (MIN_SHARES/MAX_SHARES). */
#define CPU_SHARES_MIN 2ULL
#define CPU_SHARES_MAX 262144ULL
/* blkio.weight bounds of cgroup v1 (CFQ_WEIGHT_LEGACY_MIN/MAX). */
#define BLKIO_WEIGHT_MIN 10U
#define BLKIO_WEIGHT_MAX 1000U

static int fail_required(vs_error **err, const char *ctx, const char *key)
{
        return vs_fail(err, "%s.%s: required", ctx, key);
}

/* Zero in a limit or weight is "not set" for runc, Docker, podman and the
 * CRI (Go's zero value: Docker sends blockIO.weight 0 for every container
 * run without --blkio-weight). runc skips such fields, and so does vessel:
 * a caller's zero never reaches the kernel as a value. */

/* An int64 byte/count limit: -1 means unlimited, 0 unset; other negative
 * values are rejected. */
static int get_limit(json_object *o, const char *ctx, const char *key, bool *has, int64_t *out,
                     vs_error **err)
{
        int64_t v = 0;
        int r = vs_json_get_int64(o, ctx, key, &v, err);
        if (r <= 0)
                return r;
        if (v < -1)
                return vs_fail(err,
                               "%s.%s: %" PRId64 " is invalid: must be positive, 0 (unset) or -1 "
                               "(unlimited)",
                               ctx, key, v);
        if (v == 0)
                return 0;
        *has = true;
        *out = v;
        return 1;
}

static int get_uint16(json_object *o, const char *ctx, const char *key, unsigned min, unsigned max,
                      bool *has, uint16_t *out, vs_error **err)
{
        uint32_t v = 0;
        int r = vs_json_get_uint32(o, ctx, key, &v, err);
        if (r <= 0)
                return r;
        if (v == 0)
                return 0; /* unset */
        if (v < min || v > max)
                return vs_fail(err, "%s.%s: %u is out of range (%u-%u, or 0 for unset)", ctx, key,
                               v, min, max);
        *has = true;
        *out = (uint16_t) v;
        return 1;
}

/* Syntax of a cpuset list ("0-3,5,7-8"); the host check is done when the
 * cgroup is written. */
static bool valid_id_list(const char *s)
{
        if (*s == '\0')
                return true; /* empty: inherit from the parent */
        while (*s) {
                if (!isdigit((unsigned char) *s))
                        return false;
                char *end;
                errno = 0;
                unsigned long a = strtoul(s, &end, 10);
                if (errno)
                        return false;
                s = end;
                if (*s == '-') {
                        s++;
                        if (!isdigit((unsigned char) *s))
                                return false;
                        unsigned long b = strtoul(s, &end, 10);
                        if (errno || b < a)
                                return false;
                        s = end;
                }
                if (*s == ',') {
                        s++;
                        if (*s == '\0')
                                return false;
                } else if (*s != '\0') {
                        return false;
                }
        }
        return true;
}

static int parse_devices(json_object *obj, const char *ctx, struct oci_resources *r, vs_error **err)
{
        json_object *arr;
        int ret = vs_json_get_array(obj, ctx, "devices", &arr, err);
        if (ret <= 0)
                return ret;
        size_t n = json_object_array_length(arr);
        r->devices = xcalloc(n ? n : 1, sizeof(*r->devices));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ectx = xasprintf("%s.devices[%zu]", ctx, i);
                json_object *e = json_object_array_get_idx(arr, i);
                struct oci_device_cgroup *d = &r->devices[i];
                r->n_devices = i + 1;
                d->major = d->minor = -1;
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ectx);
                ret = vs_json_get_bool(e, ectx, "allow", &d->allow, err);
                if (ret < 0)
                        return -1;
                if (ret == 0)
                        return fail_required(err, ectx, "allow");

                _cleanup_free_ char *type = NULL;
                if (vs_json_get_string(e, ectx, "type", &type, err) < 0)
                        return -1;
                d->type = 'a';
                if (type != NULL) {
                        if (strlen(type) != 1 || strchr("acb", type[0]) == NULL)
                                return vs_fail(err,
                                               "%s.type: '%s' is invalid: must be 'a', 'c' or 'b'",
                                               ectx, type);
                        d->type = type[0];
                }
                static const char *const nums[] = {"major", "minor"};
                for (int k = 0; k < 2; k++) {
                        int64_t *dst = k == 0 ? &d->major : &d->minor;
                        ret = vs_json_get_int64(e, ectx, nums[k], dst, err);
                        if (ret < 0)
                                return -1;
                        /* -1 is accepted as an explicit wildcard (runc's
                         * internal encoding), like an absent field. */
                        if (ret == 1 && (*dst < -1 || *dst > UINT32_MAX))
                                return vs_fail(err, "%s.%s: %" PRId64 " is out of range", ectx,
                                               nums[k], *dst);
                }
                if (vs_json_get_string(e, ectx, "access", &d->access, err) < 0)
                        return -1;
                if (d->access == NULL) {
                        /* Absent access means every access, as crun reads it. */
                        d->access = xstrdup("rwm");
                } else {
                        const char *a = d->access;
                        bool ok = *a != '\0';
                        for (; *a; a++)
                                if (strchr("rwm", *a) == NULL || strchr(a + 1, *a) != NULL)
                                        ok = false;
                        if (!ok)
                                return vs_fail(err,
                                               "%s.access: '%s' is invalid: must be a non-empty "
                                               "subset of \"rwm\"",
                                               ectx, d->access);
                }
        }
        return 0;
}

static int parse_memory(json_object *obj, const char *ctx, struct oci_resources *r, vs_error **err)
{
        json_object *m;
        int ret = vs_json_get_object(obj, ctx, "memory", &m, err);
        if (ret <= 0)
                return ret;
        r->has_memory = true;
        _cleanup_free_ char *mctx = xasprintf("%s.memory", ctx);
        typeof(r->memory) *mem = &r->memory;
        if (get_limit(m, mctx, "limit", &mem->has_limit, &mem->limit, err) < 0 ||
            get_limit(m, mctx, "reservation", &mem->has_reservation, &mem->reservation, err) < 0 ||
            get_limit(m, mctx, "swap", &mem->has_swap, &mem->swap, err) < 0 ||
            get_limit(m, mctx, "kernel", &mem->has_kernel, &mem->kernel, err) < 0 ||
            get_limit(m, mctx, "kernelTCP", &mem->has_kernel_tcp, &mem->kernel_tcp, err) < 0)
                return -1;
        ret = vs_json_get_uint64(m, mctx, "swappiness", &mem->swappiness, err);
        if (ret < 0)
                return -1;
        if (ret == 1) {
                if (mem->swappiness > 100)
                        return vs_fail(err, "%s.swappiness: %" PRIu64 " is out of range (0-100)",
                                       mctx, mem->swappiness);
                mem->has_swappiness = true;
        }
        struct {
                const char *key;
                bool *has, *val;
        } bools[] = {
            {"disableOOMKiller", &mem->has_disable_oom_killer, &mem->disable_oom_killer},
            {"useHierarchy", &mem->has_use_hierarchy, &mem->use_hierarchy},
            {"checkBeforeUpdate", &mem->has_check_before_update, &mem->check_before_update},
        };
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
                ret = vs_json_get_bool(m, mctx, bools[i].key, bools[i].val, err);
                if (ret < 0)
                        return -1;
                *bools[i].has = ret == 1;
        }
        /* memory.swap is memory+swap (the v1 memsw meaning). */
        if (mem->has_limit && mem->has_swap && mem->limit > 0 && mem->swap > 0 &&
            mem->swap < mem->limit)
                return vs_fail(err,
                               "%s.swap: %" PRId64 " is below memory.limit %" PRId64
                               ": swap is the memory+swap limit and must be >= limit",
                               mctx, mem->swap, mem->limit);
        return 0;
}

static int parse_cpu(json_object *obj, const char *ctx, struct oci_resources *r, vs_error **err)
{
        json_object *c;
        int ret = vs_json_get_object(obj, ctx, "cpu", &c, err);
        if (ret <= 0)
                return ret;
        r->has_cpu = true;
        _cleanup_free_ char *cctx = xasprintf("%s.cpu", ctx);
        typeof(r->cpu) *cpu = &r->cpu;

        ret = vs_json_get_uint64(c, cctx, "shares", &cpu->shares, err);
        if (ret < 0)
                return -1;
        /* 0 is "unset" for runc, Docker and the CRI; anything else must be
         * a value the kernel keeps as written. */
        if (ret == 1 && cpu->shares != 0) {
                if (cpu->shares < CPU_SHARES_MIN || cpu->shares > CPU_SHARES_MAX)
                        return vs_fail(err, "%s.shares: %" PRIu64 " is out of range (%llu-%llu)",
                                       cctx, cpu->shares, CPU_SHARES_MIN, CPU_SHARES_MAX);
                cpu->has_shares = true;
        }

        ret = vs_json_get_int64(c, cctx, "quota", &cpu->quota, err);
        if (ret < 0)
                return -1;
        if (ret == 1 && cpu->quota != 0) {
                if (cpu->quota < -1 || (cpu->quota > 0 && cpu->quota < CFS_QUOTA_MIN_US))
                        return vs_fail(err,
                                       "%s.quota: %" PRId64
                                       " is invalid: must be >= %lld (microseconds) or -1 "
                                       "for unlimited",
                                       cctx, cpu->quota, CFS_QUOTA_MIN_US);
                cpu->has_quota = true;
        }
        ret = vs_json_get_uint64(c, cctx, "period", &cpu->period, err);
        if (ret < 0)
                return -1;
        if (ret == 1 && cpu->period != 0) {
                if (cpu->period < CFS_PERIOD_MIN_US || cpu->period > CFS_PERIOD_MAX_US)
                        return vs_fail(
                            err, "%s.period: %" PRIu64 " is out of range (%llu-%llu microseconds)",
                            cctx, cpu->period, CFS_PERIOD_MIN_US, CFS_PERIOD_MAX_US);
                cpu->has_period = true;
        }
        ret = vs_json_get_uint64(c, cctx, "burst", &cpu->burst, err);
        if (ret < 0)
                return -1;
        cpu->has_burst = ret == 1;
        if (cpu->has_burst && cpu->has_quota && cpu->quota > 0 &&
            cpu->burst > (uint64_t) cpu->quota)
                return vs_fail(err, "%s.burst: %" PRIu64 " exceeds quota %" PRId64, cctx,
                               cpu->burst, cpu->quota);

        ret = vs_json_get_int64(c, cctx, "realtimeRuntime", &cpu->realtime_runtime, err);
        if (ret < 0)
                return -1;
        if (ret == 1 && cpu->realtime_runtime < -1)
                return vs_fail(err,
                               "%s.realtimeRuntime: %" PRId64
                               " is invalid: must be non-negative or -1 for unlimited",
                               cctx, cpu->realtime_runtime);
        cpu->has_realtime_runtime = ret == 1;
        ret = vs_json_get_uint64(c, cctx, "realtimePeriod", &cpu->realtime_period, err);
        if (ret < 0)
                return -1;
        cpu->has_realtime_period = ret == 1;

        if (vs_json_get_string(c, cctx, "cpus", &cpu->cpus, err) < 0 ||
            vs_json_get_string(c, cctx, "mems", &cpu->mems, err) < 0)
                return -1;
        if (cpu->cpus && !valid_id_list(cpu->cpus))
                return vs_fail(err, "%s.cpus: '%s' is not a CPU list (like \"0-3,6\")", cctx,
                               cpu->cpus);
        if (cpu->mems && !valid_id_list(cpu->mems))
                return vs_fail(err, "%s.mems: '%s' is not a memory node list (like \"0-1\")", cctx,
                               cpu->mems);

        ret = vs_json_get_int64(c, cctx, "idle", &cpu->idle, err);
        if (ret < 0)
                return -1;
        if (ret == 1 && cpu->idle != 0 && cpu->idle != 1)
                return vs_fail(err, "%s.idle: %" PRId64 " is invalid: must be 0 or 1", cctx,
                               cpu->idle);
        cpu->has_idle = ret == 1;
        return 0;
}

static int parse_pids(json_object *obj, const char *ctx, struct oci_resources *r, vs_error **err)
{
        json_object *p;
        int ret = vs_json_get_object(obj, ctx, "pids", &p, err);
        if (ret <= 0)
                return ret;
        _cleanup_free_ char *pctx = xasprintf("%s.pids", ctx);
        ret = vs_json_get_int64(p, pctx, "limit", &r->pids_limit, err);
        if (ret < 0)
                return -1;
        if (ret == 0)
                return fail_required(err, pctx, "limit");
        /* 0 is "unset" (runc skips it); -1 is "max". runc also reads any
         * other negative value as "max": vessel asks for the spec's -1. */
        if (r->pids_limit < -1)
                return vs_fail(err,
                               "%s.limit: %" PRId64 " is invalid: must be positive, 0 (unset) or "
                               "-1 (unlimited)",
                               pctx, r->pids_limit);
        if (r->pids_limit == 0)
                return 0;
        r->has_pids = true;
        return 0;
}

static int parse_device_id(json_object *e, const char *ectx, int64_t *major, int64_t *minor,
                           vs_error **err)
{
        const char *keys[] = {"major", "minor"};
        int64_t *dst[] = {major, minor};
        for (int k = 0; k < 2; k++) {
                int ret = vs_json_get_int64(e, ectx, keys[k], dst[k], err);
                if (ret < 0)
                        return -1;
                if (ret == 0)
                        return fail_required(err, ectx, keys[k]);
                if (*dst[k] < 0 || *dst[k] > UINT32_MAX)
                        return vs_fail(err, "%s.%s: %" PRId64 " is out of range", ectx, keys[k],
                                       *dst[k]);
        }
        return 0;
}

static int parse_throttle(json_object *b, const char *bctx, const char *key,
                          struct oci_throttle_device **out, size_t *n_out, vs_error **err)
{
        json_object *arr;
        int ret = vs_json_get_array(b, bctx, key, &arr, err);
        if (ret <= 0)
                return ret;
        size_t n = json_object_array_length(arr);
        *out = xcalloc(n ? n : 1, sizeof(**out));
        *n_out = n;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ectx = xasprintf("%s.%s[%zu]", bctx, key, i);
                json_object *e = json_object_array_get_idx(arr, i);
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ectx);
                if (parse_device_id(e, ectx, &(*out)[i].major, &(*out)[i].minor, err) < 0)
                        return -1;
                ret = vs_json_get_uint64(e, ectx, "rate", &(*out)[i].rate, err);
                if (ret < 0)
                        return -1;
                if (ret == 0)
                        return fail_required(err, ectx, "rate");
        }
        return 0;
}

static int parse_block_io(json_object *obj, const char *ctx, struct oci_resources *r,
                          vs_error **err)
{
        json_object *b;
        int ret = vs_json_get_object(obj, ctx, "blockIO", &b, err);
        if (ret <= 0)
                return ret;
        r->has_block_io = true;
        _cleanup_free_ char *bctx = xasprintf("%s.blockIO", ctx);
        typeof(r->block_io) *bio = &r->block_io;
        if (get_uint16(b, bctx, "weight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &bio->has_weight,
                       &bio->weight, err) < 0 ||
            get_uint16(b, bctx, "leafWeight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX,
                       &bio->has_leaf_weight, &bio->leaf_weight, err) < 0)
                return -1;

        json_object *arr;
        ret = vs_json_get_array(b, bctx, "weightDevice", &arr, err);
        if (ret < 0)
                return -1;
        if (ret == 1) {
                size_t n = json_object_array_length(arr);
                bio->weight_device = xcalloc(n ? n : 1, sizeof(*bio->weight_device));
                bio->n_weight_device = n;
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *ectx = xasprintf("%s.weightDevice[%zu]", bctx, i);
                        json_object *e = json_object_array_get_idx(arr, i);
                        struct oci_weight_device *wd = &bio->weight_device[i];
                        if (!json_object_is_type(e, json_type_object))
                                return vs_fail(err, "%s: expected an object", ectx);
                        if (parse_device_id(e, ectx, &wd->major, &wd->minor, err) < 0)
                                return -1;
                        if (get_uint16(e, ectx, "weight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX,
                                       &wd->has_weight, &wd->weight, err) < 0 ||
                            get_uint16(e, ectx, "leafWeight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX,
                                       &wd->has_leaf_weight, &wd->leaf_weight, err) < 0)
                                return -1;
                }
        }
        if (parse_throttle(b, bctx, "throttleReadBpsDevice", &bio->throttle_read_bps,
                           &bio->n_throttle_read_bps, err) < 0 ||
            parse_throttle(b, bctx, "throttleWriteBpsDevice", &bio->throttle_write_bps,
                           &bio->n_throttle_write_bps, err) < 0 ||
            parse_throttle(b, bctx, "throttleReadIOPSDevice", &bio->throttle_read_iops,
                           &bio->n_throttle_read_iops, err) < 0 ||
            parse_throttle(b, bctx, "throttleWriteIOPSDevice", &bio->throttle_write_iops,
                           &bio->n_throttle_write_iops, err) < 0)
                return -1;
        return 0;
}

/* "2MB", "1GB", "64KB": the names the kernel uses in hugetlb.<size>.* */
static bool valid_page_size(const char *s)
{
        size_t digits = strspn(s, "0123456789");
        if (digits == 0 || s[0] == '0')
                return false;
        const char *unit = s + digits;
        return strcmp(unit, "KB") == 0 || strcmp(unit, "MB") == 0 || strcmp(unit, "GB") == 0 ||
               strcmp(unit, "TB") == 0 || strcmp(unit, "PB") == 0;
}

static int parse_hugepages(json_object *obj, const char *ctx, struct oci_resources *r,
                           vs_error **err)
{
        json_object *arr;
        int ret = vs_json_get_array(obj, ctx, "hugepageLimits", &arr, err);
        if (ret <= 0)
                return ret;
        size_t n = json_object_array_length(arr);
        r->hugepage_limits = xcalloc(n ? n : 1, sizeof(*r->hugepage_limits));
        r->n_hugepage_limits = n;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ectx = xasprintf("%s.hugepageLimits[%zu]", ctx, i);
                json_object *e = json_object_array_get_idx(arr, i);
                struct oci_hugepage_limit *h = &r->hugepage_limits[i];
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ectx);
                ret = vs_json_get_string(e, ectx, "pageSize", &h->page_size, err);
                if (ret < 0)
                        return -1;
                if (ret == 0)
                        return fail_required(err, ectx, "pageSize");
                if (!valid_page_size(h->page_size))
                        return vs_fail(err,
                                       "%s.pageSize: '%s' is invalid: expected a size like "
                                       "\"2MB\" or \"1GB\"",
                                       ectx, h->page_size);
                ret = vs_json_get_uint64(e, ectx, "limit", &h->limit, err);
                if (ret < 0)
                        return -1;
                if (ret == 0)
                        return fail_required(err, ectx, "limit");
        }
        return 0;
}

static int parse_network(json_object *obj, const char *ctx, struct oci_resources *r, vs_error **err)
{
        json_object *net;
        int ret = vs_json_get_object(obj, ctx, "network", &net, err);
        if (ret <= 0)
                return ret;
        r->has_network = true;
        _cleanup_free_ char *nctx = xasprintf("%s.network", ctx);
        ret = vs_json_get_uint32(net, nctx, "classID", &r->network.class_id, err);
        if (ret < 0)
                return -1;
        r->network.has_class_id = ret == 1;
        json_object *arr;
        ret = vs_json_get_array(net, nctx, "priorities", &arr, err);
        if (ret <= 0)
                return ret;
        size_t n = json_object_array_length(arr);
        r->network.priorities = xcalloc(n ? n : 1, sizeof(*r->network.priorities));
        r->network.n_priorities = n;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ectx = xasprintf("%s.priorities[%zu]", nctx, i);
                json_object *e = json_object_array_get_idx(arr, i);
                struct oci_net_priority *p = &r->network.priorities[i];
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ectx);
                ret = vs_json_get_string(e, ectx, "name", &p->name, err);
                if (ret < 0)
                        return -1;
                if (ret == 0)
                        return fail_required(err, ectx, "name");
                /* The name ends up in "NAME PRIO" written to ifpriomap. */
                if (*p->name == '\0' || strpbrk(p->name, " \t\n/") != NULL)
                        return vs_fail(err, "%s.name: '%s' is not an interface name", ectx,
                                       p->name);
                ret = vs_json_get_uint32(e, ectx, "priority", &p->priority, err);
                if (ret < 0)
                        return -1;
                if (ret == 0)
                        return fail_required(err, ectx, "priority");
        }
        return 0;
}

static int parse_unified(json_object *obj, const char *ctx, struct oci_resources *r, vs_error **err)
{
        json_object *u;
        int ret = vs_json_get_object(obj, ctx, "unified", &u, err);
        if (ret <= 0)
                return ret;
        size_t n = (size_t) json_object_object_length(u);
        r->unified = xcalloc(n ? n : 1, sizeof(*r->unified));
        json_object_object_foreach(u, key, val)
        {
                /* Keys are file names inside the container's cgroup: no
                 * path separators, and "<controller>.<file>" shaped. */
                if (*key == '\0' || key[0] == '.' || strchr(key, '/') != NULL ||
                    strchr(key, '.') == NULL)
                        return vs_fail(err,
                                       "%s.unified: key '%s' is invalid: expected a cgroup v2 "
                                       "file name like \"memory.high\"",
                                       ctx, key);
                if (!json_object_is_type(val, json_type_string))
                        return vs_fail(err, "%s.unified.%s: expected a string", ctx, key);
                r->unified[r->n_unified].key = xstrdup(key);
                r->unified[r->n_unified].value = xstrdup(json_object_get_string(val));
                r->n_unified++;
        }
        return 0;
}

int oci_resources_parse(json_object *obj, const char *ctx, struct oci_resources **out,
                        vs_error **err)
{
        if (ctx == NULL)
                ctx = "linux.resources";
        if (!json_object_is_type(obj, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);
        struct oci_resources *r = xzalloc(sizeof(*r));
        if (parse_devices(obj, ctx, r, err) < 0 || parse_memory(obj, ctx, r, err) < 0 ||
            parse_cpu(obj, ctx, r, err) < 0 || parse_pids(obj, ctx, r, err) < 0 ||
            parse_block_io(obj, ctx, r, err) < 0 || parse_hugepages(obj, ctx, r, err) < 0 ||
            parse_network(obj, ctx, r, err) < 0 || parse_unified(obj, ctx, r, err) < 0) {
                oci_resources_free(r);
                return -1;
        }
        *out = r;
        return 0;
}

void oci_resources_free(struct oci_resources *r)
{
        if (r == NULL)
                return;
        for (size_t i = 0; i < r->n_devices; i++)
                free(r->devices[i].access);
        free(r->devices);
        free(r->cpu.cpus);
        free(r->cpu.mems);
        free(r->block_io.weight_device);
        free(r->block_io.throttle_read_bps);
        free(r->block_io.throttle_write_bps);
        free(r->block_io.throttle_read_iops);
        free(r->block_io.throttle_write_iops);
        for (size_t i = 0; i < r->n_hugepage_limits; i++)
                free(r->hugepage_limits[i].page_size);
        free(r->hugepage_limits);
        for (size_t i = 0; i < r->network.n_priorities; i++)
                free(r->network.priorities[i].name);
        free(r->network.priorities);
        for (size_t i = 0; i < r->n_unified; i++) {
                free(r->unified[i].key);
                free(r->unified[i].value);
        }
        free(r->unified);
        free(r);
}
