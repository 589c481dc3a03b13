/* The kernel and device flags of `run`/`create` (Docker's names and rules):
 * --shm-size, --sysctl, --group-add, --device, --device-cgroup-rule,
 * --oom-score-adj, --oom-kill-disable. Validated into HostConfig at create
 * (every error names its flag, before anything exists), turned into the OCI
 * config at each start (the runtime mounts /dev/shm, writes linux.sysctl,
 * makes linux.devices and their cgroup rules, sets oomScoreAdj).
 * --group-add is resolved with the user (ociconfig.c, vs_user_add_groups);
 * --cpu-period/--cpu-quota and --oom-kill-disable's cgroup value go with the
 * other resources (create.c parse_resources, ociconfig.c build_resources). */
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/rootless.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static const char *hc_str(json_object *hc, const char *key)
{
        json_object *v = json_object_object_get(hc, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* ---- --sysctl ---- */

/* Docker's list (opts.ValidateSysctl): the IPC namespace's kernel.* keys,
 * fs.mqueue.* (IPC too) and net.* (the network namespace's). */
static const char *sysctl_namespace(const char *key)
{
        static const char *const ipc_keys[] = {
            "kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
            "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
            "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
        for (size_t i = 0; ipc_keys[i]; i++)
                if (strcmp(key, ipc_keys[i]) == 0)
                        return "ipc";
        if (strncmp(key, "fs.mqueue.", 10) == 0)
                return "ipc";
        if (strncmp(key, "net.", 4) == 0)
                return "network";
        return NULL;
}

/* A key the runtime can open below /proc/sys: dot-separated names without
 * '/', whitespace or empty parts. */
static bool sysctl_key_ok(const char *key)
{
        if (*key == '\0' || *key == '.' || key[strlen(key) - 1] == '.' || strstr(key, ".."))
                return false;
        for (const char *p = key; *p; p++)
                if (*p == '/' || isspace((unsigned char) *p) || !isprint((unsigned char) *p))
                        return false;
        return true;
}

static int parse_sysctls(char *const *list, json_object *hc, vs_error **err)
{
        if (list == NULL)
                return 0; /* Docker's omitempty: no key */
        json_object *out = json_object_new_object();
        json_object_object_add(hc, "Sysctls", out);
        for (size_t i = 0; list && list[i]; i++) {
                const char *kv = list[i], *eq = strchr(kv, '=');
                if (eq == NULL || eq == kv)
                        return vs_fail(err, "--sysctl %s: expected KEY=VALUE", kv);
                _cleanup_free_ char *key = xstrndup(kv, (size_t) (eq - kv));
                const char *ns = sysctl_namespace(key);
                if (ns == NULL)
                        return vs_fail(err,
                                       "--sysctl %s: '%s' is not a namespaced sysctl: it would "
                                       "change the host (kernel.msg*, kernel.sem, kernel.shm*, "
                                       "fs.mqueue.*, net.*)",
                                       kv, key);
                if (!sysctl_key_ok(key))
                        return vs_fail(err, "--sysctl %s: invalid key '%s'", kv, key);
                if (strcmp(ns, "network") == 0 && strcmp(hc_str(hc, "NetworkMode"), "host") == 0)
                        return vs_fail(err,
                                       "--sysctl %s: not allowed with --network host: the "
                                       "network namespace is the host's",
                                       kv);
                if (strcmp(ns, "ipc") == 0 && strcmp(hc_str(hc, "IpcMode"), "host") == 0)
                        return vs_fail(err,
                                       "--sysctl %s: not allowed with --ipc host: the IPC "
                                       "namespace is the host's",
                                       kv);
                json_object_object_add(out, key, json_object_new_string(eq + 1));
        }
        return 0;
}

/* ---- --device, --device-cgroup-rule ---- */

/* Docker's validDeviceMode: a non-empty subset of "rwm", no letter twice. */
static bool device_mode_ok(const char *m)
{
        if (*m == '\0' || strlen(m) > 3)
                return false;
        for (const char *p = m; *p; p++)
                if (strchr("rwm", *p) == NULL || strchr(p + 1, *p) != NULL)
                        return false;
        return true;
}

/* A device node of a --device: its host path, container path, and what
 * the host says of it now. */
struct dev_node {
        char *host, *ctr;
        struct stat st;
};

struct dev_walk {
        const char *flag;
        struct dev_node *v;
        size_t n, seen;
        vs_error **err;
};

/* A directory's walk stops here: `--device /` would walk every file. */
#define DEVICE_WALK_MAX_ENTRIES 100000
#define DEVICE_WALK_MAX_DEPTH   64

static void dev_nodes_free(struct dev_node *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].host);
                free(v[i].ctr);
        }
        free(v);
}

