/* Container records: <data-root>/containers/<id>/record.json, written
 * atomically under a flock on the container's directory. */
#include "engine/engine.h"
#include "engine/rootless.h"
#include "image/image.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stddef.h>

static void clear_fields(struct vs_ctr *c);

/* The runtime state dir of the engine whose data root is the canonical path
 * data_root: the default data root keeps the runtime CLI's default root (state
 * of engines before this existed stays found); any other gets a dir of its
 * own under it, named after a hash of its path. The name holds '@', which no
 * container id may, so it never meets a runtime-CLI container, and
 * `vessel list` skips it (no state.json). A "data-root" file in it names its
 * owner: a hash collision or a reused dir fails instead of mixing state.
 * See docs/engine.md, "Runtime state". */
static int derive_runtime_root(const char *data_root, char **out, vs_error **err)
{
        /* The rootless engine's state is under the user's run dir. */
        const char *base = vs_rootless() ? vs_rootless_run_dir() : VS_ENGINE_DEFAULT_RUNTIME_ROOT;
        const char *default_data =
            vs_rootless() ? vs_rootless_data_dir() : VS_ENGINE_DEFAULT_DATA_ROOT;
        if (strcmp(data_root, default_data) == 0) {
                *out = xasprintf("%s%s", base, vs_rootless() ? "/state" : "");
                return vs_rootless() ? vs_mkdir_p(*out, 0700, err) : 0;
        }
        _cleanup_free_ char *dir =
            xasprintf("%s/engine@%016llx", base, (unsigned long long) vs_fnv1a(data_root));
        if (vs_mkdir_p(dir, 0711, err) < 0)
                return vs_error_wrap(err, "runtime state dir of data root %s", data_root);
        _cleanup_free_ char *owner_path = xasprintf("%s/data-root", dir);
        _cleanup_free_ char *owner = NULL;
        size_t len = 0;
        vs_error *rerr = NULL;
        if (vs_read_file(owner_path, &owner, &len, &rerr) < 0) {
                if (rerr->errno_ != ENOENT) {
                        *err = rerr;
                        return -1;
                }
                vs_error_free(&rerr);
                /* Concurrent first uses write the same content. */
                if (vs_write_file_atomic(owner_path, data_root, strlen(data_root), 0644, err) < 0)
                        return -1;
        } else if (len != strlen(data_root) || memcmp(owner, data_root, len) != 0) {
                return vs_fail(err,
                               "runtime state dir %s belongs to data root %.*s, not %s "
                               "(set VESSEL_RUNTIME_ROOT to use another)",
                               dir, (int) len, owner, data_root);
        }
        *out = xstrdup(dir);
        return 0;
}

int vs_engine_open(const char *data_root, const char *runtime_root, bool debug,
                   struct vs_engine **out, vs_error **err)
{
        if (data_root[0] != '/')
                return vs_fail(err, "data root '%s' is not an absolute path", data_root);
        if (runtime_root != NULL && runtime_root[0] != '/')
                return vs_fail(err, "runtime root '%s' is not an absolute path", runtime_root);
        _cleanup_free_ char *ctr_root = xasprintf("%s/containers", data_root);
        if (vs_mkdir_p(ctr_root, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *canonical = realpath(data_root, NULL);
        if (canonical == NULL)
                return vs_fail_errno(err, "cannot resolve data root %s", data_root);
        _cleanup_free_ char *derived = NULL;
        if (runtime_root == NULL) {
                if (derive_runtime_root(canonical, &derived, err) < 0)
                        return -1;
                runtime_root = derived;
        }
        struct vs_engine *e = xzalloc(sizeof(*e));
        e->data_root = xstrdup(data_root);
        e->runtime_root = xstrdup(runtime_root);
        e->ctr_root = xstrdup(ctr_root);
        e->debug = debug;
        *out = e;
        return 0;
}

const char *vs_engine_runtime_root(void)
{
        const char *env = getenv("VESSEL_RUNTIME_ROOT");
        return env && *env ? env : NULL;
}

void vs_engine_close(struct vs_engine *e)
{
        if (e == NULL)
                return;
        if (e->store)
                vs_store_close(e->store);
        free(e->data_root);
        free(e->runtime_root);
        free(e->ctr_root);
        strv_free(e->deferred_links);
        free(e);
}

struct in_use_arg {
        char *data_root;
};

/* Scans every record for the image: a record that cannot be read counts as
 * not using it (it is broken anyway and `rm` removes it). */
static bool image_in_use(const char *image_id, void *arg, char **user)
{
        const char *data_root = arg;
        _cleanup_free_ char *dir = xasprintf("%s/containers", data_root);
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (d == NULL)
                return false;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strlen(de->d_name) != 64)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s/record.json", dir, de->d_name);
                _cleanup_free_ char *text = NULL;
                _cleanup_json_ json_object *rec = NULL;
                /* Only a record holding the id's bytes can name it (an id
                 * is hex, which JSON never escapes): the others are not
                 * parsed. */
                if (vs_read_file(path, &text, NULL, NULL) < 0 || strstr(text, image_id) == NULL ||
                    vs_json_parse(text, path, &rec, NULL) < 0)
                        continue;
                json_object *img = json_object_object_get(rec, "Image");
                if (img && strcmp(json_object_get_string(img), image_id) == 0) {
                        if (user) {
                                json_object *name = json_object_object_get(rec, "Name");
                                *user = xasprintf("%.12s (%s)", de->d_name,
                                                  name ? json_object_get_string(name) : "");
                        }
                        return true;
                }
        }
        return false;
}

void vs_engine_register_image_checks(struct vs_store *s)
{
        /* The store outlives no command: one string per process is enough. */
        static char *registered;
        const char *data_root = vs_store_root(s);
        if (registered == NULL || strcmp(registered, data_root) != 0) {
                free(registered);
                registered = xstrdup(data_root);
        }
        vs_store_set_in_use_check(s, image_in_use, registered);
        vs_store_set_event_hook(s, vs_image_event, registered);
}

int vs_engine_store(struct vs_engine *e, struct vs_store **out, vs_error **err)
{
        if (e->store == NULL) {
                if (vs_store_open(e->data_root, &e->store, err) < 0)
                        return -1;
                vs_engine_register_image_checks(e->store);
        }
        *out = e->store;
        return 0;
}

/* ---- (de)serialisation ---- */

