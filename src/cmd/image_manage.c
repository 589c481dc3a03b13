/* vessel tag, rmi, image inspect, history. */
#include "cmd/image_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

/* Commands whose only option is --help: the first operand's index, or
 * -1 with *status set. */
static int only_help(const char *cmd, const char *usage, const char *summary, int argc, char **argv,
                     int *status)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {cmd, usage, summary, opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        *status = cl.status;
        return first;
}

int cmd_tag(int argc, char **argv)
{
        int status,
            first = only_help(
                "tag", "SOURCE TARGET",
                "Name the image SOURCE (a name or an ID) TARGET as well. A name belongs to\n"
                "one image: an image that had TARGET loses it (and stays, untagged, when "
                "it\nwas its last name), as with docker tag.",
                argc, argv, &status);
        if (first < 0)
                return status;
        if (argc - first != 2)
                return vs_usage_error("tag", "expected SOURCE and TARGET");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_image_tag(s, argv[first], argv[first + 1], &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int cmd_rmi(int argc, char **argv)
{
        bool force = false;
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &force, NULL,
             "remove an image with several names by ID; untag an image in use"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "rmi", "[OPTIONS] IMAGE...",
            "Remove images. Given one of several names of an image, only that name\n"
            "goes. An image a container uses is not removed; with -f its names go and\n"
            "the image stays, untagged, until the container is removed (then vessel\n"
            "image prune removes it).",
            opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("rmi", "expected at least one IMAGE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = first; i < argc; i++)
                if (vs_image_remove(s, argv[i], force, stdout, &err) < 0)
                        status = vs_report_error(&err);
        return status;
}

int cmd_image_inspect(int argc, char **argv)
{
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "FORMAT", "a Go template, or json"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"image inspect", "[-f FORMAT] IMAGE...",
                                "Print a JSON array with the details of each image: Id, RepoTags, "
                                "Created,\nSize, Config, RootFS, Architecture, Os.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("image inspect", "expected at least one IMAGE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *arr = json_object_new_array();
        int status = 0;
        for (int i = first; i < argc; i++) {
                struct vs_image *img;
                if (vs_image_lookup(s, argv[i], &img, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                json_object *o = vs_image_inspect_json(img);
                vs_image_free(img);
                if (vs_cmd_inspect_one(format, o, arr, &err) < 0)
                        return vs_report_error(&err);
        }
        vs_cmd_inspect_done(format, arr);
        return status;
}

#define HISTORY_TABLE "{{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}"

/* Docker's history context, newest layer first. */
static json_object *history_rows(const struct vs_image *img, struct vs_history_entry *v, size_t n,
                                 bool no_trunc)
{
        json_object *rows = json_object_new_array();
        for (size_t k = n; k > 0; k--) {
                size_t i = k - 1;
                json_object *o = json_object_new_object();
                _cleanup_free_ char *id =
                    k == n ? (no_trunc ? xstrdup(img->id) : xstrndup(vs_digest_hex(img->id), 12))
                           : xstrdup("<missing>");
                _cleanup_free_ char *age = vs_human_age(v[i].created);
                _cleanup_free_ char *size = vs_human_size(v[i].size);
                const char *b = v[i].created_by ? v[i].created_by : "";
                /* Docker's Ellipsis(45): 44 runes and "…" */
                size_t runes = 0, cut = 0;
                for (const char *p = b; *p; p++)
                        if (((unsigned char) *p & 0xc0) != 0x80 && runes++ == 44)
                                cut = (size_t) (p - b);
                _cleanup_free_ char *by =
                    !no_trunc && runes > 45 ? xasprintf("%.*s…", (int) cut, b) : xstrdup(b);
                json_object_object_add(o, "Comment",
                                       json_object_new_string(v[i].comment ? v[i].comment : ""));
                json_object_object_add(o, "CreatedAt",
                                       json_object_new_string(v[i].created ? v[i].created : ""));
                json_object_object_add(o, "CreatedBy", json_object_new_string(by));
                json_object_object_add(o, "CreatedSince", json_object_new_string(age));
                json_object_object_add(o, "ID", json_object_new_string(id));
                json_object_object_add(o, "Size", json_object_new_string(size));
                json_object_array_add(rows, o);
        }
        return rows;
}

static int print_history(const struct vs_image *img, struct vs_history_entry *v, size_t n,
                         bool no_trunc, const char *format)
{
        static const char *const heads[][2] = {
            {"ID", "IMAGE"},
            {"CreatedSince", "CREATED"},
            {"CreatedAt", "CREATED AT"},
            {"CreatedBy", "CREATED BY"},
            {"Size", "SIZE"},
            {"Comment", "COMMENT"},
        };
        _cleanup_json_ json_object *header = json_object_new_object();
        for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
                json_object_object_add(header, heads[i][0], json_object_new_string(heads[i][1]));
        _cleanup_json_ json_object *rows = history_rows(img, v, n, no_trunc);
        return vs_cmd_format_list(format, HISTORY_TABLE, header, rows);
}

int cmd_history(int argc, char **argv)
{
        bool no_trunc = false, quiet = false;
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"no-trunc", 0, VS_OPT_BOOL, &no_trunc, NULL, "do not shorten IDs and commands"},
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "print the image ID only"},
            {"format", 0, VS_OPT_STRING, &format, "FORMAT",
             "Go template: table (default), table FMT, {{.CreatedBy}}..., or json (a JSON array)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"history", "[OPTIONS] IMAGE",
                                "Show the history of an image, newest first.", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("history", "expected one IMAGE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        struct vs_image *img = NULL;
        struct vs_history_entry *v = NULL;
        size_t n = 0;
        if (vs_cmd_open_store(&s, &err) < 0 || vs_image_lookup(s, argv[first], &img, &err) < 0 ||
            vs_image_history(s, img, &v, &n, &err) < 0) {
                vs_image_free(img);
                return vs_report_error(&err);
        }
        int status = 0;
        if (quiet) {
                printf("%s\n", no_trunc ? img->id : vs_digest_hex(img->id));
        } else if (format && strcmp(format, "json") == 0) {
                /* vessel's own JSON array (before templates): kept for its users */
                _cleanup_json_ json_object *arr = json_object_new_array();
                for (size_t k = n; k > 0; k--) {
                        struct vs_history_entry *h = &v[k - 1];
                        json_object *o = json_object_new_object();
                        json_object_object_add(
                            o, "Id", json_object_new_string(k == n ? img->id : "<missing>"));
                        json_object_object_add(
                            o, "Created", h->created ? json_object_new_string(h->created) : NULL);
                        json_object_object_add(
                            o, "CreatedBy",
                            json_object_new_string(h->created_by ? h->created_by : ""));
                        json_object_object_add(o, "Size", json_object_new_int64(h->size));
                        json_object_object_add(
                            o, "Comment", json_object_new_string(h->comment ? h->comment : ""));
                        json_object_array_add(arr, o);
                }
                _cleanup_free_ char *text = vs_json_to_string(arr, true);
                printf("%s\n", text);
        } else {
                status = print_history(img, v, n, no_trunc, format);
        }
        vs_history_free(v, n);
        vs_image_free(img);
        return status;
}
