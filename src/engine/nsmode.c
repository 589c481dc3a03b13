/* --ipc, --pid and --uts: Docker's IpcMode, PidMode and UTSMode.
 *
 * IpcMode: private (the default: a namespace and a /dev/shm of its own),
 * shareable (the same, and others may join it), none (a namespace of its
 * own without /dev/shm), host (the host's namespace and /dev/shm), or
 * container:<id> (that container's namespace; it must be shareable or
 * host, as Docker asks). PidMode: "" (its own), host, container:<id>.
 * UTSMode: "" (its own) or host.
 *
 * A container: mode joins the namespace of the other container's init by
 * path (/proc/<pid>/ns/<type> in the OCI config's linux.namespaces), at
 * every start; the other container must exist and run then (checked at
 * create too, so that a run against a stopped one creates nothing). The
 * id is stored, as for --network container:.
 *
 * When the container whose pid namespace was joined stops (or is removed
 * with rm -f), its init dies and the kernel kills every process of the
 * namespace: the joiner stops with 137, as with Docker, and nothing of it
 * runs on. A start of the joiner then fails until the other runs again.
 *
 * /dev/shm follows the IPC namespace, as Docker's: a shareable container's
 * is a tmpfs the engine mounts on the host at <container dir>/shm before
 * each start (vs_engine_shm_mount; --shm-size, nosuid, nodev, noexec) and
 * binds into it, so that a container:<id> joiner binds the same one from
 * the host, never through the other container's root (a tree it
 * controls). It is unmounted with the rootfs (vs_engine_umount_rootfs, and
 * every path that cleans up after a killed monitor or rm); a joiner that
 * still runs keeps its bind. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/rootless.h"
#include "vm/vm.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#define CONTAINER_PREFIX     "container:"
#define CONTAINER_PREFIX_LEN 10

static bool is_container_mode(const char *mode)
{
        return mode && strncmp(mode, CONTAINER_PREFIX, CONTAINER_PREFIX_LEN) == 0;
}

/* The modes, their flag, their HostConfig key and their namespace. */
struct ns_mode {
        const char *flag, *key, *ns;
        const char *const *modes; /* accepted besides container: */
        bool container;           /* container:NAME accepted */
};

static const char *const ipc_modes[] = {"private", "shareable", "none", "host", NULL};
static const char *const pid_modes[] = {"host", NULL};
static const char *const uts_modes[] = {"host", NULL};

static const struct ns_mode ns_modes[] = {
    {"--ipc", "IpcMode", "ipc", ipc_modes, true},
    {"--pid", "PidMode", "pid", pid_modes, true},
    {"--uts", "UTSMode", "uts", uts_modes, false},
};

/* container:REF: it exists, is no VM and runs; for ipc, it is shareable.
 * The mode with the other's full id in *out (caller frees). */
static int check_target(struct vs_engine *e, const struct ns_mode *m, const char *mode, char **out,
                        vs_error **err)
{
        const char *ref = mode + CONTAINER_PREFIX_LEN;
        if (*ref == '\0')
                return vs_fail(err, "%s %s: a container's name or id is missing", m->flag, mode);
        _cleanup_ctr_ struct vs_ctr *other = NULL;
        if (vs_ctr_resolve(e, ref, &other, err) < 0)
                return vs_error_wrap(err, "%s %s", m->flag, mode);
        if (vs_ctr_is_vm(other))
                return vs_fail(err,
                               "%s %s: container %s runs in a VM: its namespaces are the guest's",
                               m->flag, mode, other->name);
        vs_ctr_refresh(e, other);
        if (!other->state.running || other->state.pid <= 0)
                return vs_fail(err, "%s %s: container %s is not running", m->flag, mode,
                               other->name);
        if (strcmp(m->ns, "ipc") == 0) {
                const char *theirs = other->hc.ipc_mode ? other->hc.ipc_mode : "private";
                if (strcmp(theirs, "shareable") != 0 && strcmp(theirs, "host") != 0)
                        return vs_fail(err,
                                       "--ipc %s: container %s has a non-shareable IPC namespace "
                                       "(IpcMode %s; create it with --ipc shareable)",
                                       mode, other->name, theirs);
        }
        *out = xasprintf(CONTAINER_PREFIX "%s", other->id);
        return 0;
}