static void add_str(json_object *o, const char *k, const char *v)
{
        json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static json_object *strv_json(char *const *v)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static json_object *strv_or_null(char *const *v)
{
        return v ? strv_json(v) : NULL;
}

static json_object *state_json(const struct vs_ctr_state *s)
{
        json_object *o = json_object_new_object();
        add_str(o, "Status", s->status);
        json_object_object_add(o, "Running", json_object_new_boolean(s->running));
        json_object_object_add(o, "Paused", json_object_new_boolean(s->paused));
        json_object_object_add(o, "Restarting", json_object_new_boolean(s->restarting));
        json_object_object_add(o, "OOMKilled", json_object_new_boolean(s->oom_killed));
        json_object_object_add(o, "Dead", json_object_new_boolean(s->dead));
        json_object_object_add(o, "Pid", json_object_new_int(s->pid));
        json_object_object_add(o, "ExitCode", json_object_new_int(s->exit_code));
        add_str(o, "Error", s->error ? s->error : "");
        add_str(o, "StartedAt", s->started_at ? s->started_at : VS_ZERO_TIME);
        add_str(o, "FinishedAt", s->finished_at ? s->finished_at : VS_ZERO_TIME);
        if (s->health)
                json_object_object_add(o, "Health", json_object_get(s->health));
        return o;
}

json_object *vs_ctr_to_json(const struct vs_ctr *c)
{
        json_object *o = json_object_new_object();
        add_str(o, "Id", c->id);
        add_str(o, "Name", c->name);
        add_str(o, "Created", c->created);
        add_str(o, "Image", c->image_id);
        add_str(o, "ImageName", c->image_name);
        add_str(o, "Path", c->path);
        json_object_object_add(o, "Args", strv_json(c->args));
        json_object_object_add(o, "Config", vs_ctr_config_json(c, false));
        json_object_object_add(o, "HostConfig", vs_ctr_config_json(c, true));
        json_object_object_add(o, "Mounts",
                               c->mounts ? json_object_get(c->mounts) : json_object_new_array());
        json_object_object_add(o, "State", state_json(&c->state));
        json_object_object_add(o, "RestartCount", json_object_new_int(c->restart_count));
        add_str(o, "LogPath", c->log_path);
        json_object_object_add(o, "MonitorPid", json_object_new_int(c->monitor_pid));
        json_object_object_add(o, "MonitorStartTime", json_object_new_uint64(c->monitor_start));
        add_str(o, "BootId", c->boot_id);
        add_str(o, "RuntimeRoot", c->runtime_root);
        json_object_object_add(o, "ManuallyStopped", json_object_new_boolean(c->manually_stopped));
        return o;
}

static char *get_str(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);
        return v && json_object_is_type(v, json_type_string) ? xstrdup(json_object_get_string(v))
                                                             : NULL;
}

static bool get_bool(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);
        return v && json_object_get_boolean(v);
}

static int64_t get_int(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);
        return v ? json_object_get_int64(v) : 0;
}

static char **get_strv(json_object *o, const char *k)
{
        json_object *a = json_object_object_get(o, k);
        char **v = xcalloc(1, sizeof(char *));
        if (a && json_object_is_type(a, json_type_array))
                for (size_t i = 0; i < json_object_array_length(a); i++)
                        strv_push(&v, json_object_get_string(json_object_array_get_idx(a, i)));
        return v;
}

static json_object *get_obj(json_object *o, const char *k, json_type t)
{
        json_object *v = json_object_object_get(o, k);
        if (v && json_object_is_type(v, t))
                return json_object_get(v);
        return t == json_type_array ? json_object_new_array() : json_object_new_object();
}

/* Args, iterated by every command that shows the container: in a damaged
 * record a non-array or a non-string there is an error naming the file, not
 * a crash (Config's and HostConfig's arrays: vs_ctr_read_fields). */
static int check_args(json_object *o, const char *path, vs_error **err)
{
        _cleanup_strv_ char **v = NULL;
        _cleanup_free_ char *ctx = xasprintf("%s: record", path);
        return vs_json_get_strv(o, ctx, "Args", &v, err) < 0 ? -1 : 0;
}

/* ---- the typed fields of Config and HostConfig ---- */

enum field_kind {
        F_STR,  /* char *: a JSON string (any other type reads as absent) */
        F_BOOL, /* bool */
        F_INT,  /* int64_t: 0 when absent */
        F_OPT,  /* int64_t plus the bool at .has: absent is not 0 */
        F_STRV, /* char **: an array of strings, or null */
        F_JSON, /* json_object *: borrowed; checked to be an array when .array */
};

/* One typed field: where it lives in the JSON (up to three keys deep below
 * Config or HostConfig), its kind and its place in the struct. */
struct field {
        bool host; /* HostConfig, else Config */
        const char *key[3];
        enum field_kind kind;
        size_t off, has;
        bool array;
};

#define CF(k, kind, m)                                                                             \
        {                                                                                          \
                false, {k}, kind, offsetof(struct vs_ctr, cfg.m), 0, false                         \
        }
#define HF(k, kind, m)                                                                             \
        {                                                                                          \
                true, {k}, kind, offsetof(struct vs_ctr, hc.m), 0, false                           \
        }
#define CHC(k, kind, m)                                                                            \
        {                                                                                          \
                false, {"Healthcheck", k}, kind, offsetof(struct vs_ctr, cfg.m), 0, false          \
        }
