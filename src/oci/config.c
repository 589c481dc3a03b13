/* config.json -> struct oci_config. Every error names the field. */
#include "oci/config.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const struct {
        const char *name;
        int flag;
} ns_types[OCI_NS_COUNT] = {
    [OCI_NS_PID] = {"pid", CLONE_NEWPID},          [OCI_NS_NETWORK] = {"network", CLONE_NEWNET},
    [OCI_NS_MOUNT] = {"mount", CLONE_NEWNS},       [OCI_NS_IPC] = {"ipc", CLONE_NEWIPC},
    [OCI_NS_UTS] = {"uts", CLONE_NEWUTS},          [OCI_NS_USER] = {"user", CLONE_NEWUSER},
    [OCI_NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP}, [OCI_NS_TIME] = {"time", CLONE_NEWTIME},
};

const char *oci_ns_type_name(enum oci_ns_type t)
{
        return (unsigned) t < OCI_NS_COUNT ? ns_types[t].name : "unknown";
}

int oci_ns_type_from_name(const char *name)
{
        for (int i = 0; i < OCI_NS_COUNT; i++)
                if (strcmp(ns_types[i].name, name) == 0)
                        return i;
        return -1;
}

int oci_ns_clone_flag(enum oci_ns_type t)
{
        return (unsigned) t < OCI_NS_COUNT ? ns_types[t].flag : 0;
}

const struct oci_namespace *oci_config_namespace(const struct oci_config *cfg, enum oci_ns_type t)
{
        for (size_t i = 0; i < cfg->linux_.n_namespaces; i++)
                if (cfg->linux_.namespaces[i].type == t)
                        return &cfg->linux_.namespaces[i];
        return NULL;
}

const char *oci_config_annotation(const struct oci_config *cfg, const char *key)
{
        for (size_t i = 0; i < cfg->n_annotations; i++)
                if (strcmp(cfg->annotations[i].key, key) == 0)
                        return cfg->annotations[i].value;
        return NULL;
}

static const struct {
        const char *name;
        int resource;
} rlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int oci_rlimit_from_name(const char *name)
{
        for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++)
                if (strcmp(rlimits[i].name, name) == 0)
                        return rlimits[i].resource;
        return -1;
}

/* ---- mount options ---- */

static const struct {
        const char *name;
        bool clear;
        unsigned long flag;
} mount_flags[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

static const struct {
        const char *name;
        unsigned long flag;
} propagation_flags[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

int oci_propagation_from_name(const char *name, unsigned long *out)
{
        for (size_t i = 0; i < sizeof(propagation_flags) / sizeof(propagation_flags[0]); i++)
                if (strcmp(propagation_flags[i].name, name) == 0) {
                        *out = propagation_flags[i].flag;
                        return 0;
                }
        return -1;
}

const char *const *oci_mount_option_names(void)
{
        static const char *names[sizeof(mount_flags) / sizeof(mount_flags[0]) +
                                 sizeof(propagation_flags) / sizeof(propagation_flags[0]) + 4];
        if (names[0] == NULL) {
                size_t n = 0;
                for (size_t i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]); i++)
                        names[n++] = mount_flags[i].name;
                for (size_t i = 0; i < sizeof(propagation_flags) / sizeof(propagation_flags[0]);
                     i++)
                        names[n++] = propagation_flags[i].name;
                names[n++] = "tmpcopyup";
                names[n] = NULL;
        }
        return names;
}

int oci_mount_parse_options(struct oci_mount *m, const char *ctx, vs_error **err)
{
        _cleanup_free_ char *data = NULL;
        m->flags = m->clear_flags = m->propagation = 0;
        for (size_t i = 0; m->options && m->options[i]; i++) {
                const char *o = m->options[i];
                bool known = false;
                if (*o == '\0')
                        return vs_fail(err, "%s.options[%zu]: empty option", ctx, i);
                for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++) {
                        if (strcmp(mount_flags[k].name, o) != 0)
                                continue;
                        known = true;
                        if (mount_flags[k].clear) {
                                m->flags &= ~mount_flags[k].flag;
                                m->clear_flags |= mount_flags[k].flag;
                        } else {
                                m->flags |= mount_flags[k].flag;
                                m->clear_flags &= ~mount_flags[k].flag;
                        }
                }
                unsigned long prop;
                if (!known && oci_propagation_from_name(o, &prop) == 0) {
                        known = true;
                        m->propagation = prop;
                }
                if (!known && strcmp(o, "tmpcopyup") == 0)
                        known = true; /* accepted; nothing to copy with our tmpfs setup */
                if (!known) {
                        char *d = data ? xasprintf("%s,%s", data, o) : xstrdup(o);
                        free(data);
                        data = d;
                }
        }
        m->bind = (m->flags & MS_BIND) || (m->type && strcmp(m->type, "bind") == 0);
        m->recursive = (m->flags & MS_REC) != 0;
        if (m->type && strcmp(m->type, "bind") == 0 && !(m->flags & MS_BIND))
                m->flags |= MS_BIND;
        free(m->data);
        m->data = steal_ptr(data);
        return 0;
}

