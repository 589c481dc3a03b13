/* oci_spec_default(): the document `vessel spec` writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "oci/config.h"
#include "oci/spec_default.h"
#include "util/cleanup.h"
#include "util/json.h"

/* The member at a dotted path ("process.user.uid"), which must exist and
 * have the given type. */
static json_object *member(json_object *obj, const char *path, json_type type)
{
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        char *save = NULL;
        for (char *key = strtok_r(buf, ".", &save); key; key = strtok_r(NULL, ".", &save)) {
                assert_true(json_object_is_type(obj, json_type_object));
                json_object *next = NULL;
                if (!json_object_object_get_ex(obj, key, &next))
                        fail_msg("missing %s (at %s)", path, key);
                obj = next;
        }
        if (!json_object_is_type(obj, type))
                fail_msg("%s: type %s, expected %s", path,
                         json_type_to_name(json_object_get_type(obj)), json_type_to_name(type));
        return obj;
}

static bool has_member(json_object *obj, const char *key)
{
        return json_object_object_get_ex(obj, key, NULL);
}

static const char *string_at(json_object *arr, size_t i)
{
        json_object *e = json_object_array_get_idx(arr, i);
        assert_non_null(e);
        assert_true(json_object_is_type(e, json_type_string));
        return json_object_get_string(e);
}

static void assert_string_array(json_object *arr, const char *const *want)
{
        size_t n = 0;
        while (want[n])
                n++;
        assert_int_equal(json_object_array_length(arr), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(string_at(arr, i), want[i]);
}

static bool array_has_string(json_object *arr, const char *s)
{
        for (size_t i = 0; i < json_object_array_length(arr); i++)
                if (strcmp(string_at(arr, i), s) == 0)
                        return true;
        return false;
}

static bool has_namespace(json_object *spec, const char *type)
{
        json_object *ns = member(spec, "linux.namespaces", json_type_array);
        for (size_t i = 0; i < json_object_array_length(ns); i++) {
                json_object *entry = json_object_array_get_idx(ns, i);
                if (strcmp(json_object_get_string(member(entry, "type", json_type_string)), type) ==
                    0)
                        return true;
        }
        return false;
}

static json_object *mount_at(json_object *spec, const char *destination)
{
        json_object *mounts = member(spec, "mounts", json_type_array);
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                const char *dest =
                    json_object_get_string(member(m, "destination", json_type_string));
                if (strcmp(dest, destination) == 0)
                        return m;
        }
        fail_msg("no mount on %s", destination);
        return NULL;
}

static int64_t int_member(json_object *obj, const char *path)
{
        return json_object_get_int64(member(obj, path, json_type_int));
}

static void test_default_process(void **state)
{
        _cleanup_json_ json_object *spec = oci_spec_default(false);
        static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                                           NULL};
        static const char *const args[] = {"sh", NULL};
        static const char *const env[] = {
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
            NULL};

        assert_string_equal(json_object_get_string(member(spec, "ociVersion", json_type_string)),
                            "1.2.0");
        assert_true(json_object_get_boolean(member(spec, "process.terminal", json_type_boolean)));
        assert_int_equal(int_member(spec, "process.user.uid"), 0);
        assert_int_equal(int_member(spec, "process.user.gid"), 0);
        assert_string_array(member(spec, "process.args", json_type_array), args);
        assert_string_array(member(spec, "process.env", json_type_array), env);
        assert_string_equal(json_object_get_string(member(spec, "process.cwd", json_type_string)),
                            "/");
        assert_string_array(member(spec, "process.capabilities.bounding", json_type_array), caps);
        assert_string_array(member(spec, "process.capabilities.effective", json_type_array), caps);
        assert_string_array(member(spec, "process.capabilities.permitted", json_type_array), caps);
        json_object *capobj = member(spec, "process.capabilities", json_type_object);
        assert_false(has_member(capobj, "ambient"));
        assert_false(has_member(capobj, "inheritable"));

        json_object *rlimits = member(spec, "process.rlimits", json_type_array);
        assert_int_equal(json_object_array_length(rlimits), 1);
        json_object *nofile = json_object_array_get_idx(rlimits, 0);
        assert_string_equal(json_object_get_string(member(nofile, "type", json_type_string)),
                            "RLIMIT_NOFILE");
        assert_int_equal(int_member(nofile, "soft"), 1024);
        assert_int_equal(int_member(nofile, "hard"), 1024);
        assert_true(
            json_object_get_boolean(member(spec, "process.noNewPrivileges", json_type_boolean)));
}