#define HOPT(k, m)                                                                                 \
        {                                                                                          \
                true, {k}, F_OPT, offsetof(struct vs_ctr, hc.m),                                   \
                    offsetof(struct vs_ctr, hc.has_##m), false                                     \
        }
#define HARR(k, m)                                                                                 \
        {                                                                                          \
                true, {k}, F_JSON, offsetof(struct vs_ctr, hc.m), 0, true                          \
        }

static const struct field fields[] = {
    CF("Hostname", F_STR, hostname),
    CF("User", F_STR, user),
    CF("WorkingDir", F_STR, working_dir),
    CF("StopSignal", F_STR, stop_signal),
    CF("Env", F_STRV, env),
    CF("Cmd", F_STRV, cmd),
    CF("Entrypoint", F_STRV, entrypoint),
    CF("Tty", F_BOOL, tty),
    CF("OpenStdin", F_BOOL, open_stdin),
    CF("StdinOnce", F_BOOL, stdin_once),
    {false,
     {"StopTimeout"},
     F_OPT,
     offsetof(struct vs_ctr, cfg.stop_timeout),
     offsetof(struct vs_ctr, cfg.has_stop_timeout),
     false},
    CHC("Test", F_STRV, health_test),
    CHC("Interval", F_INT, health_interval),
    CHC("Timeout", F_INT, health_timeout),
    CHC("StartPeriod", F_INT, health_start_period),
    CHC("StartInterval", F_INT, health_start_interval),
    CHC("Retries", F_INT, health_retries),
    HF("NetworkMode", F_STR, network_mode),
    HF("IPv4Address", F_STR, ipv4_address),
    HF("Isolation", F_STR, isolation),
    HF("CpusetCpus", F_STR, cpuset_cpus),
    {true, {"RestartPolicy", "Name"}, F_STR, offsetof(struct vs_ctr, hc.restart_policy), 0, false},
    {true,
     {"RestartPolicy", "MaximumRetryCount"},
     F_INT,
     offsetof(struct vs_ctr, hc.restart_max_retries),
     0,
     false},
    HF("AutoRemove", F_BOOL, auto_remove),
    HF("Privileged", F_BOOL, privileged),
    HF("Init", F_BOOL, init),
    HF("ReadonlyRootfs", F_BOOL, readonly_rootfs),
    HF("NoNewPrivileges", F_BOOL, no_new_privileges),
    HF("CapAdd", F_STRV, cap_add),
    HF("CapDrop", F_STRV, cap_drop),
    HF("Binds", F_STRV, binds),
    HF("SecurityOpt", F_STRV, security_opt),
    HF("Memory", F_INT, memory),
    HF("NanoCpus", F_INT, nano_cpus),
    HF("CpuShares", F_INT, cpu_shares),
    HF("BlkioWeight", F_INT, blkio_weight),
    HF("MemoryReservation", F_INT, memory_reservation),
    HOPT("MemorySwap", memory_swap),
    HOPT("PidsLimit", pids_limit),
    {true, {"LogConfig", "Type"}, F_STR, offsetof(struct vs_ctr, hc.log_type), 0, false},
    {true,
     {"LogConfig", "Config", "max-size"},
     F_STR,
     offsetof(struct vs_ctr, hc.log_max_size),
     0,
     false},
    {true,
     {"LogConfig", "Config", "max-file"},
     F_STR,
     offsetof(struct vs_ctr, hc.log_max_file),
     0,
     false},
    HARR("Ulimits", ulimits),
    HARR("BlkioDeviceReadBps", blkio_read_bps),
    HARR("BlkioDeviceWriteBps", blkio_write_bps),
    HARR("BlkioDeviceReadIOps", blkio_read_iops),
    HARR("BlkioDeviceWriteIOps", blkio_write_iops),
    HF("SeccompProfile", F_JSON, seccomp_profile),
    HF("PortBindings", F_JSON, port_bindings),
    HF("Networks", F_STRV, networks),
    HF("NetworkAliases", F_STRV, network_aliases),
    HF("Dns", F_STRV, dns),
    HF("DnsSearch", F_STRV, dns_search),
    HF("DnsOptions", F_STRV, dns_options),
    HF("ExtraHosts", F_STRV, extra_hosts),
    HF("CniPluginDirs", F_STRV, cni_plugin_dirs),
    HF("IPv6Address", F_STR, ipv6_address),
    HF("MacAddress", F_STR, mac_address),
    HF("CniNetwork", F_STR, cni_network),
    HF("IpcMode", F_STR, ipc_mode),
    HF("PidMode", F_STR, pid_mode),
    HF("UTSMode", F_STR, uts_mode),
    HF("ShmSize", F_INT, shm_size),
    HF("CpuPeriod", F_INT, cpu_period),
    HF("CpuQuota", F_INT, cpu_quota),
    HF("OomKillDisable", F_BOOL, oom_kill_disable),
    HOPT("OomScoreAdj", oom_score_adj),
    HF("GroupAdd", F_STRV, group_add),
    HF("DeviceCgroupRules", F_STRV, device_cgroup_rules),
    HF("Sysctls", F_JSON, sysctls),
    HARR("Devices", devices),
};

static size_t depth_of(const struct field *f)
{
        return f->key[2] ? 3 : f->key[1] ? 2 : 1;
}

/* The object holding f's last key; NULL when a level is missing (or, with
 * create, made). */
static json_object *field_parent(json_object *root, const struct field *f, bool create)
{
        json_object *o = root;
        for (size_t i = 0; o && i + 1 < depth_of(f); i++) {
                json_object *next = json_object_object_get(o, f->key[i]);
                if (next && !json_object_is_type(next, json_type_object))
                        return NULL;
                if (next == NULL && create) {
                        next = json_object_new_object();
                        json_object_object_add(o, f->key[i], next);
                }
                o = next;
        }
        return o && json_object_is_type(o, json_type_object) ? o : NULL;
}

static void field_ctx(const struct field *f, const char *ctx, char *buf, size_t n)
{
        snprintf(buf, n, "%s: %s", ctx, f->host ? "HostConfig" : "Config");
        for (size_t i = 0; i + 1 < depth_of(f); i++)
                snprintf(buf + strlen(buf), n - strlen(buf), ".%s", f->key[i]);
}

static void clear_fields(struct vs_ctr *c)
{
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                void *p = (char *) c + fields[i].off;
                if (fields[i].kind == F_STR)
                        free(*(char **) p);
                else if (fields[i].kind == F_STRV)
                        strv_free(*(char ***) p);
        }
        memset(&c->cfg, 0, sizeof(c->cfg));
        memset(&c->hc, 0, sizeof(c->hc));
}

static int read_field(struct vs_ctr *c, const struct field *f, const char *ctx, vs_error **err)
{
        json_object *parent = field_parent(f->host ? c->host_config : c->config, f, false);
        const char *key = f->key[depth_of(f) - 1];
        json_object *v = parent ? json_object_object_get(parent, key) : NULL;
        void *p = (char *) c + f->off;
        char where[256];
        switch (f->kind) {
        case F_STR:
                if (v && json_object_is_type(v, json_type_string))
                        *(char **) p = xstrdup(json_object_get_string(v));
                return 0;
        case F_BOOL:
                *(bool *) p = v && json_object_get_boolean(v);
                return 0;
        case F_OPT:
                *(bool *) ((char *) c + f->has) = v != NULL;
                /* fall through */
        case F_INT:
                *(int64_t *) p = v ? json_object_get_int64(v) : 0;
                return 0;
        case F_STRV:
                field_ctx(f, ctx, where, sizeof(where));
                return vs_json_get_strv(parent, where, key, (char ***) p, err) < 0 ? -1 : 0;
        case F_JSON:
                if (f->array && v && !json_object_is_type(v, json_type_array)) {
                        field_ctx(f, ctx, where, sizeof(where));
                        return vs_fail(err, "%s.%s: expected an array", where, key);
                }
                *(json_object **) p = v;
                return 0;
        }
        return 0;
}

