/* vessel images: the images of the store, as a table or JSON. */
#include "cmd/image_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
        char *repo, *tag, *id, *created, *size;
        time_t when;
        size_t src; /* index into the summaries */
};

static int compare_rows(const void *a, const void *b)
{
        const struct row *x = a, *y = b;
        if (x->when != y->when)
                return x->when < y->when ? 1 : -1;
        int c = strcmp(x->repo, y->repo);
        return c ? c : strcmp(x->tag, y->tag);
}

/* REPOSITORY[:TAG] filter, as docker images takes it. */
static bool matches(const char *filter, const char *repo, const char *tag)
{
        if (filter == NULL)
                return true;
        const char *slash = strrchr(filter, '/');
        const char *colon = strrchr(slash ? slash : filter, ':');
        size_t n = colon ? (size_t) (colon - filter) : strlen(filter);
        if (strlen(repo) != n || strncmp(repo, filter, n) != 0)
                return false;
        return colon == NULL || strcmp(colon + 1, tag) == 0;
}

static char *short_id(const char *id, bool no_trunc)
{
        const char *hex = vs_digest_hex(id);
        return no_trunc ? xstrdup(id) : xstrndup(hex, 12);
}

#define IMAGES_TABLE "{{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}"

static const char *const image_headers[][2] = {
    {"Repository", "REPOSITORY"},
    {"Tag", "TAG"},
    {"ID", "IMAGE ID"},
    {"CreatedSince", "CREATED"},
    {"CreatedAt", "CREATED AT"},
    {"Size", "SIZE"},
    {"Digest", "DIGEST"},
    {"Containers", "CONTAINERS"},
    {"SharedSize", "SHARED SIZE"},
    {"UniqueSize", "UNIQUE SIZE"},
    {"VirtualSize", "VIRTUAL SIZE"},
};

static json_object *image_row(const struct row *r, const struct vs_image_summary *v)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "Containers", json_object_new_string("N/A"));
        char when[64] = "";
        struct tm tm;
        if (r->when && gmtime_r(&r->when, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
        json_object_object_add(o, "CreatedAt", json_object_new_string(when));
        json_object_object_add(o, "CreatedSince", json_object_new_string(r->created));
        json_object_object_add(o, "Digest", json_object_new_string("<none>"));
        json_object_object_add(o, "ID", json_object_new_string(r->id));
        json_object_object_add(o, "Repository", json_object_new_string(r->repo));
        json_object_object_add(o, "SharedSize", json_object_new_string("N/A"));
        json_object_object_add(o, "Size", json_object_new_string(r->size));
        json_object_object_add(o, "Tag", json_object_new_string(r->tag));
        json_object_object_add(o, "UniqueSize", json_object_new_string("N/A"));
        json_object_object_add(o, "VirtualSize", json_object_new_string(r->size));
        (void) v;
        return o;
}

/* A filter Docker's daemon refuses: exit status 1, not a usage error. */
/* ---- --filter: dangling, label, reference, before, since ---- */

struct image_filter {
        int dangling; /* -1: not asked */
        char **label, **reference;
        const char *before, *since;
        time_t before_t, since_t;
};

static int image_filter_add(struct image_filter *f, const char *spec)
{
        const char *eq = strchr(spec, '=');
        if (!eq || eq == spec)
                return vs_usage_error("images", "--filter %s: expected KEY=VALUE", spec);
        _cleanup_free_ char *key = xstrndup(spec, (size_t) (eq - spec));
        const char *v = eq + 1;
        if (strcmp(key, "dangling") == 0) {
                if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                        f->dangling = 1;
                else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                        f->dangling = 0;
                else
                        return vs_usage_error("images",
                                              "--filter dangling=%s: expected true or false", v);
        } else if (strcmp(key, "label") == 0) {
                strv_push(&f->label, v);
        } else if (strcmp(key, "reference") == 0) {
                strv_push(&f->reference, v);
        } else if (strcmp(key, "before") == 0) {
                f->before = v;
        } else if (strcmp(key, "since") == 0) {
                f->since = v;
        } else {
                return vs_filter_error("invalid filter '%s'", key);
        }
        return 0;
}

static int image_time(struct vs_store *s, const char *ref, time_t *t, vs_error **err)
{
        struct vs_image *img = NULL;
        if (vs_image_lookup(s, ref, &img, err) < 0)
                return -1;
        if (vs_parse_rfc3339(img->created, t) < 0)
                *t = 0;
        vs_image_free(img);
        return 0;
}

static bool label_matches(struct vs_store *s, const char *id, char **labels)
{
        if (!labels)
                return true;
        struct vs_image *img = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_image_lookup(s, id, &img, &err) < 0)
                return false;
        json_object *cfg =
            img->config_json ? json_object_object_get(img->config_json, "config") : NULL;
        json_object *l = cfg ? json_object_object_get(cfg, "Labels") : NULL;
        bool ok = true;
        for (size_t i = 0; labels[i] && ok; i++) {
                const char *eq = strchr(labels[i], '=');
                _cleanup_free_ char *key =
                    eq ? xstrndup(labels[i], (size_t) (eq - labels[i])) : xstrdup(labels[i]);
                json_object *val = NULL;
                ok = l && json_object_object_get_ex(l, key, &val) &&
                     (!eq || strcmp(json_object_get_string(val), eq + 1) == 0);
        }
        vs_image_free(img);
        return ok;
}

