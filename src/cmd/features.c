/* vessel features: the runtime-spec features document (features.md,
 * features-linux.md): what config.json fields and values vessel recognises. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "version.h"
#include "oci/config.h"
#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#define FEATURES_OCI_VERSION_MIN "1.0.0"
#define FEATURES_OCI_VERSION_MAX VESSEL_OCI_VERSION

static const char *const known_hooks[] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL,
};

static const char *const known_namespaces[] = {
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL,
};

static json_object *string_array(const char *const *list)
{
        json_object *arr = json_object_new_array();
        for (; list && *list; list++)
                json_object_array_add(arr, json_object_new_string(*list));
        return arr;
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The option names oci_mount_parse_options() turns into flags, propagation
 * or special handling (anything else goes to the filesystem as data), sorted
 * as runc sorts them. */
static json_object *mount_option_names(void)
{
        const char *const *names = oci_mount_option_names();
        size_t n = 0;
        while (names[n])
                n++;
        _cleanup_free_ const char **sorted = xcalloc(n + 1, sizeof(*sorted));
        memcpy(sorted, names, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), compare_strings);
        return string_array(sorted);
}

static json_object *enabled_object(bool enabled)
{
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "enabled", json_object_new_boolean(enabled));
        return obj;
}

/* Highest capability number the running kernel knows; the compile-time
 * CAP_LAST_CAP when /proc does not say. */
static int kernel_cap_last_cap(void)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_read_file("/proc/sys/kernel/cap_last_cap", &text, NULL, &err) < 0)
                return CAP_LAST_CAP;
        char *end;
        errno = 0;
        long last = strtol(text, &end, 10);
        if (errno != 0 || end == text || last < 0 || last > 255)
                return CAP_LAST_CAP;
        return (int) last;
}

/* "CAP_CHOWN"... for every capability of the running kernel. Capabilities
 * newer than libcap have no name (cap_to_name gives their number) and could
 * not be written in config.json anyway, so they are left out. */
static json_object *capability_names(void)
{
        json_object *arr = json_object_new_array();
        int last = kernel_cap_last_cap();
        for (int cap = 0; cap <= last; cap++) {
                char *name = cap_to_name((cap_value_t) cap);
                if (name == NULL)
                        continue;
                if (strncmp(name, "cap_", 4) == 0) {
                        _cleanup_free_ char *upper = xstrdup(name);
                        for (char *p = upper; *p; p++)
                                *p = (char) toupper((unsigned char) *p);
                        json_object_array_add(arr, json_object_new_string(upper));
                }
                cap_free(name);
        }
        return arr;
}

static json_object *seccomp_features(void)
{
        const char *const *actions = NULL, *const *operators = NULL, *const *archs = NULL,
                          *const *flags = NULL;
        vs_seccomp_features(&actions, &operators, &archs, &flags);
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "enabled", json_object_new_boolean(1));
        json_object_object_add(obj, "actions", string_array(actions));
        json_object_object_add(obj, "operators", string_array(operators));
        json_object_object_add(obj, "archs", string_array(archs));
        /* Every flag vessel knows it also applies. */
        json_object_object_add(obj, "knownFlags", string_array(flags));
        json_object_object_add(obj, "supportedFlags", string_array(flags));
        return obj;
}

static json_object *linux_features(void)
{
        json_object *linux_ = json_object_new_object();
        json_object_object_add(linux_, "namespaces", string_array(known_namespaces));
        json_object_object_add(linux_, "capabilities", capability_names());

        json_object *cgroup = json_object_new_object();
        json_object_object_add(cgroup, "v1", json_object_new_boolean(1));
        json_object_object_add(cgroup, "v2", json_object_new_boolean(1));
        json_object_object_add(cgroup, "systemd", json_object_new_boolean(0));
        json_object_object_add(cgroup, "systemdUser", json_object_new_boolean(0));
        json_object_object_add(cgroup, "rdma", json_object_new_boolean(0));
        json_object_object_add(linux_, "cgroup", cgroup);

        json_object_object_add(linux_, "seccomp", seccomp_features());
        json_object_object_add(linux_, "apparmor",
                               enabled_object(vs_path_exists("/sys/kernel/security/apparmor")));
        json_object_object_add(linux_, "selinux",
                               enabled_object(vs_path_exists("/sys/fs/selinux/enforce")));
        json_object_object_add(linux_, "intelRdt", enabled_object(true));

        json_object *mount_ext = json_object_new_object();
        json_object_object_add(mount_ext, "idmap", enabled_object(true));
        json_object_object_add(linux_, "mountExtensions", mount_ext);
        return linux_;
}

static json_object *features_document(void)
{
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "ociVersionMin",
                               json_object_new_string(FEATURES_OCI_VERSION_MIN));
        json_object_object_add(doc, "ociVersionMax",
                               json_object_new_string(FEATURES_OCI_VERSION_MAX));
        json_object_object_add(doc, "hooks", string_array(known_hooks));
        json_object_object_add(doc, "mountOptions", mount_option_names());
        json_object_object_add(doc, "linux", linux_features());

        json_object *annotations = json_object_new_object();
        json_object_object_add(annotations, "io.github.vessel.version",
                               json_object_new_string(VESSEL_VERSION));
        /* Read by containerd and podman to decide whether checkpoint may be
         * offered; vessel has no CRIU support in the runtime. */
        json_object_object_add(annotations, "org.opencontainers.runc.checkpoint.enabled",
                               json_object_new_string("false"));
        json_object_object_add(doc, "annotations", annotations);
        return doc;
}

int cmd_features(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"features", "",
                                "Print the runtime-spec features document (JSON): the spec "
                                "versions,\nhooks, mount options, namespaces, capabilities, cgroup "
                                "and seccomp\nsupport that vessel recognises in config.json.",
                                opts, VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("features", "unexpected argument '%s'", argv[first]);

        _cleanup_json_ json_object *doc = features_document();
        _cleanup_free_ char *text = vs_json_to_string(doc, true);
        _cleanup_error_ vs_error *err = NULL;
        if (printf("%s\n", text) < 0 || fflush(stdout) == EOF) {
                vs_fail_errno(&err, "cannot write the features document to stdout");
                return vs_report_error(&err);
        }
        return 0;
}
