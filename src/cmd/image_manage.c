/* vessel tag, rmi, image inspect, history. */
#include "cmd/image_cmd.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Commands whose only option is --help. */
static int only_help(const char *cmd, int argc, char **argv, void (*usage)(FILE *))
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                if (c == 'h') {
                        usage(stdout);
                        return 0;
                }
                return vs_option_error(cmd, argv, c == ':');
        }
        return -1;
}

static void tag_usage(FILE *f)
{
        fprintf(f, "Usage: vessel tag SOURCE TARGET\n\n"
                   "Name the image SOURCE (a name or an ID) TARGET as well. A name belongs to\n"
                   "one image: an image that had TARGET loses it (and stays, untagged, when it\n"
                   "was its last name), as with docker tag.\n");
}

int cmd_tag(int argc, char **argv)
{
        int r = only_help("tag", argc, argv, tag_usage);
        if (r >= 0)
                return r;
        if (argc - optind != 2)
                return vs_usage_error("tag", "expected SOURCE and TARGET");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_image_tag(s, argv[optind], argv[optind + 1], &err) < 0)
                return vs_report_error(&err);
        return 0;
}

static void rmi_usage(FILE *f)
{
        fprintf(f, "Usage: vessel rmi [OPTIONS] IMAGE...\n\n"
                   "Remove images. Given one of several names of an image, only that name\n"
                   "goes. An image a container uses is not removed; with -f its names go and\n"
                   "the image stays, untagged, until the container is removed (then vessel\n"
                   "image prune removes it).\n\n"
                   "Options:\n"
                   "  -f, --force   remove an image with several names by ID; untag an image\n"
                   "                in use\n"
                   "  -h, --help    print this help\n");
}

int cmd_rmi(int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        bool force = false;
        int c;
        while ((c = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
                if (c == 'f') {
                        force = true;
                } else if (c == 'h') {
                        rmi_usage(stdout);
                        return 0;
                } else {
                        return vs_option_error("rmi", argv, c == ':');
                }
        }
        if (optind >= argc)
                return vs_usage_error("rmi", "expected at least one IMAGE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = optind; i < argc; i++)
                if (vs_image_remove(s, argv[i], force, stdout, &err) < 0)
                        status = vs_report_error(&err);
        return status;
}

static void inspect_usage(FILE *f)
{
        fprintf(f, "Usage: vessel image inspect [-f FORMAT] IMAGE...\n\n"
                   "Print a JSON array with the details of each image: Id, RepoTags, Created,\n"
                   "Size, Config, RootFS, Architecture, Os.\n");
}

int cmd_image_inspect(int argc, char **argv)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        const char *format = NULL;
        int c;
        while ((c = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
                if (c == 'f') {
                        format = optarg;
                } else if (c == 'h') {
                        inspect_usage(stdout);
                        return 0;
                } else {
                        return vs_option_error("image inspect", argv, c == ':');
                }
        }
        if (optind >= argc)
                return vs_usage_error("image inspect", "expected at least one IMAGE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *arr = json_object_new_array();
        int status = 0;
        for (int i = optind; i < argc; i++) {
                struct vs_image *img;
                if (vs_image_lookup(s, argv[i], &img, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                json_object *o = vs_image_inspect_json(img);
                vs_image_free(img);
                if (format) {
                        int fr = vs_cmd_format_object(format, o, &err);
                        json_object_put(o);
                        if (fr < 0)
                                return vs_report_error(&err);
                        continue;
                }
                json_object_array_add(arr, o);
        }
        if (format)
                return status;
        _cleanup_free_ char *text = vs_json_to_string(arr, true);
        printf("%s\n", json_object_array_length(arr) ? text : "[]");
        return status;
}

static void history_usage(FILE *f)
{
        fprintf(f, "Usage: vessel history [OPTIONS] IMAGE\n\n"
                   "Show the history of an image, newest first.\n\n"
                   "Options:\n"
                   "      --no-trunc         do not shorten IDs and commands\n"
                   "  -q, --quiet            print the image ID only\n"
                   "      --format FORMAT    Go template: table (default), table FMT,\n"
                   "                         {{.CreatedBy}}..., or json (a JSON array)\n"
                   "  -h, --help             print this help\n");
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
        static const struct option opts[] = {{"no-trunc", no_argument, NULL, 'T'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        bool no_trunc = false, quiet = false;
        const char *format = NULL;
        int c;
        while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
                switch (c) {
                case 'T':
                        no_trunc = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        history_usage(stdout);
                        return 0;
                default:
                        return vs_option_error("history", argv, c == ':');
                }
        }
        if (argc - optind != 1)
                return vs_usage_error("history", "expected one IMAGE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        struct vs_image *img = NULL;
        struct vs_history_entry *v = NULL;
        size_t n = 0;
        if (vs_cmd_open_store(&s, &err) < 0 || vs_image_lookup(s, argv[optind], &img, &err) < 0 ||
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