/* ---- helpers ---- */

static int get_kv_object(json_object *obj, const char *ctx, const char *key, struct oci_kv **out,
                         size_t *n, vs_error **err)
{
        json_object *o;
        int r = vs_json_get_object(obj, ctx, key, &o, err);
        if (r != 1)
                return r;
        size_t count = (size_t) json_object_object_length(o), i = 0;
        struct oci_kv *kv = xcalloc(count, sizeof(*kv));
        json_object_object_foreach(o, k, v)
        {
                if (!json_object_is_type(v, json_type_string)) {
                        for (size_t j = 0; j < i; j++) {
                                free(kv[j].key);
                                free(kv[j].value);
                        }
                        free(kv);
                        return vs_fail(err, "%s.%s.%s: expected a string", ctx, key, k);
                }
                kv[i].key = xstrdup(k);
                kv[i].value = xstrdup(json_object_get_string(v));
                i++;
        }
        *out = kv;
        *n = count;
        return 1;
}

static void free_kv(struct oci_kv *kv, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

/* ---- process ---- */

int oci_id_check(uint32_t id, const char *what, vs_error **err)
{
        if (id == OCI_ID_INVALID)
                return vs_fail(err,
                               "%s: %u is not a valid id ((uid_t)-1 means \"unchanged\" to the "
                               "kernel and would keep root)",
                               what, id);
        return 0;
}

int oci_user_check(const struct oci_user *u, const char *ctx, vs_error **err)
{
        _cleanup_free_ char *uid = xasprintf("%s.user.uid", ctx);
        _cleanup_free_ char *gid = xasprintf("%s.user.gid", ctx);
        if (oci_id_check(u->uid, uid, err) < 0 || oci_id_check(u->gid, gid, err) < 0)
                return -1;
        for (size_t i = 0; i < u->n_additional_gids; i++) {
                _cleanup_free_ char *g = xasprintf("%s.user.additionalGids[%zu]", ctx, i);
                if (oci_id_check(u->additional_gids[i], g, err) < 0)
                        return -1;
        }
        return 0;
}

static int parse_user(json_object *obj, const char *ctx, struct oci_user *u, vs_error **err)
{
        json_object *user;
        int r = vs_json_get_object(obj, ctx, "user", &user, err);
        if (r <= 0)
                return r;
        _cleanup_free_ char *uctx = xasprintf("%s.user", ctx);
        if (vs_json_get_uint32(user, uctx, "uid", &u->uid, err) < 0 ||
            vs_json_get_uint32(user, uctx, "gid", &u->gid, err) < 0)
                return -1;
        r = vs_json_get_uint32(user, uctx, "umask", &u->umask, err);
        if (r < 0)
                return -1;
        u->has_umask = r == 1;
        if (u->has_umask && u->umask > 0777)
                return vs_fail(err, "%s.umask: %#o is not a valid umask", uctx, u->umask);
        json_object *gids;
        r = vs_json_get_array(user, uctx, "additionalGids", &gids, err);
        if (r < 0)
                return -1;
        if (r == 1) {
                size_t n = json_object_array_length(gids);
                u->additional_gids = xcalloc(n, sizeof(uint32_t));
                for (size_t i = 0; i < n; i++) {
                        json_object *g = json_object_array_get_idx(gids, i);
                        if (!json_object_is_type(g, json_type_int) ||
                            json_object_get_int64(g) < 0 || json_object_get_int64(g) > UINT32_MAX)
                                return vs_fail(err, "%s.additionalGids[%zu]: expected a gid", uctx,
                                               i);
                        u->additional_gids[i] = (uint32_t) json_object_get_int64(g);
                }
                u->n_additional_gids = n;
        }
        if (json_object_object_get_ex(user, "username", NULL))
                return vs_fail(err, "%s.username: only for Windows containers", uctx);
        if (oci_user_check(u, ctx, err) < 0)
                return -1;
        return 1;
}

static int parse_caps(json_object *obj, const char *ctx, struct oci_capabilities **out,
                      vs_error **err)
{
        json_object *c;
        int r = vs_json_get_object(obj, ctx, "capabilities", &c, err);
        if (r <= 0)
                return r;
        _cleanup_free_ char *cctx = xasprintf("%s.capabilities", ctx);
        struct oci_capabilities *caps = xzalloc(sizeof(*caps));
        *out = caps;
        if (vs_json_get_strv(c, cctx, "bounding", &caps->bounding, err) < 0 ||
            vs_json_get_strv(c, cctx, "effective", &caps->effective, err) < 0 ||
            vs_json_get_strv(c, cctx, "permitted", &caps->permitted, err) < 0 ||
            vs_json_get_strv(c, cctx, "inheritable", &caps->inheritable, err) < 0 ||
            vs_json_get_strv(c, cctx, "ambient", &caps->ambient, err) < 0)
                return -1;
        return 1;
}

static int parse_rlimits(json_object *obj, const char *ctx, struct oci_process *p, vs_error **err)
{
        json_object *arr;
        int r = vs_json_get_array(obj, ctx, "rlimits", &arr, err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(arr);
        p->rlimits = xcalloc(n, sizeof(*p->rlimits));
        p->n_rlimits = n;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                _cleanup_free_ char *ectx = xasprintf("%s.rlimits[%zu]", ctx, i);
                struct oci_rlimit *rl = &p->rlimits[i];
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ectx);
                if (vs_json_get_string(e, ectx, "type", &rl->type, err) < 0)
                        return -1;
                if (rl->type == NULL)
                        return vs_fail(err, "%s.type: required", ectx);
                rl->resource = oci_rlimit_from_name(rl->type);
                if (rl->resource < 0)
                        return vs_fail(err, "%s.type: unknown rlimit '%s'", ectx, rl->type);
                if (vs_json_get_uint64(e, ectx, "soft", &rl->soft, err) < 0 ||
                    vs_json_get_uint64(e, ectx, "hard", &rl->hard, err) < 0)
                        return -1;
                if (rl->soft > rl->hard)
                        return vs_fail(
                            err, "%s: soft limit %llu of %s is above its hard limit %llu", ectx,
                            (unsigned long long) rl->soft, rl->type, (unsigned long long) rl->hard);
                for (size_t j = 0; j < i; j++)
                        if (p->rlimits[j].resource == rl->resource)
                                return vs_fail(err, "%s.type: %s given twice", ectx, rl->type);
        }
        return 1;
}

