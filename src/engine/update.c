/* Engine `update`: new resource limits and restart policy for a container,
 * kept in its record (so inspect, a restart and the next start see them)
 * and applied to its cgroup while it runs. */
#include "engine/engine.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"
#include "vm/vm.h"

#include <inttypes.h>
#include <string.h>

static const char *const resource_keys[] = {
    "Memory",      "MemorySwap",        "NanoCpus",  "CpuShares", "CpusetCpus", "PidsLimit",
    "BlkioWeight", "MemoryReservation", "CpuPeriod", "CpuQuota",  NULL,
};

/* Which HostConfig keys the given flags set. */
static bool given(const struct vs_update *u, const char *key)
{
        const struct vs_run_flags *f = &u->f;
        return (strcmp(key, "Memory") == 0 && f->memory) ||
               (strcmp(key, "MemorySwap") == 0 && f->memory_swap) ||
               (strcmp(key, "NanoCpus") == 0 && f->cpus) ||
               (strcmp(key, "CpuShares") == 0 && f->cpu_shares) ||
               (strcmp(key, "CpusetCpus") == 0 && f->cpuset_cpus) ||
               (strcmp(key, "PidsLimit") == 0 && f->pids_limit) ||
               (strcmp(key, "BlkioWeight") == 0 && f->blkio_weight) ||
               (strcmp(key, "MemoryReservation") == 0 && u->memory_reservation) ||
               (strcmp(key, "CpuPeriod") == 0 && f->cpu_period) ||
               (strcmp(key, "CpuQuota") == 0 && f->cpu_quota);
}

/* The new values, validated as run validates them. */
static int parse_update(const struct vs_update *u, json_object *hc_now, json_object **out,
                        vs_error **err)
{
        _cleanup_json_ json_object *parsed = json_object_new_object();
        struct vs_run_flags f = u->f;
        /* --memory-swap alone keeps the memory limit in force */
        _cleanup_free_ char *mem_now = NULL;
        if (f.memory_swap && !f.memory && json_object_object_get(hc_now, "Memory") &&
            json_object_get_int64(json_object_object_get(hc_now, "Memory")) > 0) {
                mem_now = xasprintf(
                    "%" PRId64, json_object_get_int64(json_object_object_get(hc_now, "Memory")));
                f.memory = mem_now;
        }
        if (vs_engine_parse_resources(&f, parsed, err) < 0)
                return -1;
        if (u->memory_reservation) {
                int64_t v;
                if (vs_parse_size("--memory-reservation", u->memory_reservation, &v, err) < 0)
                        return -1;
                json_object_object_add(parsed, "MemoryReservation", json_object_new_int64(v));
        }
        json_object *o = json_object_new_object();
        for (size_t i = 0; resource_keys[i]; i++) {
                json_object *v = json_object_object_get(parsed, resource_keys[i]);
                if (given(u, resource_keys[i]) && v)
                        json_object_object_add(o, resource_keys[i], json_object_get(v));
        }
        if (u->f.restart) {
                _cleanup_free_ char *policy = NULL;
                int max = 0;
                if (vs_parse_restart(u->f.restart, &policy, &max, err) < 0) {
                        json_object_put(o);
                        return -1;
                }
                json_object *rp = json_object_new_object();
                json_object_object_add(rp, "Name", json_object_new_string(policy));
                json_object_object_add(rp, "MaximumRetryCount", json_object_new_int(max));
                json_object_object_add(o, "RestartPolicy", rp);
        }
        *out = o;
        return 0;
}

int vs_engine_update(struct vs_engine *e, struct vs_ctr *c, const struct vs_update *u,
                     vs_error **err)
{
        _cleanup_close_ int lock = vs_ctr_lock(c, err);
        if (lock < 0)
                return -1;
        _cleanup_ctr_ struct vs_ctr *cur = NULL;
        if (vs_ctr_load(e, c->id, &cur, err) < 0)
                return -1;
        vs_ctr_refresh(e, cur);
        _cleanup_json_ json_object *changes = NULL;
        if (parse_update(u, cur->host_config, &changes, err) < 0)
                return -1;
        json_object *rp = json_object_object_get(changes, "RestartPolicy");
        json_object *auto_rm = json_object_object_get(cur->host_config, "AutoRemove");
        if (rp && auto_rm && json_object_get_boolean(auto_rm) &&
            strcmp(json_object_get_string(json_object_object_get(rp, "Name")), "no") != 0)
                return vs_fail(err,
                               "container %s: --restart cannot be set on a container "
                               "started with --rm",
                               cur->name);
        json_object_object_foreach(changes, k, v)
        {
                json_object_object_add(cur->host_config, k, json_object_get(v));
        }
        /* the typed record is the writer: read the changed HostConfig back */
        if (vs_ctr_read_fields(cur, "update", err) < 0)
                return -1;
        if (cur->hc.nano_cpus > 0 && (cur->hc.cpu_period > 0 || cur->hc.cpu_quota != 0))
                return vs_fail(err,
                               "container %s: conflicting options: --cpus and "
                               "--cpu-period/--cpu-quota cannot both be set",
                               cur->name);
        if (cur->state.running && !vs_ctr_is_vm(cur)) {
                _cleanup_json_ json_object *res = NULL;
                if (vs_engine_resources(&cur->hc, &res, err) < 0)
                        return vs_error_wrap(err, "container %s", cur->name);
                /* the weight is; device throttles are not update flags */
                json_object *bio = json_object_object_get(res, "blockIO");
                if (bio) {
                        json_object_object_del(bio, "throttleReadBpsDevice");
                        json_object_object_del(bio, "throttleWriteBpsDevice");
                        json_object_object_del(bio, "throttleReadIOPSDevice");
                        json_object_object_del(bio, "throttleWriteIOPSDevice");
                }
                struct oci_resources *ores = NULL;
                if (oci_resources_parse(res, "update", &ores, err) < 0)
                        return vs_error_wrap(err, "container %s", cur->name);
                int r = vs_container_update(cur->runtime_root, cur->id, ores, err);
                oci_resources_free(ores);
                if (r < 0)
                        return vs_error_wrap(err, "cannot update container %s", cur->name);
        }
        return vs_ctr_save(cur, err);
}