static void test_default_root_and_mounts(void **state)
{
        _cleanup_json_ json_object *spec = oci_spec_default(false);
        static const char *const destinations[] = {
            "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", NULL};
        static const char *const types[] = {"proc",   "tmpfs", "devpts", "tmpfs",
                                            "mqueue", "sysfs", "cgroup", NULL};

        assert_string_equal(json_object_get_string(member(spec, "root.path", json_type_string)),
                            "rootfs");
        assert_true(json_object_get_boolean(member(spec, "root.readonly", json_type_boolean)));
        assert_string_equal(json_object_get_string(member(spec, "hostname", json_type_string)),
                            "vessel");

        json_object *mounts = member(spec, "mounts", json_type_array);
        assert_int_equal(json_object_array_length(mounts), 7);
        for (size_t i = 0; destinations[i]; i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                assert_string_equal(
                    json_object_get_string(member(m, "destination", json_type_string)),
                    destinations[i]);
                assert_string_equal(json_object_get_string(member(m, "type", json_type_string)),
                                    types[i]);
                member(m, "source", json_type_string);
                /* proc is the only mount without options. */
                assert_int_equal(has_member(m, "options"), i != 0);
        }

        static const char *const devpts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                             "mode=0620", "gid=5",  NULL};
        assert_string_array(member(mount_at(spec, "/dev/pts"), "options", json_type_array), devpts);
        static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
        assert_string_array(member(mount_at(spec, "/sys"), "options", json_type_array), sys);
        assert_true(array_has_string(
            member(mount_at(spec, "/sys/fs/cgroup"), "options", json_type_array), "ro"));
}

static void test_default_linux(void **state)
{
        _cleanup_json_ json_object *spec = oci_spec_default(false);
        static const char *const ns_types[] = {"pid",   "network", "ipc", "uts",
                                               "mount", "cgroup",  NULL};

        json_object *devices = member(spec, "linux.resources.devices", json_type_array);
        assert_int_equal(json_object_array_length(devices), 1);
        json_object *deny = json_object_array_get_idx(devices, 0);
        assert_false(json_object_get_boolean(member(deny, "allow", json_type_boolean)));
        assert_string_equal(json_object_get_string(member(deny, "access", json_type_string)),
                            "rwm");

        json_object *ns = member(spec, "linux.namespaces", json_type_array);
        assert_int_equal(json_object_array_length(ns), 6);
        for (size_t i = 0; ns_types[i]; i++) {
                json_object *entry = json_object_array_get_idx(ns, i);
                assert_string_equal(json_object_get_string(member(entry, "type", json_type_string)),
                                    ns_types[i]);
                assert_false(has_member(entry, "path"));
        }
        assert_false(has_namespace(spec, "user"));

        json_object *linux_ = member(spec, "linux", json_type_object);
        assert_false(has_member(linux_, "uidMappings"));
        assert_false(has_member(linux_, "gidMappings"));

        json_object *masked = member(spec, "linux.maskedPaths", json_type_array);
        assert_int_equal(json_object_array_length(masked), 11);
        assert_true(array_has_string(masked, "/proc/kcore"));
        assert_true(array_has_string(masked, "/sys/firmware"));
        assert_true(array_has_string(masked, "/sys/devices/virtual/tpm"));
        static const char *const readonly[] = {
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
        assert_string_array(member(spec, "linux.readonlyPaths", json_type_array), readonly);
}

static void assert_single_mapping(json_object *spec, const char *path, uint32_t host_id)
{
        json_object *maps = member(spec, path, json_type_array);
        assert_int_equal(json_object_array_length(maps), 1);
        json_object *m = json_object_array_get_idx(maps, 0);
        assert_int_equal(int_member(m, "containerID"), 0);
        assert_int_equal(int_member(m, "hostID"), host_id);
        assert_int_equal(int_member(m, "size"), 1);
}

static void test_rootless(void **state)
{
        _cleanup_json_ json_object *spec = oci_spec_default(true);

        assert_true(has_namespace(spec, "user"));
        assert_false(has_namespace(spec, "network"));
        assert_true(has_namespace(spec, "pid"));
        assert_true(has_namespace(spec, "mount"));
        assert_single_mapping(spec, "linux.uidMappings", geteuid());
        assert_single_mapping(spec, "linux.gidMappings", getegid());

        json_object *linux_ = member(spec, "linux", json_type_object);
        assert_false(has_member(linux_, "resources"));

        json_object *sys = mount_at(spec, "/sys");
        assert_string_equal(json_object_get_string(member(sys, "type", json_type_string)), "none");
        assert_string_equal(json_object_get_string(member(sys, "source", json_type_string)),
                            "/sys");
        json_object *sys_opts = member(sys, "options", json_type_array);
        assert_true(array_has_string(sys_opts, "rbind"));
        assert_true(array_has_string(sys_opts, "ro"));

        /* No mount may carry uid=/gid= options. */
        json_object *mounts = member(spec, "mounts", json_type_array);
        assert_int_equal(json_object_array_length(mounts), 7);
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i), *opts;
                if (!json_object_object_get_ex(m, "options", &opts))
                        continue;
                for (size_t j = 0; j < json_object_array_length(opts); j++) {
                        const char *o = string_at(opts, j);
                        assert_true(strncmp(o, "gid=", 4) != 0 && strncmp(o, "uid=", 4) != 0);
                }
        }
        static const char *const devpts[] = {"nosuid",        "noexec",    "newinstance",
                                             "ptmxmode=0666", "mode=0620", NULL};
        assert_string_array(member(mount_at(spec, "/dev/pts"), "options", json_type_array), devpts);

        /* Everything else is the default document unchanged. */
        _cleanup_json_ json_object *def = oci_spec_default(false);
        assert_true(json_object_equal(member(spec, "process", json_type_object),
                                      member(def, "process", json_type_object)));
        assert_true(json_object_equal(member(spec, "linux.maskedPaths", json_type_array),
                                      member(def, "linux.maskedPaths", json_type_array)));
}