int oci_process_parse(json_object *obj, const char *ctx, struct oci_process **out, vs_error **err)
{
        struct oci_process *p = xzalloc(sizeof(*p));
        *out = p;
        if (!json_object_is_type(obj, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);
        if (vs_json_get_bool(obj, ctx, "terminal", &p->terminal, err) < 0)
                return -1;
        json_object *cs;
        int r = vs_json_get_object(obj, ctx, "consoleSize", &cs, err);
        if (r < 0)
                return -1;
        if (r == 1) {
                _cleanup_free_ char *cctx = xasprintf("%s.consoleSize", ctx);
                p->has_console_size = true;
                if (vs_json_get_uint32(cs, cctx, "height", &p->console_height, err) < 0 ||
                    vs_json_get_uint32(cs, cctx, "width", &p->console_width, err) < 0)
                        return -1;
                if (p->console_height > USHRT_MAX || p->console_width > USHRT_MAX)
                        return vs_fail(err, "%s: size out of range", cctx);
        }
        if (vs_json_get_strv(obj, ctx, "args", &p->args, err) < 0)
                return -1;
        if (p->args == NULL || p->args[0] == NULL)
                return vs_fail(err, "%s.args: required, and must not be empty", ctx);
        if (*p->args[0] == '\0')
                return vs_fail(err, "%s.args[0]: must not be empty", ctx);
        if (json_object_object_get_ex(obj, "commandLine", NULL))
                return vs_fail(err, "%s.commandLine: only for Windows containers", ctx);
        if (vs_json_get_strv(obj, ctx, "env", &p->env, err) < 0)
                return -1;
        for (size_t i = 0; p->env && p->env[i]; i++)
                if (strchr(p->env[i], '=') == NULL || p->env[i][0] == '=')
                        return vs_fail(err, "%s.env[%zu]: '%s' is not of the form KEY=VALUE", ctx,
                                       i, p->env[i]);
        if (vs_json_get_string(obj, ctx, "cwd", &p->cwd, err) < 0)
                return -1;
        if (p->cwd == NULL)
                return vs_fail(err, "%s.cwd: required", ctx);
        if (p->cwd[0] != '/')
                return vs_fail(err, "%s.cwd: '%s' is not an absolute path", ctx, p->cwd);
        if (parse_user(obj, ctx, &p->user, err) < 0 || parse_caps(obj, ctx, &p->caps, err) < 0)
                return -1;
        if (vs_json_get_bool(obj, ctx, "noNewPrivileges", &p->no_new_privileges, err) < 0)
                return -1;
        int64_t adj = 0;
        r = vs_json_get_int64(obj, ctx, "oomScoreAdj", &adj, err);
        if (r < 0)
                return -1;
        if (r == 1) {
                if (adj < -1000 || adj > 1000)
                        return vs_fail(err, "%s.oomScoreAdj: %lld is outside -1000..1000", ctx,
                                       (long long) adj);
                p->has_oom_score_adj = true;
                p->oom_score_adj = (int) adj;
        }
        if (parse_rlimits(obj, ctx, p, err) < 0)
                return -1;
        if (vs_json_get_string(obj, ctx, "apparmorProfile", &p->apparmor_profile, err) < 0 ||
            vs_json_get_string(obj, ctx, "selinuxLabel", &p->selinux_label, err) < 0)
                return -1;
        return 0;
}

void oci_process_free(struct oci_process *p)
{
        if (!p)
                return;
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        free(p->user.additional_gids);
        if (p->caps) {
                strv_free(p->caps->bounding);
                strv_free(p->caps->effective);
                strv_free(p->caps->permitted);
                strv_free(p->caps->inheritable);
                strv_free(p->caps->ambient);
                free(p->caps);
        }
        for (size_t i = 0; i < p->n_rlimits; i++)
                free(p->rlimits[i].type);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        free(p);
}

/* ---- mounts ---- */

static int parse_mappings(json_object *lx, const char *where, const char *key,
                          struct oci_id_mapping **out, size_t *n, vs_error **err);

static int parse_mounts(json_object *doc, struct oci_config *cfg, vs_error **err)
{
        json_object *arr;
        int r = vs_json_get_array(doc, NULL, "mounts", &arr, err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(arr);
        cfg->mounts = xcalloc(n, sizeof(*cfg->mounts));
        cfg->n_mounts = n;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                _cleanup_free_ char *ctx = xasprintf("mounts[%zu]", i);
                struct oci_mount *m = &cfg->mounts[i];
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ctx);
                if (vs_json_get_string(e, ctx, "destination", &m->destination, err) < 0 ||
                    vs_json_get_string(e, ctx, "type", &m->type, err) < 0 ||
                    vs_json_get_string(e, ctx, "source", &m->source, err) < 0 ||
                    vs_json_get_strv(e, ctx, "options", &m->options, err) < 0)
                        return -1;
                if (m->destination == NULL || *m->destination == '\0')
                        return vs_fail(err, "%s.destination: required", ctx);
                if (m->destination[0] != '/')
                        return vs_fail(err, "%s.destination: '%s' is not an absolute path", ctx,
                                       m->destination);
                if (oci_mount_parse_options(m, ctx, err) < 0 ||
                    parse_mappings(e, ctx, "uidMappings", &m->uid_mappings, &m->n_uid_mappings,
                                   err) < 0 ||
                    parse_mappings(e, ctx, "gidMappings", &m->gid_mappings, &m->n_gid_mappings,
                                   err) < 0)
                        return -1;
                if (!m->n_uid_mappings != !m->n_gid_mappings)
                        return vs_fail(err,
                                       "%s: an idmapped mount needs both uidMappings and "
                                       "gidMappings",
                                       ctx);
                if (m->n_uid_mappings && !m->bind)
                        return vs_fail(err, "%s: only bind mounts can be idmapped", ctx);
                if (m->bind && (m->source == NULL || *m->source == '\0'))
                        return vs_fail(err, "%s.source: required for a bind mount", ctx);
                if (!m->bind && m->type == NULL)
                        return vs_fail(err, "%s.type: required unless the mount is a bind mount",
                                       ctx);
        }
        return 1;
}

