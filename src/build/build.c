/* The build executor: stages (only those the target needs), instructions
 * in order, each step an image in the store (unnamed until tagged), and
 * the cache: <data-root>/build/cache/<key> holds the image id a step made,
 * keyed by sha256(parent id, the instruction after expansion, the build
 * args in scope, the content digests of COPY/ADD sources). */
#include "build/build.h"
#include "build/dockerfile.h"
#include "build/internal.h"
#include "build/exec.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/layer.h"
#include "image/store.h"
#include "image/transfer.h"
#include "net/net.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <signal.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Ctrl-C, SIGTERM, SIGHUP during a build: noted, and the build stops at
 * the next step boundary after cleaning up (during RUN the runtime kills
 * the step's container instead: cancel_on_signal). */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
        interrupted = sig;
}

bool build_interrupted(void)
{
        return interrupted != 0;
}

static const char *env_lookup(char **env, const char *name)
{
        size_t n = strlen(name);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

static const char *build_arg(const struct builder *b, const char *name, bool *given)
{
        size_t n = strlen(name);
        *given = false;
        for (size_t i = 0; b->o->build_args && b->o->build_args[i]; i++) {
                const char *a = b->o->build_args[i];
                if (strncmp(a, name, n) == 0 && (a[n] == '=' || a[n] == '\0')) {
                        *given = true;
                        return a[n] == '=' ? a + n + 1 : getenv(name);
                }
        }
        return NULL;
}

static char **config_env(json_object *config)
{
        char **v = NULL;
        json_object *env = json_object_object_get(config, "Env");
        for (size_t i = 0; env && i < json_object_array_length(env); i++)
                strv_push(&v, json_object_get_string(json_object_array_get_idx(env, i)));
        return v;
}

static const char *stage_lookup(const char *name, void *arg)
{
        struct state *s = arg;
        json_object *env = json_object_object_get(s->config, "Env");
        size_t n = strlen(name);
        for (size_t i = 0; env && i < json_object_array_length(env); i++) {
                const char *e = json_object_get_string(json_object_array_get_idx(env, i));
                if (strncmp(e, name, n) == 0 && e[n] == '=')
                        return e + n + 1;
        }
        return env_lookup(s->args, name);
}

static const char *meta_lookup(const char *name, void *arg)
{
        return env_lookup(((struct builder *) arg)->meta, name);
}

int fail_at_line(struct builder *b, int line, char *msg, vs_error **err)
{
        /* msg may quote the error it replaces. */
        vs_error_free(err);
        vs_error_set(err, 0, "%s:%d: %s", b->dfname, line, msg);
        free(msg);
        return -1;
}

int expand(struct state *s, const char *word, char **out, vs_error **err)
{
        _cleanup_error_ vs_error *e = NULL;
        if (vs_df_expand(word, s->b->df->escape, stage_lookup, s, out, &e) < 0)
                return fail_line(s, "%s", e->msg);
        return 0;
}

/* ---- platforms ---- */

static char *host_platform(void)
{
        const char *v = vs_platform_variant();
        return *v ? xasprintf("linux/%s/%s", vs_platform_arch(), v)
                  : xasprintf("linux/%s", vs_platform_arch());
}

int vs_build_platform_check(const char *platform, vs_error **err)
{
        _cleanup_free_ char *host = host_platform();
        _cleanup_free_ char *bare = xasprintf("linux/%s", vs_platform_arch());
        if (strcmp(platform, host) == 0 || strcmp(platform, bare) == 0)
                return 0;
        return vs_fail(err,
                       "vessel builds only for this host's platform, %s (no emulation), not %s",
                       host, platform);
}

/* BuildKit's automatic platform ARGs, in the global scope (FROM lines; a
 * stage gets them with a bare `ARG NAME`). Target and build platform are
 * both the host's. */
static void platform_args(struct builder *b)
{
        _cleanup_free_ char *p = host_platform();
        const char *arch = vs_platform_arch(), *variant = vs_platform_variant();
        static const char *const who[] = {"TARGET", "BUILD"};
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *a = xasprintf("%sPLATFORM=%s", who[i], p);
                _cleanup_free_ char *o = xasprintf("%sOS=linux", who[i]);
                _cleanup_free_ char *c = xasprintf("%sARCH=%s", who[i], arch);
                _cleanup_free_ char *v = xasprintf("%sVARIANT=%s", who[i], variant);
                strv_env_set(&b->meta, a);
                strv_env_set(&b->meta, o);
                strv_env_set(&b->meta, c);
                strv_env_set(&b->meta, v);
        }
}

/* A base image (FROM, COPY --from) by the --pull policy: "missing" pulls
 * it when the store lacks it, "always" first, "never" not at all. */
int base_image(struct builder *b, const char *ref, struct vs_image **img, vs_error **err)
{
        const char *policy = b->o->pull ? b->o->pull : "missing";
        bool can = b->o->pull_image != NULL;
        if (can && strcmp(policy, "always") == 0) {
                progress_break(b);
                if (b->o->pull_image(b->store, ref, false, err) < 0)
                        return -1;
        }
        if (vs_image_lookup(b->store, ref, img, err) == 0)
                return 0;
        if (!can || strcmp(policy, "missing") != 0 || (*err)->errno_ != ENOENT)
                return -1;
        vs_error_free(err);
        progress_break(b);
        if (b->o->pull_image(b->store, ref, true, err) < 0)
                return -1;
        return vs_image_lookup(b->store, ref, img, err);
}

/* ---- progress ---- */

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Plain: "#3 [2/5] RUN make", then "#3 DONE 1.2s" or "#3 CACHED". On a
 * tty (--progress tty, or auto on a terminal) one line per step, finished
 * in place: "#3 [2/5] RUN make  1.2s" / "#3 [2/5] COPY . /  CACHED" (output
 * of a RUN ends the line first). */
static void progress_start(struct state *s, const struct vs_df_instr *in, size_t idx)
{
        struct builder *b = s->b;
        b->step++;
        if (b->o->quiet)
                return;
        size_t n = s->stage->end - s->stage->from;
        free(b->header);
        b->header = xasprintf("#%d [%s%s%zu/%zu] %s", b->step, s->stage->name ? s->stage->name : "",
                              s->stage->name ? " " : "", idx - s->stage->from + 1, n, in->original);
        if (b->o->tty) {
                fprintf(stderr, "\033[1m%s\033[0m ...", b->header);
                b->line_open = true;
        } else {
                fprintf(stderr, "%s\n", b->header);
        }
        fflush(stderr);
}

