/* `vessel commit` and `vessel diff`: a container's upper layer as a new
 * image (with the container's config, changed by Dockerfile instructions),
 * and the list of its changes. */
#include "engine/engine.h"
#include "engine/rootless.h"
#include "image/image.h"
#include "image/layer.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static char *trim(char *s)
{
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
        return s;
}

/* '["a","b"]' -> array; shell form -> ["/bin/sh","-c",text]. */
static int command_form(const char *instr, const char *arg, json_object **out, vs_error **err)
{
        if (*arg == '[') {
                _cleanup_json_ json_object *a = json_tokener_parse(arg);
                if (a && json_object_is_type(a, json_type_array)) {
                        for (size_t i = 0; i < json_object_array_length(a); i++)
                                if (!json_object_is_type(json_object_array_get_idx(a, i),
                                                         json_type_string))
                                        return vs_fail(err,
                                                       "--change %s: the JSON form takes "
                                                       "strings only",
                                                       instr);
                        *out = json_object_get(a);
                        return 0;
                }
        }
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_string("/bin/sh"));
        json_object_array_add(a, json_object_new_string("-c"));
        json_object_array_add(a, json_object_new_string(arg));
        *out = a;
        return 0;
}

/* Splits "A=b C=\"d e\"" into pairs; unquotes double-quoted values. */
static int key_values(const char *instr, const char *arg, char ***out, vs_error **err)
{
        const char *p = arg;
        char **v = NULL;
        /* Legacy one-pair form: "ENV KEY value with spaces". */
        const char *sp = strpbrk(arg, " \t"), *eq = strchr(arg, '=');
        if (sp && (eq == NULL || eq > sp)) {
                _cleanup_free_ char *k = xstrndup(arg, (size_t) (sp - arg));
                _cleanup_free_ char *val = xstrdup(sp);
                _cleanup_free_ char *kv = xasprintf("%s=%s", k, trim(val));
                strv_push(&v, kv);
                *out = v;
                return 0;
        }
        while (*p) {
                while (isspace((unsigned char) *p))
                        p++;
                if (!*p)
                        break;
                const char *start = p;
                while (*p && *p != '=' && !isspace((unsigned char) *p))
                        p++;
                if (*p != '=') {
                        strv_free(v);
                        return vs_fail(err, "--change %s: '%s' is not KEY=VALUE", instr, start);
                }
                _cleanup_free_ char *key = xstrndup(start, (size_t) (p - start));
                p++;
                char *val = xstrdup("");
                size_t vl = 0;
                char quote = 0;
                while (*p && (quote || !isspace((unsigned char) *p))) {
                        if (!quote && (*p == '"' || *p == '\'')) {
                                quote = *p++;
                                continue;
                        }
                        if (quote && *p == quote) {
                                quote = 0;
                                p++;
                                continue;
                        }
                        if (*p == '\\' && p[1] && quote != '\'')
                                p++;
                        val = xrealloc(val, vl + 2);
                        val[vl++] = *p++;
                        val[vl] = '\0';
                }
                _cleanup_free_ char *kv = xasprintf("%s=%s", key, val);
                free(val);
                strv_push(&v, kv);
        }
        *out = v;
        return 0;
}

static json_object *copy_or_new(json_object *base, const char *key, json_type t)
{
        json_object *v = base ? json_object_object_get(base, key) : NULL;
        json_object *out = NULL;
        if (v && json_object_is_type(v, t))
                json_object_deep_copy(v, &out, NULL);
        if (out == NULL)
                out = t == json_type_array ? json_object_new_array() : json_object_new_object();
        return out;
}

static void env_put(json_object *env, const char *kv)
{
        size_t klen = strcspn(kv, "=");
        for (size_t i = 0; i < json_object_array_length(env); i++) {
                const char *e = json_object_get_string(json_object_array_get_idx(env, i));
                if (strncmp(e, kv, klen) == 0 && e[klen] == '=') {
                        json_object_array_put_idx(env, i, json_object_new_string(kv));
                        return;
                }
        }
        json_object_array_add(env, json_object_new_string(kv));
}

