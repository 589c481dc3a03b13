#include "oci/spec_default.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* json-c reports allocation failure with NULL or a negative return; like
 * xmalloc, treat it as fatal. */
static json_object *must(json_object *j)
{
        if (j == NULL) {
                fputs("vessel: out of memory\n", stderr);
                abort();
        }
        return j;
}

static void add(json_object *obj, const char *key, json_object *val)
{
        if (json_object_object_add(obj, key, must(val)) < 0) {
                fputs("vessel: out of memory\n", stderr);
                abort();
        }
}

static void append(json_object *arr, json_object *val)
{
        if (json_object_array_add(arr, must(val)) < 0) {
                fputs("vessel: out of memory\n", stderr);
                abort();
        }
}

static json_object *string_array(const char *const *list)
{
        json_object *arr = must(json_object_new_array());
        for (; *list; list++)
                append(arr, json_object_new_string(*list));
        return arr;
}

static const char *const default_caps[] = {
    "CAP_AUDIT_WRITE",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    NULL,
};

static json_object *default_process(void)
{
        static const char *const args[] = {"sh", NULL};
        static const char *const env[] = {
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
            NULL,
        };
        json_object *process = must(json_object_new_object());
        add(process, "terminal", json_object_new_boolean(1));

        json_object *user = must(json_object_new_object());
        add(user, "uid", json_object_new_int(0));
        add(user, "gid", json_object_new_int(0));
        add(process, "user", user);

        add(process, "args", string_array(args));
        add(process, "env", string_array(env));
        add(process, "cwd", json_object_new_string("/"));

        /* No ambient set (runc 1.1 wrote one, current runc does not):
         * ambient capabilities would be kept across execve even when
         * process.user is not root. */
        json_object *caps = must(json_object_new_object());
        add(caps, "bounding", string_array(default_caps));
        add(caps, "effective", string_array(default_caps));
        add(caps, "permitted", string_array(default_caps));
        add(process, "capabilities", caps);

        json_object *rlimits = must(json_object_new_array());
        json_object *nofile = must(json_object_new_object());
        add(nofile, "type", json_object_new_string("RLIMIT_NOFILE"));
        add(nofile, "hard", json_object_new_uint64(1024));
        add(nofile, "soft", json_object_new_uint64(1024));
        append(rlimits, nofile);
        add(process, "rlimits", rlimits);

        add(process, "noNewPrivileges", json_object_new_boolean(1));
        return process;
}

struct default_mount {
        const char *destination, *type, *source;
        const char *options[8]; /* NULL-terminated; options[0] NULL: none */
};

static const struct default_mount default_mounts[] = {
    {"/proc", "proc", "proc", {NULL}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
    {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
};

/* A user namespace cannot mount a fresh sysfs unless it also owns a network
 * namespace, so rootless containers get a read-only recursive bind of the
 * host's /sys instead. */
static const struct default_mount rootless_sys = {
    "/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro", NULL}};

static json_object *mount_object(const struct default_mount *m, bool rootless)
{
        json_object *obj = must(json_object_new_object());
        add(obj, "destination", json_object_new_string(m->destination));
        add(obj, "type", json_object_new_string(m->type));
        add(obj, "source", json_object_new_string(m->source));
        if (m->options[0] == NULL)
                return obj;
        json_object *options = must(json_object_new_array());
        for (const char *const *o = m->options; *o; o++) {
                /* Only the caller's ids are mapped in a rootless container:
                 * gid=5 (tty) would not exist there and the mount would fail. */
                if (rootless && (strncmp(*o, "gid=", 4) == 0 || strncmp(*o, "uid=", 4) == 0))
                        continue;
                append(options, json_object_new_string(*o));
        }
        add(obj, "options", options);
        return obj;
}

static json_object *default_mounts_array(bool rootless)
{
        json_object *mounts = must(json_object_new_array());
        for (size_t i = 0; i < sizeof(default_mounts) / sizeof(default_mounts[0]); i++) {
                const struct default_mount *m = &default_mounts[i];
                if (rootless && strcmp(m->destination, "/sys") == 0)
                        m = &rootless_sys;
                append(mounts, mount_object(m, rootless));
        }
        return mounts;
}

static json_object *id_mappings(uint32_t host_id)
{
        json_object *arr = must(json_object_new_array());
        json_object *m = must(json_object_new_object());
        add(m, "containerID", json_object_new_int(0));
        add(m, "hostID", json_object_new_uint64(host_id));
        add(m, "size", json_object_new_int(1));
        append(arr, m);
        return arr;
}

static json_object *default_linux(bool rootless)
{
        static const char *const namespaces[] = {"pid",   "network", "ipc", "uts",
                                                 "mount", "cgroup",  NULL};
        static const char *const masked_paths[] = {
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
            "/sys/devices/virtual/tpm",
            NULL,
        };
        static const char *const readonly_paths[] = {
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
        };
        json_object *linux_ = must(json_object_new_object());

        if (rootless) {
                /* The effective ids: an unprivileged writer of uid_map/gid_map
                 * may map only its own euid/egid. */
                add(linux_, "uidMappings", id_mappings(geteuid()));
                add(linux_, "gidMappings", id_mappings(getegid()));
        } else {
                /* An unprivileged user owns no cgroup to restrict, so the
                 * rootless variant has no resources at all. */
                json_object *resources = must(json_object_new_object());
                json_object *devices = must(json_object_new_array());
                json_object *deny_all = must(json_object_new_object());
                add(deny_all, "allow", json_object_new_boolean(0));
                add(deny_all, "access", json_object_new_string("rwm"));
                append(devices, deny_all);
                add(resources, "devices", devices);
                add(linux_, "resources", resources);
        }

        json_object *ns = must(json_object_new_array());
        for (const char *const *t = namespaces; *t; t++) {
                /* Without privileges a new network namespace would have no
                 * way to reach anything: rootless keeps the host's. */
                if (rootless && strcmp(*t, "network") == 0)
                        continue;
                json_object *entry = must(json_object_new_object());
                add(entry, "type", json_object_new_string(*t));
                append(ns, entry);
        }
        if (rootless) {
                json_object *entry = must(json_object_new_object());
                add(entry, "type", json_object_new_string("user"));
                append(ns, entry);
        }
        add(linux_, "namespaces", ns);

        add(linux_, "maskedPaths", string_array(masked_paths));
        add(linux_, "readonlyPaths", string_array(readonly_paths));
        return linux_;
}

json_object *oci_spec_default(bool rootless)
{
        json_object *spec = must(json_object_new_object());
        add(spec, "ociVersion", json_object_new_string(OCI_SPEC_DEFAULT_VERSION));
        add(spec, "process", default_process());

        json_object *root = must(json_object_new_object());
        add(root, "path", json_object_new_string("rootfs"));
        add(root, "readonly", json_object_new_boolean(1));
        add(spec, "root", root);

        add(spec, "hostname", json_object_new_string("vessel"));
        add(spec, "mounts", default_mounts_array(rootless));
        add(spec, "linux", default_linux(rootless));
        return spec;
}