void progress_break(struct builder *b)
{
        if (b->line_open) {
                fputc('\n', stderr);
                fflush(stderr);
                b->line_open = false;
        }
}

static void progress_end(struct state *s, bool cached, double start)
{
        struct builder *b = s->b;
        if (b->o->quiet)
                return;
        double took = now_s() - start;
        if (b->o->tty && b->line_open)
                fprintf(stderr, "\r\033[K\033[1m%s\033[0m  %s%.1fs\033[0m\n", b->header,
                        cached ? "\033[36mCACHED " : "\033[32m", took);
        else if (b->o->tty)
                fprintf(stderr, "#%d %s %.1fs\n", b->step, cached ? "CACHED" : "DONE", took);
        else if (cached)
                fprintf(stderr, "#%d CACHED\n", b->step);
        else
                fprintf(stderr, "#%d DONE %.1fs\n", b->step, took);
        b->line_open = false;
        fflush(stderr);
}

/* ---- cache ---- */

char *cache_key(struct state *s, const char *created_by, const char *extra)
{
        struct vs_sha256 h;
        vs_sha256_init(&h);
        const char *parent = s->id ? s->id : "scratch";
        vs_sha256_update(&h, parent, strlen(parent) + 1);
        vs_sha256_update(&h, created_by, strlen(created_by) + 1);
        for (size_t i = 0; s->args && s->args[i]; i++)
                vs_sha256_update(&h, s->args[i], strlen(s->args[i]) + 1);
        if (extra)
                vs_sha256_update(&h, extra, strlen(extra) + 1);
        const char *epoch = s->b->created ? s->b->created : "";
        vs_sha256_update(&h, epoch, strlen(epoch) + 1);
        char out[VS_DIGEST_LEN + 1];
        vs_sha256_final(&h, out);
        return xstrdup(out + strlen("sha256:"));
}

static char *cache_path(struct builder *b, const char *key)
{
        return xasprintf("%s/build/cache/%s", b->e->data_root, key);
}

char *cache_get(struct state *s, const char *key)
{
        if (s->b->o->no_cache)
                return NULL;
        _cleanup_free_ char *p = cache_path(s->b, key);
        char *id = NULL;
        _cleanup_error_ vs_error *e = NULL;
        if (vs_read_file(p, &id, NULL, &e) < 0)
                return NULL;
        struct vs_image *img = NULL;
        if (vs_image_lookup(s->b->store, id, &img, &e) < 0) {
                free(id);
                return NULL;
        }
        vs_image_free(img);
        return id;
}

static void cache_put(struct builder *b, const char *key, const char *id)
{
        _cleanup_free_ char *dir = xasprintf("%s/build/cache", b->e->data_root);
        _cleanup_free_ char *p = cache_path(b, key);
        _cleanup_error_ vs_error *e = NULL;
        if (vs_mkdir_p(dir, 0700, &e) == 0)
                vs_write_file_atomic(p, id, strlen(id), 0600, &e);
}

static void set_loaded(struct state *s, struct vs_image *img);

/* Moves the stage onto image id (loads it). */
int set_image(struct state *s, const char *id, vs_error **err)
{
        struct vs_image *img = NULL;
        if (vs_image_lookup(s->b->store, id, &img, err) < 0)
                return -1;
        set_loaded(s, img);
        return 0;
}

static void set_loaded(struct state *s, struct vs_image *img)
{
        vs_image_free(s->img);
        s->img = img;
        free(s->id);
        s->id = xstrdup(img->id);
        json_object *conf = json_object_object_get(img->config_json, "config");
        json_object_put(s->config);
        s->config = NULL;
        if (conf)
                json_object_deep_copy(conf, &s->config, NULL);
        if (s->config == NULL)
                s->config = json_object_new_object();
}

/* Commits a step: upper (may be NULL) + the current config. */
static int commit(struct state *s, const char *upper, const char *created_by, const char *key,
                  vs_error **err)
{
        struct vs_commit_step st = {
            .upper_dir = upper,
            .config = s->config,
            .created_by = created_by,
            .comment = "buildkit.dockerfile.v0",
            .created = s->b->created,
        };
        _cleanup_free_ char *id = NULL;
        if (vs_image_commit_step(s->b->store, s->img, &st, &id, err) < 0)
                return -1;
        if (key)
                cache_put(s->b, key, id);
        return set_image(s, id, err);
}

/* A step that changes only the config: cached like the others. */
static int config_step(struct state *s, const char *created_by, vs_error **err)
{
        _cleanup_free_ char *key = cache_key(s, created_by, NULL);
        _cleanup_free_ char *hit = cache_get(s, key);
        if (hit)
                return set_image(s, hit, err) < 0 ? -1 : 1;
        return commit(s, NULL, created_by, key, err);
}

/* ---- config helpers ---- */

static void config_set_strv(json_object *config, const char *key, char **v)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        json_object_object_add(config, key, a);
}

static json_object *config_obj(json_object *config, const char *key)
{
        json_object *o = json_object_object_get(config, key);
        if (o == NULL || !json_object_is_type(o, json_type_object)) {
                o = json_object_new_object();
                json_object_object_add(config, key, o);
        }
        return o;
}

static char **shell_of(struct state *s)
{
        json_object *sh = json_object_object_get(s->config, "Shell");
        char **v = NULL;
        for (size_t i = 0; sh && i < json_object_array_length(sh); i++)
                strv_push(&v, json_object_get_string(json_object_array_get_idx(sh, i)));
        if (v == NULL) {
                strv_push(&v, "/bin/sh");
                strv_push(&v, "-c");
        }
        return v;
}

/* exec form: args; shell form: SHELL + [text]. */
static char **command_of(struct state *s, const struct vs_df_instr *in, const char *text)
{
        if (in->exec_form)
                return strv_copy(in->args);
        char **v = shell_of(s);
        strv_push(&v, text ? text : in->args[0]);
        return v;
}

static char *json_strv(char **v)
{
        _cleanup_json_ json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return vs_json_to_string(a, false);
}

char *join_words(char **v)
{
        size_t n = 1;
        for (size_t i = 0; v && v[i]; i++)
                n += strlen(v[i]) + 1;
        char *out = xzalloc(n);
        for (size_t i = 0; v && v[i]; i++) {
                if (i)
                        strcat(out, " ");
                strcat(out, v[i]);
        }
        return out;
}

/* ---- instructions that change only the config ---- */

