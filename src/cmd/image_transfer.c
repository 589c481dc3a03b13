/* vessel load, save, import (pull: registry.c). */
#include "cmd/image_cmd.h"
#include "cmd/options.h"
#include "image/transfer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_load(int argc, char **argv)
{
        const char *input = NULL;
        bool quiet = false;
        const struct vs_option opts[] = {
            {"input", 'i', VS_OPT_STRING, &input, "FILE",
             "read FILE instead of standard input ('-': stdin)"},
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "no progress output"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "load", "[OPTIONS]",
            "Load images from an archive: docker-archive (docker save before and since\n"
            "Docker 25, podman save) or oci-archive (podman save --format oci-archive,\n"
            "skopeo copy ... oci-archive:FILE), plain or compressed (gzip, zstd, xz).\n"
            "Every blob is checked against its digest. A name an image already has moves\n"
            "to the loaded image; the old image stays, untagged.",
            opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (quiet)
                vs_progress_set_quiet(true);
        if (first < argc)
                return vs_usage_error("load", "unexpected argument '%s' (use -i FILE)",
                                      argv[first]);
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

/* -o FILE: atomically (a temp file renamed over FILE) when FILE is a
 * regular file or new; in place when it is a device or a FIFO, which are
 * never replaced (vs_output_open). Not fsynced: the archive is the user's
 * file, not the store's (as `export -o`, cp, tar and Docker's save). */
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
        return vs_output_commit(&o, false, err);
}

int cmd_save(int argc, char **argv)
{
        const char *output = NULL, *format = "docker-archive";
        const struct vs_option opts[] = {
            {"output", 'o', VS_OPT_STRING, &output, "FILE",
             "write FILE instead of standard output (atomically; a device or FIFO is written in "
             "place, never replaced)"},
            {"format", 0, VS_OPT_STRING, &format, "FORMAT",
             "docker-archive (default, as podman save; the layout of docker save before Docker "
             "25) or oci-archive"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"save", "[OPTIONS] IMAGE...", "Save images into one archive.", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        enum vs_archive_format fmt;
        if (strcmp(format, "docker-archive") == 0)
                fmt = VS_ARCHIVE_DOCKER;
        else if (strcmp(format, "oci-archive") == 0)
                fmt = VS_ARCHIVE_OCI;
        else
                return vs_usage_error("save", "unknown format '%s' (docker-archive or oci-archive)",
                                      format);
        if (first >= argc)
                return vs_usage_error("save", "expected at least one IMAGE");
        if ((output == NULL || strcmp(output, "-") == 0) && isatty(STDOUT_FILENO))
                return vs_usage_error("save", "refusing to write an archive to a terminal: use "
                                              "-o FILE or redirect standard output");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        int r = output && strcmp(output, "-") != 0
                    ? save_to(s, argv + first, fmt, output, &err)
                    : vs_archive_save(s, argv + first, fmt, STDOUT_FILENO, &err);
        if (r < 0)
                return vs_report_error(&err);
        for (int i = first; i < argc; i++) { /* Docker's save event, per image */
                struct vs_image *img = NULL;
                if (vs_image_lookup(s, argv[i], &img, &err) == 0)
                        vs_store_event(s, "save", img->id, img->id);
                vs_image_free(img);
                vs_error_free(&err);
        }
        return 0;
}

int cmd_import(int argc, char **argv)
{
        const char *message = NULL;
        const struct vs_option opts[] = {
            {"message", 'm', VS_OPT_STRING, &message, "TEXT", "history comment of the layer"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"import", "[OPTIONS] FILE|- [NAME[:TAG]]",
                                "Make a one-layer image of a root filesystem tarball (plain or "
                                "compressed;\n'-' reads standard input) and print its ID.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        int n = argc - first;
        if (n < 1 || n > 2)
                return vs_usage_error("import", "expected FILE and an optional NAME");
        const char *file = argv[first];
        const char *name = n == 2 ? argv[first + 1] : NULL;
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