/* ---- hooks ---- */

static int parse_hook_list(json_object *hooks, const char *key, struct oci_hook **out, size_t *n,
                           vs_error **err)
{
        json_object *arr;
        int r = vs_json_get_array(hooks, "hooks", key, &arr, err);
        if (r <= 0)
                return r;
        size_t count = json_object_array_length(arr);
        *out = xcalloc(count, sizeof(**out));
        *n = count;
        for (size_t i = 0; i < count; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                _cleanup_free_ char *ctx = xasprintf("hooks.%s[%zu]", key, i);
                struct oci_hook *h = &(*out)[i];
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ctx);
                if (vs_json_get_string(e, ctx, "path", &h->path, err) < 0 ||
                    vs_json_get_strv(e, ctx, "args", &h->args, err) < 0 ||
                    vs_json_get_strv(e, ctx, "env", &h->env, err) < 0)
                        return -1;
                if (h->path == NULL || h->path[0] != '/')
                        return vs_fail(err, "%s.path: required, and must be absolute", ctx);
                int64_t t = 0;
                r = vs_json_get_int64(e, ctx, "timeout", &t, err);
                if (r < 0)
                        return -1;
                if (r == 1) {
                        if (t <= 0 || t > INT_MAX)
                                return vs_fail(
                                    err, "%s.timeout: must be a positive number of seconds", ctx);
                        h->has_timeout = true;
                        h->timeout = (int) t;
                }
        }
        return 1;
}

static void free_hook_list(struct oci_hook *h, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(h[i].path);
                strv_free(h[i].args);
                strv_free(h[i].env);
        }
        free(h);
}