/* reference=PATTERN: a shell pattern against repo and repo:tag. */
static bool reference_matches(char **refs, const char *repo, const char *tag)
{
        if (!refs)
                return true;
        _cleanup_free_ char *full = xasprintf("%s:%s", repo, tag);
        for (size_t i = 0; refs[i]; i++)
                if (fnmatch(refs[i], repo, 0) == 0 || fnmatch(refs[i], full, 0) == 0)
                        return true;
        return false;
}

static void print_json(struct vs_image_summary *v, size_t n, const char *filter)
{
        _cleanup_json_ json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *tags = json_object_new_array();
                bool any = filter == NULL;
                for (size_t k = 0; v[i].names[k]; k++) {
                        _cleanup_free_ char *repo = NULL, *tag = NULL;
                        vs_ref_split(v[i].names[k], &repo, &tag);
                        any = any || matches(filter, repo, tag);
                        json_object_array_add(tags, json_object_new_string(v[i].names[k]));
                }
                if (!any) {
                        json_object_put(tags);
                        continue;
                }
                json_object *o = json_object_new_object();
                json_object_object_add(o, "Id", json_object_new_string(v[i].id));
                json_object_object_add(o, "Digest", json_object_new_string(v[i].manifest_digest));
                json_object_object_add(o, "RepoTags", tags);
                json_object_object_add(o, "Created",
                                       v[i].created ? json_object_new_string(v[i].created) : NULL);
                json_object_object_add(o, "Size", json_object_new_int64(v[i].size));
                json_object_array_add(arr, o);
        }
        _cleanup_free_ char *text = vs_json_to_string(arr, true);
        printf("%s\n", text);
}