static void dev_push(struct dev_walk *w, const char *host, const char *ctr, const struct stat *st)
{
        w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
        w->v[w->n++] = (struct dev_node){xstrdup(host), xstrdup(ctr), *st};
}

/* Go's filepath.Walk orders names bytewise. */
static int name_order(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *d)
{
        return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Docker's walk of a --device directory (oci.DevicesFromPath): every
 * character or block node beneath it, found with lstat (symlinks are not
 * followed, into directories neither), others passed over. */
static int walk_devices(struct dev_walk *w, const char *host, const char *ctr, int depth)
{
        if (depth > DEVICE_WALK_MAX_DEPTH)
                return vs_fail(w->err, "%s: %s is nested too deeply (over %d directories)", w->flag,
                               host, DEVICE_WALK_MAX_DEPTH);
        struct dirent **names = NULL;
        int n = scandir(host, &names, skip_dots, name_order);
        if (n < 0)
                return vs_fail_errno(w->err, "%s: cannot read the directory %s", w->flag, host);
        int r = 0;
        for (int i = 0; i < n; i++) {
                if (r == 0 && ++w->seen > DEVICE_WALK_MAX_ENTRIES)
                        r = vs_fail(w->err, "%s: more than %d files beneath the directory", w->flag,
                                    DEVICE_WALK_MAX_ENTRIES);
                if (r == 0) {
                        _cleanup_free_ char *hp = xasprintf("%s/%s", host, names[i]->d_name);
                        _cleanup_free_ char *cp = xasprintf("%s/%s", ctr, names[i]->d_name);
                        struct stat st;
                        if (lstat(hp, &st) < 0)
                                ; /* gone meanwhile: Docker's walk ignores it too */
                        else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                                dev_push(w, hp, cp, &st);
                        else if (S_ISDIR(st.st_mode))
                                r = walk_devices(w, hp, cp, depth + 1);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

/* The host's device nodes behind a --device HOST:CTR (symlinks followed,
 * as Docker's EvalSymlinks): HOST itself when it is a character or block
 * device; when a directory, every node beneath it at CTR plus its path
 * relative to HOST, as Docker adds them. Else an error naming flag. */
static int device_nodes(const char *flag, const char *host, const char *ctr, struct dev_node **out,
                        size_t *n, vs_error **err)
{
        *out = NULL;
        *n = 0;
        struct stat st;
        if (stat(host, &st) < 0)
                return vs_fail_errno(err, "%s: error gathering device information for %s", flag,
                                     host);
        struct dev_walk w = {.flag = flag, .err = err};
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                dev_push(&w, host, ctr, &st);
        } else if (S_ISDIR(st.st_mode)) {
                _cleanup_free_ char *dir = realpath(host, NULL);
                if (!dir)
                        return vs_fail_errno(err, "%s: cannot resolve %s", flag, host);
                _cleanup_free_ char *base = xstrdup(ctr);
                for (size_t k = strlen(base); k > 1 && base[k - 1] == '/';)
                        base[--k] = '\0';
                if (walk_devices(&w, strcmp(dir, "/") == 0 ? "" : dir,
                                 strcmp(base, "/") == 0 ? "" : base, 0) < 0) {
                        dev_nodes_free(w.v, w.n);
                        return -1;
                }
                if (w.n == 0)
                        return vs_fail(err,
                                       "%s: error gathering device information for %s: no "
                                       "device node beneath the directory",
                                       flag, host);
        } else {
                return vs_fail(err, "%s: %s is not a device node", flag, host);
        }
        *out = w.v;
        *n = w.n;
        return 0;
}

/* HOST[:CONTAINER][:PERMISSIONS] (Docker's validateLinuxPath). */
static int parse_device(const char *spec, json_object *out, vs_error **err)
{
        _cleanup_free_ char *flag = xasprintf("--device %s", spec);
        size_t colons = 0;
        for (const char *p = spec; *p; p++)
                colons += *p == ':';
        if (colons > 2 || *spec == '\0' || *spec == ':')
                return vs_fail(err, "%s: bad format (HOST[:CONTAINER][:PERMISSIONS])", flag);
        _cleanup_free_ char *copy = xstrdup(spec);
        char *parts[3] = {copy, NULL, NULL};
        for (size_t i = 1; i <= colons; i++) {
                parts[i] = strchr(parts[i - 1], ':');
                *parts[i]++ = '\0';
        }
        const char *host = parts[0], *ctr = parts[0], *mode = "rwm";
        if (colons == 1 && device_mode_ok(parts[1])) {
                mode = parts[1];
        } else if (colons >= 1) {
                ctr = parts[1];
                if (colons == 2) {
                        mode = parts[2];
                        if (!device_mode_ok(mode))
                                return vs_fail(err, "%s: bad mode '%s' (a subset of rwm)", flag,
                                               mode);
                }
        }
        if (ctr[0] != '/')
                return vs_fail(err, "%s: %s is not an absolute path", flag, ctr);
        if (host[0] != '/')
                return vs_fail(err, "%s: the host path %s is not absolute", flag, host);
        /* Docker keeps the flag's entry (a directory stays one) and finds
         * its nodes at each start; they are checked here too, before
         * anything exists */
        struct dev_node *nodes;
        size_t n;
        if (device_nodes(flag, host, ctr, &nodes, &n, err) < 0)
                return -1;
        dev_nodes_free(nodes, n);
        json_object *d = json_object_new_object();
        json_object_object_add(d, "PathOnHost", json_object_new_string(host));
        json_object_object_add(d, "PathInContainer", json_object_new_string(ctr));
        json_object_object_add(d, "CgroupPermissions", json_object_new_string(mode));
        json_object_array_add(out, d);
        return 0;
}

struct cgroup_rule {
        char type;
        int64_t major, minor; /* -1: '*' */
        char access[4];
};

static bool rule_number(const char **p, int64_t *out)
{
        if (**p == '*') {
                (*p)++;
                *out = -1;
                return true;
        }
        if (!isdigit((unsigned char) **p))
                return false;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(*p, &end, 10);
        if (errno || v > UINT32_MAX)
                return false;
        *p = end;
        *out = (int64_t) v;
        return true;
}

/* "TYPE MAJOR:MINOR ACCESS", Docker's ^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$ */
static bool parse_cgroup_rule(const char *s, struct cgroup_rule *r)
{
        const char *p = s;
        if (*p == '\0' || !strchr("acb", *p) || p[1] != ' ')
                return false;
        r->type = *p;
        p += 2;
        if (!rule_number(&p, &r->major) || *p++ != ':' || !rule_number(&p, &r->minor) ||
            *p++ != ' ')
                return false;
        size_t n = strlen(p);
        if (n < 1 || n > 3 || strspn(p, "rwm") != n)
                return false;
        /* "rr" is Docker's too; the runtime wants each letter once */
        size_t k = 0;
        for (const char *l = "rwm"; *l; l++)
                if (strchr(p, *l))
                        r->access[k++] = *l;
        r->access[k] = '\0';
        return true;
}

static int parse_devices(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        /* Docker's shapes: Devices [] when none, DeviceCgroupRules null */
        json_object *devs = json_object_new_array(), *rules = json_object_new_array();
        json_object_object_add(hc, "Devices", devs);
        if (f->device_cgroup_rules)
                json_object_object_add(hc, "DeviceCgroupRules", rules);
        else
                json_object_put(rules);
        if (f->device_cgroup_rules && vs_rootless())
                return vs_fail(err, "--device-cgroup-rule: the rootless engine has no devices "
                                    "cgroup to add a rule to");
        for (size_t i = 0; f->devices && f->devices[i]; i++)
                if (parse_device(f->devices[i], devs, err) < 0)
                        return -1;
        for (size_t i = 0; f->device_cgroup_rules && f->device_cgroup_rules[i]; i++) {
                struct cgroup_rule r;
                if (!parse_cgroup_rule(f->device_cgroup_rules[i], &r))
                        return vs_fail(err,
                                       "--device-cgroup-rule: invalid device cgroup format '%s' "
                                       "(TYPE MAJOR:MINOR ACCESS: 'c 1:3 rwm', 'b 8:* r')",
                                       f->device_cgroup_rules[i]);
                json_object_array_add(rules, json_object_new_string(f->device_cgroup_rules[i]));
        }
        return 0;
}

/* ---- the rest ---- */

/* The flags a VM cannot honour: its guest kernel has its own /dev, sysctls,
 * cgroups and OOM killer. */
static const char *vm_refused(const struct vs_run_flags *f)
{
        return f->devices               ? "--device"
               : f->device_cgroup_rules ? "--device-cgroup-rule"
               : f->sysctls             ? "--sysctl"
               : f->shm_size            ? "--shm-size"
               : f->oom_score_adj       ? "--oom-score-adj"
               : f->oom_kill_disable    ? "--oom-kill-disable"
               : f->cpu_period          ? "--cpu-period"
               : f->cpu_quota           ? "--cpu-quota"
                                        : NULL;
}

int vs_engine_parse_host_opts(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        const char *refused = vm_refused(f);
        if (refused && strcmp(hc_str(hc, "Isolation"), "vm") == 0)
                return vs_fail(err,
                               "%s is not supported with --isolation=vm (the guest kernel "
                               "has its own)",
                               refused);
        /* Docker: 0 is the default size (daemon.json default-shm-size). */
        int64_t shm = 0;
        if (f->shm_size && vs_parse_size("--shm-size", f->shm_size, &shm, err) < 0)
                return -1;
        json_object_object_add(hc, "ShmSize",
                               json_object_new_int64(shm ? shm : vs_config_get()->shm_size));
        if (parse_sysctls(f->sysctls, hc, err) < 0)
                return -1;
        json_object *groups = json_object_new_array(); /* null when none, as Docker */
        if (f->group_add)
                json_object_object_add(hc, "GroupAdd", groups);
        else
                json_object_put(groups);
        for (size_t i = 0; f->group_add && f->group_add[i]; i++) {
                const char *g = f->group_add[i];
                if (*g == '\0' || strchr(g, ':') || strchr(g, '\n'))
                        return vs_fail(err, "--group-add: invalid group '%s'", g);
                json_object_array_add(groups, json_object_new_string(g));
        }
        if (parse_devices(f, hc, err) < 0)
                return -1;
        if (f->oom_score_adj) {
                char *end;
                errno = 0;
                long v = strtol(f->oom_score_adj, &end, 10);
                if (end == f->oom_score_adj || *end || errno || v < -1000 || v > 1000)
                        return vs_fail(err,
                                       "--oom-score-adj: invalid value '%s' (an integer from "
                                       "-1000 to 1000)",
                                       f->oom_score_adj);
                json_object_object_add(hc, "OomScoreAdj", json_object_new_int64(v));
        }
        if (f->oom_kill_disable) {
                if (vs_rootless() && vs_rootless_limits("--oom-kill-disable", err) < 0)
                        return -1;
                json_object_object_add(hc, "OomKillDisable", json_object_new_boolean(1));
        }
        return 0;
}

/* ---- OCI ---- */

static json_object *oci_device_rule(char type, int64_t major, int64_t minor, const char *access)
{
        json_object *r = json_object_new_object();
        char t[2] = {type, '\0'};
        json_object_object_add(r, "allow", json_object_new_boolean(1));
        json_object_object_add(r, "type", json_object_new_string(t));
        if (major >= 0)
                json_object_object_add(r, "major", json_object_new_int64(major));
        if (minor >= 0)
                json_object_object_add(r, "minor", json_object_new_int64(minor));
        json_object_object_add(r, "access", json_object_new_string(access));
        return r;
}

static json_object *child(json_object *parent, const char *key, json_type type)
{
        json_object *v = json_object_object_get(parent, key);
        if (v == NULL || !json_object_is_type(v, type)) {
                v = type == json_type_array ? json_object_new_array() : json_object_new_object();
                json_object_object_add(parent, key, v);
        }
        return v;
}

/* In a user namespace a device node cannot be made (mknod needs the
 * initial namespace's CAP_MKNOD) and one on a filesystem mounted there
 * would not open: the host's node is bound instead, as runc does for
 * rootless containers; its cgroup rule still applies where there is one. */
static void bind_device(json_object *spec, const char *host, const char *ctr)
{
        _cleanup_free_ char *src = realpath(host, NULL);
        json_object *m = json_object_new_object();
        json_object_object_add(m, "destination", json_object_new_string(ctr));
        json_object_object_add(m, "type", json_object_new_string("bind"));
        json_object_object_add(m, "source", json_object_new_string(src ? src : host));
        json_object *opts = json_object_new_array();
        json_object_array_add(opts, json_object_new_string("bind"));
        json_object_array_add(opts, json_object_new_string("rprivate"));
        json_object_array_add(opts, json_object_new_string("nosuid"));
        json_object_array_add(opts, json_object_new_string("noexec"));
        json_object_object_add(m, "options", opts);
        json_object_array_add(child(spec, "mounts", json_type_array), m);
}

/* One device node: its allow rule, and the node (or, in a user namespace,
 * a bind of the host's). */
static int oci_device_node(json_object *spec, json_object *nodes, json_object *rules, bool userns,
                           const char *flag, const struct dev_node *dn, const char *perm,
                           vs_error **err)
{
        const struct stat *st = &dn->st;
        const char *ctr = dn->ctr;
        char type = S_ISBLK(st->st_mode) ? 'b' : 'c';
        json_object_array_add(rules,
                              oci_device_rule(type, major(st->st_rdev), minor(st->st_rdev), perm));
        if (userns) {
                /* the runtime binds its default nodes itself there */
                static const char *const defaults[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                                       "/dev/random", "/dev/urandom", "/dev/tty",
                                                       NULL};
                struct stat same;
                bool dflt = false;
                for (size_t k = 0; defaults[k] && !dflt; k++)
                        dflt = strcmp(ctr, defaults[k]) == 0;
                if (dflt && (stat(ctr, &same) < 0 || same.st_rdev != st->st_rdev))
                        return vs_fail(err,
                                       "%s: %s is a default device of the container, bound from "
                                       "the host's in a user namespace",
                                       flag, ctr);
                if (!dflt)
                        bind_device(spec, dn->host, ctr);
                return 0;
        }
        char t[2] = {type, '\0'};
        json_object *node = json_object_new_object();
        json_object_object_add(node, "path", json_object_new_string(ctr));
        json_object_object_add(node, "type", json_object_new_string(t));
        json_object_object_add(node, "major", json_object_new_int64(major(st->st_rdev)));
        json_object_object_add(node, "minor", json_object_new_int64(minor(st->st_rdev)));
        json_object_object_add(node, "fileMode", json_object_new_int(st->st_mode & 0777));
        json_object_object_add(node, "uid", json_object_new_int64(st->st_uid));
        json_object_object_add(node, "gid", json_object_new_int64(st->st_gid));
        json_object_array_add(nodes, node);
        return 0;
}

/* Devices: each node as the host has it now (type, numbers, mode, owner),
 * at its container path, with an allow rule of its permissions; a
 * directory's nodes as they are beneath it now. */
static int oci_devices(const struct vs_ctr *c, json_object *spec, json_object *linux_,
                       vs_error **err)
{
        const struct vs_ctr_host_config *hc = &c->hc;
        bool userns = vs_rootless() || *hc_str(c->host_config, "UsernsMode");
        size_t n_dev = hc->devices ? json_object_array_length(hc->devices) : 0;
        size_t n_rules = 0;
        while (hc->device_cgroup_rules && hc->device_cgroup_rules[n_rules])
                n_rules++;
        if (n_dev == 0 && n_rules == 0)
                return 0;
        json_object *nodes = child(linux_, "devices", json_type_array);
        json_object *res = child(linux_, "resources", json_type_object);
        json_object *rules = child(res, "devices", json_type_array);
        for (size_t i = 0; i < n_dev; i++) {
                json_object *d = json_object_array_get_idx(hc->devices, i);
                const char *host = json_object_get_string(json_object_object_get(d, "PathOnHost"));
                const char *ctr =
                    json_object_get_string(json_object_object_get(d, "PathInContainer"));
                const char *perm =
                    json_object_get_string(json_object_object_get(d, "CgroupPermissions"));
                _cleanup_free_ char *flag = xasprintf("--device %s", host);
                if (!device_mode_ok(perm))
                        return vs_fail(err, "%s: bad mode '%s' (a subset of rwm)", flag, perm);
                struct dev_node *found;
                size_t n;
                if (device_nodes(flag, host, ctr, &found, &n, err) < 0)
                        return -1;
                int r = 0;
                for (size_t k = 0; k < n && r == 0; k++)
                        r = oci_device_node(spec, nodes, rules, userns, flag, &found[k], perm, err);
                dev_nodes_free(found, n);
                if (r < 0)
                        return -1;
        }
        for (size_t i = 0; i < n_rules; i++) {
                struct cgroup_rule r;
                if (!parse_cgroup_rule(hc->device_cgroup_rules[i], &r))
                        return vs_fail(err, "DeviceCgroupRules: invalid rule '%s'",
                                       hc->device_cgroup_rules[i]);
                json_object_array_add(rules, oci_device_rule(r.type, r.major, r.minor, r.access));
        }
        return 0;
}

/* /dev/shm: the default mount's size (a user mount there replaced it). */
static void oci_shm_size(const struct vs_ctr_host_config *hc, json_object *spec)
{
        int64_t size = hc->shm_size > 0 ? hc->shm_size : vs_config_get()->shm_size;
        json_object *mounts = json_object_object_get(spec, "mounts");
        for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                /* the default's source is "shm"; a user's tmpfs there is "tmpfs" */
                json_object *dst = json_object_object_get(m, "destination");
                json_object *src = json_object_object_get(m, "source");
                if (!dst || strcmp(json_object_get_string(dst), "/dev/shm") != 0 || !src ||
                    strcmp(json_object_get_string(src), "shm") != 0)
                        continue;
                json_object *opts = child(m, "options", json_type_array);
                for (size_t j = json_object_array_length(opts); j-- > 0;)
                        if (strncmp(json_object_get_string(json_object_array_get_idx(opts, j)),
                                    "size=", 5) == 0)
                                json_object_array_del_idx(opts, j, 1);
                _cleanup_free_ char *o = xasprintf("size=%" PRId64, size);
                json_object_array_add(opts, json_object_new_string(o));
        }
}

int vs_engine_oci_host_opts(const struct vs_ctr *c, json_object *spec, vs_error **err)
{
        const struct vs_ctr_host_config *hc = &c->hc;
        json_object *linux_ = child(spec, "linux", json_type_object);
        oci_shm_size(hc, spec);
        if (hc->sysctls && json_object_object_length(hc->sysctls)) {
                json_object *sc = child(linux_, "sysctl", json_type_object);
                json_object_object_foreach(hc->sysctls, k, v)
                {
                        json_object_object_add(sc, k, json_object_get(v));
                }
        }
        if (oci_devices(c, spec, linux_, err) < 0)
                return -1;
        if (hc->has_oom_score_adj)
                json_object_object_add(child(spec, "process", json_type_object), "oomScoreAdj",
                                       json_object_new_int((int) hc->oom_score_adj));
        return 0;
}