/* HostConfig.ConsoleSize: [rows, cols]. */
static void read_console_size(struct vs_ctr *c)
{
        json_object *cs = json_object_object_get(c->host_config, "ConsoleSize");
        if (cs && json_object_is_type(cs, json_type_array) && json_object_array_length(cs) == 2) {
                int64_t rows = json_object_get_int64(json_object_array_get_idx(cs, 0));
                int64_t cols = json_object_get_int64(json_object_array_get_idx(cs, 1));
                if (rows > 0 && rows <= UINT16_MAX && cols > 0 && cols <= UINT16_MAX) {
                        c->hc.console_rows = (unsigned) rows;
                        c->hc.console_cols = (unsigned) cols;
                }
        }
}

/* HostConfig.PortBindings: {"PORT/PROTO": [{"HostIp": S, "HostPort": S}] or
 * null}; anything else would reach the network code's loops. */
static int check_port_bindings(json_object *pb, const char *ctx, vs_error **err)
{
        if (pb == NULL)
                return 0;
        if (!json_object_is_type(pb, json_type_object))
                return vs_fail(err, "%s.PortBindings: expected an object", ctx);
        json_object_object_foreach(pb, port, arr)
        {
                if (arr == NULL)
                        continue;
                if (!json_object_is_type(arr, json_type_array))
                        return vs_fail(err, "%s.PortBindings[%s]: expected an array", ctx, port);
                for (size_t i = 0; i < json_object_array_length(arr); i++)
                        if (!json_object_is_type(json_object_array_get_idx(arr, i),
                                                 json_type_object))
                                return vs_fail(err, "%s.PortBindings[%s][%zu]: expected an object",
                                               ctx, port, i);
        }
        return 0;
}

/* HostConfig.Sysctls: an object of strings; HostConfig.Devices: objects
 * whose three members are strings (hostopts.c reads them). */
static int check_host_opts(const struct vs_ctr_host_config *hc, const char *ctx, vs_error **err)
{
        if (hc->sysctls && !json_object_is_type(hc->sysctls, json_type_object))
                return vs_fail(err, "%s.Sysctls: expected an object", ctx);
        if (hc->sysctls) {
                json_object_object_foreach(hc->sysctls, k, v)
                {
                        if (!json_object_is_type(v, json_type_string))
                                return vs_fail(err, "%s.Sysctls[%s]: expected a string", ctx, k);
                }
        }
        static const char *const keys[] = {"PathOnHost", "PathInContainer", "CgroupPermissions"};
        for (size_t i = 0; hc->devices && i < json_object_array_length(hc->devices); i++) {
                json_object *d = json_object_array_get_idx(hc->devices, i);
                if (!json_object_is_type(d, json_type_object))
                        return vs_fail(err, "%s.Devices[%zu]: expected an object", ctx, i);
                for (size_t k = 0; k < 3; k++)
                        if (!json_object_is_type(json_object_object_get(d, keys[k]),
                                                 json_type_string))
                                return vs_fail(err, "%s.Devices[%zu].%s: expected a string", ctx, i,
                                               keys[k]);
        }
        return 0;
}

int vs_ctr_read_fields(struct vs_ctr *c, const char *ctx, vs_error **err)
{
        clear_fields(c);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if (read_field(c, &fields[i], ctx, err) < 0)
                        return -1;
        read_console_size(c);
        char where[256];
        snprintf(where, sizeof(where), "%s: HostConfig", ctx);
        if (check_host_opts(&c->hc, where, err) < 0)
                return -1;
        return check_port_bindings(c->hc.port_bindings, where, err);
}

/* Writes f's value over the JSON: a value that is unset (NULL, false, 0)
 * is written only where the key already was, so a record read and written
 * again keeps its shape, and an old record gains no keys; an optional
 * number that is not set (F_OPT) is removed. */
static void write_field(const struct vs_ctr *c, json_object *root, const struct field *f)
{
        if (f->kind == F_JSON) /* borrowed from the JSON: it is already there */
                return;
        const char *key = f->key[depth_of(f) - 1];
        const void *p = (const char *) c + f->off;
        bool set = false;
        switch (f->kind) {
        case F_STR:
        case F_STRV:
                set = *(void *const *) p != NULL;
                break;
        case F_BOOL:
                set = *(const bool *) p;
                break;
        case F_INT:
                set = *(const int64_t *) p != 0;
                break;
        case F_OPT:
                set = *(const bool *) ((const char *) c + f->has);
                break;
        case F_JSON:
                break;
        }
        json_object *parent = field_parent(root, f, set);
        if (parent == NULL || (!set && !json_object_object_get_ex(parent, key, NULL)))
                return;
        json_object *v = NULL;
        switch (f->kind) {
        case F_STR:
                v = set ? json_object_new_string(*(char *const *) p) : NULL;
                break;
        case F_STRV:
                v = strv_or_null(*(char **const *) p);
                break;
        case F_BOOL:
                v = json_object_new_boolean(*(const bool *) p);
                break;
        case F_OPT:
                if (!set) { /* absent is its "unset" */
                        json_object_object_del(parent, key);
                        return;
                }
                /* fall through */
        case F_INT:
                v = json_object_new_int64(*(const int64_t *) p);
                break;
        case F_JSON:
                break;
        }
        json_object_object_add(parent, key, v);
}

/* Copies of the stored JSON with the typed fields written over them. */
json_object *vs_ctr_config_json(const struct vs_ctr *c, bool host)
{
        json_object *src = host ? c->host_config : c->config, *out = NULL;
        if (src == NULL || json_object_deep_copy(src, &out, NULL) < 0 || out == NULL)
                out = json_object_new_object();
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if (fields[i].host == host)
                        write_field(c, out, &fields[i]);
        if (host && c->hc.console_rows && c->hc.console_cols) {
                json_object *cs = json_object_new_array();
                json_object_array_add(cs, json_object_new_int((int) c->hc.console_rows));
                json_object_array_add(cs, json_object_new_int((int) c->hc.console_cols));
                json_object_object_add(out, "ConsoleSize", cs);
        }
        return out;
}

