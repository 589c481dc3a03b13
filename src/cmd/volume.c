/* vessel volume create|ls|inspect|rm|prune: the engine's named and
 * anonymous volumes, <data-root>/volumes/<name>/_data (the directory run
 * -v NAME:/path and -v /path create), with volume.json beside _data for
 * what `volume create` was given (labels, options, time). A volume is in
 * use while a container record mounts it; rm and prune leave those. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define VOLUME_TABLE "{{.Driver}}\\t{{.Name}}"

static bool valid_name(const char *s)
{
        if (!isalnum((unsigned char) *s))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
                        return false;
        return true;
}

static char *volumes_dir(const struct vs_engine *e)
{
        return xasprintf("%s/volumes", e->data_root);
}

static char *volume_dir(const struct vs_engine *e, const char *name)
{
        return xasprintf("%s/volumes/%s", e->data_root, name);
}

static bool volume_exists(const struct vs_engine *e, const char *name)
{
        if (!valid_name(name))
                return false;
        _cleanup_free_ char *data = xasprintf("%s/volumes/%s/_data", e->data_root, name);
        return vs_is_dir(data);
}

/* Docker's volume inspect object. */
static json_object *volume_json(const struct vs_engine *e, const char *name)
{
        _cleanup_free_ char *dir = volume_dir(e, name);
        _cleanup_free_ char *meta_path = xasprintf("%s/volume.json", dir);
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_json_ json_object *meta = NULL;
        if (vs_read_file(meta_path, &text, NULL, &err) == 0)
                meta = json_tokener_parse(text);
        json_object *o = json_object_new_object();
        json_object *created = meta ? json_object_object_get(meta, "CreatedAt") : NULL;
        if (created) {
                json_object_object_add(o, "CreatedAt", json_object_get(created));
        } else {
                struct stat st;
                char buf[64] = "";
                if (stat(dir, &st) == 0) {
                        struct tm tm;
                        gmtime_r(&st.st_mtime, &tm);
                        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
                }
                json_object_object_add(o, "CreatedAt", json_object_new_string(buf));
        }
        json_object_object_add(o, "Driver", json_object_new_string("local"));
        json_object *labels = meta ? json_object_object_get(meta, "Labels") : NULL;
        json_object_object_add(o, "Labels", labels ? json_object_get(labels) : NULL);
        _cleanup_free_ char *mp = xasprintf("%s/_data", dir);
        json_object_object_add(o, "Mountpoint", json_object_new_string(mp));
        json_object_object_add(o, "Name", json_object_new_string(name));
        json_object *opts = meta ? json_object_object_get(meta, "Options") : NULL;
        json_object_object_add(o, "Options", opts ? json_object_get(opts) : NULL);
        json_object_object_add(o, "Scope", json_object_new_string("local"));
        return o;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Names of every volume, sorted. */
static int volume_names(const struct vs_engine *e, char ***out, vs_error **err)
{
        *out = xcalloc(1, sizeof(char *));
        _cleanup_free_ char *dir = volumes_dir(e);
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (d == NULL)
                return errno == ENOENT ? 0 : vs_fail_errno(err, "cannot read %s", dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                if (volume_exists(e, de->d_name))
                        strv_push(out, de->d_name);
        qsort(*out, strv_len(*out), sizeof(char *), cmp_names);
        return 0;
}

/* Containers (ids) whose record mounts the volume. */
static char **volume_users(struct vs_engine *e, const char *name)
{
        char **users = xcalloc(1, sizeof(char *));
        struct vs_ctr **v = NULL;
        size_t n = 0;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_ctr_list(e, &v, &n, &err) < 0)
                return users;
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; v[i]->mounts && k < json_object_array_length(v[i]->mounts);
                     k++) {
                        json_object *m = json_object_array_get_idx(v[i]->mounts, k);
                        json_object *nm = json_object_object_get(m, "Name");
                        if (nm && strcmp(json_object_get_string(nm), name) == 0) {
                                strv_push(&users, v[i]->id);
                                break;
                        }
                }
        vs_ctr_list_free(v, n);
        return users;
}

static int volume_remove(struct vs_engine *e, const char *name, bool force, vs_error **err)
{
        if (!volume_exists(e, name))
                return force ? 0 : vs_error_set(err, ENOENT, "no such volume: %s", name);
        _cleanup_strv_ char **users = volume_users(e, name);
        if (users[0])
                return vs_error_set(err, EBUSY, "remove %s: volume is in use by container %.12s%s",
                                    name, users[0], users[1] ? " and others" : "");
        _cleanup_free_ char *dir = volume_dir(e, name);
        return vs_rm_rf(dir, err);
}

