/* vessel spec: write the default config.json into a bundle. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "oci/spec_default.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                data += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Creates bundle/config.json exclusively (O_EXCL also refuses a symlink left
 * there), so an existing file is never clobbered even by a concurrent run. */
static int write_spec(const char *bundle, const char *text, vs_error **err)
{
        _cleanup_free_ char *path =
            bundle ? xasprintf("%s/config.json", bundle) : xstrdup("config.json");
        _cleanup_close_ int bundle_fd =
            open(bundle ? bundle : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (bundle_fd < 0)
                return vs_fail_errno(err, "cannot open bundle directory %s", bundle ? bundle : ".");

        _cleanup_close_ int fd = openat(bundle_fd, "config.json",
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0) {
                if (errno == EEXIST)
                        return vs_fail(err, "file %s exists: remove it first", path);
                return vs_fail_errno(err, "cannot create %s", path);
        }
        if (write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
                int saved = errno;
                unlinkat(bundle_fd, "config.json", 0);
                return vs_error_set(err, saved, "cannot write %s", path);
        }
        return 0;
}

int cmd_spec(int argc, char **argv)
{
        const char *bundle = NULL;
        bool rootless = false;
        const struct vs_option opts[] = {
            {"bundle", 'b', VS_OPT_STRING, &bundle, "DIR",
             "bundle directory (default: the current directory)"},
            {"rootless", 0, VS_OPT_BOOL, &rootless, NULL,
             "a config an unprivileged user can run: user namespace mapping root to the "
             "caller's uid/gid, no network namespace, /sys bind-mounted, no cgroup resources"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "spec", "[--rootless] [--bundle DIR]",
            "Write a default config.json (runtime-spec " OCI_SPEC_DEFAULT_VERSION
            ") into the\nbundle directory. An existing config.json is never "
            "overwritten.",
            opts, VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("spec", "unexpected argument '%s'", argv[first]);
        if (bundle && bundle[0] == '\0')
                return vs_usage_error("spec", "--bundle: empty path");

        _cleanup_json_ json_object *spec = oci_spec_default(rootless);
        _cleanup_free_ char *json = vs_json_to_string(spec, true);
        _cleanup_free_ char *text = xasprintf("%s\n", json);
        _cleanup_error_ vs_error *err = NULL;
        if (write_spec(bundle, text, &err) < 0)
                return vs_report_error(&err);
        return 0;
}