static struct vs_ctr *ctr_from_json(json_object *o)
{
        struct vs_ctr *c = xzalloc(sizeof(*c));
        c->id = get_str(o, "Id");
        c->name = get_str(o, "Name");
        c->created = get_str(o, "Created");
        c->image_id = get_str(o, "Image");
        c->image_name = get_str(o, "ImageName");
        c->path = get_str(o, "Path");
        c->args = get_strv(o, "Args");
        c->config = get_obj(o, "Config", json_type_object);
        c->host_config = get_obj(o, "HostConfig", json_type_object);
        c->mounts = get_obj(o, "Mounts", json_type_array);
        json_object *s = json_object_object_get(o, "State");
        c->state.status = get_str(s, "Status");
        if (c->state.status == NULL)
                c->state.status = xstrdup("created");
        c->state.running = get_bool(s, "Running");
        c->state.paused = get_bool(s, "Paused");
        c->state.restarting = get_bool(s, "Restarting");
        c->state.oom_killed = get_bool(s, "OOMKilled");
        c->state.dead = get_bool(s, "Dead");
        c->state.pid = (pid_t) get_int(s, "Pid");
        c->state.exit_code = (int) get_int(s, "ExitCode");
        c->state.error = get_str(s, "Error");
        c->state.started_at = get_str(s, "StartedAt");
        c->state.finished_at = get_str(s, "FinishedAt");
        json_object *health = json_object_object_get(s, "Health");
        json_object *hs = json_object_object_get(health, "Status");
        /* Read by ps and inspect: an object with a string Status, or none. */
        if (health && json_object_is_type(health, json_type_object) && hs &&
            json_object_is_type(hs, json_type_string))
                c->state.health = json_object_get(health);
        c->restart_count = (int) get_int(o, "RestartCount");
        c->log_path = get_str(o, "LogPath");
        c->monitor_pid = (pid_t) get_int(o, "MonitorPid");
        json_object *ms = json_object_object_get(o, "MonitorStartTime");
        c->monitor_start = ms ? (unsigned long long) json_object_get_uint64(ms) : 0;
        c->boot_id = get_str(o, "BootId");
        c->runtime_root = get_str(o, "RuntimeRoot");
        c->manually_stopped = get_bool(o, "ManuallyStopped");
        return c;
}

void vs_ctr_free(struct vs_ctr *c)
{
        if (c == NULL)
                return;
        free(c->id);
        free(c->name);
        free(c->created);
        free(c->image_id);
        free(c->image_name);
        free(c->path);
        strv_free(c->args);
        clear_fields(c);
        if (c->config)
                json_object_put(c->config);
        if (c->host_config)
                json_object_put(c->host_config);
        if (c->mounts)
                json_object_put(c->mounts);
        free(c->state.status);
        free(c->state.error);
        free(c->state.started_at);
        free(c->state.finished_at);
        json_object_put(c->state.health);
        free(c->log_path);
        free(c->boot_id);
        free(c->runtime_root);
        free(c->dir);
        free(c);
}