static int apply_change(const char *change, json_object *cfg, vs_error **err)
{
        _cleanup_free_ char *copy = xstrdup(change);
        char *s = trim(copy);
        size_t kw = strcspn(s, " \t");
        char *arg = trim(s + kw);
        s[kw] = '\0';
        if (*arg == '\0')
                return vs_fail(err, "--change '%s': missing argument", change);
        if (strcasecmp(s, "CMD") == 0 || strcasecmp(s, "ENTRYPOINT") == 0) {
                json_object *v = NULL;
                if (command_form(s, arg, &v, err) < 0)
                        return -1;
                json_object_object_add(cfg, strcasecmp(s, "CMD") == 0 ? "Cmd" : "Entrypoint", v);
                return 0;
        }
        if (strcasecmp(s, "ENV") == 0 || strcasecmp(s, "LABEL") == 0) {
                _cleanup_strv_ char **kvs = NULL;
                if (key_values(s, arg, &kvs, err) < 0)
                        return -1;
                bool env = strcasecmp(s, "ENV") == 0;
                json_object *target = copy_or_new(cfg, env ? "Env" : "Labels",
                                                  env ? json_type_array : json_type_object);
                for (size_t i = 0; kvs && kvs[i]; i++) {
                        if (env) {
                                env_put(target, kvs[i]);
                        } else {
                                char *eq = strchr(kvs[i], '=');
                                *eq = '\0';
                                json_object_object_add(target, kvs[i],
                                                       json_object_new_string(eq + 1));
                        }
                }
                json_object_object_add(cfg, env ? "Env" : "Labels", target);
                return 0;
        }
        if (strcasecmp(s, "WORKDIR") == 0) {
                json_object *cur = json_object_object_get(cfg, "WorkingDir");
                const char *base = cur ? json_object_get_string(cur) : "/";
                _cleanup_free_ char *wd =
                    arg[0] == '/' ? xstrdup(arg)
                                  : xasprintf("%s/%s", strcmp(base, "/") == 0 ? "" : base, arg);
                json_object_object_add(cfg, "WorkingDir", json_object_new_string(wd));
                return 0;
        }
        if (strcasecmp(s, "USER") == 0 || strcasecmp(s, "STOPSIGNAL") == 0) {
                if (strcasecmp(s, "STOPSIGNAL") == 0 && vs_signal_from_name(arg) <= 0)
                        return vs_fail(err, "--change STOPSIGNAL: unknown signal '%s'", arg);
                json_object_object_add(cfg, strcasecmp(s, "USER") == 0 ? "User" : "StopSignal",
                                       json_object_new_string(arg));
                return 0;
        }
        if (strcasecmp(s, "EXPOSE") == 0 || strcasecmp(s, "VOLUME") == 0) {
                bool expose = strcasecmp(s, "EXPOSE") == 0;
                const char *key = expose ? "ExposedPorts" : "Volumes";
                json_object *target = copy_or_new(cfg, key, json_type_object);
                _cleanup_json_ json_object *list = NULL;
                if (!expose && *arg == '[')
                        list = json_tokener_parse(arg);
                if (list && json_object_is_type(list, json_type_array)) {
                        for (size_t i = 0; i < json_object_array_length(list); i++)
                                json_object_object_add(
                                    target,
                                    json_object_get_string(json_object_array_get_idx(list, i)),
                                    json_object_new_object());
                } else {
                        for (char *save = NULL, *t = strtok_r(arg, " \t", &save); t;
                             t = strtok_r(NULL, " \t", &save)) {
                                _cleanup_free_ char *k =
                                    expose && !strchr(t, '/') ? xasprintf("%s/tcp", t) : xstrdup(t);
                                json_object_object_add(target, k, json_object_new_object());
                        }
                }
                json_object_object_add(cfg, key, target);
                return 0;
        }
        return vs_fail(err,
                       "--change '%s': unsupported instruction %s (CMD, ENTRYPOINT, ENV, "
                       "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)",
                       change, s);
}

int vs_commit_changes(char **changes, json_object *base_config, json_object **out, vs_error **err)
{
        json_object *cfg = NULL;
        if (base_config)
                json_object_deep_copy(base_config, &cfg, NULL);
        if (cfg == NULL)
                cfg = json_object_new_object();
        for (size_t i = 0; changes && changes[i]; i++) {
                if (apply_change(changes[i], cfg, err) < 0) {
                        json_object_put(cfg);
                        return -1;
                }
        }
        *out = cfg;
        return 0;
}

/* The image-config view of a container's config (what `docker commit`
 * keeps). */
static json_object *container_image_config(const struct vs_ctr *c)
{
        static const char *const keys[] = {"Cmd",     "Entrypoint", "Env",        "WorkingDir",
                                           "User",    "Labels",     "StopSignal", "ExposedPorts",
                                           "Volumes", NULL};
        json_object *out = json_object_new_object();
        _cleanup_json_ json_object *cfg = vs_ctr_config_json(c, false);
        for (size_t i = 0; keys[i]; i++) {
                json_object *v = json_object_object_get(cfg, keys[i]);
                if (v == NULL)
                        continue;
                if (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0)
                        continue;
                json_object_object_add(out, keys[i], json_object_get(v));
        }
        return out;
}

/* The rootless engine's container with id maps of its own stores its
 * changes with the engine's ids for the container's (its layers are
 * shifted copies, src/image/shift.c): the commit packs a copy of the upper
 * dir with the container's ids back (*out, removed by the caller; NULL
 * for any other container). A copy a killed commit left is replaced. */