static int parse_hooks(json_object *doc, struct oci_hooks *hk, vs_error **err)
{
        json_object *hooks;
        int r = vs_json_get_object(doc, NULL, "hooks", &hooks, err);
        if (r <= 0)
                return r;
        json_object_object_foreach(hooks, key, val)
        {
                (void) val;
                if (strcmp(key, "prestart") && strcmp(key, "createRuntime") &&
                    strcmp(key, "createContainer") && strcmp(key, "startContainer") &&
                    strcmp(key, "poststart") && strcmp(key, "poststop"))
                        return vs_fail(err, "hooks.%s: unknown hook kind", key);
        }
        if (parse_hook_list(hooks, "prestart", &hk->prestart, &hk->n_prestart, err) < 0 ||
            parse_hook_list(hooks, "createRuntime", &hk->create_runtime, &hk->n_create_runtime,
                            err) < 0 ||
            parse_hook_list(hooks, "createContainer", &hk->create_container,
                            &hk->n_create_container, err) < 0 ||
            parse_hook_list(hooks, "startContainer", &hk->start_container, &hk->n_start_container,
                            err) < 0 ||
            parse_hook_list(hooks, "poststart", &hk->poststart, &hk->n_poststart, err) < 0 ||
            parse_hook_list(hooks, "poststop", &hk->poststop, &hk->n_poststop, err) < 0)
                return -1;
        return 1;
}

/* ---- linux ---- */

static int parse_mappings(json_object *lx, const char *where, const char *key,
                          struct oci_id_mapping **out, size_t *n, vs_error **err)
{
        json_object *arr;
        int r = vs_json_get_array(lx, where, key, &arr, err);
        if (r <= 0)
                return r;
        size_t count = json_object_array_length(arr);
        *out = xcalloc(count, sizeof(**out));
        *n = count;
        for (size_t i = 0; i < count; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                _cleanup_free_ char *ctx = xasprintf("%s.%s[%zu]", where, key, i);
                struct oci_id_mapping *m = &(*out)[i];
                bool has_c = json_object_object_get_ex(e, "containerID", NULL),
                     has_h = json_object_object_get_ex(e, "hostID", NULL),
                     has_s = json_object_object_get_ex(e, "size", NULL);
                if (!json_object_is_type(e, json_type_object) || !has_c || !has_h || !has_s)
                        return vs_fail(err, "%s: needs containerID, hostID and size", ctx);
                if (vs_json_get_uint32(e, ctx, "containerID", &m->container_id, err) < 0 ||
                    vs_json_get_uint32(e, ctx, "hostID", &m->host_id, err) < 0 ||
                    vs_json_get_uint32(e, ctx, "size", &m->size, err) < 0)
                        return -1;
                if (m->size == 0)
                        return vs_fail(err, "%s.size: must be at least 1", ctx);
                if ((uint64_t) m->container_id + m->size > (uint64_t) UINT32_MAX + 1 ||
                    (uint64_t) m->host_id + m->size > (uint64_t) UINT32_MAX + 1)
                        return vs_fail(err, "%s: range overflows 32-bit ids", ctx);
                for (size_t j = 0; j < i; j++) {
                        struct oci_id_mapping *o = &(*out)[j];
                        if (m->container_id < o->container_id + o->size &&
                            o->container_id < m->container_id + m->size)
                                return vs_fail(err, "%s: overlaps %s.%s[%zu]", ctx, where, key, j);
                }
        }
        return 1;
}

static int parse_namespaces(json_object *lx, struct oci_linux *l, vs_error **err)
{
        json_object *arr;
        int r = vs_json_get_array(lx, "linux", "namespaces", &arr, err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(arr);
        l->namespaces = xcalloc(n, sizeof(*l->namespaces));
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                _cleanup_free_ char *ctx = xasprintf("linux.namespaces[%zu]", i);
                _cleanup_free_ char *type = NULL;
                struct oci_namespace *ns = &l->namespaces[i];
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ctx);
                if (vs_json_get_string(e, ctx, "type", &type, err) < 0 ||
                    vs_json_get_string(e, ctx, "path", &ns->path, err) < 0)
                        return -1;
                l->n_namespaces = i + 1;
                if (type == NULL)
                        return vs_fail(err, "%s.type: required", ctx);
                int t = oci_ns_type_from_name(type);
                if (t < 0)
                        return vs_fail(err,
                                       "%s.type: unknown namespace type '%s' (pid, network, "
                                       "mount, ipc, uts, user, cgroup, time)",
                                       ctx, type);
                ns->type = (enum oci_ns_type) t;
                if (ns->path && ns->path[0] != '/')
                        return vs_fail(err, "%s.path: '%s' is not an absolute path", ctx, ns->path);
                for (size_t j = 0; j < i; j++)
                        if (l->namespaces[j].type == ns->type)
                                return vs_fail(err, "%s: namespace '%s' given twice", ctx, type);
        }
        return 1;
}

/* fileMode is a permission mode; callers may include the file-type bits
 * (podman passes 020600 for a character device, as stat(2) reports it, and
 * runc accepts that). Type bits must agree with the device's type and are
 * dropped: the type comes from "type". */
static int parse_device_file_mode(struct oci_device *d, const char *ctx, vs_error **err)
{
        uint32_t fmt = d->file_mode & S_IFMT;
        uint32_t want = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        if (d->file_mode & ~(uint32_t) (S_IFMT | 07777))
                return vs_fail(err, "%s.fileMode: %#o is not a file mode", ctx, d->file_mode);
        if (fmt != 0 && fmt != want)
                return vs_fail(err,
                               "%s.fileMode: %#o has file-type bits %#o that contradict type "
                               "'%c' (%#o)",
                               ctx, d->file_mode, fmt, d->type, want);
        d->file_mode &= 07777;
        return 0;
}