static int opt_loop_help(const char *cmd, const char *usage, int argc, char **argv,
                         const char *shortopts, const struct option *opts,
                         int (*each)(int c, void *ctx), void *ctx)
{
        int c;
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return -1;
                }
                if (c == '?' || c == ':' || each(c, ctx) < 0)
                        return vs_option_error(cmd, argv, c == ':');
        }
        return 0;
}

/* ---- create ---- */

struct create_opts {
        json_object *labels, *options;
};

static int create_opt(int c, void *ctx)
{
        struct create_opts *o = ctx;
        if (c == 'd')
                return strcmp(optarg, "local") == 0 ? 0 : -1;
        const char *eq = strchr(optarg, '=');
        _cleanup_free_ char *k = eq ? xstrndup(optarg, (size_t) (eq - optarg)) : xstrdup(optarg);
        json_object_object_add(c == 'l' ? o->labels : o->options, k,
                               json_object_new_string(eq ? eq + 1 : ""));
        return 0;
}

static int volume_create(struct vs_engine *e, int argc, char **argv)
{
        static const struct option opts[] = {
            {"label", required_argument, NULL, 'l'},  {"opt", required_argument, NULL, 'o'},
            {"driver", required_argument, NULL, 'd'}, {"name", required_argument, NULL, 'n'},
            {"help", no_argument, NULL, 'h'},         {0}};
        _cleanup_json_ json_object *labels = json_object_new_object();
        _cleanup_json_ json_object *options = json_object_new_object();
        struct create_opts o = {labels, options};
        int r = opt_loop_help("volume create",
                              "Usage: vessel volume create [--label K=V] [--opt K=V] [NAME]\n\n"
                              "Create a volume (a random name when none is given).\n",
                              argc, argv, "+:l:o:d:h", opts, create_opt, &o);
        if (r != 0)
                return r < 0 ? 0 : r;
        if (argc - optind > 1)
                return vs_usage_error("volume create", "at most one NAME");
        if (json_object_object_length(options) > 0)
                return vs_usage_error("volume create",
                                      "--opt: the local driver of vessel takes no options");
        _cleanup_free_ char *name = optind < argc ? xstrdup(argv[optind]) : vs_random_hex(32);
        vs_error *err = NULL;
        if (!valid_name(name)) {
                vs_fail(&err,
                        "volume name '%s' is invalid: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                        name);
                return vs_report_error(&err);
        }
        _cleanup_free_ char *dir = volume_dir(e, name);
        _cleanup_free_ char *data = xasprintf("%s/_data", dir);
        if (!volume_exists(e, name)) {
                if (vs_mkdir_p(data, 0755, &err) < 0)
                        return vs_report_error(&err);
                _cleanup_json_ json_object *meta = json_object_new_object();
                char now[64];
                time_t t = time(NULL);
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
                json_object_object_add(meta, "CreatedAt", json_object_new_string(now));
                if (json_object_object_length(labels) > 0)
                        json_object_object_add(meta, "Labels", json_object_get(labels));
                _cleanup_free_ char *text = vs_json_to_string(meta, false);
                _cleanup_free_ char *meta_path = xasprintf("%s/volume.json", dir);
                if (vs_write_file_replace(meta_path, text, strlen(text), 0600, &err) < 0)
                        return vs_report_error(&err);
        }
        printf("%s\n", name); /* Docker: creating an existing volume is no error */
        return 0;
}

/* ---- ls ---- */

struct ls_opts {
        bool quiet;
        const char *format;
        char **filters;
};

static int ls_opt(int c, void *ctx)
{
        struct ls_opts *o = ctx;
        if (c == 'q')
                o->quiet = true;
        else if (c == 'F')
                o->format = optarg;
        else if (c == 'f')
                strv_push(&o->filters, optarg);
        return 0;
}

/* dangling=true|false, name=SUBSTRING, label=K[=V], driver=local */
static int volume_matches(struct vs_engine *e, json_object *vol, char **filters, bool *ok)
{
        *ok = true;
        const char *name = json_object_get_string(json_object_object_get(vol, "Name"));
        for (size_t i = 0; filters && filters[i]; i++) {
                const char *f = filters[i], *eq = strchr(f, '=');
                _cleanup_free_ char *key = eq ? xstrndup(f, (size_t) (eq - f)) : xstrdup(f);
                const char *v = eq ? eq + 1 : "";
                if (strcmp(key, "dangling") == 0) {
                        bool want = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
                        if (!want && strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
                                return -1;
                        _cleanup_strv_ char **users = volume_users(e, name);
                        *ok = *ok && (users[0] == NULL) == want;
                } else if (strcmp(key, "name") == 0) {
                        *ok = *ok && strstr(name, v) != NULL;
                } else if (strcmp(key, "driver") == 0) {
                        *ok = *ok && strcmp(v, "local") == 0;
                } else if (strcmp(key, "label") == 0) {
                        json_object *l = json_object_object_get(vol, "Labels");
                        const char *leq = strchr(v, '=');
                        _cleanup_free_ char *lk =
                            leq ? xstrndup(v, (size_t) (leq - v)) : xstrdup(v);
                        json_object *lv = NULL;
                        *ok = *ok && l && json_object_object_get_ex(l, lk, &lv) &&
                              (!leq || strcmp(json_object_get_string(lv), leq + 1) == 0);
                } else {
                        return -1;
                }
        }
        return 0;
}

static int volume_ls(struct vs_engine *e, int argc, char **argv)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"filter", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        struct ls_opts o = {0};
        int r = opt_loop_help("volume ls",
                              "Usage: vessel volume ls [-q] [--format T] [-f K=V]\n\n"
                              "List volumes. Filters: dangling=true|false, name=, label=K[=V],\n"
                              "driver=local.\n",
                              argc, argv, "+:qf:h", opts, ls_opt, &o);
        _cleanup_strv_ char **filters = o.filters;
        if (r != 0)
                return r < 0 ? 0 : r;
        if (optind < argc)
                return vs_usage_error("volume ls", "unexpected argument '%s'", argv[optind]);
        vs_error *err = NULL;
        _cleanup_strv_ char **names = NULL;
        if (volume_names(e, &names, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *rows = json_object_new_array();
        for (size_t i = 0; names[i]; i++) {
                _cleanup_json_ json_object *vol = volume_json(e, names[i]);
                bool ok;
                if (volume_matches(e, vol, filters, &ok) < 0) {
                        vs_fail(&err, "--filter: invalid filter '%s'", filters[0]);
                        return vs_report_error(&err);
                }
                if (!ok)
                        continue;
                if (o.quiet) {
                        printf("%s\n", names[i]);
                        continue;
                }
                json_object *row = json_object_new_object();
                json_object_object_add(row, "Driver", json_object_new_string("local"));
                json_object *labels = json_object_object_get(vol, "Labels");
                _cleanup_free_ char *ltext = xstrdup("");
                if (labels) {
                        json_object_object_foreach(labels, k, lv)
                        {
                                char *next = xasprintf("%s%s%s=%s", ltext, *ltext ? "," : "", k,
                                                       json_object_get_string(lv));
                                free(ltext);
                                ltext = next;
                        }
                }
                json_object_object_add(row, "Labels", json_object_new_string(ltext));
                _cleanup_strv_ char **users = volume_users(e, names[i]);
                json_object_object_add(row, "Links", json_object_new_string(users[0] ? "1" : "0"));
                json_object_object_add(row, "Mountpoint",
                                       json_object_get(json_object_object_get(vol, "Mountpoint")));
                json_object_object_add(row, "Name", json_object_new_string(names[i]));
                json_object_object_add(row, "Scope", json_object_new_string("local"));
                json_object_object_add(row, "Size", json_object_new_string("N/A"));
                json_object_array_add(rows, row);
        }
        if (o.quiet)
                return 0;
        static const char *const heads[][2] = {
            {"Name", "VOLUME NAME"}, {"Driver", "DRIVER"},
            {"Scope", "SCOPE"},      {"Mountpoint", "MOUNTPOINT"},
            {"Labels", "LABELS"},    {"Links", "LINKS"},
            {"Size", "SIZE"},
        };
        _cleanup_json_ json_object *header = json_object_new_object();
        for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
                json_object_object_add(header, heads[i][0], json_object_new_string(heads[i][1]));
        return vs_cmd_format_list(o.format, VOLUME_TABLE, header, rows);
}

/* ---- inspect ---- */

static int inspect_opt(int c, void *ctx)
{
        *(const char **) ctx = optarg;
        return 0;
}

static int volume_inspect(struct vs_engine *e, int argc, char **argv)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        const char *format = NULL;
        int r = opt_loop_help("volume inspect",
                              "Usage: vessel volume inspect [-f FORMAT] VOLUME...\n\n"
                              "Print volumes as a JSON array, or each through a Go template.\n",
                              argc, argv, "+:f:h", opts, inspect_opt, &format);
        if (r != 0)
                return r < 0 ? 0 : r;
        if (optind >= argc)
                return vs_usage_error("volume inspect", "missing VOLUME");
        int status = 0;
        vs_error *err = NULL;
        _cleanup_json_ json_object *arr = json_object_new_array();
        for (int i = optind; i < argc; i++) {
                if (!volume_exists(e, argv[i])) {
                        vs_error_set(&err, ENOENT, "no such volume: %s", argv[i]);
                        status = vs_report_error(&err);
                        continue;
                }
                json_object *o = volume_json(e, argv[i]);
                if (format) {
                        r = vs_cmd_format_object(format, o, &err);
                        json_object_put(o);
                        if (r < 0)
                                return vs_report_error(&err);
                } else {
                        json_object_array_add(arr, o);
                }
        }
        if (!format) {
                _cleanup_free_ char *text = vs_json_to_string(arr, true);
                printf("%s\n", json_object_array_length(arr) ? text : "[]");
        }
        return status;
}

/* ---- rm, prune ---- */

static int force_opt(int c, void *ctx)
{
        *(bool *) ctx = true;
        return 0;
}

static int volume_rm(struct vs_engine *e, int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        bool force = false;
        int r = opt_loop_help("volume rm",
                              "Usage: vessel volume rm [-f] VOLUME...\n\n"
                              "Remove volumes no container uses (-f: a missing one is no "
                              "error).\n",
                              argc, argv, "+:fh", opts, force_opt, &force);
        if (r != 0)
                return r < 0 ? 0 : r;
        if (optind >= argc)
                return vs_usage_error("volume rm", "missing VOLUME");
        vs_error *err = NULL;
        _cleanup_close_ int lock = vs_names_lock(e, &err);
        if (lock < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = optind; i < argc; i++) {
                if (volume_remove(e, argv[i], force, &err) < 0)
                        status = vs_report_error(&err);
                else
                        printf("%s\n", argv[i]);
        }
        return status;
}

static int volume_prune(struct vs_engine *e, int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        bool force = false;
        int r = opt_loop_help("volume prune",
                              "Usage: vessel volume prune [-f]\n\n"
                              "Remove every volume no container uses.\n",
                              argc, argv, "+:fh", opts, force_opt, &force);
        if (r != 0)
                return r < 0 ? 0 : r;
        if (optind < argc)
                return vs_usage_error("volume prune", "unexpected argument '%s'", argv[optind]);
        if (!force) {
                printf("WARNING! This will remove all local volumes not used by at least one "
                       "container.\nAre you sure you want to continue? [y/N] ");
                fflush(stdout);
                char line[16] = "";
                if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
                        return 0;
        }
        vs_error *err = NULL;
        _cleanup_close_ int lock = vs_names_lock(e, &err);
        _cleanup_strv_ char **names = NULL;
        if (lock < 0 || volume_names(e, &names, &err) < 0)
                return vs_report_error(&err);
        bool any = false;
        int status = 0;
        for (size_t i = 0; names[i]; i++) {
                _cleanup_strv_ char **users = volume_users(e, names[i]);
                if (users[0])
                        continue;
                if (volume_remove(e, names[i], false, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                if (!any)
                        printf("Deleted Volumes:\n");
                any = true;
                printf("%s\n", names[i]);
        }
        printf("%sTotal reclaimed space: 0B\n", any ? "\n" : "");
        return status;
}

int cmd_volume(int argc, char **argv)
{
        static const char usage[] = "Usage: vessel volume COMMAND\n\nManage volumes.\n\n"
                                    "Commands:\n"
                                    "  create    create a volume\n"
                                    "  inspect   print volumes' details\n"
                                    "  ls        list volumes\n"
                                    "  prune     remove every volume no container uses\n"
                                    "  rm        remove volumes\n";
        if (argc < 2) {
                fputs(usage, stderr);
                return vs_usage_error("volume", "missing COMMAND");
        }
        if (strcmp(argv[1], "--help") == 0) {
                fputs(usage, stdout);
                return 0;
        }
        static const struct {
                const char *name;
                int (*fn)(struct vs_engine *, int, char **);
        } subs[] = {
            {"create", volume_create},   {"ls", volume_ls}, {"list", volume_ls},
            {"inspect", volume_inspect}, {"rm", volume_rm}, {"remove", volume_rm},
            {"prune", volume_prune},
        };
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
                if (strcmp(subs[i].name, argv[1]) != 0)
                        continue;
                vs_error *err = NULL;
                _cleanup_engine_ struct vs_engine *e = NULL;
                if (vs_cmd_open_engine(&e, &err) < 0)
                        return vs_report_error(&err);
                return subs[i].fn(e, argc - 1, argv + 1);
        }
        return vs_usage_error("volume", "unknown command '%s'", argv[1]);
}