static void round_trip(bool rootless, bool pretty)
{
        _cleanup_json_ json_object *spec = oci_spec_default(rootless);
        _cleanup_free_ char *text = vs_json_to_string(spec, pretty);
        _cleanup_json_ json_object *parsed = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_json_parse(text, "config.json", &parsed, &err) < 0)
                fail_msg("%s", err->msg);
        assert_true(json_object_equal(spec, parsed));
        /* And the second serialisation is byte-identical to the first. */
        _cleanup_free_ char *again = vs_json_to_string(parsed, pretty);
        assert_string_equal(text, again);
}

static void test_round_trip(void **state)
{
        round_trip(false, true);
        round_trip(false, false);
        round_trip(true, true);
        round_trip(true, false);
}

static void test_fresh_documents(void **state)
{
        /* Each call builds an independent document. */
        json_object *a = oci_spec_default(false);
        json_object *b = oci_spec_default(false);
        assert_ptr_not_equal(a, b);
        json_object_object_add(a, "hostname", json_object_new_string("changed"));
        assert_string_equal(json_object_get_string(member(b, "hostname", json_type_string)),
                            "vessel");
        json_object_put(a);
        json_object_put(b);
}

/* ---- oci_config_parse on the default document, edited ---- */

/* Parses spec; returns the config (caller frees) or NULL with *msg set. */
static struct oci_config *parse_spec(json_object *spec, char **msg)
{
        struct oci_config *cfg = NULL;
        vs_error *err = NULL;
        if (oci_config_parse(spec, "/bundle", &cfg, &err) < 0) {
                *msg = strdup(err->msg);
                vs_error_free(&err);
                oci_config_free(cfg);
                return NULL;
        }
        return cfg;
}

static void add_device(json_object *spec, const char *type, int64_t mode)
{
        json_object *lx = member(spec, "linux", json_type_object);
        json_object *arr = json_object_new_array();
        json_object *d = json_object_new_object();
        json_object_object_add(d, "path", json_object_new_string("/dev/x"));
        json_object_object_add(d, "type", json_object_new_string(type));
        json_object_object_add(d, "major", json_object_new_int(1));
        json_object_object_add(d, "minor", json_object_new_int(7));
        json_object_object_add(d, "fileMode", json_object_new_int64(mode));
        json_object_array_add(arr, d);
        json_object_object_add(lx, "devices", arr);
}