static int parse_devices(json_object *lx, struct oci_linux *l, vs_error **err)
{
        json_object *arr;
        int r = vs_json_get_array(lx, "linux", "devices", &arr, err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(arr);
        l->devices = xcalloc(n, sizeof(*l->devices));
        l->n_devices = n;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                _cleanup_free_ char *ctx = xasprintf("linux.devices[%zu]", i);
                _cleanup_free_ char *type = NULL;
                struct oci_device *d = &l->devices[i];
                if (!json_object_is_type(e, json_type_object))
                        return vs_fail(err, "%s: expected an object", ctx);
                if (vs_json_get_string(e, ctx, "path", &d->path, err) < 0 ||
                    vs_json_get_string(e, ctx, "type", &type, err) < 0)
                        return -1;
                if (d->path == NULL || d->path[0] != '/')
                        return vs_fail(err, "%s.path: required, and must be absolute", ctx);
                if (type == NULL || strlen(type) != 1 || !strchr("cbup", type[0]))
                        return vs_fail(err, "%s.type: must be one of c, b, u, p", ctx);
                d->type = type[0];
                int rm = vs_json_get_int64(e, ctx, "major", &d->major, err);
                int rn = rm < 0 ? -1 : vs_json_get_int64(e, ctx, "minor", &d->minor, err);
                if (rm < 0 || rn < 0)
                        return -1;
                if (d->type != 'p' && (rm == 0 || rn == 0))
                        return vs_fail(err, "%s: major and minor are required for type %c", ctx,
                                       d->type);
                if (d->major < 0 || d->minor < 0 || d->major > 4095 || d->minor > 1048575)
                        return vs_fail(err, "%s: device number %lld:%lld out of range", ctx,
                                       (long long) d->major, (long long) d->minor);
                r = vs_json_get_uint32(e, ctx, "fileMode", &d->file_mode, err);
                if (r < 0)
                        return -1;
                d->has_file_mode = r == 1;
                if (d->has_file_mode && parse_device_file_mode(d, ctx, err) < 0)
                        return -1;
                _cleanup_free_ char *uctx = xasprintf("%s.uid", ctx);
                _cleanup_free_ char *gctx = xasprintf("%s.gid", ctx);
                r = vs_json_get_uint32(e, ctx, "uid", &d->uid, err);
                if (r < 0 || (r == 1 && oci_id_check(d->uid, uctx, err) < 0))
                        return -1;
                d->has_uid = r == 1;
                r = vs_json_get_uint32(e, ctx, "gid", &d->gid, err);
                if (r < 0 || (r == 1 && oci_id_check(d->gid, gctx, err) < 0))
                        return -1;
                d->has_gid = r == 1;
        }
        return 1;
}

static int parse_time_offsets(json_object *lx, struct oci_linux *l, vs_error **err)
{
        json_object *o;
        int r = vs_json_get_object(lx, "linux", "timeOffsets", &o, err);
        if (r <= 0)
                return r;
        size_t n = (size_t) json_object_object_length(o), i = 0;
        l->time_offsets = xcalloc(n, sizeof(*l->time_offsets));
        json_object_object_foreach(o, k, v)
        {
                _cleanup_free_ char *ctx = xasprintf("linux.timeOffsets.%s", k);
                if (strcmp(k, "monotonic") && strcmp(k, "boottime"))
                        return vs_fail(err, "%s: unknown clock (monotonic, boottime)", ctx);
                int64_t secs = 0;
                uint32_t nsecs = 0;
                if (!json_object_is_type(v, json_type_object))
                        return vs_fail(err, "%s: expected an object", ctx);
                if (vs_json_get_int64(v, ctx, "secs", &secs, err) < 0 ||
                    vs_json_get_uint32(v, ctx, "nanosecs", &nsecs, err) < 0)
                        return -1;
                if (nsecs >= 1000000000u)
                        return vs_fail(err, "%s.nanosecs: must be below 1000000000", ctx);
                l->time_offsets[i].key = xstrdup(k);
                l->time_offsets[i].value = xasprintf("%lld %u", (long long) secs, nsecs);
                l->n_time_offsets = ++i;
        }
        return 1;
}

