/* vessel load, save, import (pull: registry.c). */
#include "cmd/image_cmd.h"
#include "image/transfer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void load_usage(FILE *f)
{
        fprintf(f, "Usage: vessel load [OPTIONS]\n\n"
                   "Load images from an archive: docker-archive (docker save before and since\n"
                   "Docker 25, podman save) or oci-archive (podman save --format oci-archive,\n"
                   "skopeo copy ... oci-archive:FILE), plain or compressed (gzip, zstd, xz).\n"
                   "Every blob is checked against its digest. A name an image already has moves\n"
                   "to the loaded image; the old image stays, untagged.\n\n"
                   "Options:\n"
                   "  -i, --input FILE   read FILE instead of standard input ('-': stdin)\n"
                   "  -q, --quiet        no progress output\n"
                   "  -h, --help         print this help\n");
}

int cmd_load(int argc, char **argv)
{
        static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        const char *input = NULL;
        int c;
        while ((c = getopt_long(argc, argv, ":i:qh", opts, NULL)) != -1) {
                switch (c) {
                case 'i':
                        input = optarg;
                        break;
                case 'q':
                        vs_progress_set_quiet(true);
                        break;
                case 'h':
                        load_usage(stdout);
                        return 0;
                default:
                        return vs_option_error("load", argv, c == ':');
                }
        }
        if (optind < argc)
                return vs_usage_error("load", "unexpected argument '%s' (use -i FILE)",
                                      argv[optind]);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *what = NULL;
        if (input == NULL || strcmp(input, "-") == 0) {
                if (isatty(STDIN_FILENO))
                        return vs_usage_error("load", "no archive: use -i FILE, or pipe one into "
                                                      "standard input");
                what = xstrdup("archive on standard input");
        } else {
                fd = open(input, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "vessel: cannot open %s: %s\n", input, strerror(errno));
                        return 1;
                }
                what = xasprintf("archive %s", input);
        }
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_archive_load(s, fd >= 0 ? fd : STDIN_FILENO, what, stdout, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

static void save_usage(FILE *f)
{
        fprintf(f, "Usage: vessel save [OPTIONS] IMAGE...\n\n"
                   "Save images into one archive.\n\n"
                   "Options:\n"
                   "  -o, --output FILE    write FILE instead of standard output (atomically; a\n"
                   "                       device or FIFO is written in place, never replaced)\n"
                   "      --format FORMAT  docker-archive (default, as podman save; the layout\n"
                   "                       of docker save before Docker 25) or oci-archive\n"
                   "  -h, --help           print this help\n");
}

/* -o FILE: atomically (a temp file renamed over FILE) when FILE is a
 * regular file or new; in place when it is a device or a FIFO, which are
 * never replaced (vs_output_open). */
static int save_to(struct vs_store *s, char **refs, enum vs_archive_format format,
                   const char *output, vs_error **err)
{
        struct vs_output o;
        if (vs_output_open(&o, output, 0644, err) < 0)
                return -1;
        if (vs_archive_save(s, refs, format, o.fd, err) < 0) {
                vs_output_abort(&o);
                return -1;
        }
        return vs_output_commit(&o, true, err);
}

int cmd_save(int argc, char **argv)
{
        static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        const char *output = NULL, *format = "docker-archive";
        int c;
        while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        output = optarg;
                        break;
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        save_usage(stdout);
                        return 0;
                default:
                        return vs_option_error("save", argv, c == ':');
                }
        }
        enum vs_archive_format fmt;
        if (strcmp(format, "docker-archive") == 0)
                fmt = VS_ARCHIVE_DOCKER;
        else if (strcmp(format, "oci-archive") == 0)
                fmt = VS_ARCHIVE_OCI;
        else
                return vs_usage_error("save", "unknown format '%s' (docker-archive or oci-archive)",
                                      format);
        if (optind >= argc)
                return vs_usage_error("save", "expected at least one IMAGE");
        if ((output == NULL || strcmp(output, "-") == 0) && isatty(STDOUT_FILENO))
                return vs_usage_error("save", "refusing to write an archive to a terminal: use "
                                              "-o FILE or redirect standard output");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        int r = output && strcmp(output, "-") != 0
                    ? save_to(s, argv + optind, fmt, output, &err)
                    : vs_archive_save(s, argv + optind, fmt, STDOUT_FILENO, &err);
        return r < 0 ? vs_report_error(&err) : 0;
}

static void import_usage(FILE *f)
{
        fprintf(f, "Usage: vessel import [OPTIONS] FILE|- [NAME[:TAG]]\n\n"
                   "Make a one-layer image of a root filesystem tarball (plain or compressed;\n"
                   "'-' reads standard input) and print its ID.\n\n"
                   "Options:\n"
                   "  -m, --message TEXT   history comment of the layer\n"
                   "  -h, --help           print this help\n");
}

int cmd_import(int argc, char **argv)
{
        static const struct option opts[] = {
            {"message", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'}, {0}};
        const char *message = NULL;
        int c;
        while ((c = getopt_long(argc, argv, ":m:h", opts, NULL)) != -1) {
                switch (c) {
                case 'm':
                        message = optarg;
                        break;
                case 'h':
                        import_usage(stdout);
                        return 0;
                default:
                        return vs_option_error("import", argv, c == ':');
                }
        }
        int n = argc - optind;
        if (n < 1 || n > 2)
                return vs_usage_error("import", "expected FILE and an optional NAME");
        const char *file = argv[optind];
        const char *name = n == 2 ? argv[optind + 1] : NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *what = NULL;
        if (strcmp(file, "-") == 0) {
                if (isatty(STDIN_FILENO))
                        return vs_usage_error("import", "standard input is a terminal");
                what = xstrdup("tarball on standard input");
        } else {
                fd = open(file, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "vessel: cannot open %s: %s\n", file, strerror(errno));
                        return 1;
                }
                what = xasprintf("tarball %s", file);
        }
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        _cleanup_free_ char *id = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_image_import_rootfs(s, fd >= 0 ? fd : STDIN_FILENO, what, name, message, &id, &err) <
                0)
                return vs_report_error(&err);
        printf("%s\n", id);
        return 0;
}