static int do_env_label(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        bool env = in->kind == VS_DF_ENV;
        _cleanup_free_ char *desc = xstrdup(env ? "ENV" : "LABEL");
        for (size_t i = 0; in->args[i] && in->args[i + 1]; i += 2) {
                _cleanup_free_ char *k = NULL, *v = NULL;
                if (expand(s, in->args[i], &k, err) < 0 || expand(s, in->args[i + 1], &v, err) < 0)
                        return -1;
                if (env) {
                        char **cur = config_env(s->config);
                        _cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
                        strv_env_set(&cur, kv);
                        config_set_strv(s->config, "Env", cur);
                        strv_free(cur);
                } else {
                        json_object_object_add(config_obj(s->config, "Labels"), k,
                                               json_object_new_string(v));
                }
                char *d = xasprintf("%s %s=%s", desc, k, v);
                free(desc);
                desc = d;
        }
        return config_step(s, desc, err);
}

static int do_arg(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        _cleanup_free_ char *desc = xstrdup("ARG");
        for (size_t i = 0, p = 0; in->args[i] && in->args[i + 1]; i += 2, p++) {
                const char *k = in->args[i];
                bool given;
                const char *ba = build_arg(s->b, k, &given);
                _cleanup_free_ char *v = NULL;
                if (given && ba)
                        v = xstrdup(ba);
                else if (in->has_value[p] && expand(s, in->args[i + 1], &v, err) < 0)
                        return -1;
                else if (!in->has_value[p] && env_lookup(s->b->meta, k))
                        v = xstrdup(env_lookup(s->b->meta, k));
                char *d = v ? xasprintf("%s %s=%s", desc, k, v) : xasprintf("%s %s", desc, k);
                free(desc);
                desc = d;
                if (v) {
                        _cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
                        strv_env_set(&s->args, kv);
                }
        }
        return config_step(s, desc, err);
}

static int parse_duration(const char *s, int64_t *ns)
{
        /* Go durations as Docker takes them: "30s", "1m30s", "500ms", "1h". */
        double total = 0;
        const char *p = s;
        if (!*p)
                return -1;
        while (*p) {
                char *end;
                double v = strtod(p, &end);
                if (end == p)
                        return -1;
                p = end;
                double unit;
                if (strncmp(p, "ms", 2) == 0)
                        unit = 1e6, p += 2;
                else if (strncmp(p, "us", 2) == 0)
                        unit = 1e3, p += 2;
                else if (strncmp(p, "ns", 2) == 0)
                        unit = 1, p += 2;
                else if (*p == 's')
                        unit = 1e9, p++;
                else if (*p == 'm')
                        unit = 60e9, p++;
                else if (*p == 'h')
                        unit = 3600e9, p++;
                else
                        return -1;
                total += v * unit;
        }
        *ns = (int64_t) total;
        return 0;
}

static int do_healthcheck(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        json_object *hc = json_object_new_object();
        json_object *test = json_object_new_array();
        if (strcmp(in->args[0], "NONE") == 0) {
                json_object_array_add(test, json_object_new_string("NONE"));
        } else if (in->sub->exec_form) {
                json_object_array_add(test, json_object_new_string("CMD"));
                for (size_t i = 0; in->sub->args[i]; i++)
                        json_object_array_add(test, json_object_new_string(in->sub->args[i]));
        } else {
                json_object_array_add(test, json_object_new_string("CMD-SHELL"));
                json_object_array_add(test, json_object_new_string(in->sub->args[0]));
        }
        json_object_object_add(hc, "Test", test);
        static const char *const d[][2] = {{"interval", "Interval"},
                                           {"timeout", "Timeout"},
                                           {"start-period", "StartPeriod"},
                                           {"start-interval", "StartInterval"}};
        for (size_t i = 0; i < 4; i++) {
                const char *v = vs_df_flag(in, d[i][0]);
                int64_t ns;
                if (v == NULL)
                        continue;
                if (parse_duration(v, &ns) < 0) {
                        json_object_put(hc);
                        return fail_line(s, "HEALTHCHECK --%s: invalid duration '%s'", d[i][0], v);
                }
                json_object_object_add(hc, d[i][1], json_object_new_int64(ns));
        }
        const char *r = vs_df_flag(in, "retries");
        if (r) {
                char *end;
                long n = strtol(r, &end, 10);
                if (*end || n < 0) {
                        json_object_put(hc);
                        return fail_line(s, "HEALTHCHECK --retries: invalid number '%s'", r);
                }
                json_object_object_add(hc, "Retries", json_object_new_int64(n));
        }
        json_object_object_add(s->config, "Healthcheck", hc);
        _cleanup_free_ char *desc = xasprintf("HEALTHCHECK %s", in->original + 12);
        return config_step(s, desc, err);
}

static int do_meta(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        _cleanup_free_ char *desc = NULL;
        switch (in->kind) {
        case VS_DF_CMD:
        case VS_DF_ENTRYPOINT: {
                _cleanup_strv_ char **cmd = command_of(s, in, NULL);
                bool ep = in->kind == VS_DF_ENTRYPOINT;
                config_set_strv(s->config, ep ? "Entrypoint" : "Cmd", cmd);
                if (ep && !s->cmd_set)
                        json_object_object_del(s->config, "Cmd");
                if (!ep)
                        s->cmd_set = true;
                _cleanup_free_ char *j = json_strv(cmd);
                desc = xasprintf("%s %s", ep ? "ENTRYPOINT" : "CMD", j);
                break;
        }
        case VS_DF_SHELL: {
                config_set_strv(s->config, "Shell", in->args);
                _cleanup_free_ char *j = json_strv(in->args);
                desc = xasprintf("SHELL %s", j);
                break;
        }
        case VS_DF_EXPOSE:
        case VS_DF_VOLUME: {
                bool expose = in->kind == VS_DF_EXPOSE;
                json_object *o = config_obj(s->config, expose ? "ExposedPorts" : "Volumes");
                _cleanup_strv_ char **words = NULL;
                for (size_t i = 0; in->args[i]; i++) {
                        _cleanup_free_ char *w = NULL;
                        if (expand(s, in->args[i], &w, err) < 0)
                                return -1;
                        if (expose && strchr(w, '/') == NULL) {
                                char *t = xasprintf("%s/tcp", w);
                                free(w);
                                w = t;
                        }
                        json_object_object_add(o, w, json_object_new_object());
                        strv_push(&words, w);
                }
                _cleanup_free_ char *j = expose ? join_words(words) : json_strv(words);
                desc = xasprintf("%s %s", expose ? "EXPOSE" : "VOLUME", j);
                break;
        }
        case VS_DF_USER:
        case VS_DF_STOPSIGNAL: {
                _cleanup_free_ char *v = NULL;
                if (expand(s, in->args[0], &v, err) < 0)
                        return -1;
                bool user = in->kind == VS_DF_USER;
                if (!user && vs_signal_from_name(v) <= 0)
                        return fail_line(s, "STOPSIGNAL: unknown signal '%s'", v);
                json_object_object_add(s->config, user ? "User" : "StopSignal",
                                       json_object_new_string(v));
                desc = xasprintf("%s %s", user ? "USER" : "STOPSIGNAL", v);
                break;
        }
        case VS_DF_ONBUILD: {
                json_object *a = json_object_object_get(s->config, "OnBuild");
                if (a == NULL || !json_object_is_type(a, json_type_array)) {
                        a = json_object_new_array();
                        json_object_object_add(s->config, "OnBuild", a);
                }
                json_object_array_add(a, json_object_new_string(in->args[0]));
                desc = xasprintf("ONBUILD %s", in->args[0]);
                break;
        }
        case VS_DF_MAINTAINER:
                desc = xasprintf("MAINTAINER %s", in->args[0]);
                break;
        default:
                return fail_line(s, "internal: %s is not a config step", vs_df_kind_name(in->kind));
        }
        return config_step(s, desc, err);
}