static int parse_linux(json_object *doc, struct oci_config *cfg, vs_error **err)
{
        json_object *lx;
        struct oci_linux *l = &cfg->linux_;
        int r = vs_json_get_object(doc, NULL, "linux", &lx, err);
        if (r <= 0)
                return r;
        if (parse_namespaces(lx, l, err) < 0 ||
            parse_mappings(lx, "linux", "uidMappings", &l->uid_mappings, &l->n_uid_mappings, err) <
                0 ||
            parse_mappings(lx, "linux", "gidMappings", &l->gid_mappings, &l->n_gid_mappings, err) <
                0 ||
            parse_time_offsets(lx, l, err) < 0 || parse_devices(lx, l, err) < 0)
                return -1;
        if (vs_json_get_string(lx, "linux", "cgroupsPath", &l->cgroups_path, err) < 0 ||
            vs_json_get_string(lx, "linux", "rootfsPropagation", &l->rootfs_propagation, err) < 0 ||
            vs_json_get_strv(lx, "linux", "maskedPaths", &l->masked_paths, err) < 0 ||
            vs_json_get_strv(lx, "linux", "readonlyPaths", &l->readonly_paths, err) < 0 ||
            vs_json_get_string(lx, "linux", "mountLabel", &l->mount_label, err) < 0 ||
            get_kv_object(lx, "linux", "sysctl", &l->sysctl, &l->n_sysctl, err) < 0)
                return -1;
        if (l->rootfs_propagation &&
            oci_propagation_from_name(l->rootfs_propagation, &l->rootfs_propagation_flags) < 0)
                return vs_fail(err, "linux.rootfsPropagation: unknown propagation '%s'",
                               l->rootfs_propagation);
        for (size_t i = 0; l->masked_paths && l->masked_paths[i]; i++)
                if (l->masked_paths[i][0] != '/')
                        return vs_fail(err, "linux.maskedPaths[%zu]: '%s' is not absolute", i,
                                       l->masked_paths[i]);
        for (size_t i = 0; l->readonly_paths && l->readonly_paths[i]; i++)
                if (l->readonly_paths[i][0] != '/')
                        return vs_fail(err, "linux.readonlyPaths[%zu]: '%s' is not absolute", i,
                                       l->readonly_paths[i]);
        json_object *sub;
        r = vs_json_get_object(lx, "linux", "resources", &sub, err);
        if (r < 0 ||
            (r == 1 && oci_resources_parse(sub, "linux.resources", &l->resources, err) < 0))
                return -1;
        r = vs_json_get_object(lx, "linux", "seccomp", &sub, err);
        if (r < 0 || (r == 1 && oci_seccomp_parse(sub, "linux.seccomp", &l->seccomp, err) < 0))
                return -1;
        r = vs_json_get_object(lx, "linux", "intelRdt", &sub, err);
        if (r < 0)
                return -1;
        if (r == 1 && json_object_object_length(sub) > 0)
                return vs_fail(err, "linux.intelRdt: Intel RDT is not supported");
        r = vs_json_get_object(lx, "linux", "personality", &sub, err);
        if (r < 0)
                return -1;
        if (r == 1) {
                cfg->linux_.has_personality = true;
                if (vs_json_get_string(sub, "linux.personality", "domain", &l->personality_domain,
                                       err) < 0)
                        return -1;
                if (l->personality_domain && strcmp(l->personality_domain, "LINUX") &&
                    strcmp(l->personality_domain, "LINUX32"))
                        return vs_fail(err, "linux.personality.domain: unknown domain '%s'",
                                       l->personality_domain);
        }
        return 1;
}

/* Cross-field checks the spec implies. */
static int validate(struct oci_config *cfg, vs_error **err)
{
        const struct oci_namespace *user = oci_config_namespace(cfg, OCI_NS_USER);
        struct oci_linux *l = &cfg->linux_;
        if (user && user->path == NULL) {
                if (l->n_uid_mappings == 0)
                        return vs_fail(err, "linux.uidMappings: required with a new user "
                                            "namespace");
                if (l->n_gid_mappings == 0)
                        return vs_fail(err, "linux.gidMappings: required with a new user "
                                            "namespace");
        } else if (l->n_uid_mappings || l->n_gid_mappings) {
                return vs_fail(err, "linux.uidMappings: mappings need a new user namespace in "
                                    "linux.namespaces");
        }
        const struct oci_namespace *t = oci_config_namespace(cfg, OCI_NS_TIME);
        if (l->n_time_offsets && (t == NULL || t->path != NULL))
                return vs_fail(err, "linux.timeOffsets: offsets need a new time namespace in "
                                    "linux.namespaces");
        /* A uts namespace joined by path is the container's too: the names
         * are set in it, as runc does. Only the runtime's own is refused. */
        const struct oci_namespace *uts = oci_config_namespace(cfg, OCI_NS_UTS);
        if ((cfg->hostname && *cfg->hostname) && uts == NULL)
                return vs_fail(err, "hostname: setting the hostname needs a uts namespace in "
                                    "linux.namespaces");
        if ((cfg->domainname && *cfg->domainname) && uts == NULL)
                return vs_fail(err, "domainname: setting it needs a uts namespace in "
                                    "linux.namespaces");
        /* Without a mount namespace the container shares the runtime's
         * (runtime-tools linux_ns_itype; runc runs it too): its mounts are
         * made there and detached at delete. What would change mounts the
         * runtime did not make is refused, as runc refuses masking. */
        if (oci_config_namespace(cfg, OCI_NS_MOUNT) == NULL) {
                static const char why[] = "needs a mount namespace (without one the container "
                                          "shares the runtime's)";
                if (l->masked_paths && l->masked_paths[0])
                        return vs_fail(err, "linux.maskedPaths: %s", why);
                if (l->readonly_paths && l->readonly_paths[0])
                        return vs_fail(err, "linux.readonlyPaths: %s", why);
                if (l->rootfs_propagation_flags)
                        return vs_fail(err, "linux.rootfsPropagation: %s", why);
                if (cfg->root_readonly)
                        return vs_fail(err, "root.readonly: %s", why);
        }
        return 0;
}