static int unshift_upper(const struct vs_ctr *c, const char *upper, char **out, vs_error **err)
{
        *out = NULL;
        struct vs_idmaps m;
        int r = vs_userns_unshift_maps(c, &m, err);
        if (r <= 0)
                return r;
        struct vs_layer_idshift back = {m.uid, m.gid, m.n_uid, m.n_gid};
        _cleanup_free_ char *dir = xasprintf("%s/commit-upper", c->dir);
        r = vs_rm_rf(dir, err);
        if (r == 0 && mkdir(dir, 0700) < 0)
                r = vs_fail_errno(err, "cannot create %s", dir);
        if (r == 0)
                r = vs_layer_copy_shifted(upper, dir, &back, err);
        vs_idmaps_clear(&m);
        if (r < 0) {
                _cleanup_error_ vs_error *rmerr = NULL;
                vs_rm_rf(dir, &rmerr);
                return -1;
        }
        *out = steal_ptr(dir);
        return 0;
}

int vs_engine_commit(struct vs_engine *e, struct vs_ctr *c, const char *ref,
                     const struct vs_commit_opts *o, char **image_id, vs_error **err)
{
        struct vs_store *store;
        if (vs_engine_store(e, &store, err) < 0)
                return -1;
        _cleanup_json_ json_object *base_cfg = container_image_config(c);
        _cleanup_json_ json_object *changes = NULL;
        if (vs_commit_changes(o->changes, base_cfg, &changes, err) < 0)
                return -1;
        struct vs_image *img = NULL;
        if (vs_image_lookup(store, c->image_id, &img, err) < 0)
                return vs_error_wrap(err, "container %s", c->name);
        _cleanup_free_ char *upper = xasprintf("%s/upper", c->dir);
        int r = 0;
        if (!vs_is_dir(upper))
                r = vs_image_rootfs_prepare_dir(img, c->dir, err);
        vs_ctr_refresh(e, c);
        bool paused = false;
        /* The rootless engine's containers have no cgroup to freeze them
         * with (no limits asked): they are committed running, as podman
         * commits by default. */
        if (r == 0 && o->pause && c->state.running && !vs_rootless()) {
                /* A consistent snapshot: nothing writes while the layer is
                 * packed. Held and counted (also when the user paused it: an
                 * unpause meanwhile leaves it frozen until we are done); if
                 * we die, the next command thaws it. */
                r = vs_ctr_freeze_held(c, err);
                paused = r == 0;
        }
        _cleanup_free_ char *unshifted = NULL;
        if (r == 0)
                r = unshift_upper(c, upper, &unshifted, err);
        if (r == 0)
                r = vs_image_commit_skipping(store, img, unshifted ? unshifted : upper,
                                             vs_engine_mounted_files, changes, o->message,
                                             o->author, ref, image_id, err);
        if (unshifted) {
                _cleanup_error_ vs_error *rmerr = NULL;
                if (vs_rm_rf(unshifted, &rmerr) < 0)
                        vs_warn("%s", rmerr->msg);
        }
        if (paused) {
                _cleanup_error_ vs_error *rerr = NULL;
                if (vs_ctr_thaw_held(c, &rerr) < 0 && r == 0) {
                        *err = steal_ptr(rerr);
                        r = -1;
                }
        }
        vs_image_free(img);
        return r;
}

/* The engine's bind-mounted files are not the container's changes (Docker
 * leaves them out); nor is /etc, when they were all that changed there. */
static void drop_mount_stubs(char **lines)
{
        size_t w = 0;
        bool other_etc = false;
        for (size_t i = 0; lines[i]; i++) {
                bool stub = false;
                for (size_t k = 0; vs_engine_mounted_files[k]; k++)
                        stub = stub || (lines[i][0] == 'A' && strncmp(lines[i] + 2, "/", 1) == 0 &&
                                        strcmp(lines[i] + 3, vs_engine_mounted_files[k]) == 0);
                if (!stub && strncmp(lines[i] + 2, "/etc/", 5) == 0)
                        other_etc = true;
                if (stub)
                        free(lines[i]);
                else
                        lines[w++] = lines[i];
        }
        lines[w] = NULL;
        if (other_etc)
                return;
        size_t w2 = 0;
        for (size_t i = 0; lines[i]; i++) {
                if (strcmp(lines[i], "C /etc") == 0)
                        free(lines[i]);
                else
                        lines[w2++] = lines[i];
        }
        lines[w2] = NULL;
}

int vs_engine_diff(struct vs_engine *e, struct vs_ctr *c, char ***lines, vs_error **err)
{
        struct vs_store *store;
        if (vs_engine_store(e, &store, err) < 0)
                return -1;
        _cleanup_free_ char *upper = xasprintf("%s/upper", c->dir);
        if (!vs_is_dir(upper)) {
                *lines = xcalloc(1, sizeof(char *));
                return 0;
        }
        struct vs_image *img = NULL;
        if (vs_image_lookup(store, c->image_id, &img, err) < 0)
                return vs_error_wrap(err, "container %s", c->name);
        int r = vs_image_rootfs_diff(img, upper, lines, err);
        vs_image_free(img);
        if (r == 0)
                drop_mount_stubs(*lines);
        return r;
}