/* ---- steps that change the filesystem ---- */

const char *workdir_of(struct state *s)
{
        json_object *w = json_object_object_get(s->config, "WorkingDir");
        const char *v = w ? json_object_get_string(w) : NULL;
        return v && *v ? v : "/";
}

/* Runs fn in a step mount over the current image, commits its upper dir. */

int fs_step(struct state *s, const char *created_by, const char *key, fs_fn fn, fs_fn post,
            void *arg, vs_error **err)
{
        return fs_step_on(s, s->img, created_by, key, fn, post, arg, err);
}

int fs_step_on(struct state *s, const struct vs_image *base, const char *created_by,
               const char *key, fs_fn fn, fs_fn post, void *arg, vs_error **err)
{
        struct step_mount m;
        if (step_mount_open(s->b->e->data_root, base, &m, err) < 0)
                return -1;
        int r = fn(s, &m, arg, err);
        if (r == 0 && interrupted)
                r = vs_fail(err, "interrupted by signal %d", (int) interrupted);
        if (r == 0)
                r = step_mount_unmount(&m, err);
        if (r == 0 && post)
                r = post(s, &m, arg, err);
        if (r == 0)
                r = commit(s, m.upper, created_by, key, err);
        step_mount_close(&m);
        return r;
}

struct run_arg {
        char **args, **env;
        const char *network;
        struct run_mount *mounts;
        size_t n_mounts;
};

static int run_unstub(struct state *s, struct step_mount *m, void *arg, vs_error **err)
{
        struct run_arg *ra = arg;
        run_mounts_unstub(ra->mounts, ra->n_mounts, m->upper);
        return 0;
}

static void run_arg_clear(struct run_arg *ra)
{
        for (size_t i = 0; i < ra->n_mounts; i++)
                run_mount_clear(&ra->mounts[i]);
        free(ra->mounts);
}

/* The --mount flags of a RUN. */
static int run_mounts(struct state *s, const struct vs_df_instr *in, struct run_arg *ra,
                      vs_error **err)
{
        for (size_t i = 0; in->flags && in->flags[i]; i++) {
                if (strncmp(in->flags[i], "--mount=", 8) != 0)
                        continue;
                _cleanup_free_ char *spec = NULL;
                if (expand(s, in->flags[i] + 8, &spec, err) < 0)
                        return -1;
                struct run_mount m;
                bool skip = false;
                _cleanup_error_ vs_error *e = NULL;
                if (run_mount_parse(spec, s->b->e->data_root, s->b->ctx_fd, s->b->o->secrets, &m,
                                    &skip, &e) < 0)
                        return fail_line(s, "%s", e->msg);
                if (skip)
                        continue;
                ra->mounts = xrealloc(ra->mounts, (ra->n_mounts + 1) * sizeof(*ra->mounts));
                ra->mounts[ra->n_mounts++] = m;
        }
        return 0;
}

static int run_fn(struct state *s, struct step_mount *m, void *arg, vs_error **err)
{
        struct run_arg *ra = arg;
        json_object *u = json_object_object_get(s->config, "User");
        struct run_spec rs = {
            .args = ra->args,
            .env = ra->env,
            .user = u ? json_object_get_string(u) : NULL,
            .cwd = workdir_of(s),
            .network = ra->network,
            .runtime_root = s->b->e->runtime_root,
            .data_root = s->b->e->data_root,
            .out_fd = 2,
            .mounts = ra->mounts,
            .n_mounts = ra->n_mounts,
        };
        for (size_t i = 0; i < ra->n_mounts; i++) {
                run_mount_find_stub(&ra->mounts[i], m->rootfd);
                _cleanup_error_ vs_error *ce = NULL;
                if (run_mount_copy(&ra->mounts[i], i, m->dir, &ce) < 0)
                        return fail_line(s, "%s", ce->msg);
        }
        /* -q: the output is kept and shown only when the step fails. */
        _cleanup_close_ int log = -1;
        if (s->b->o->quiet) {
                log = open(m->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                if (log < 0)
                        return vs_fail_errno(err, "cannot create a log in %s", m->dir);
                rs.out_fd = log;
        }
        /* The working directory exists before the process starts. */
        _cleanup_close_ int wd = mkdir_in_root(m->rootfd, rs.cwd, 0, 0, err);
        if (wd < 0)
                return -1;
        int code = 0;
        if (!s->b->o->quiet)
                progress_break(s->b);
        struct line_relay *relay = NULL;
        int relay_fd = -1;
        if (!s->b->o->quiet && s->b->prefixed) {
                relay = relay_start(s->b->step, &relay_fd, err);
                if (relay == NULL)
                        return -1;
                rs.out_fd = relay_fd;
        }
        /* A signal from here on is either seen below or, blocked, taken by
         * the runtime's signalfd (which cancels the step): none falls in
         * between. */
        sigset_t stop, old_mask;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGHUP);
        sigprocmask(SIG_BLOCK, &stop, &old_mask);
        int ran = interrupted ? vs_fail(err, "interrupted by signal %d", (int) interrupted)
                              : step_run(m, &rs, &code, err);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        if (relay) {
                close(relay_fd);
                relay_finish(relay);
        }
        if (ran < 0)
                return fail_line(s, "cannot run the step: %s", (*err)->msg);
        if (code != 0) {
                if (log >= 0) {
                        char buf[65536];
                        ssize_t n;
                        lseek(log, 0, SEEK_SET);
                        while ((n = read(log, buf, sizeof(buf))) > 0)
                                fwrite(buf, 1, (size_t) n, stderr);
                }
                _cleanup_free_ char *j = json_strv(ra->args);
                return fail_line(s, "process %s did not complete successfully: exit code: %d", j,
                                 code);
        }
        return 0;
}