static void test_device_file_mode(void **state)
{
        static const struct {
                const char *type;
                int64_t mode;
                uint32_t want; /* 0: refused */
                const char *msg;
        } cases[] = {
            {"c", 0640, 0640, NULL},
            {"c", 020600, 0600, NULL}, /* podman --privileged */
            {"b", 060660, 0660, NULL},
            {"p", 010644, 0644, NULL},
            {"c", 060600, 0,
             "linux.devices[0].fileMode: 060600 has file-type bits 060000 that "
             "contradict type 'c'"},
            {"c", 01000600, 0, "linux.devices[0].fileMode: 01000600 is not a file mode"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_json_ json_object *spec = oci_spec_default(false);
                add_device(spec, cases[i].type, cases[i].mode);
                _cleanup_free_ char *msg = NULL;
                struct oci_config *cfg = parse_spec(spec, &msg);
                if (cases[i].want == 0) {
                        assert_null(cfg);
                        if (strstr(msg, cases[i].msg) == NULL)
                                fail_msg("case %zu: '%s' lacks '%s'", i, msg, cases[i].msg);
                        continue;
                }
                if (cfg == NULL)
                        fail_msg("case %zu: %s", i, msg);
                assert_int_equal(cfg->linux_.devices[0].file_mode, cases[i].want);
                oci_config_free(cfg);
        }
}

static void remove_namespace(json_object *spec, const char *type)
{
        json_object *ns = member(spec, "linux.namespaces", json_type_array);
        for (size_t i = 0; i < json_object_array_length(ns); i++) {
                json_object *e = json_object_array_get_idx(ns, i);
                if (strcmp(json_object_get_string(member(e, "type", json_type_string)), type) ==
                    0) {
                        json_object_array_del_idx(ns, i, 1);
                        return;
                }
        }
}

static void test_namespace_rules(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct oci_config *cfg;

        /* hostname with a uts namespace joined by path */
        _cleanup_json_ json_object *a = oci_spec_default(false);
        json_object *ns = member(a, "linux.namespaces", json_type_array);
        for (size_t i = 0; i < json_object_array_length(ns); i++) {
                json_object *e = json_object_array_get_idx(ns, i);
                if (strcmp(json_object_get_string(member(e, "type", json_type_string)), "uts") == 0)
                        json_object_object_add(e, "path", json_object_new_string("/proc/1/ns/uts"));
        }
        cfg = parse_spec(a, &msg);
        if (cfg == NULL)
                fail_msg("%s", msg);
        oci_config_free(cfg);

        /* ... but not without one */
        _cleanup_json_ json_object *b = oci_spec_default(false);
        remove_namespace(b, "uts");
        assert_null(parse_spec(b, &msg));
        assert_non_null(strstr(msg, "hostname: setting the hostname needs a uts namespace"));
        free(msg);
        msg = NULL;

        /* no mount namespace: runs in the caller's, but no masking there */
        _cleanup_json_ json_object *c = oci_spec_default(false);
        remove_namespace(c, "mount");
        assert_null(parse_spec(c, &msg));
        assert_non_null(strstr(msg, "linux.maskedPaths: needs a mount namespace"));
        free(msg);
        msg = NULL;
        json_object *lx = member(c, "linux", json_type_object);
        json_object_object_del(lx, "maskedPaths");
        json_object_object_del(lx, "readonlyPaths");
        json_object_object_add(member(c, "root", json_type_object), "readonly",
                               json_object_new_boolean(0));
        cfg = parse_spec(c, &msg);
        if (cfg == NULL)
                fail_msg("%s", msg);
        assert_null(oci_config_namespace(cfg, OCI_NS_MOUNT));
        oci_config_free(cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_default_process),  cmocka_unit_test(test_default_root_and_mounts),
            cmocka_unit_test(test_default_linux),    cmocka_unit_test(test_rootless),
            cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_fresh_documents),
            cmocka_unit_test(test_device_file_mode), cmocka_unit_test(test_namespace_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
