/* vessel volume create|ls|inspect|rm|prune: the engine's named and
 * anonymous volumes, <data-root>/volumes/<name>/_data (the directory run
 * -v NAME:/path and -v /path create), with volume.json beside _data for
 * what `volume create` was given (labels, options, time). A volume is in
 * use while a container record mounts it; rm and prune leave those. */
#include "cmd/cmd.h"
#include "cmd/options.h"
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
        if (vs_rm_rf(dir, err) < 0)
                return -1;
        vs_event_log(e->data_root, "volume", "destroy", name, NULL, "driver", "local", NULL);
        return 0;
}

/* ---- create ---- */

int cmd_volume_create(int argc, char **argv)
{
        _cleanup_strv_ char **label_list = NULL, **opt_list = NULL;
        const char *driver = "local", *name_opt = NULL;
        const struct vs_option opts[] = {
            {"label", 0, VS_OPT_KV, &label_list, "K=V", "a label (repeatable)"},
            {"opt", 'o', VS_OPT_LIST, &opt_list, "K=V",
             "a driver option (the local driver takes none)"},
            {"driver", 'd', VS_OPT_STRING, &driver, "local", "the only driver"},
            {"name", 0, VS_OPT_STRING, &name_opt, "NAME", "the volume's name"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"volume create", "[OPTIONS] [NAME]",
                                "Create a volume (a random name when none is given).", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (strcmp(driver, "local") != 0)
                return vs_usage_error("volume create", "--driver: only 'local', not '%s'", driver);
        _cleanup_json_ json_object *labels = json_object_new_object();
        for (size_t i = 0; label_list && label_list[i]; i++) {
                const char *eq = strchr(label_list[i], '=');
                _cleanup_free_ char *k = xstrndup(label_list[i], (size_t) (eq - label_list[i]));
                json_object_object_add(labels, k, json_object_new_string(eq + 1));
        }
        if (argc - first > 1)
                return vs_usage_error("volume create", "at most one NAME");
        if (opt_list)
                return vs_usage_error("volume create",
                                      "--opt: the local driver of vessel takes no options");
        _cleanup_free_ char *name = first < argc ? xstrdup(argv[first])
                                    : name_opt   ? xstrdup(name_opt)
                                                 : vs_random_hex(32);
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
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
                vs_event_log(e->data_root, "volume", "create", name, NULL, "driver", "local", NULL);
        }
        printf("%s\n", name); /* Docker: creating an existing volume is no error */
        return 0;
}

/* ---- ls ---- */

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

int cmd_volume_ls(int argc, char **argv)
{
        struct {
                bool quiet;
                const char *format;
        } o = {0};
        _cleanup_strv_ char **filters = NULL;
        const struct vs_option opts[] = {
            {"quiet", 'q', VS_OPT_BOOL, &o.quiet, NULL, "print volume names only"},
            {"format", 0, VS_OPT_STRING, &o.format, "T",
             "a Go template ({{.Name}}, {{.Label \"K\"}}...), table or json"},
            {"filter", 'f', VS_OPT_LIST, &filters, "K=V", "dangling=, name=, label=K[=V], driver="},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "volume ls", "[-q] [--format T] [-f K=V]",
            "List volumes. Filters: dangling=true|false, name=, label=K[=V],\ndriver=local.", opts,
            VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("volume ls", "unexpected argument '%s'", argv[first]);
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        _cleanup_strv_ char **names = NULL;
        if (volume_names(e, &names, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *rows = json_object_new_array();
        _cleanup_json_ json_object *all_labels = json_object_new_array();
        for (size_t i = 0; names[i]; i++) {
                _cleanup_json_ json_object *vol = volume_json(e, names[i]);
                bool ok;
                if (volume_matches(e, vol, filters, &ok) < 0)
                        return vs_filter_error("invalid filter '%s'", filters[0]);
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
                json_object_array_add(all_labels,
                                      labels ? json_object_get(labels) : json_object_new_object());
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
        return vs_cmd_format_labelled_list(o.format, VOLUME_TABLE, header, rows, all_labels);
}

/* ---- inspect ---- */

int cmd_volume_inspect(int argc, char **argv)
{
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "FORMAT", "a Go template"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"volume inspect", "[-f FORMAT] VOLUME...",
                                "Print volumes as a JSON array, or each through a Go template.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("volume inspect", "missing VOLUME");
        int status = 0;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *arr = json_object_new_array();
        for (int i = first; i < argc; i++) {
                if (!volume_exists(e, argv[i])) {
                        vs_error_set(&err, ENOENT, "no such volume: %s", argv[i]);
                        status = vs_report_error(&err);
                        continue;
                }
                if (vs_cmd_inspect_one(format, volume_json(e, argv[i]), arr, &err) < 0)
                        return vs_report_error(&err);
        }
        vs_cmd_inspect_done(format, arr);
        return status;
}

/* ---- rm, prune ---- */

int cmd_volume_rm(int argc, char **argv)
{
        bool force = false;
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &force, NULL, "a missing volume is no error"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"volume rm", "[-f] VOLUME...",
                                "Remove volumes no container uses (-f: a missing one is no error).",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("volume rm", "missing VOLUME");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        _cleanup_close_ int lock = vs_names_lock(e, &err);
        if (lock < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = first; i < argc; i++) {
                if (volume_remove(e, argv[i], force, &err) < 0)
                        status = vs_report_error(&err);
                else
                        printf("%s\n", argv[i]);
        }
        return status;
}

int cmd_volume_prune(int argc, char **argv)
{
        bool force = false;
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &force, NULL, "do not ask for confirmation"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"volume prune", "[-f]", "Remove every volume no container uses.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("volume prune", "unexpected argument '%s'", argv[first]);
        if (!force && !vs_cmd_confirm(
                          "This will remove all local volumes not used by at least one container."))
                return 0;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        bool any = vs_cmd_prune_volumes(e, NULL, &status) > 0;
        printf("%sTotal reclaimed space: 0B\n", any ? "\n" : "");
        return status;
}

int vs_cmd_prune_volumes(struct vs_engine *e, const struct vs_prune_filter *f, int *status)
{
        vs_error *err = NULL;
        _cleanup_close_ int lock = vs_names_lock(e, &err);
        _cleanup_strv_ char **names = NULL;
        if (lock < 0 || volume_names(e, &names, &err) < 0) {
                *status = vs_report_error(&err);
                return 0;
        }
        bool any = false;
        int removed = 0;
        for (size_t i = 0; names[i]; i++) {
                _cleanup_strv_ char **users = volume_users(e, names[i]);
                if (users[0])
                        continue;
                if (f) {
                        _cleanup_json_ json_object *vol = volume_json(e, names[i]);
                        if (!vs_prune_filter_match((void *) f, NULL,
                                                   json_object_object_get(vol, "Labels")))
                                continue;
                }
                if (volume_remove(e, names[i], false, &err) < 0) {
                        *status = vs_report_error(&err);
                        continue;
                }
                if (!any)
                        printf("Deleted Volumes:\n");
                any = true;
                removed++;
                printf("%s\n", names[i]);
        }
        return removed;
}