static int do_run(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        if (vs_df_flag(in, "security"))
                return fail_line(s, "RUN --security is not supported yet");
        _cleanup_free_ char *text = NULL;
        if (!in->exec_form && in->n_heredocs) {
                /* "RUN <<EOF" alone runs the heredoc as the script; otherwise
                 * the shell gets the command line with its heredocs. */
                _cleanup_free_ char *only = xasprintf("<<%s", in->heredocs[0].word);
                const char *c = in->heredocs[0].content;
                if (in->n_heredocs == 1 &&
                    (strcmp(in->args[0], only) == 0 || strncmp(in->args[0], "<<", 2) == 0)) {
                        text = xstrdup(c);
                } else {
                        size_t n = strlen(in->args[0]) + 2;
                        for (size_t i = 0; i < in->n_heredocs; i++)
                                n += strlen(in->heredocs[i].content) +
                                     strlen(in->heredocs[i].word) + 2;
                        text = xzalloc(n);
                        strcat(text, in->args[0]);
                        strcat(text, "\n");
                        for (size_t i = 0; i < in->n_heredocs; i++) {
                                strcat(text, in->heredocs[i].content);
                                strcat(text, in->heredocs[i].word);
                                strcat(text, "\n");
                        }
                }
        }
        _cleanup_strv_ char **args = command_of(s, in, text);
        /* The environment: the config's Env, then ARGs not overridden. */
        _cleanup_strv_ char **env = config_env(s->config);
        if (env_lookup(env, "PATH") == NULL)
                strv_push(&env,
                          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        size_t n_args = 0;
        _cleanup_free_ char *argdesc = xstrdup("");
        for (size_t i = 0; s->args && s->args[i]; i++) {
                size_t k = strcspn(s->args[i], "=");
                _cleanup_free_ char *name = xstrndup(s->args[i], k);
                if (env_lookup(env, name) == NULL)
                        strv_push(&env, s->args[i]);
                char *d = xasprintf("%s %s", argdesc, s->args[i]);
                free(argdesc);
                argdesc = d;
                n_args++;
        }
        /* The predefined proxy ARGs: given with --build-arg, a RUN sees them
         * without an ARG line, and they stay out of history and the cache
         * key (as Docker). */
        static const char *const proxies[] = {
            "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
            "NO_PROXY",   "no_proxy",   "ALL_PROXY",   "all_proxy",   NULL};
        for (size_t i = 0; proxies[i]; i++) {
                bool given;
                const char *v = build_arg(s->b, proxies[i], &given);
                if (given && v && env_lookup(env, proxies[i]) == NULL) {
                        _cleanup_free_ char *kv = xasprintf("%s=%s", proxies[i], v);
                        strv_push(&env, kv);
                }
        }
        _cleanup_free_ char *cmd = join_words(args);
        _cleanup_free_ char *desc =
            n_args ? xasprintf("RUN |%zu%s %s # buildkit", n_args, argdesc, cmd)
                   : xasprintf("RUN %s # buildkit", cmd);
        const char *net = vs_df_flag(in, "network");
        _cleanup_free_ char *extra = xasprintf("network=%s", net ? net : s->b->o->network);
        for (size_t i = 0; in->flags && in->flags[i]; i++) {
                char *x = xasprintf("%s %s", extra, in->flags[i]);
                free(extra);
                extra = x;
        }
        _cleanup_free_ char *key = cache_key(s, desc, extra);
        _cleanup_free_ char *hit = cache_get(s, key);
        if (hit)
                return set_image(s, hit, err) < 0 ? -1 : 1;
        struct run_arg ra = {.args = args, .env = env, .network = s->b->o->network};
        /* The Dockerfile's own flag: BuildKit's three values; the build's
         * --network may also name a bridge network. */
        if (net && strcmp(net, "none") != 0 && strcmp(net, "host") != 0 &&
            strcmp(net, "default") != 0)
                return fail_line(s, "RUN --network=%s: none, host or default", net);
        if (net && strcmp(net, "default") != 0)
                ra.network = net;
        int r = run_mounts(s, in, &ra, err);
        if (r == 0)
                r = fs_step(s, desc, key, run_fn, run_unstub, &ra, err);
        run_arg_clear(&ra);
        return r;
}

static int workdir_fn(struct state *s, struct step_mount *m, void *arg, vs_error **err)
{
        int fd = mkdir_in_root(m->rootfd, workdir_of(s), 0, 0, err);
        if (fd < 0)
                return -1;
        close(fd);
        return 0;
}

static int do_workdir(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        _cleanup_free_ char *v = NULL;
        if (expand(s, in->args[0], &v, err) < 0)
                return -1;
        const char *cur = workdir_of(s);
        _cleanup_free_ char *joined = v[0] == '/' ? xstrdup(v) : xasprintf("%s/%s", cur, v);
        _cleanup_free_ char *clean = clean_inside(joined);
        _cleanup_free_ char *wd = xasprintf("/%s", clean ? clean : "");
        json_object_object_add(s->config, "WorkingDir", json_object_new_string(wd));
        _cleanup_free_ char *desc = xasprintf("WORKDIR %s", wd);
        _cleanup_free_ char *key = cache_key(s, desc, NULL);
        _cleanup_free_ char *hit = cache_get(s, key);
        if (hit)
                return set_image(s, hit, err) < 0 ? -1 : 1;
        /* A layer only when the directory must be made (as BuildKit). */
        bool exists = false;
        if (s->img) {
                struct step_mount m;
                if (step_mount_open(s->b->e->data_root, s->img, &m, err) < 0)
                        return -1;
                int fd = vs_open_in_root(m.rootfd, wd, O_PATH | O_DIRECTORY, 0);
                exists = fd >= 0;
                if (fd >= 0)
                        close(fd);
                step_mount_close(&m);
        }
        if (exists)
                return commit(s, NULL, desc, key, err);
        return fs_step(s, desc, key, workdir_fn, NULL, NULL, err);
}

struct stage *stage_named(struct builder *b, const char *name, size_t before)
{
        for (size_t i = 0; i < before && i < b->n_stages; i++)
                if (b->stages[i].name && strcasecmp(b->stages[i].name, name) == 0)
                        return &b->stages[i];
        char *end;
        unsigned long n = strtoul(name, &end, 10);
        if (*name && *end == '\0' && n < before)
                return &b->stages[n];
        return NULL;
}

/* ---- stages ---- */

static int dispatch(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        s->line = in->line;
        switch (in->kind) {
        case VS_DF_RUN:
                return do_run(s, in, err);
        case VS_DF_COPY:
        case VS_DF_ADD:
                return do_copy(s, in, err);
        case VS_DF_WORKDIR:
                return do_workdir(s, in, err);
        case VS_DF_ENV:
        case VS_DF_LABEL:
                return do_env_label(s, in, err);
        case VS_DF_ARG:
                return do_arg(s, in, err);
        case VS_DF_HEALTHCHECK:
                return do_healthcheck(s, in, err);
        case VS_DF_FROM:
                return fail_line(s, "internal: FROM inside a stage");
        default:
                return do_meta(s, in, err);
        }
}

/* ONBUILD triggers of the base image run first; the child keeps none. */
static int run_triggers(struct state *s, vs_error **err)
{
        json_object *ob = json_object_object_get(s->config, "OnBuild");
        if (ob == NULL || !json_object_is_type(ob, json_type_array) ||
            json_object_array_length(ob) == 0)
                return 0;
        json_object *copy = json_object_get(ob);
        json_object_object_del(s->config, "OnBuild");
        int r = 0;
        for (size_t i = 0; r >= 0 && i < json_object_array_length(copy); i++) {
                const char *t = json_object_get_string(json_object_array_get_idx(copy, i));
                struct vs_df_instr *in = NULL;
                if (vs_df_parse_line(t, s->b->df->escape, s->b->dfname, s->line, &in, err) < 0) {
                        r = vs_error_wrap(err, "ONBUILD trigger");
                        break;
                }
                if (!s->b->o->quiet) {
                        progress_break(s->b);
                        fprintf(stderr, "#%d [%s] ONBUILD %s\n", s->b->step,
                                s->stage->name ? s->stage->name : "", t);
                }
                r = dispatch(s, in, err);
                vs_df_instr_free(in);
        }
        json_object_put(copy);
        return r < 0 ? -1 : 0;
}

static int stage_from(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        struct builder *b = s->b;
        _cleanup_error_ vs_error *e = NULL;
        _cleanup_free_ char *base = NULL;
        if (vs_df_expand(in->args[0], b->df->escape, meta_lookup, b, &base, &e) < 0)
                return fail_line(s, "FROM: %s", e->msg);
        const char *pf = vs_df_flag(in, "platform");
        if (pf) {
                _cleanup_free_ char *p = NULL;
                if (vs_df_expand(pf, b->df->escape, meta_lookup, b, &p, &e) < 0 ||
                    vs_build_platform_check(p, &e) < 0)
                        return fail_line(s, "FROM --platform=%s: %s", pf, e->msg);
        }
        s->config = json_object_new_object();
        if (strcmp(base, "scratch") == 0)
                return 0;
        struct stage *st = stage_named(b, base, (size_t) (s->stage - b->stages));
        if (st) {
                if (st->image_id == NULL || set_image(s, st->image_id, &e) < 0)
                        return fail_line(s, "FROM %s: %s", base, e ? e->msg : "stage not built");
        } else {
                struct vs_image *img = NULL;
                if (base_image(b, base, &img, &e) < 0)
                        return fail_line(s, "FROM %s: %s", base, e->msg);
                set_loaded(s, img);
        }
        return run_triggers(s, err);
}

int build_stage(struct builder *b, struct stage *stage, vs_error **err)
{
        struct state s = {.b = b, .stage = stage};
        const struct vs_df_instr *from = &b->df->instrs[stage->from];
        s.line = from->line;
        int r = 0;
        double t0 = now_s();
        progress_start(&s, from, stage->from);
        r = stage_from(&s, from, err);
        if (r == 0)
                progress_end(&s, false, t0);
        for (size_t i = stage->from + 1; r >= 0 && i < stage->end; i++) {
                const struct vs_df_instr *in = &b->df->instrs[i];
                if (interrupted) {
                        r = vs_fail(err, "interrupted by signal %d", (int) interrupted);
                        break;
                }
                t0 = now_s();
                progress_start(&s, in, i);
                r = dispatch(&s, in, err);
                if (r >= 0)
                        progress_end(&s, r == 1, t0);
        }
        /* --label goes on the target stage. */
        if (r >= 0 && stage == &b->stages[b->n_stages - 1] && b->o->labels) {
                _cleanup_free_ char *desc = xstrdup("LABEL");
                for (size_t i = 0; b->o->labels[i]; i++) {
                        const char *kv = b->o->labels[i];
                        size_t k = strcspn(kv, "=");
                        _cleanup_free_ char *key = xstrndup(kv, k);
                        json_object_object_add(config_obj(s.config, "Labels"), key,
                                               json_object_new_string(kv[k] ? kv + k + 1 : ""));
                        char *d = xasprintf("%s %s", desc, kv);
                        free(desc);
                        desc = d;
                }
                r = config_step(&s, desc, err);
        }
        if (r >= 0 && s.id == NULL && s.config) {
                /* FROM scratch with no step: an image with no layer. */
                r = commit(&s, NULL, "FROM scratch", NULL, err);
        }
        if (r >= 0)
                stage->image_id = xstrdup(s.id);
        vs_image_free(s.img);
        free(s.id);
        json_object_put(s.config);
        strv_free(s.args);
        return r < 0 ? -1 : 0;
}

/* The earlier stages stage i's FROM and COPY --from name: deps[j] set. */
void stage_deps(struct builder *b, size_t i, bool *deps)
{
        struct stage *st = &b->stages[i];
        for (size_t k = st->from; k < st->end; k++) {
                const struct vs_df_instr *in = &b->df->instrs[k];
                const char *ref = NULL;
                _cleanup_free_ char *x = NULL;
                _cleanup_error_ vs_error *e = NULL;
                if (in->kind == VS_DF_FROM)
                        ref = in->args[0];
                else if (in->kind == VS_DF_COPY)
                        ref = vs_df_flag(in, "from");
                if (ref == NULL || vs_df_expand(ref, b->df->escape, meta_lookup, b, &x, &e) < 0)
                        continue;
                struct stage *dep = stage_named(b, x, i);
                if (dep)
                        deps[dep - b->stages] = true;
        }
}

/* Which stages the target needs: itself, its FROM stage and COPY --from
 * stages, transitively. */
static void mark_needed(struct builder *b, size_t i)
{
        struct stage *st = &b->stages[i];
        if (st->needed)
                return;
        st->needed = true;
        _cleanup_free_ bool *deps = xcalloc(b->n_stages, sizeof(bool));
        stage_deps(b, i, deps);
        for (size_t j = 0; j < i; j++)
                if (deps[j])
                        mark_needed(b, j);
}

static int plan(struct builder *b, vs_error **err)
{
        struct vs_dockerfile *df = b->df;
        platform_args(b);
        for (size_t i = 0; i < df->n; i++) {
                const struct vs_df_instr *in = &df->instrs[i];
                if (in->kind == VS_DF_FROM) {
                        b->stages = xrealloc(b->stages, (b->n_stages + 1) * sizeof(*b->stages));
                        b->n_all++;
                        b->stages[b->n_stages++] =
                            (struct stage){.name = in->args[1] ? xstrdup(in->args[2]) : NULL,
                                           .from = i,
                                           .end = df->n};
                        if (b->n_stages > 1)
                                b->stages[b->n_stages - 2].end = i;
                } else if (b->n_stages == 0 && in->kind == VS_DF_ARG) {
                        for (size_t k = 0, p = 0; in->args[k] && in->args[k + 1]; k += 2, p++) {
                                bool given;
                                const char *v = build_arg(b, in->args[k], &given);
                                _cleanup_free_ char *x = NULL;
                                _cleanup_error_ vs_error *e = NULL;
                                if (!given && in->has_value[p]) {
                                        if (vs_df_expand(in->args[k + 1], df->escape, meta_lookup,
                                                         b, &x, &e) < 0)
                                                return fail_at_line(b, in->line, xstrdup(e->msg),
                                                                    err);
                                        v = x;
                                }
                                if (v) {
                                        _cleanup_free_ char *kv =
                                            xasprintf("%s=%s", in->args[k], v);
                                        strv_env_set(&b->meta, kv);
                                }
                        }
                }
        }
        size_t target = b->n_stages - 1;
        if (b->o->target) {
                struct stage *t = NULL;
                for (size_t i = 0; i < b->n_stages; i++)
                        if (b->stages[i].name && strcasecmp(b->stages[i].name, b->o->target) == 0)
                                t = &b->stages[i];
                if (t == NULL)
                        return vs_fail(err, "--target %s: no stage of that name in %s",
                                       b->o->target, b->dfname);
                target = (size_t) (t - b->stages);
                b->n_stages = target + 1; /* later stages are never built */
        }
        mark_needed(b, target);
        return 0;
}

/* ---- the build ---- */

static char *epoch_created(void)
{
        const char *s = getenv("SOURCE_DATE_EPOCH");
        if (s == NULL || *s == '\0')
                return NULL;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*end || v < 0)
                return NULL;
        time_t t = (time_t) v;
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[64];
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

/* A tar on stdin: unpacked (with the layer code's defences) under the data
 * root, removed after the build. */
static int context_from_stdin(struct builder *b, char **dir, vs_error **err)
{
        _cleanup_free_ char *base = xasprintf("%s/build/tmp", b->e->data_root);
        if (vs_mkdir_p(base, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *hex = vs_random_hex(6);
        *dir = xasprintf("%s/%d-%s", base, (int) getpid(), hex);
        _cleanup_free_ char *diff = NULL;
        int64_t size = 0;
        if (vs_layer_unpack(0, NULL, *dir, false, &diff, &size, err) < 0)
                return vs_error_wrap(err, "build context on stdin");
        return 0;
}

static int read_dockerfile(struct builder *b, const char *ctx_dir, char **text, size_t *len,
                           vs_error **err)
{
        const char *f = b->o->file;
        if (f && strcmp(f, "-") == 0) {
                FILE *in = stdin;
                size_t cap = 4096, n = 0;
                char *buf = xmalloc(cap);
                size_t got;
                while ((got = fread(buf + n, 1, cap - n, in)) > 0) {
                        n += got;
                        if (n == cap)
                                buf = xrealloc(buf, cap *= 2);
                }
                *text = buf;
                *len = n;
                return 0;
        }
        if (f)
                return vs_read_file(f, text, len, err);
        /* Inside the context, confined to it. */
        return vs_read_regular_in_root(b->ctx_fd, "Dockerfile", text, len, "Dockerfile", err) < 0
                   ? vs_error_wrap(err, "%s", ctx_dir)
                   : 0;
}

static void builder_clear(struct builder *b)
{
        for (size_t i = 0; i < b->n_all; i++) {
                free(b->stages[i].name);
                free(b->stages[i].image_id);
        }
        free(b->stages);
        strv_free(b->meta);
        ignore_free(b->ignore);
        vs_dockerfile_free(b->df);
        free(b->created);
        free(b->header);
        if (b->ctx_fd >= 0)
                close(b->ctx_fd);
}

static int finish(struct builder *b, const char *id, vs_error **err)
{
        for (size_t i = 0; b->o->tags && b->o->tags[i]; i++) {
                if (vs_image_tag(b->store, id, b->o->tags[i], err) < 0)
                        return vs_error_wrap(err, "-t %s", b->o->tags[i]);
                if (!b->o->quiet)
                        fprintf(stderr, "#%d naming to %s done\n", b->step, b->o->tags[i]);
        }
        if (b->o->iidfile && vs_write_file_atomic(b->o->iidfile, id, strlen(id), 0644, err) < 0)
                return -1;
        return 0;
}

/* --output type=local: the result's files into dest (owners and modes
 * kept), copied from its mounted layers through fds. */
static int output_local(struct builder *b, const char *id, vs_error **err)
{
        struct vs_image *img = NULL;
        if (vs_image_lookup(b->store, id, &img, err) < 0)
                return -1;
        struct step_mount m;
        int r = step_mount_open(b->e->data_root, img, &m, err);
        vs_image_free(img);
        if (r < 0)
                return -1;
        r = vs_mkdir_p(b->o->output_dest, 0755, err);
        _cleanup_close_ int dst =
            r < 0 ? -1 : open(b->o->output_dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (r == 0 && dst < 0)
                r = vs_fail_errno(err, "cannot open %s", b->o->output_dest);
        _cleanup_close_ int src =
            r < 0 ? -1 : openat(m.rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r == 0 && src < 0)
                r = vs_fail_errno(err, "cannot open %s", m.rootfs);
        /* The image is the Dockerfile's: no setuid program of its making
         * lands on the host. */
        struct copy_opts co = {.uid = -1, .gid = -1, .file_mode = -1, .host = true};
        if (r == 0)
                r = copy_tree(src, "", dst, "/", &co, err);
        step_mount_close(&m);
        return r;
}

/* --output type=oci|docker: the save code's archive, named by the -t names
 * (or unnamed), at dest or on stdout. */
static int write_output(struct builder *b, const char *id, vs_error **err)
{
        const struct vs_build_opts *o = b->o;
        if (o->output == VS_BUILD_OUT_NONE)
                return 0;
        if (o->output == VS_BUILD_OUT_LOCAL)
                return output_local(b, id, err) < 0
                           ? vs_error_wrap(err, "--output %s", o->output_dest)
                           : 0;
        bool out = strcmp(o->output_dest, "-") == 0;
        int fd = out ? 1 : open(o->output_dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return vs_fail_errno(err, "--output: cannot create %s", o->output_dest);
        char *one[] = {(char *) id, NULL};
        char **refs = o->tags && o->tags[0] ? o->tags : one;
        int r = vs_archive_save(b->store, refs,
                                o->output == VS_BUILD_OUT_OCI ? VS_ARCHIVE_OCI : VS_ARCHIVE_DOCKER,
                                fd, err);
        if (!out) {
                if (close(fd) < 0 && r == 0)
                        r = vs_fail_errno(err, "--output: cannot write %s", o->output_dest);
                if (r < 0)
                        unlink(o->output_dest);
        }
        if (r == 0 && !o->quiet)
                fprintf(stderr, "#%d exporting to %s archive %s done\n", b->step,
                        o->output == VS_BUILD_OUT_OCI ? "oci" : "docker", o->output_dest);
        return r < 0 ? vs_error_wrap(err, "--output") : 0;
}

int vs_build(struct vs_engine *e, const struct vs_build_opts *o, char **image_id, vs_error **err)
{
        struct builder b = {.e = e, .o = o, .ctx_fd = -1};
        _cleanup_free_ char *stdin_ctx = NULL, *text = NULL, *ign = NULL;
        _cleanup_error_ vs_error *ie = NULL;
        _cleanup_free_ char *own = NULL;
        size_t len = 0;
        int r = -1;
        if (vs_engine_store(e, &b.store, err) < 0)
                return -1;
        struct sigaction sa = {.sa_handler = on_interrupt}, old_sa[3];
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        interrupted = 0;
        for (size_t i = 0; i < 3; i++)
                sigaction(sigs[i], &sa, &old_sa[i]);
        step_reap_stale(e->data_root, e->runtime_root);
        /* A bridge network that does not exist: said before any step runs. */
        if (build_net_bridged(o->network) &&
            vs_net_check(e->data_root, o->network, NULL, NULL, err) < 0)
                goto out;
        b.created = epoch_created();
        const char *ctx = o->context;
        if (strcmp(ctx, "-") == 0) {
                if (o->file && strcmp(o->file, "-") == 0) {
                        vs_fail(err, "-f - and a context on stdin cannot both be used");
                        goto out;
                }
                if (context_from_stdin(&b, &stdin_ctx, err) < 0)
                        goto out;
                ctx = stdin_ctx;
        }
        b.ctx_fd = open(ctx, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (b.ctx_fd < 0) {
                vs_fail_errno(err, "build context %s", ctx);
                goto out;
        }
        b.dfname = o->file && strcmp(o->file, "-") != 0 ? o->file : "Dockerfile";
        if (read_dockerfile(&b, ctx, &text, &len, err) < 0)
                goto out;
        /* -f x/Dockerfile.dev: x/Dockerfile.dev.dockerignore first, as Docker. */
        own = o->file && strcmp(o->file, "-") != 0 ? xasprintf("%s.dockerignore", o->file) : NULL;
        if ((own && vs_read_file(own, &ign, NULL, &ie) == 0) ||
            (vs_error_free(&ie), vs_read_regular_in_root(b.ctx_fd, ".dockerignore", &ign, NULL,
                                                         ".dockerignore", &ie) == 0))
                b.ignore = ignore_parse(ign);
        else if (ie->errno_ != ENOENT) {
                /* A FIFO, a device or a link out of the context: not "no
                 * .dockerignore", which would send what it hides. */
                *err = steal_ptr(ie);
                vs_error_wrap(err, "%s", ctx);
                goto out;
        }
        if (vs_dockerfile_parse(text, len, b.dfname, &b.df, err) < 0 || plan(&b, err) < 0)
                goto out;
        if (build_stages(&b, err) < 0)
                goto out;
        const char *id = b.stages[b.n_stages - 1].image_id;
        if (!o->quiet)
                fprintf(stderr, "#%d writing image %s done\n", b.step, id);
        if (finish(&b, id, err) < 0 || write_output(&b, id, err) < 0)
                goto out;
        *image_id = xstrdup(id);
        r = 0;
out:
        if (r < 0)
                progress_break(&b);
        builder_clear(&b);
        if (stdin_ctx) {
                _cleanup_error_ vs_error *re = NULL;
                vs_rm_rf(stdin_ctx, &re);
        }
        for (size_t i = 0; i < 3; i++)
                sigaction(sigs[i], &old_sa[i], NULL);
        return r;
}

int vs_builder_prune(struct vs_engine *e, size_t *removed, vs_error **err)
{
        struct vs_store *store;
        if (vs_engine_store(e, &store, err) < 0)
                return -1;
        *removed = 0;
        _cleanup_free_ char *dir = xasprintf("%s/build/cache", e->data_root);
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (d == NULL)
                return errno == ENOENT ? 0 : vs_fail_errno(err, "cannot open %s", dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                _cleanup_free_ char *id = NULL;
                _cleanup_error_ vs_error *e1 = NULL;
                struct vs_image *img = NULL;
                if (vs_read_file(p, &id, NULL, &e1) == 0 &&
                    vs_image_lookup(store, id, &img, &e1) == 0) {
                        bool named = img->names && img->names[0];
                        vs_image_free(img);
                        if (named)
                                continue;
                        FILE *null = fopen("/dev/null", "we");
                        _cleanup_error_ vs_error *e2 = NULL;
                        vs_image_remove(store, id, false, null ? null : stderr, &e2);
                        if (null)
                                fclose(null);
                }
                if (unlink(p) == 0)
                        (*removed)++;
        }
        return 0;
}
