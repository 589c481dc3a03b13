/* vessel images: the images of the store, as a table or JSON. */
#include "cmd/image_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
        char *repo, *tag, *id, *created, *size;
        time_t when;
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

static void print_table(struct row *rows, size_t n)
{
        const char *heads[] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
        size_t w[5];
        for (size_t c = 0; c < 5; c++)
                w[c] = strlen(heads[c]);
        for (size_t i = 0; i < n; i++) {
                const char *cells[] = {rows[i].repo, rows[i].tag, rows[i].id, rows[i].created};
                for (size_t c = 0; c < 4; c++)
                        if (strlen(cells[c]) > w[c])
                                w[c] = strlen(cells[c]);
        }
        printf("%-*s   %-*s   %-*s   %-*s   %s\n", (int) w[0], heads[0], (int) w[1], heads[1],
               (int) w[2], heads[2], (int) w[3], heads[3], heads[4]);
        for (size_t i = 0; i < n; i++)
                printf("%-*s   %-*s   %-*s   %-*s   %s\n", (int) w[0], rows[i].repo, (int) w[1],
                       rows[i].tag, (int) w[2], rows[i].id, (int) w[3], rows[i].created,
                       rows[i].size);
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
        const char *format = "table";
        const struct vs_option opts[] = {
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "print image IDs only"},
            {"format", 0, VS_OPT_STRING, &format, "FORMAT", "table (default) or json"},
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
        if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
                return vs_usage_error("images", "unknown format '%s' (table or json)", format);
        if (argc - first > 1)
                return vs_usage_error("images", "too many arguments");
        const char *filter = first < argc ? argv[first] : NULL;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        struct vs_image_summary *v = NULL;
        size_t n = 0;
        if (vs_cmd_open_store(&s, &err) < 0 || vs_image_list(s, &v, &n, &err) < 0)
                return vs_report_error(&err);
        if (strcmp(format, "json") == 0) {
                print_json(v, n, filter);
                vs_image_summaries_free(v, n);
                return 0;
        }
        struct row *rows = NULL;
        size_t nrows = 0;
        for (size_t i = 0; i < n; i++) {
                size_t names = strv_len(v[i].names);
                for (size_t k = 0; k < (names ? names : 1); k++) {
                        char *repo, *tag;
                        if (names)
                                vs_ref_split(v[i].names[k], &repo, &tag);
                        else {
                                repo = xstrdup("<none>");
                                tag = xstrdup("<none>");
                        }
                        if (!matches(filter, repo, tag)) {
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
                                          .size = vs_human_size(v[i].size)};
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
        } else {
                print_table(rows, nrows);
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
        return 0;
}