static bool is_full_id(const char *s)
{
        if (strlen(s) != 64)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* text: the record's bytes when the caller has read them already, else
 * NULL (read here). */
static int ctr_load_text(struct vs_engine *e, const char *id, const char *text, struct vs_ctr **out,
                         vs_error **err)
{
        if (!is_full_id(id))
                return vs_fail(err, "'%s' is not a container id", id);
        _cleanup_free_ char *dir = xasprintf("%s/%s", e->ctr_root, id);
        _cleanup_free_ char *path = xasprintf("%s/record.json", dir);
        _cleanup_json_ json_object *o = NULL;
        if ((text ? vs_json_parse(text, path, &o, err) : vs_json_parse_file(path, &o, err)) < 0) {
                if (*err && (*err)->errno_ == ENOENT) {
                        vs_error_free(err);
                        return vs_error_set(err, ENOENT, "no such container: '%s'", id);
                }
                return -1;
        }
        if (check_args(o, path, err) < 0)
                return -1;
        struct vs_ctr *c = ctr_from_json(o);
        if (vs_ctr_read_fields(c, path, err) < 0) {
                vs_ctr_free(c);
                return -1;
        }
        if (c->id == NULL || strcmp(c->id, id) != 0) {
                vs_ctr_free(c);
                return vs_fail(err, "%s: record does not hold container %s", path, id);
        }
        if (c->path == NULL) { /* create never writes one without */
                vs_ctr_free(c);
                return vs_fail(err, "%s: record has no Path (the command)", path);
        }
        if (c->name == NULL || *c->name == '\0') { /* nor one without a name */
                vs_ctr_free(c);
                return vs_fail(err, "%s: record has no Name", path);
        }
        c->dir = steal_ptr(dir);
        if (c->runtime_root == NULL)
                c->runtime_root = xstrdup(e->runtime_root);
        *out = c;
        return 0;
}

int vs_ctr_load(struct vs_engine *e, const char *id, struct vs_ctr **out, vs_error **err)
{
        return ctr_load_text(e, id, NULL, out, err);
}

int vs_ctr_from_json(json_object *o, const char *ctx, struct vs_ctr **out, vs_error **err)
{
        if (check_args(o, ctx, err) < 0)
                return -1;
        struct vs_ctr *c = ctr_from_json(o);
        if (vs_ctr_read_fields(c, ctx, err) < 0) {
                vs_ctr_free(c);
                return -1;
        }
        if (c->path == NULL || c->name == NULL || *c->name == '\0' || c->image_id == NULL) {
                vs_ctr_free(c);
                return vs_fail(err, "%s: the record has no Path, Name or Image", ctx);
        }
        *out = c;
        return 0;
}

int vs_ctr_reload(struct vs_engine *e, struct vs_ctr **c, vs_error **err)
{
        struct vs_ctr *fresh = NULL;
        if (vs_ctr_load(e, (*c)->id, &fresh, err) < 0)
                return -1;
        vs_ctr_free(*c);
        *c = fresh;
        return 0;
}

int vs_ctr_save(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_json_ json_object *o = vs_ctr_to_json(c);
        _cleanup_free_ char *text = vs_json_to_string(o, true);
        _cleanup_free_ char *path = xasprintf("%s/record.json", c->dir);
        return vs_write_file_atomic(path, text, strlen(text), 0600, err);
}

int vs_ctr_save_state(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_json_ json_object *o = vs_ctr_to_json(c);
        _cleanup_free_ char *text = vs_json_to_string(o, true);
        _cleanup_free_ char *path = xasprintf("%s/record.json", c->dir);
        if (c->hc.auto_remove)
                return vs_write_file_replace(path, text, strlen(text), 0600, err);
        return vs_write_file_ordered(path, text, strlen(text), 0600, err);
}

static int lock_dir(const char *dir, vs_error **err)
{
        return vs_lock_open(dir, O_RDONLY | O_DIRECTORY, 0, err);
}

int vs_ctr_lock(const struct vs_ctr *c, vs_error **err)
{
        int fd = lock_dir(c->dir, err);
        if (fd < 0 && *err && (*err)->errno_ == ENOENT) {
                vs_error_free(err);
                return vs_error_set(err, ENOENT, "no such container: '%s'", c->id);
        }
        return fd;
}

int vs_names_lock(struct vs_engine *e, vs_error **err)
{
        return lock_dir(e->ctr_root, err);
}

/* ---- listing and resolving ---- */

static int cmp_created(const void *a, const void *b)
{
        const struct vs_ctr *x = *(struct vs_ctr *const *) a, *y = *(struct vs_ctr *const *) b;
        int r = strcmp(y->created ? y->created : "", x->created ? x->created : "");
        return r ? r : strcmp(x->id, y->id);
}

/* The records whose id starts with id_prefix or whose bytes hold word
 * (either may be NULL: NULL for both lists them all). A name is stored as
 * it is (names are [a-zA-Z0-9_.-], which JSON never escapes), so a record
 * without word in its bytes cannot bear that name: resolving a name or
 * checking one is free parses only the few records that may match, not
 * every container's. */
static int ctr_list_matching(struct vs_engine *e, const char *id_prefix, const char *word,
                             struct vs_ctr ***out, size_t *n, vs_error **err)
{
        _cleanup_closedir_ DIR *d = opendir(e->ctr_root);
        if (d == NULL)
                return vs_fail_errno(err, "cannot read %s", e->ctr_root);
        struct vs_ctr **v = NULL;
        size_t len = 0;
        struct dirent *de;
        bool all = id_prefix == NULL && word == NULL;
        size_t pl = id_prefix ? strlen(id_prefix) : 0;
        while ((de = readdir(d)) != NULL) {
                if (!is_full_id(de->d_name))
                        continue;
                struct vs_ctr *c = NULL;
                _cleanup_error_ vs_error *lerr = NULL;
                _cleanup_free_ char *text = NULL;
                if (!all && !(id_prefix && strncmp(de->d_name, id_prefix, pl) == 0)) {
                        _cleanup_free_ char *path =
                            xasprintf("%s/%s/record.json", e->ctr_root, de->d_name);
                        if (word == NULL || vs_read_file(path, &text, NULL, &lerr) < 0 ||
                            strstr(text, word) == NULL)
                                continue;
                }
                /* Half-created or half-removed directories have no record. */
                if (ctr_load_text(e, de->d_name, text, &c, &lerr) < 0)
                        continue;
                v = xrealloc(v, (len + 1) * sizeof(*v));
                v[len++] = c;
        }
        if (len)
                qsort(v, len, sizeof(*v), cmp_created);
        *out = v;
        *n = len;
        return 0;
}

int vs_ctr_list(struct vs_engine *e, struct vs_ctr ***out, size_t *n, vs_error **err)
{
        return ctr_list_matching(e, NULL, NULL, out, n, err);
}

void vs_ctr_list_free(struct vs_ctr **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                vs_ctr_free(v[i]);
        free(v);
}

int vs_ctr_resolve(struct vs_engine *e, const char *ref, struct vs_ctr **out, vs_error **err)
{
        if (ref == NULL || *ref == '\0')
                return vs_fail(err, "empty container name or id");
        if (ref[0] == '/')
                ref++; /* Docker prints names as "/name" */
        if (is_full_id(ref)) {
                _cleanup_error_ vs_error *lerr = NULL;
                if (vs_ctr_load(e, ref, out, &lerr) == 0)
                        return 0;
        }
        struct vs_ctr **v = NULL;
        size_t n = 0;
        if (ctr_list_matching(e, ref, ref, &v, &n, err) < 0)
                return -1;
        ssize_t by_name = -1, by_prefix = -1;
        size_t n_prefix = 0;
        size_t rl = strlen(ref);
        for (size_t i = 0; i < n; i++) {
                if (v[i]->name && strcmp(v[i]->name, ref) == 0)
                        by_name = (ssize_t) i;
                if (strncmp(v[i]->id, ref, rl) == 0) {
                        by_prefix = (ssize_t) i;
                        n_prefix++;
                }
        }
        ssize_t pick = by_name >= 0 ? by_name : (n_prefix == 1 ? by_prefix : -1);
        int r = 0;
        if (pick >= 0) {
                *out = v[pick];
                v[pick] = NULL;
        } else if (n_prefix > 1) {
                r = vs_fail(err, "'%s' matches %zu containers: give more of the id", ref, n_prefix);
        } else {
                r = vs_error_set(err, ENOENT, "no such container: '%s'", ref);
        }
        vs_ctr_list_free(v, n);
        return r;
}

/* ---- names ---- */

int vs_name_validate(const char *name, vs_error **err)
{
        size_t n = strlen(name);
        bool ok = n > 0 && n <= 128;
        for (size_t i = 0; ok && i < n; i++) {
                char ch = name[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                             (ch >= '0' && ch <= '9');
                ok = alnum || (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
        }
        if (!ok)
                return vs_fail(err,
                               "invalid container name '%s': names are 1 to 128 characters of "
                               "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
                               name);
        return 0;
}

int vs_name_check_free(struct vs_engine *e, const char *name, const char *self_id, vs_error **err)
{
        struct vs_ctr **v = NULL;
        size_t n = 0;
        if (ctr_list_matching(e, NULL, name, &v, &n, err) < 0)
                return -1;
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++)
                if (v[i]->name && strcmp(v[i]->name, name) == 0 &&
                    (self_id == NULL || strcmp(v[i]->id, self_id) != 0))
                        r = vs_error_set(err, EEXIST,
                                         "the container name '%s' is already in use by "
                                         "container %.12s: remove or rename that container "
                                         "first",
                                         name, v[i]->id);
        vs_ctr_list_free(v, n);
        return r;
}

char *vs_name_generate(void)
{
        static const char *const adjectives[] = {
            "agile",  "amber",  "bold",   "brave",  "brisk",  "calm",   "clever", "cosmic",
            "crisp",  "daring", "deft",   "eager",  "fancy",  "fierce", "gentle", "glad",
            "golden", "happy",  "hardy",  "humble", "jolly",  "keen",   "kind",   "lively",
            "lucid",  "merry",  "mighty", "nimble", "noble",  "plucky", "proud",  "quick",
            "quiet",  "rapid",  "serene", "sharp",  "shiny",  "silent", "sleepy", "snappy",
            "steady", "stoic",  "sunny",  "swift",  "tender", "tidy",   "vivid",  "witty",
        };
        static const char *const nouns[] = {
            "albatross", "badger", "beacon",  "canyon",  "cedar",   "comet",   "coral",
            "cormorant", "delta",  "dune",    "falcon",  "fjord",   "glacier", "harbor",
            "heron",     "island", "kestrel", "lagoon",  "lantern", "lynx",    "maple",
            "meadow",    "nebula", "orca",    "osprey",  "otter",   "pebble",  "pelican",
            "pine",      "puffin", "quartz",  "raven",   "reef",    "river",   "sparrow",
            "spruce",    "summit", "tern",    "thistle", "tundra",  "walrus",  "willow",
        };
        _cleanup_free_ char *hex = vs_random_hex(4);
        unsigned long r = strtoul(hex, NULL, 16);
        size_t na = sizeof(adjectives) / sizeof(adjectives[0]);
        size_t nn = sizeof(nouns) / sizeof(nouns[0]);
        return xasprintf("%s_%s", adjectives[r % na], nouns[(r / na) % nn]);
}

/* ---- live state ---- */

bool vs_ctr_monitor_alive(const struct vs_ctr *c)
{
        if (c->monitor_pid <= 0)
                return false;
        _cleanup_free_ char *boot = vs_boot_id();
        if (c->boot_id && *boot && strcmp(c->boot_id, boot) != 0)
                return false;
        return vs_pid_is(c->monitor_pid, c->monitor_start);
}

static void set_status(struct vs_ctr *c, const char *status)
{
        free(c->state.status);
        c->state.status = xstrdup(status);
}

void vs_ctr_refresh(struct vs_engine *e, struct vs_ctr *c)
{
        vs_ctr_recover(e, c);
        c->unmonitored = c->exit_unknown = false;
        const char *s = c->state.status;
        bool active =
            strcmp(s, "running") == 0 || strcmp(s, "paused") == 0 || strcmp(s, "restarting") == 0;
        if (!active || vs_ctr_monitor_alive(c))
                return;
        /* The monitor is gone (killed, or the host rebooted): only the
         * runtime's state can tell whether the container still runs. */
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_error_ vs_error *lerr = NULL;
        const char *rt = NULL;
        if (vs_state_load(c->runtime_root, c->id, &st, &lerr) == 0)
                rt = vs_state_status(c->runtime_root, st);
        if (rt && (strcmp(rt, "running") == 0 || strcmp(rt, "paused") == 0)) {
                set_status(c, rt);
                c->state.running = true;
                c->state.paused = strcmp(rt, "paused") == 0;
                c->state.restarting = false;
                c->state.pid = st->pid;
                c->unmonitored = true;
                return;
        }
        set_status(c, "exited");
        c->state.running = c->state.paused = c->state.restarting = false;
        c->state.pid = 0;
        c->state.exit_code = -1;
        free(c->state.error);
        c->state.error = xstrdup("the container's monitor is gone: exit status unknown");
        c->exit_unknown = true;
}

/* Docker's HostConfig members vessel has no value of its own for: their
 * zero (Docker's defaults where a zero would say something false). */
static const char hc_zero[] =
    "{\"Binds\": null, \"ContainerIDFile\": \"\", \"NetworkMode\": \"default\", "
    "\"PortBindings\": {}, \"VolumeDriver\": \"\", \"VolumesFrom\": null, \"CapAdd\": null, "
    "\"CapDrop\": null, \"Dns\": [], \"DnsOptions\": [], \"DnsSearch\": [], \"ExtraHosts\": null, "
    "\"GroupAdd\": null, \"IpcMode\": \"private\", \"Cgroup\": \"\", \"Links\": null, "
    "\"OomScoreAdj\": 0, \"PidMode\": \"\", \"Privileged\": false, \"PublishAllPorts\": false, "
    "\"ReadonlyRootfs\": false, \"SecurityOpt\": null, \"UTSMode\": \"\", \"UsernsMode\": \"\", "
    "\"ShmSize\": 67108864, \"Runtime\": \"vessel\", \"ConsoleSize\": [0, 0], \"Isolation\": \"\", "
    "\"CpuShares\": 0, \"Memory\": 0, \"NanoCpus\": 0, \"CgroupParent\": \"\", "
    "\"CgroupnsMode\": \"private\", \"BlkioWeight\": 0, \"BlkioWeightDevice\": [], "
    "\"BlkioDeviceReadBps\": null, \"BlkioDeviceWriteBps\": null, \"BlkioDeviceReadIOps\": null, "
    "\"BlkioDeviceWriteIOps\": null, \"CpuPeriod\": 0, \"CpuQuota\": 0, \"CpuRealtimePeriod\": 0, "
    "\"CpuRealtimeRuntime\": 0, \"CpusetCpus\": \"\", \"CpusetMems\": \"\", \"Devices\": [], "
    "\"DeviceCgroupRules\": null, \"DeviceRequests\": null, \"KernelMemory\": 0, "
    "\"KernelMemoryTCP\": 0, \"MemoryReservation\": 0, \"MemorySwap\": 0, "
    "\"MemorySwappiness\": null, \"OomKillDisable\": false, \"PidsLimit\": null, \"Ulimits\": "
    "null, "
    "\"CpuCount\": 0, \"CpuPercent\": 0, \"IOMaximumIOps\": 0, \"IOMaximumBandwidth\": 0}";

/* NetworkSettings without a network (the settings of a networked
 * container, src/engine/network.c, give theirs; these fill the rest). */
static const char net_zero[] =
    "{\"Bridge\": \"\", \"SandboxID\": \"\", \"HairpinMode\": false, "
    "\"LinkLocalIPv6Address\": \"\", \"LinkLocalIPv6PrefixLen\": 0, \"Ports\": {}, "
    "\"SandboxKey\": \"\", \"SecondaryIPAddresses\": null, \"SecondaryIPv6Addresses\": null, "
    "\"EndpointID\": \"\", \"Gateway\": \"\", \"GlobalIPv6Address\": \"\", "
    "\"GlobalIPv6PrefixLen\": 0, \"IPAddress\": \"\", \"IPPrefixLen\": 0, \"IPv6Gateway\": \"\", "
    "\"MacAddress\": \"\"}";

/* Docker's inspect shape: every member Docker shows, zero when unset;
 * the empty ones Docker leaves out (omitempty) left out too. */
static void docker_shape(const struct vs_ctr *c, json_object *o)
{
        vs_json_add_defaults(o, "{\"AppArmorProfile\": \"\", \"ExecIDs\": null, \"MountLabel\": "
                                "\"\", \"ProcessLabel\": \"\"}");
        json_object *hc = json_object_object_get(o, "HostConfig");
        vs_json_add_defaults(hc, hc_zero);
        if (!json_object_object_get_ex(hc, "MaskedPaths", NULL)) {
                const char *const *masked, *const *readonly;
                vs_engine_default_paths(&masked, &readonly);
                json_object *m = json_object_new_array(), *r = json_object_new_array();
                for (size_t i = 0; !c->hc.privileged && masked[i]; i++)
                        json_object_array_add(m, json_object_new_string(masked[i]));
                for (size_t i = 0; !c->hc.privileged && readonly[i]; i++)
                        json_object_array_add(r, json_object_new_string(readonly[i]));
                json_object_object_add(hc, "MaskedPaths", m);
                json_object_object_add(hc, "ReadonlyPaths", r);
        }
        static const char *const omitempty[] = {"Mounts", "Tmpfs", NULL};
        for (size_t i = 0; omitempty[i]; i++) {
                json_object *v = json_object_object_get(hc, omitempty[i]);
                if (v && ((json_object_is_type(v, json_type_array) &&
                           json_object_array_length(v) == 0) ||
                          (json_object_is_type(v, json_type_object) &&
                           json_object_object_length(v) == 0)))
                        json_object_object_del(hc, omitempty[i]);
        }
        if (!c->hc.init)
                json_object_object_del(hc, "Init");
        json_object *cfg = json_object_object_get(o, "Config");
        vs_json_add_defaults(cfg, "{\"OnBuild\": null}");
        /* vessel's default network is a namespace with only loopback: what
         * Docker calls a disabled network (its default with --bridge=none). */
        const char *mode = c->hc.network_mode;
        if (mode == NULL || *mode == '\0' || strcmp(mode, "default") == 0)
                json_object_object_add(cfg, "NetworkDisabled", json_object_new_boolean(1));
        vs_json_add_defaults(json_object_object_get(o, "NetworkSettings"), net_zero);
}

json_object *vs_ctr_inspect(struct vs_engine *e, const struct vs_ctr *c)
{
        json_object *o = json_object_new_object();
        add_str(o, "Id", c->id);
        add_str(o, "Created", c->created);
        add_str(o, "Path", c->path);
        json_object_object_add(o, "Args", strv_json(c->args));
        json_object_object_add(o, "State", state_json(&c->state));
        add_str(o, "Image", c->image_id);
        add_str(o, "ImageName", c->image_name);
        _cleanup_free_ char *resolv = xasprintf("%s/resolv.conf", c->dir);
        _cleanup_free_ char *hostname = xasprintf("%s/hostname", c->dir);
        _cleanup_free_ char *hosts = xasprintf("%s/hosts", c->dir);
        add_str(o, "ResolvConfPath", resolv);
        add_str(o, "HostnamePath", hostname);
        add_str(o, "HostsPath", hosts);
        add_str(o, "LogPath", c->log_path);
        _cleanup_free_ char *name = xasprintf("/%s", c->name ? c->name : "");
        add_str(o, "Name", name);
        json_object_object_add(o, "RestartCount", json_object_new_int(c->restart_count));
        add_str(o, "Driver", "overlay");
        add_str(o, "Platform", "linux");
        json_object *gd = json_object_new_object();
        json_object *data = json_object_new_object();
        _cleanup_free_ char *merged = xasprintf("%s/rootfs", c->dir);
        _cleanup_free_ char *upper = xasprintf("%s/upper", c->dir);
        _cleanup_free_ char *work = xasprintf("%s/work", c->dir);
        add_str(data, "MergedDir", merged);
        add_str(data, "UpperDir", upper);
        add_str(data, "WorkDir", work);
        json_object_object_add(gd, "Data", data);
        add_str(gd, "Name", "overlay");
        json_object_object_add(o, "GraphDriver", gd);
        json_object_object_add(o, "HostConfig", vs_ctr_config_json(c, true));
        json_object_object_add(o, "Mounts",
                               c->mounts ? json_object_get(c->mounts) : json_object_new_array());
        json_object_object_add(o, "Config", vs_ctr_config_json(c, false));
        json_object *net = vs_engine_net_settings(e, c);
        if (net == NULL) {
                net = json_object_new_object();
                json_object *nets = json_object_new_object();
                json_object_object_add(nets, c->hc.network_mode ? c->hc.network_mode : "none",
                                       json_object_new_object());
                json_object_object_add(net, "Networks", nets);
        }
        json_object_object_add(o, "NetworkSettings", net);
        json_object_object_add(o, "MonitorPid", json_object_new_int(c->monitor_pid));
        /* A VM container (on a network or not): what its last start used
         * (accelerator, kernel). */
        _cleanup_free_ char *vmpath = xasprintf("%s/vm.json", c->dir);
        json_object *vm = NULL;
        if (vs_path_exists(vmpath) && vs_json_parse_file(vmpath, &vm, NULL) == 0) {
                /* Its last checkpoint (src/vm/checkpoint.c), as podman shows
                 * one: where, when, how big. */
                _cleanup_free_ char *ck = xasprintf("%s/checkpoint", c->dir);
                _cleanup_free_ char *meta = xasprintf("%s/checkpoint.json", ck);
                json_object *m = NULL;
                if (vs_path_exists(meta) && vs_json_parse_file(meta, &m, NULL) == 0) {
                        json_object *info = json_object_new_object();
                        add_str(info, "Path", ck);
                        json_object *v = json_object_object_get(m, "Created");
                        add_str(info, "Created", v ? json_object_get_string(v) : NULL);
                        v = json_object_object_get(m, "StateBytes");
                        json_object_object_add(info, "StateBytes",
                                               json_object_new_int64(json_object_get_int64(v)));
                        json_object_put(m);
                        json_object_object_add(vm, "Checkpoint", info);
                }
                json_object_object_add(o, "VM", vm);
        }
        docker_shape(c, o);
        return o;
}
