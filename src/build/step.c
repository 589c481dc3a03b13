/* A build step's filesystem and process: the overlay of the parent's layers
 * with a fresh upper dir (which becomes the step's layer), and RUN through
 * the runtime library in process (vs_container_run), never a second binary.
 * Scratch dirs are named after the build's pid so that a later build can
 * tell a killed build's leftovers (kill -9) and remove them. */
#include "build/internal.h"
#include "net/net.h"
#include "engine/engine.h"
#include "image/image.h"
#include "oci/spec_default.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static char *tmp_root(const char *data_root)
{
        return xasprintf("%s/build/tmp", data_root);
}

int step_mount_open(const char *data_root, const struct vs_image *img, struct step_mount *m,
                    vs_error **err)
{
        memset(m, 0, sizeof(*m));
        m->rootfd = -1;
        _cleanup_free_ char *base = tmp_root(data_root);
        if (vs_mkdir_p(base, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *hex = vs_random_hex(6);
        m->dir = xasprintf("%s/%d-%s", base, (int) getpid(), hex);
        m->rootfs = xasprintf("%s/rootfs", m->dir);
        m->upper = xasprintf("%s/upper", m->dir);
        struct vs_image none = {0};
        if (vs_image_rootfs_mount(img ? img : &none, m->dir, m->rootfs, NULL, err) < 0) {
                step_mount_close(m);
                return -1;
        }
        m->mounted = true;
        m->rootfd = open(m->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m->rootfd < 0) {
                vs_fail_errno(err, "cannot open %s", m->rootfs);
                step_mount_close(m);
                return -1;
        }
        return 0;
}

int step_mount_unmount(struct step_mount *m, vs_error **err)
{
        if (m->rootfd >= 0) {
                close(m->rootfd);
                m->rootfd = -1;
        }
        if (m->mounted && vs_image_rootfs_umount(m->rootfs, err) < 0)
                return -1;
        m->mounted = false;
        return 0;
}

void step_mount_close(struct step_mount *m)
{
        _cleanup_error_ vs_error *e = NULL;
        step_mount_unmount(m, &e);
        if (m->dir) {
                _cleanup_error_ vs_error *e2 = NULL;
                vs_rm_rf(m->dir, &e2);
        }
        free(m->dir);
        free(m->rootfs);
        free(m->upper);
        memset(m, 0, sizeof(*m));
        m->rootfd = -1;
}

void step_reap_stale(const char *data_root, const char *runtime_root)
{
        _cleanup_free_ char *base = tmp_root(data_root);
        _cleanup_closedir_ DIR *d = opendir(base);
        if (d == NULL)
                return;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                int pid = atoi(de->d_name);
                if (pid <= 0 || (kill(pid, 0) == 0 || errno == EPERM))
                        continue;
                _cleanup_free_ char *dir = xasprintf("%s/%s", base, de->d_name);
                _cleanup_free_ char *id_path = xasprintf("%s/container-id", dir);
                _cleanup_free_ char *id = NULL;
                _cleanup_error_ vs_error *e = NULL;
                if (vs_read_file(id_path, &id, NULL, &e) == 0) {
                        _cleanup_error_ vs_error *e2 = NULL;
                        vs_container_delete(runtime_root, id, true, &e2);
                        _cleanup_error_ vs_error *e3 = NULL;
                        vs_net_release(data_root, id, &e3); /* a bridged RUN's lease */
                }
                _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
                umount2(rootfs, MNT_DETACH);
                _cleanup_error_ vs_error *e3 = NULL;
                vs_rm_rf(dir, &e3);
        }
}

/* The OCI config of a RUN step: runc's default spec with Docker's default
 * capabilities and seccomp profile, the step's process, and the network
 * namespace only when the build asked for --network none. */
static int run_config(struct step_mount *m, const struct run_spec *r, json_object **out,
                      vs_error **err)
{
        struct vs_user u = {0};
        if (vs_resolve_user(m->rootfd, r->user && *r->user ? r->user : "0", &u, err) < 0)
                return -1;
        _cleanup_json_ json_object *spec = oci_spec_default(false);
        json_object *root = json_object_object_get(spec, "root");
        json_object_object_add(root, "path", json_object_new_string(m->rootfs));
        json_object_object_add(root, "readonly", json_object_new_boolean(false));
        json_object_object_add(spec, "hostname", json_object_new_string("buildkitsandbox"));
        json_object *proc = json_object_object_get(spec, "process");
        json_object_object_add(proc, "terminal", json_object_new_boolean(false));
        json_object *args = json_object_new_array();
        for (size_t i = 0; r->args[i]; i++)
                json_object_array_add(args, json_object_new_string(r->args[i]));
        json_object_object_add(proc, "args", args);
        json_object *env = json_object_new_array();
        for (size_t i = 0; r->env && r->env[i]; i++)
                json_object_array_add(env, json_object_new_string(r->env[i]));
        json_object_object_add(proc, "env", env);
        json_object_object_add(proc, "cwd",
                               json_object_new_string(r->cwd && *r->cwd ? r->cwd : "/"));
        json_object *user = json_object_new_object();
        json_object_object_add(user, "uid", json_object_new_int64(u.uid));
        json_object_object_add(user, "gid", json_object_new_int64(u.gid));
        if (u.n_gids) {
                json_object *g = json_object_new_array();
                for (size_t i = 0; i < u.n_gids; i++)
                        json_object_array_add(g, json_object_new_int64(u.gids[i]));
                json_object_object_add(user, "additionalGids", g);
        }
        json_object_object_add(proc, "user", user);
        vs_user_clear(&u);
        json_object *caps = json_object_new_array();
        char *const *dc = vs_engine_default_caps();
        for (size_t i = 0; dc[i]; i++)
                json_object_array_add(caps, json_object_new_string(dc[i]));
        json_object *pc = json_object_new_object();
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        for (size_t i = 0; i < 3; i++) {
                json_object *c = NULL;
                json_object_deep_copy(caps, &c, NULL);
                json_object_object_add(pc, sets[i], c);
        }
        json_object_put(caps);
        json_object_object_add(proc, "capabilities", pc);
        json_object *mounts = json_object_object_get(spec, "mounts");
        for (size_t i = 0; i < r->n_mounts; i++) {
                const struct run_mount *rm = &r->mounts[i];
                json_object *mo = json_object_new_object();
                bool bind = strcmp(rm->type, "bind") == 0;
                json_object_object_add(mo, "destination", json_object_new_string(rm->target));
                json_object_object_add(mo, "type", json_object_new_string(rm->type));
                json_object_object_add(mo, "source", json_object_new_string(rm->source));
                json_object *opts = json_object_new_array();
                /* The sources are host files (the context, the cache
                 * dirs, a copy, a secret): nothing the step leaves there
                 * may become a setuid program or a device node on the
                 * host's filesystem. */
                if (bind)
                        json_object_array_add(opts, json_object_new_string("rbind"));
                json_object_array_add(opts, json_object_new_string("nosuid"));
                json_object_array_add(opts, json_object_new_string("nodev"));
                json_object_array_add(opts, json_object_new_string(rm->readonly ? "ro" : "rw"));
                json_object_object_add(mo, "options", opts);
                json_object_array_add(mounts, mo);
        }
        json_object *linux_ = json_object_object_get(spec, "linux");
        json_object_object_add(linux_, "seccomp", vs_engine_seccomp_default(dc));
        if (r->netns_path) {
                json_object *ns = json_object_object_get(linux_, "namespaces");
                for (size_t i = 0; i < json_object_array_length(ns); i++) {
                        json_object *o = json_object_array_get_idx(ns, i);
                        json_object *t = json_object_object_get(o, "type");
                        if (t && strcmp(json_object_get_string(t), "network") == 0)
                                json_object_object_add(o, "path",
                                                       json_object_new_string(r->netns_path));
                }
        }
        if (r->network && strcmp(r->network, "host") == 0) {
                json_object *ns = json_object_object_get(linux_, "namespaces");
                for (size_t i = json_object_array_length(ns); i-- > 0;) {
                        json_object *t =
                            json_object_object_get(json_object_array_get_idx(ns, i), "type");
                        if (t && strcmp(json_object_get_string(t), "network") == 0)
                                json_object_array_del_idx(ns, i, 1);
                }
        }
        *out = json_object_get(spec);
        return 0;
}

static int step_run_in(struct step_mount *m, const struct run_spec *r, const char *id,
                       int *exit_code, vs_error **err);

int step_run(struct step_mount *m, const struct run_spec *r, int *exit_code, vs_error **err)
{
        _cleanup_free_ char *hex = vs_random_hex(8);
        _cleanup_free_ char *id = xasprintf("build-%s", hex);
        _cleanup_free_ char *id_path = xasprintf("%s/container-id", m->dir);
        if (vs_write_file_atomic(id_path, id, strlen(id), 0600, err) < 0)
                return -1;
        if (!build_net_bridged(r->network))
                return step_run_in(m, r, id, exit_code, err);
        struct build_net bn;
        if (build_net_open(r->data_root, r->network, m->dir, id, &bn, err) < 0)
                return -1;
        struct run_spec rr = *r;
        rr.netns_path = bn.ns_path;
        int ret = step_run_in(m, &rr, id, exit_code, err);
        build_net_close(&bn);
        return ret;
}

static int step_run_in(struct step_mount *m, const struct run_spec *r, const char *id,
                       int *exit_code, vs_error **err)
{
        _cleanup_json_ json_object *spec = NULL;
        if (run_config(m, r, &spec, err) < 0)
                return -1;
        _cleanup_free_ char *bundle = xasprintf("%s/bundle", m->dir);
        if (vs_mkdir_p(bundle, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *cfg = xasprintf("%s/config.json", bundle);
        _cleanup_free_ char *text = vs_json_to_string(spec, false);
        if (vs_write_file_atomic(cfg, text, strlen(text), 0600, err) < 0)
                return -1;
        /* The process's output goes to out_fd; its stdin is /dev/null. */
        int saved[3] = {dup(0), dup(1), dup(2)};
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, 0);
                close(null);
        }
        dup2(r->out_fd, 1);
        dup2(r->out_fd, 2);
        struct vs_create_opts o = {.root = r->runtime_root,
                                   .id = id,
                                   .bundle = bundle,
                                   .cancel_on_signal = true,
                                   .die_with_caller = true};
        int status = 0;
        int ret = vs_container_run(&o, false, &status, err);
        for (int i = 0; i < 3; i++) {
                if (saved[i] >= 0) {
                        dup2(saved[i], i);
                        close(saved[i]);
                }
        }
        if (ret < 0) {
                _cleanup_error_ vs_error *e = NULL;
                vs_container_delete(r->runtime_root, id, true, &e);
                return -1;
        }
        *exit_code = status;
        return 0;
}