int vs_engine_ns_check(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                       vs_error **err)
{
        const char *given[] = {f->ipc, f->pid, f->uts};
        bool vm = f->isolation && strcmp(f->isolation, "vm") == 0;
        for (size_t i = 0; i < sizeof(ns_modes) / sizeof(ns_modes[0]); i++) {
                const struct ns_mode *m = &ns_modes[i];
                const char *mode = given[i] && *given[i] ? given[i] : NULL;
                if (mode == NULL) {
                        if (strcmp(m->key, "IpcMode") == 0) /* Docker's default, shown */
                                json_object_object_add(hc, m->key,
                                                       json_object_new_string("private"));
                        continue;
                }
                if (vm && strcmp(mode, "private") != 0)
                        return vs_fail(err,
                                       "%s %s is not supported with --isolation=vm (the VM "
                                       "has its own kernel)",
                                       m->flag, mode);
                _cleanup_free_ char *stored = NULL;
                /* The runtime's kill of "every process" of a container
                 * without a cgroup (rootless) is its pid namespace's: here,
                 * the other container's too. */
                if (is_container_mode(mode) && strcmp(m->ns, "pid") == 0 && vs_rootless())
                        return vs_fail(err,
                                       "--pid %s: not supported by the rootless engine (its "
                                       "containers have no cgroup, so stopping this one would "
                                       "stop the other's processes)",
                                       mode);
                if (m->container && is_container_mode(mode)) {
                        if (check_target(e, m, mode, &stored, err) < 0)
                                return -1;
                } else {
                        bool known = false;
                        for (size_t k = 0; m->modes[k] && !known; k++)
                                known = strcmp(mode, m->modes[k]) == 0;
                        if (!known)
                                return vs_fail(err, "%s: invalid value '%s' (%s)", m->flag, mode,
                                               m == &ns_modes[0]
                                                   ? "private, shareable, none, host or "
                                                     "container:NAME"
                                               : m->container ? "host or container:NAME"
                                                              : "host");
                        stored = xstrdup(mode);
                }
                json_object_object_add(hc, m->key, json_object_new_string(stored));
        }
        if (f->uts && strcmp(f->uts, "host") == 0 && f->hostname)
                return vs_fail(err, "conflicting options: --hostname and --uts host");
        return 0;
}

/* The namespace entry of that type in linux.namespaces, or NULL. */
static json_object *find_ns(json_object *nss, const char *type, size_t *idx)
{
        for (size_t i = 0; i < json_object_array_length(nss); i++) {
                json_object *one = json_object_array_get_idx(nss, i);
                const char *t = vs_json_str(one, "type");
                if (t && strcmp(t, type) == 0) {
                        *idx = i;
                        return one;
                }
        }
        return NULL;
}

/* The host-side /dev/shm of a shareable container (below): it has one
 * when its IpcMode is shareable, it is no VM (whose /dev/shm is the
 * guest's) and the engine is not rootless (which mounts nothing on the
 * host). */
static bool has_host_shm(const struct vs_ctr *c)
{
        return c->hc.ipc_mode && strcmp(c->hc.ipc_mode, "shareable") == 0 && !vs_ctr_is_vm(c) &&
               !vs_rootless();
}

int vs_engine_shm_mount(const struct vs_ctr *c, vs_error **err)
{
        if (!has_host_shm(c))
                return 0;
        _cleanup_free_ char *path = xasprintf("%s/shm", c->dir);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create %s", path);
        if (vs_is_mountpoint(path))
                return 0;
        int64_t size = c->hc.shm_size > 0 ? c->hc.shm_size : vs_config_get()->shm_size;
        _cleanup_free_ char *opts = xasprintf("mode=1777,size=%" PRId64, size);
        if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return vs_fail_errno(err, "cannot mount the shareable /dev/shm on %s", path);
        return 0;
}