int oci_config_parse(json_object *doc, const char *bundle, struct oci_config **out, vs_error **err)
{
        struct oci_config *cfg = xzalloc(sizeof(*cfg));
        *out = cfg;
        cfg->raw = json_object_get(doc);
        if (!json_object_is_type(doc, json_type_object))
                return vs_fail(err, "expected a JSON object at the top level");
        if (vs_json_get_string(doc, NULL, "ociVersion", &cfg->oci_version, err) < 0)
                return -1;
        if (cfg->oci_version == NULL)
                return vs_fail(err, "ociVersion: required");
        if (strncmp(cfg->oci_version, "1.", 2) != 0)
                return vs_fail(err, "ociVersion: unsupported version '%s' (need 1.x)",
                               cfg->oci_version);
        json_object *root;
        int r = vs_json_get_object(doc, NULL, "root", &root, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "root: required");
        _cleanup_free_ char *rpath = NULL;
        if (vs_json_get_string(root, "root", "path", &rpath, err) < 0 ||
            vs_json_get_bool(root, "root", "readonly", &cfg->root_readonly, err) < 0)
                return -1;
        if (rpath == NULL || *rpath == '\0')
                return vs_fail(err, "root.path: required");
        cfg->root_path = rpath[0] == '/' ? xstrdup(rpath) : xasprintf("%s/%s", bundle, rpath);
        if (vs_json_get_string(doc, NULL, "hostname", &cfg->hostname, err) < 0 ||
            vs_json_get_string(doc, NULL, "domainname", &cfg->domainname, err) < 0)
                return -1;
        json_object *proc;
        r = vs_json_get_object(doc, NULL, "process", &proc, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "process: required");
        if (oci_process_parse(proc, "process", &cfg->process, err) < 0)
                return -1;
        if (parse_mounts(doc, cfg, err) < 0 || parse_hooks(doc, &cfg->hooks, err) < 0 ||
            get_kv_object(doc, NULL, "annotations", &cfg->annotations, &cfg->n_annotations, err) <
                0)
                return -1;
        r = parse_linux(doc, cfg, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "linux: required on Linux");
        return validate(cfg, err);
}

int oci_config_load(const char *bundle, struct oci_config **out, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
        _cleanup_json_ json_object *doc = NULL;
        *out = NULL;
        if (vs_json_parse_file(path, &doc, err) < 0)
                return -1;
        if (oci_config_parse(doc, bundle, out, err) < 0) {
                oci_config_free(*out);
                *out = NULL;
                return vs_error_wrap(err, "%s", path);
        }
        return 0;
}

void oci_config_free(struct oci_config *cfg)
{
        if (!cfg)
                return;
        free(cfg->oci_version);
        free(cfg->root_path);
        free(cfg->hostname);
        free(cfg->domainname);
        oci_process_free(cfg->process);
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                struct oci_mount *m = &cfg->mounts[i];
                free(m->destination);
                free(m->type);
                free(m->source);
                strv_free(m->options);
                free(m->data);
                free(m->uid_mappings);
                free(m->gid_mappings);
        }
        free(cfg->mounts);
        struct oci_hooks *h = &cfg->hooks;
        free_hook_list(h->prestart, h->n_prestart);
        free_hook_list(h->create_runtime, h->n_create_runtime);
        free_hook_list(h->create_container, h->n_create_container);
        free_hook_list(h->start_container, h->n_start_container);
        free_hook_list(h->poststart, h->n_poststart);
        free_hook_list(h->poststop, h->n_poststop);
        free_kv(cfg->annotations, cfg->n_annotations);
        struct oci_linux *l = &cfg->linux_;
        for (size_t i = 0; i < l->n_namespaces; i++)
                free(l->namespaces[i].path);
        free(l->namespaces);
        free(l->uid_mappings);
        free(l->gid_mappings);
        free_kv(l->time_offsets, l->n_time_offsets);
        for (size_t i = 0; i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        free(l->cgroups_path);
        oci_resources_free(l->resources);
        free(l->rootfs_propagation);
        strv_free(l->masked_paths);
        strv_free(l->readonly_paths);
        free(l->mount_label);
        free_kv(l->sysctl, l->n_sysctl);
        oci_seccomp_free(l->seccomp);
        free(l->intel_rdt_clos_id);
        free(l->personality_domain);
        if (cfg->raw)
                json_object_put(cfg->raw);
        free(cfg);
}
