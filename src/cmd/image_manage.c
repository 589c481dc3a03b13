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
        int status,
            first = only_help("image inspect", "IMAGE...",
                              "Print a JSON array with the details of each image: Id, RepoTags, "
                              "Created,\nSize, Config, RootFS, Architecture, Os.",
                              argc, argv, &status);
        if (first < 0)
                return status;
        if (first >= argc)
                return vs_usage_error("image inspect", "expected at least one IMAGE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *arr = json_object_new_array();
        status = 0;
        for (int i = first; i < argc; i++) {
                struct vs_image *img;
                if (vs_image_lookup(s, argv[i], &img, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                json_object_array_add(arr, vs_image_inspect_json(img));
                vs_image_free(img);
        }
        _cleanup_free_ char *text = vs_json_to_string(arr, true);
        printf("%s\n", text);
        return status;
}

static void print_history(const struct vs_image *img, struct vs_history_entry *v, size_t n,
                          bool no_trunc)
{
        size_t wid = no_trunc ? strlen(img->id) : 12, wcreated = strlen("CREATED"),
               wby = strlen("CREATED BY"), wsize = strlen("SIZE");
        char **created = xcalloc(n + 1, sizeof(char *));
        char **by = xcalloc(n + 1, sizeof(char *));
        char **size = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                created[i] = vs_human_age(v[i].created);
                const char *b = v[i].created_by ? v[i].created_by : "";
                by[i] = !no_trunc && strlen(b) > 45 ? xasprintf("%.42s...", b) : xstrdup(b);
                size[i] = vs_human_size(v[i].size);
                if (strlen(created[i]) > wcreated)
                        wcreated = strlen(created[i]);
                if (strlen(by[i]) > wby)
                        wby = strlen(by[i]);
                if (strlen(size[i]) > wsize)
                        wsize = strlen(size[i]);
        }
        if (wid < strlen("IMAGE"))
                wid = strlen("IMAGE");
        printf("%-*s   %-*s   %-*s   %-*s   %s\n", (int) wid, "IMAGE", (int) wcreated, "CREATED",
               (int) wby, "CREATED BY", (int) wsize, "SIZE", "COMMENT");
        for (size_t k = n; k > 0; k--) {
                size_t i = k - 1;
                _cleanup_free_ char *id =
                    k == n ? (no_trunc ? xstrdup(img->id) : xstrndup(vs_digest_hex(img->id), 12))
                           : xstrdup("<missing>");
                printf("%-*s   %-*s   %-*s   %-*s   %s\n", (int) wid, id, (int) wcreated,
                       created[i], (int) wby, by[i], (int) wsize, size[i],
                       v[i].comment ? v[i].comment : "");
        }
        strv_free(created);
        strv_free(by);
        strv_free(size);
}

int cmd_history(int argc, char **argv)
{
        bool no_trunc = false, quiet = false;
        const char *format = "table";
        const struct vs_option opts[] = {
            {"no-trunc", 0, VS_OPT_BOOL, &no_trunc, NULL, "do not shorten IDs and commands"},
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "print the image ID only"},
            {"format", 0, VS_OPT_STRING, &format, "FORMAT", "table (default) or json"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"history", "[OPTIONS] IMAGE",
                                "Show the history of an image, newest first.", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
                return vs_usage_error("history", "unknown format '%s' (table or json)", format);
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
        if (quiet) {
                printf("%s\n", no_trunc ? img->id : vs_digest_hex(img->id));
        } else if (strcmp(format, "json") == 0) {
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
                print_history(img, v, n, no_trunc);
        }
        vs_history_free(v, n);
        vs_image_free(img);
        return 0;
}