int cmd_images(int argc, char **argv)
{
        bool quiet = false, no_trunc = false, all = false;
        const char *format = NULL;
        _cleanup_strv_ char **filters = NULL;
        const struct vs_option opts[] = {
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "print image IDs only"},
            {"format", 0, VS_OPT_STRING, &format, "FORMAT",
             "Go template: table (default), table FMT, {{.Repository}}..., or json (a JSON array)"},
            {"filter", 'f', VS_OPT_LIST, &filters, "K=V",
             "dangling=true|false, label=K[=V], reference=PATTERN, before=IMAGE, since=IMAGE"},
            {"no-trunc", 0, VS_OPT_BOOL, &no_trunc, NULL, "print full image IDs"},
            {"all", 'a', VS_OPT_BOOL, &all, NULL,
             "accepted for compatibility (there are no intermediate images)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"images", "[OPTIONS] [REPOSITORY[:TAG]]",
                                "List images, newest first.", opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        struct image_filter flt = {.dangling = -1};
        _cleanup_strv_ char **flt_label = NULL, **flt_ref = NULL;
        for (size_t i = 0; filters && filters[i]; i++) {
                int st = image_filter_add(&flt, filters[i]);
                flt_label = flt.label;
                flt_ref = flt.reference;
                if (st)
                        return st;
        }
        if (argc - first > 1)
                return vs_usage_error("images", "too many arguments");
        const char *filter = first < argc ? argv[first] : NULL;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        struct vs_image_summary *v = NULL;
        size_t n = 0;
        if (vs_cmd_open_store(&s, &err) < 0 || vs_image_list(s, &v, &n, &err) < 0)
                return vs_report_error(&err);
        if ((flt.before && image_time(s, flt.before, &flt.before_t, &err) < 0) ||
            (flt.since && image_time(s, flt.since, &flt.since_t, &err) < 0)) {
                vs_image_summaries_free(v, n);
                return vs_report_error(&err);
        }
        /* vessel's own JSON array (before templates): kept for its users */
        if (format && strcmp(format, "json") == 0) {
                print_json(v, n, filter);
                vs_image_summaries_free(v, n);
                return 0;
        }
        struct row *rows = NULL;
        size_t nrows = 0;
        for (size_t i = 0; i < n; i++) {
                size_t names = strv_len(v[i].names);
                time_t created = 0;
                if (vs_parse_rfc3339(v[i].created, &created) < 0)
                        created = 0;
                if ((flt.dangling == 1 && names) || (flt.dangling == 0 && !names) ||
                    (flt.before && created >= flt.before_t) ||
                    (flt.since && created <= flt.since_t) || !label_matches(s, v[i].id, flt.label))
                        continue;
                for (size_t k = 0; k < (names ? names : 1); k++) {
                        char *repo, *tag;
                        if (names)
                                vs_ref_split(v[i].names[k], &repo, &tag);
                        else {
                                repo = xstrdup("<none>");
                                tag = xstrdup("<none>");
                        }
                        if (!matches(filter, repo, tag) ||
                            !reference_matches(flt.reference, repo, tag)) {
                                free(repo);
                                free(tag);
                                continue;
                        }
                        rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
                        struct row *r = &rows[nrows++];
                        *r = (struct row){.repo = repo,
                                          .tag = tag,
                                          .id = short_id(v[i].id, no_trunc),
                                          .created = vs_human_age(v[i].created),
                                          .size = vs_human_size(v[i].size),
                                          .src = i};
                        if (vs_parse_rfc3339(v[i].created, &r->when) < 0)
                                r->when = 0;
                }
        }
        if (rows)
                qsort(rows, nrows, sizeof(*rows), compare_rows);
        if (quiet) {
                _cleanup_strv_ char **seen = xcalloc(1, sizeof(char *));
                for (size_t i = 0; i < nrows; i++)
                        if (!strv_contains(seen, rows[i].id)) {
                                printf("%s\n", rows[i].id);
                                strv_push(&seen, rows[i].id);
                        }
        }
        int status = 0;
        if (!quiet) {
                _cleanup_json_ json_object *jrows = json_object_new_array();
                for (size_t i = 0; i < nrows; i++)
                        json_object_array_add(jrows, image_row(&rows[i], &v[rows[i].src]));
                _cleanup_json_ json_object *header = json_object_new_object();
                for (size_t i = 0; i < sizeof(image_headers) / sizeof(image_headers[0]); i++)
                        json_object_object_add(header, image_headers[i][0],
                                               json_object_new_string(image_headers[i][1]));
                status = vs_cmd_format_list(format, IMAGES_TABLE, header, jrows);
        }
        for (size_t i = 0; i < nrows; i++) {
                free(rows[i].repo);
                free(rows[i].tag);
                free(rows[i].id);
                free(rows[i].created);
                free(rows[i].size);
        }
        free(rows);
        vs_image_summaries_free(v, n);
        return status;
}