void vs_engine_shm_umount(const char *dir)
{
        _cleanup_free_ char *path = xasprintf("%s/shm", dir);
        for (int i = 0; i < 8 && vs_is_mountpoint(path); i++)
                if (umount2(path, MNT_DETACH) < 0)
                        break;
}

static void bind_shm(json_object *mo, const char *source)
{
        json_object_object_add(mo, "type", json_object_new_string("bind"));
        json_object_object_add(mo, "source", json_object_new_string(source));
        json_object *o = json_object_new_array();
        json_object_array_add(o, json_object_new_string("rbind"));
        json_object_array_add(o, json_object_new_string("rprivate"));
        json_object_object_add(mo, "options", o);
}

/* /dev/shm of the spec: none drops it, host binds the host's, a shareable
 * container's and a joiner's (shm: the joined container's directory, with
 * its own IpcMode) bind the host-side one. */
static void apply_shm(const struct vs_ctr *c, json_object *spec, const char *ipc,
                      const struct vs_ctr *other)
{
        json_object *mounts = json_object_object_get(spec, "mounts");
        for (size_t i = json_object_array_length(mounts); i-- > 0;) {
                json_object *mo = json_object_array_get_idx(mounts, i);
                const char *dst = vs_json_str(mo, "destination");
                if (dst == NULL || strcmp(dst, "/dev/shm") != 0)
                        continue;
                const char *src = vs_json_str(mo, "source");
                if (src == NULL || strcmp(src, "shm") != 0)
                        continue; /* a user's mount there */
                const struct vs_ctr *owner = other ? other : c;
                const char *mode = other ? other->hc.ipc_mode : ipc;
                if (strcmp(ipc, "none") == 0) {
                        json_object_array_del_idx(mounts, i, 1);
                } else if (mode && strcmp(mode, "host") == 0) {
                        bind_shm(mo, "/dev/shm");
                } else if (has_host_shm(owner)) {
                        _cleanup_free_ char *path = xasprintf("%s/shm", owner->dir);
                        bind_shm(mo, path);
                }
        }
}

int vs_engine_ns_apply(struct vs_engine *e, const struct vs_ctr *c, json_object *spec,
                       vs_error **err)
{
        const char *mine[] = {c->hc.ipc_mode, c->hc.pid_mode, c->hc.uts_mode};
        json_object *nss =
            json_object_object_get(json_object_object_get(spec, "linux"), "namespaces");
        for (size_t i = 0; i < sizeof(ns_modes) / sizeof(ns_modes[0]); i++) {
                const struct ns_mode *m = &ns_modes[i];
                const char *mode = mine[i];
                size_t idx = 0;
                json_object *ns = find_ns(nss, m->ns, &idx);
                if (mode == NULL || ns == NULL)
                        continue;
                if (strcmp(mode, "host") == 0) {
                        json_object_array_del_idx(nss, idx, 1);
                        if (strcmp(m->ns, "uts") == 0)
                                json_object_object_del(spec, "hostname");
                }
                _cleanup_ctr_ struct vs_ctr *other = NULL;
                if (is_container_mode(mode)) {
                        if (vs_ctr_load(e, mode + CONTAINER_PREFIX_LEN, &other, err) < 0)
                                return vs_error_wrap(err, "%s %s", m->flag, mode);
                        vs_ctr_refresh(e, other);
                        if (!other->state.running || other->state.pid <= 0)
                                return vs_fail(err, "%s %s: container %s is not running", m->flag,
                                               mode, other->name);
                        _cleanup_free_ char *path =
                            xasprintf("/proc/%d/ns/%s", (int) other->state.pid, m->ns);
                        json_object_object_add(ns, "path", json_object_new_string(path));
                }
                if (strcmp(m->ns, "ipc") == 0)
                        apply_shm(c, spec, mode, other);
        }
        return 0;
}

int vs_engine_uts_hostname(const struct vs_ctr *c, char **out)
{
        *out = NULL;
        if (c->hc.uts_mode == NULL || strcmp(c->hc.uts_mode, "host") != 0)
                return 0;
        char buf[256] = "";
        if (gethostname(buf, sizeof(buf) - 1) < 0)
                return 0;
        *out = xstrdup(buf);
        return 1;
}
