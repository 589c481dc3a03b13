/* Container record (image config merged with the flags) -> OCI config.
 * Starts from runc's default spec and applies Docker's defaults: the 14
 * default capabilities, Docker's masked and read-only paths, the default
 * seccomp profile, and /etc/hostname, /etc/hosts, /etc/resolv.conf bound
 * from files written in the container's directory. */
#include "engine/engine.h"
#include "runtime/init.h"
#include "oci/config.h"
#include "oci/spec_default.h"
#include "runtime/caps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/vm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *const default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

char *const *vs_engine_default_caps(void)
{
        return (char *const *) default_caps;
}

static const char *const masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

void vs_engine_default_paths(const char *const **masked, const char *const **readonly)
{
        *masked = masked_paths;
        *readonly = readonly_paths;
}

static json_object *jstrv(char *const *v)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static const char *cfg_str(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool cfg_bool(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);
        return v && json_object_get_boolean(v);
}

static int64_t cfg_int(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);
        return v ? json_object_get_int64(v) : 0;
}

static bool env_has(char *const *env, const char *key)
{
        size_t n = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
                        return true;
        return false;
}

/* ---- users ---- */

void vs_user_clear(struct vs_user *u)
{
        free(u->gids);
        free(u->home);
        memset(u, 0, sizeof(*u));
}

static bool parse_u32(const char *s, uint32_t *out)
{
        if (!*s || !isdigit((unsigned char) *s))
                return false;
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (*end || errno || v > UINT32_MAX)
                return false;
        *out = (uint32_t) v;
        return true;
}

/* Reads a colon-separated database (passwd, group) inside the root: *out
 * NULL when absent. The container owns the file: a FIFO there must not
 * hang run or exec, a device node must not be read on the host, so it is
 * opened only as a regular file (vs_open_regular), resolved in the root. */
static int read_db(int rootfd, const char *path, char **out, vs_error **err)
{
        *out = NULL;
        _cleanup_free_ char *what = xasprintf("the container's %s", path);
        struct stat st;
        _cleanup_error_ vs_error *e = NULL;
        int fd = vs_open_regular(rootfd, path, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, NULL,
                                 &st, what, &e);
        if (fd < 0) {
                if (e->errno_ == ENOENT || e->errno_ == ENOTDIR)
                        return 0;
                if (err && *err == NULL)
                        *err = steal_ptr(e);
                return -1;
        }
        char *text = NULL;
        if (st.st_size < (16 << 20)) {
                size_t cap = (size_t) st.st_size + 1, len = 0;
                text = xmalloc(cap + 1);
                ssize_t n;
                while ((n = read(fd, text + len, cap - len)) > 0) {
                        len += (size_t) n;
                        if (len == cap) {
                                cap *= 2;
                                text = xrealloc(text, cap + 1);
                        }
                }
                text[len] = '\0';
        }
        close(fd);
        *out = text;
        return 0;
}

/* Splits a line into at most n colon-separated fields in place. */
static size_t split_fields(char *line, char **f, size_t n)
{
        size_t i = 0;
        f[i++] = line;
        for (char *p = line; *p && i < n; p++)
                if (*p == ':') {
                        *p = '\0';
                        f[i++] = p + 1;
                }
        return i;
}

/* (uid_t)-1 from a spec or from the container's own databases would be
 * "unchanged" to setresuid/setresgid, i.e. root. */
static int check_user_ids(struct vs_user *u, vs_error **err)
{
        int r = oci_id_check(u->uid, "uid", err);
        if (r == 0)
                r = oci_id_check(u->gid, "gid", err);
        for (size_t i = 0; r == 0 && i < u->n_gids; i++)
                r = oci_id_check(u->gids[i], "supplementary gid", err);
        if (r < 0)
                vs_user_clear(u);
        return r;
}

int vs_resolve_user(int rootfd, const char *spec, struct vs_user *out, vs_error **err)
{
        memset(out, 0, sizeof(*out));
        _cleanup_free_ char *user = xstrdup(spec && *spec ? spec : "0");
        char *group = strchr(user, ':');
        if (group)
                *group++ = '\0';
        _cleanup_free_ char *passwd = NULL, *groups = NULL;
        if (read_db(rootfd, "/etc/passwd", &passwd, err) < 0 ||
            read_db(rootfd, "/etc/group", &groups, err) < 0)
                return -1;
        bool numeric = parse_u32(user, &out->uid);
        bool found = false;
        _cleanup_free_ char *user_name = NULL;
        char *save = NULL;
        for (char *line = passwd ? strtok_r(passwd, "\n", &save) : NULL; line && !found;
             line = strtok_r(NULL, "\n", &save)) {
                char *f[7];
                if (split_fields(line, f, 7) < 7)
                        continue;
                uint32_t uid, gid;
                if (!parse_u32(f[2], &uid) || !parse_u32(f[3], &gid))
                        continue;
                if ((numeric && uid == out->uid) || (!numeric && strcmp(f[0], user) == 0)) {
                        found = true;
                        out->uid = uid;
                        out->gid = gid;
                        out->home = xstrdup(f[5]);
                        user_name = xstrdup(f[0]);
                }
        }
        if (!found && !numeric)
                return vs_fail(err,
                               "unable to find user %s: no matching entries in the "
                               "container's /etc/passwd",
                               user);
        if (!found)
                out->gid = 0;
        if (out->home == NULL || *out->home == '\0') {
                free(out->home);
                out->home = xstrdup("/");
        }
        if (group && *group && !parse_u32(group, &out->gid)) {
                bool gfound = false;
                _cleanup_free_ char *copy = groups ? xstrdup(groups) : NULL;
                char *gsave = NULL;
                for (char *line = copy ? strtok_r(copy, "\n", &gsave) : NULL; line && !gfound;
                     line = strtok_r(NULL, "\n", &gsave)) {
                        char *f[4];
                        if (split_fields(line, f, 4) < 3)
                                continue;
                        if (strcmp(f[0], group) == 0 && parse_u32(f[2], &out->gid))
                                gfound = true;
                }
                if (!gfound) {
                        vs_user_clear(out);
                        return vs_fail(err,
                                       "unable to find group %s: no matching entries in "
                                       "the container's /etc/group",
                                       group);
                }
        }
        /* Supplementary groups: the primary group (as runc and Docker set
         * it: `id` shows groups=), then the groups listing the user as a
         * member (only when no group was forced, as Docker does). */
        out->gids = xmalloc(sizeof(uint32_t));
        out->gids[out->n_gids++] = out->gid;
        if (user_name && groups && !(group && *group)) {
                char *gsave = NULL;
                for (char *line = strtok_r(groups, "\n", &gsave); line;
                     line = strtok_r(NULL, "\n", &gsave)) {
                        char *f[4];
                        uint32_t gid;
                        if (split_fields(line, f, 4) < 4 || !parse_u32(f[2], &gid) ||
                            gid == out->gid)
                                continue;
                        char *msave = NULL;
                        for (char *m = strtok_r(f[3], ",", &msave); m;
                             m = strtok_r(NULL, ",", &msave)) {
                                if (strcmp(m, user_name) == 0) {
                                        out->gids = xrealloc(out->gids,
                                                             (out->n_gids + 1) * sizeof(uint32_t));
                                        out->gids[out->n_gids++] = gid;
                                        break;
                                }
                        }
                }
        }
        return check_user_ids(out, err);
}

int vs_user_add_groups(int rootfd, char *const *groups, struct vs_user *u, vs_error **err)
{
        if (groups == NULL || groups[0] == NULL)
                return 0;
        _cleanup_free_ char *db = NULL;
        if (read_db(rootfd, "/etc/group", &db, err) < 0)
                return -1;
        for (size_t i = 0; groups[i]; i++) {
                /* Docker's order (libcontainer's GetAdditionalGroups): a group
                 * of that name, else a number. */
                uint32_t gid = 0;
                bool found = false;
                _cleanup_free_ char *copy = db ? xstrdup(db) : NULL;
                char *save = NULL;
                for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line && !found;
                     line = strtok_r(NULL, "\n", &save)) {
                        char *f[4];
                        if (split_fields(line, f, 4) >= 3 && strcmp(f[0], groups[i]) == 0 &&
                            parse_u32(f[2], &gid))
                                found = true;
                }
                if (!found && !parse_u32(groups[i], &gid))
                        return vs_fail(err,
                                       "--group-add: unable to find group %s: no matching entries "
                                       "in the container's /etc/group",
                                       groups[i]);
                if (oci_id_check(gid, "--group-add gid", err) < 0)
                        return -1;
                bool have = false;
                for (size_t j = 0; j < u->n_gids && !have; j++)
                        have = u->gids[j] == gid;
                if (have)
                        continue;
                u->gids = xrealloc(u->gids, (u->n_gids + 1) * sizeof(uint32_t));
                u->gids[u->n_gids++] = gid;
        }
        return 0;
}

/* ---- /etc files ---- */

/* Written at every start, so atomically but without fsync: after a crash
 * the next start writes them again. */
static int write_etc_files(struct vs_engine *e, const struct vs_ctr *c, const char *hostname,
                           bool host_net, vs_error **err)
{
        /* On a bridge network: the container's address (and its peers')
         * instead of 127.0.1.1 for its own name. */
        _cleanup_free_ char *net_hosts = NULL;
        if (vs_engine_net_name(c) && vs_engine_net_lease(e, c, hostname, &net_hosts, err) < 0)
                return -1;
        _cleanup_free_ char *hn_path = xasprintf("%s/hostname", c->dir);
        _cleanup_free_ char *hn = xasprintf("%s\n", hostname);
        if (vs_write_file_replace(hn_path, hn, strlen(hn), 0644, err) < 0)
                return -1;

        _cleanup_free_ char *hosts_path = xasprintf("%s/hosts", c->dir);
        _cleanup_free_ char *hosts = NULL;
        _cleanup_error_ vs_error *rerr = NULL;
        if (host_net)
                vs_read_file("/etc/hosts", &hosts, NULL, &rerr);
        _cleanup_free_ char *extra = vs_engine_extra_hosts(e, c);
        if (hosts == NULL)
                hosts = xasprintf("127.0.0.1\tlocalhost\n"
                                  "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                  "fe00::0\tip6-localnet\n"
                                  "ff00::0\tip6-mcastprefix\n"
                                  "ff02::1\tip6-allnodes\n"
                                  "ff02::2\tip6-allrouters\n"
                                  "%s%s%s%s",
                                  extra, net_hosts ? "" : "127.0.1.1\t",
                                  net_hosts ? net_hosts : hostname, net_hosts ? "" : "\n");
        else {
                char *t = xasprintf("%s%s", hosts, extra);
                free(hosts);
                hosts = t;
        }
        if (vs_write_file_replace(hosts_path, hosts, strlen(hosts), 0644, err) < 0)
                return -1;

        /* The host's resolver config; loopback nameservers are unreachable
         * from another network namespace, so they are dropped there. A VM
         * on QEMU's user-mode network asks libslirp's DNS forwarder, which
         * relays to the host's first nameserver from the host's network
         * namespace (loopback ones included), as podman's slirp4netns
         * containers do. */
        const char *mode = c->hc.network_mode;
        bool slirp_vm = vs_ctr_is_vm(c) && mode && strcmp(mode, VS_VM_NET_USER) == 0;
        _cleanup_free_ char *resolv_path = xasprintf("%s/resolv.conf", c->dir);
        _cleanup_free_ char *host_resolv = NULL;
        vs_error_free(&rerr);
        vs_read_file("/etc/resolv.conf", &host_resolv, NULL, &rerr);
        _cleanup_free_ char *resolv = xstrdup(slirp_vm ? "nameserver " VS_VM_SLIRP_DNS "\n" : "");
        char *save = NULL;
        for (char *line = host_resolv ? strtok_r(host_resolv, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                if (!host_net && strncmp(line, "nameserver", 10) == 0) {
                        if (slirp_vm)
                                continue;
                        const char *a = line + 10;
                        while (*a == ' ' || *a == '\t')
                                a++;
                        if (strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0)
                                continue;
                }
                char *t = xasprintf("%s%s\n", resolv, line);
                free(resolv);
                resolv = t;
        }
        resolv = vs_engine_resolv_conf(c, resolv);
        return vs_write_file_replace(resolv_path, resolv, strlen(resolv), 0644, err);
}

/* ---- mounts ---- */

static json_object *mount_obj(const char *dst, const char *type, const char *src, char *const *opts)
{
        json_object *m = json_object_new_object();
        json_object_object_add(m, "destination", json_object_new_string(dst));
        json_object_object_add(m, "type", json_object_new_string(type));
        json_object_object_add(m, "source", json_object_new_string(src));
        json_object_object_add(m, "options", jstrv(opts));
        return m;
}

static void remove_mount(json_object *mounts, const char *dst)
{
        for (size_t i = json_object_array_length(mounts); i-- > 0;) {
                json_object *m = json_object_array_get_idx(mounts, i);
                if (strcmp(cfg_str(m, "destination"), dst) == 0)
                        json_object_array_del_idx(mounts, i, 1);
        }
}

static size_t depth(const char *p)
{
        size_t n = 0;
        for (; *p; p++)
                n += *p == '/';
        return n;
}

/* Parents before children (stable), as Docker orders mounts. */
static void sort_mounts(json_object *mounts)
{
        size_t n = json_object_array_length(mounts);
        json_object **v = xcalloc(n ? n : 1, sizeof(*v));
        for (size_t i = 0; i < n; i++)
                v[i] = json_object_get(json_object_array_get_idx(mounts, i));
        for (size_t i = 1; i < n; i++) {
                json_object *x = v[i];
                size_t dx = depth(cfg_str(x, "destination"));
                size_t j = i;
                while (j > 0 && depth(cfg_str(v[j - 1], "destination")) > dx) {
                        v[j] = v[j - 1];
                        j--;
                }
                v[j] = x;
        }
        json_object_array_del_idx(mounts, 0, n);
        for (size_t i = 0; i < n; i++)
                json_object_array_add(mounts, v[i]);
        free(v);
}

static void set_sys_writable(json_object *mounts)
{
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                const char *d = cfg_str(m, "destination");
                if (strcmp(d, "/sys") != 0 && strcmp(d, "/sys/fs/cgroup") != 0)
                        continue;
                json_object *opts = json_object_object_get(m, "options");
                for (size_t j = json_object_array_length(opts); j-- > 0;)
                        if (strcmp(json_object_get_string(json_object_array_get_idx(opts, j)),
                                   "ro") == 0)
                                json_object_array_del_idx(opts, j, 1);
                json_object_array_add(opts, json_object_new_string("rw"));
        }
}

const char *const vs_engine_mounted_files[] = {"etc/hostname", "etc/hosts", "etc/resolv.conf",
                                               NULL};

static json_object *oci_maps(const struct oci_id_mapping *m, size_t n);

/* -v ...:idmap: the source's ids are seen as the container's (its file
 * owned by host 0 is its root's), with the container's own mappings. */
static int idmap_mount(json_object *hc, json_object *mo, vs_error **err)
{
        struct vs_idmaps m;
        int r = vs_userns_mappings(hc, &m, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "%s: an idmapped volume needs a user namespace",
                               cfg_str(mo, "destination"));
        json_object_object_add(mo, "uidMappings", oci_maps(m.uid, m.n_uid));
        json_object_object_add(mo, "gidMappings", oci_maps(m.gid, m.n_gid));
        vs_idmaps_clear(&m);
        return 0;
}

static int build_mounts(const struct vs_ctr *c, const char *net_dir, json_object *spec,
                        bool readonly, bool privileged, vs_error **err)
{
        json_object *mounts = json_object_object_get(spec, "mounts");
        if (privileged)
                set_sys_writable(mounts);
        /* Docker's /dev/shm has no noexec... but keeps nosuid,nodev; keep
         * runc's default there. */
        for (size_t i = 0; vs_engine_mounted_files[i]; i++) {
                const char *base = strrchr(vs_engine_mounted_files[i], '/') + 1;
                /* --network container:ID shares that container's hosts and
                 * resolv.conf, as Docker does. */
                _cleanup_free_ char *src =
                    xasprintf("%s/%s", i > 0 && net_dir ? net_dir : c->dir, base);
                _cleanup_free_ char *dst = xasprintf("/%s", vs_engine_mounted_files[i]);
                char *opts[] = {"rbind", "rprivate", readonly ? "ro" : NULL, NULL};
                json_object_array_add(mounts, mount_obj(dst, "bind", src, opts));
        }
        json_object *user_mounts = c->mounts;
        for (size_t i = 0; user_mounts && i < json_object_array_length(user_mounts); i++) {
                json_object *m = json_object_array_get_idx(user_mounts, i);
                const char *type = cfg_str(m, "Type");
                const char *dst = cfg_str(m, "Destination");
                if (type == NULL || dst == NULL)
                        continue;
                remove_mount(mounts, dst);
                if (strcmp(type, "tmpfs") == 0) {
                        _cleanup_strv_ char **opts = NULL;
                        strv_push(&opts, "nosuid");
                        strv_push(&opts, "nodev");
                        strv_push(&opts, "noexec");
                        const char *o = cfg_str(m, "Mode");
                        _cleanup_free_ char *copy = xstrdup(o ? o : "");
                        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t;
                             t = strtok_r(NULL, ",", &save))
                                strv_push(&opts, t);
                        json_object_array_add(mounts, mount_obj(dst, "tmpfs", "tmpfs", opts));
                        continue;
                }
                const char *src = cfg_str(m, "Source");
                struct stat st;
                if (src == NULL || stat(src, &st) < 0)
                        return vs_fail_errno(err, "mount source %s for %s", src ? src : "(none)",
                                             dst);
                const char *prop = cfg_str(m, "Propagation");
                char *opts[] = {"rbind", (char *) (prop && *prop ? prop : "rprivate"),
                                cfg_bool(m, "RW") ? "rw" : "ro", NULL};
                json_object *mo = mount_obj(dst, "bind", src, opts);
                if (cfg_bool(m, "Idmap") && idmap_mount(c->host_config, mo, err) < 0) {
                        json_object_put(mo);
                        return -1;
                }
                json_object_array_add(mounts, mo);
        }
        sort_mounts(mounts);
        return 0;
}

/* ---- capabilities ---- */

/* "All capabilities": those the kernel knows and we still hold in our
 * bounding set (a container cannot be given more than its runtime has). */
static void push_all_caps(char ***caps)
{
        for (int i = 0; i <= vs_cap_last_cap(); i++)
                if (vs_cap_name(i) && prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1 &&
                    !strv_contains(*caps, vs_cap_name(i)))
                        strv_push(caps, vs_cap_name(i));
}

static bool has_all(char *const *v)
{
        return strv_contains(v, "ALL");
}

static char **capability_set(const struct vs_ctr_host_config *hc, bool privileged)
{
        char **caps = NULL;
        if (privileged) {
                push_all_caps(&caps);
                return caps ? caps : xcalloc(1, sizeof(char *));
        }
        char *const *add = hc->cap_add, *const *drop = hc->cap_drop;
        bool add_all = has_all(add), drop_all = has_all(drop);
        if (add_all) {
                push_all_caps(&caps);
        } else if (!drop_all) {
                for (size_t i = 0; default_caps[i]; i++)
                        strv_push(&caps, default_caps[i]);
        }
        /* Docker: with --cap-drop ALL, the --cap-add list is what remains. */
        for (size_t i = 0; !add_all && add && add[i]; i++) {
                const char *cap = add[i];
                if (!strv_contains(caps, cap))
                        strv_push(&caps, cap);
        }
        if (!drop_all || add_all) {
                for (size_t i = 0; drop && drop[i]; i++) {
                        const char *cap = drop[i];
                        for (size_t j = 0; caps && caps[j]; j++) {
                                if (strcmp(caps[j], cap) == 0) {
                                        free(caps[j]);
                                        memmove(&caps[j], &caps[j + 1],
                                                (strv_len(caps) - j) * sizeof(char *));
                                        break;
                                }
                        }
                }
        }
        if (caps == NULL)
                caps = xcalloc(1, sizeof(char *));
        return caps;
}

/* ---- resources ---- */

static int add_throttles(json_object *list, const char *key, json_object *blkio,
                         const char *oci_key, vs_error **err)
{
        size_t n = list ? json_object_array_length(list) : 0;
        if (n == 0)
                return 0;
        json_object *arr = json_object_new_array();
        json_object_object_add(blkio, oci_key, arr);
        for (size_t i = 0; i < n; i++) {
                json_object *t = json_object_array_get_idx(list, i);
                const char *path = cfg_str(t, "Path");
                struct stat st;
                if (path == NULL || stat(path, &st) < 0)
                        return vs_fail_errno(err, "%s: device %s", key, path ? path : "(none)");
                json_object *d = json_object_new_object();
                json_object_object_add(d, "major", json_object_new_int64(major(st.st_rdev)));
                json_object_object_add(d, "minor", json_object_new_int64(minor(st.st_rdev)));
                json_object_object_add(d, "rate", json_object_new_int64(cfg_int(t, "Rate")));
                json_object_array_add(arr, d);
        }
        return 0;
}

static bool v1_swap_accounting(void)
{
        return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
}

static int build_resources(const struct vs_ctr_host_config *hc, json_object *linux_,
                           bool privileged, vs_error **err)
{
        json_object *res = json_object_object_get(linux_, "resources");
        if (res == NULL) {
                res = json_object_new_object();
                json_object_object_add(linux_, "resources", res);
        }
        if (privileged) {
                json_object *devs = json_object_new_array();
                json_object *all = json_object_new_object();
                json_object_object_add(all, "allow", json_object_new_boolean(1));
                json_object_object_add(all, "access", json_object_new_string("rwm"));
                json_object_array_add(devs, all);
                json_object_object_add(res, "devices", devs);
        }
        int64_t memory = hc->memory;
        int64_t reservation = hc->memory_reservation;
        if (memory > 0 || hc->has_memory_swap || reservation > 0 || hc->oom_kill_disable) {
                json_object *mem = json_object_new_object();
                if (reservation > 0)
                        json_object_object_add(mem, "reservation",
                                               json_object_new_int64(reservation));
                if (memory > 0)
                        json_object_object_add(mem, "limit", json_object_new_int64(memory));
                if (hc->has_memory_swap)
                        json_object_object_add(mem, "swap", json_object_new_int64(hc->memory_swap));
                else if (memory > 0 && v1_swap_accounting())
                        /* Docker's default: as much swap as memory (no limit
                         * when twice the memory does not fit: -m 8e18). */
                        json_object_object_add(
                            mem, "swap",
                            json_object_new_int64(memory > INT64_MAX / 2 ? -1 : 2 * memory));
                if (hc->oom_kill_disable) /* --oom-kill-disable: memory.oom_control on v1 */
                        json_object_object_add(mem, "disableOOMKiller", json_object_new_boolean(1));
                json_object_object_add(res, "memory", mem);
        }
        int64_t nano = hc->nano_cpus, shares = hc->cpu_shares;
        const char *cpuset = hc->cpuset_cpus;
        if (nano > 0 || shares > 0 || cpuset || hc->cpu_period > 0 || hc->cpu_quota != 0) {
                json_object *cpu = json_object_new_object();
                if (nano > 0) {
                        json_object_object_add(cpu, "period", json_object_new_int64(100000));
                        json_object_object_add(cpu, "quota",
                                               json_object_new_int64(nano * 100000 / 1000000000));
                } else {
                        /* --cpu-period/--cpu-quota (create.c refuses them with --cpus) */
                        if (hc->cpu_period > 0)
                                json_object_object_add(cpu, "period",
                                                       json_object_new_int64(hc->cpu_period));
                        if (hc->cpu_quota != 0)
                                json_object_object_add(cpu, "quota",
                                                       json_object_new_int64(hc->cpu_quota));
                }
                if (shares > 0)
                        json_object_object_add(cpu, "shares", json_object_new_int64(shares));
                if (cpuset)
                        json_object_object_add(cpu, "cpus", json_object_new_string(cpuset));
                json_object_object_add(res, "cpu", cpu);
        }
        if (hc->has_pids_limit) {
                json_object *pids = json_object_new_object();
                json_object_object_add(pids, "limit", json_object_new_int64(hc->pids_limit));
                json_object_object_add(res, "pids", pids);
        }
        json_object *blkio = json_object_new_object();
        if (hc->blkio_weight > 0)
                json_object_object_add(blkio, "weight", json_object_new_int64(hc->blkio_weight));
        if (add_throttles(hc->blkio_read_bps, "BlkioDeviceReadBps", blkio, "throttleReadBpsDevice",
                          err) < 0 ||
            add_throttles(hc->blkio_write_bps, "BlkioDeviceWriteBps", blkio,
                          "throttleWriteBpsDevice", err) < 0 ||
            add_throttles(hc->blkio_read_iops, "BlkioDeviceReadIOps", blkio,
                          "throttleReadIOPSDevice", err) < 0 ||
            add_throttles(hc->blkio_write_iops, "BlkioDeviceWriteIOps", blkio,
                          "throttleWriteIOPSDevice", err) < 0) {
                json_object_put(blkio);
                return -1;
        }
        if (json_object_object_length(blkio))
                json_object_object_add(res, "blockIO", blkio);
        else
                json_object_put(blkio);
        return 0;
}

int vs_engine_resources(const struct vs_ctr_host_config *hc, json_object **out, vs_error **err)
{
        _cleanup_json_ json_object *linux_ = json_object_new_object();
        if (build_resources(hc, linux_, false, err) < 0)
                return -1;
        json_object *res = json_object_object_get(linux_, "resources");
        *out = json_object_get(res);
        return 0;
}

/* --privileged: every device node of the host's /dev (one level of
 * subdirectories), except those the runtime creates itself. */
static void add_host_devices(json_object *linux_)
{
        static const char *const skip[] = {"null",   "zero",    "full", "random", "urandom",
                                           "tty",    "console", "ptmx", "pts",    "shm",
                                           "mqueue", "fd",      NULL};
        json_object *devs = json_object_new_array();
        const char *dirs[64] = {"/dev"};
        size_t nd = 1;
        for (size_t k = 0; k < nd; k++) {
                _cleanup_closedir_ DIR *d = opendir(dirs[k]);
                struct dirent *de;
                while (d && (de = readdir(d)) != NULL) {
                        if (de->d_name[0] == '.')
                                continue;
                        bool skipped = false;
                        for (size_t i = 0; k == 0 && skip[i] && !skipped; i++)
                                skipped = strcmp(de->d_name, skip[i]) == 0;
                        if (skipped)
                                continue;
                        char path[512];
                        snprintf(path, sizeof(path), "%s/%s", dirs[k], de->d_name);
                        struct stat st;
                        if (lstat(path, &st) < 0)
                                continue;
                        if (S_ISDIR(st.st_mode) && k == 0 && nd < 64) {
                                dirs[nd++] = xstrdup(path);
                                continue;
                        }
                        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                                continue;
                        json_object *dev = json_object_new_object();
                        json_object_object_add(dev, "path", json_object_new_string(path));
                        json_object_object_add(
                            dev, "type", json_object_new_string(S_ISCHR(st.st_mode) ? "c" : "b"));
                        json_object_object_add(dev, "major",
                                               json_object_new_int64(major(st.st_rdev)));
                        json_object_object_add(dev, "minor",
                                               json_object_new_int64(minor(st.st_rdev)));
                        json_object_object_add(dev, "fileMode",
                                               json_object_new_int(st.st_mode & 07777));
                        json_object_object_add(dev, "uid", json_object_new_int((int) st.st_uid));
                        json_object_object_add(dev, "gid", json_object_new_int((int) st.st_gid));
                        json_object_array_add(devs, dev);
                }
        }
        for (size_t k = 1; k < nd; k++)
                free((char *) dirs[k]);
        json_object_object_add(linux_, "devices", devs);
}

static json_object *rlimits(json_object *list)
{
        json_object *arr = json_object_new_array();
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                json_object *u = json_object_array_get_idx(list, i);
                _cleanup_free_ char *type = xasprintf("RLIMIT_%s", cfg_str(u, "Name"));
                for (char *p = type; *p; p++)
                        *p = (char) toupper((unsigned char) *p);
                json_object *r = json_object_new_object();
                json_object_object_add(r, "type", json_object_new_string(type));
                int64_t soft = cfg_int(u, "Soft"), hard = cfg_int(u, "Hard");
                json_object_object_add(r, "soft", json_object_new_uint64((uint64_t) soft));
                json_object_object_add(r, "hard", json_object_new_uint64((uint64_t) hard));
                json_object_array_add(arr, r);
        }
        return arr;
}

static json_object *oci_maps(const struct oci_id_mapping *m, size_t n)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "containerID", json_object_new_int64(m[i].container_id));
                json_object_object_add(o, "hostID", json_object_new_int64(m[i].host_id));
                json_object_object_add(o, "size", json_object_new_int64(m[i].size));
                json_object_array_add(a, o);
        }
        return a;
}

/* HostConfig.IDMappings -> a user namespace with linux.uid/gidMappings. */
static int add_userns(json_object *hc, json_object *linux_, vs_error **err)
{
        struct vs_idmaps m;
        int r = vs_userns_mappings(hc, &m, err);
        if (r <= 0)
                return r;
        json_object *ns = json_object_new_object();
        json_object_object_add(ns, "type", json_object_new_string("user"));
        json_object_array_add(json_object_object_get(linux_, "namespaces"), ns);
        json_object_object_add(linux_, "uidMappings", oci_maps(m.uid, m.n_uid));
        json_object_object_add(linux_, "gidMappings", oci_maps(m.gid, m.n_gid));
        vs_idmaps_clear(&m);
        return 0;
}

static bool user_mount_at(const struct vs_ctr *c, const char *dst)
{
        for (size_t i = 0; c->mounts && i < json_object_array_length(c->mounts); i++) {
                const char *d = cfg_str(json_object_array_get_idx(c->mounts, i), "Destination");
                if (d && strcmp(d, dst) == 0)
                        return true;
        }
        return false;
}

int vs_engine_oci_config(struct vs_engine *e, const struct vs_ctr *c, int rootfd, json_object **out,
                         vs_error **err)
{
        const struct vs_ctr_config *cfg = &c->cfg;
        const struct vs_ctr_host_config *hc = &c->hc;
        _cleanup_json_ json_object *spec = oci_spec_default(false);
        bool privileged = hc->privileged;
        bool readonly = hc->readonly_rootfs;
        const char *net = hc->network_mode;
        bool host_net = net && strcmp(net, "host") == 0;
        const char *hostname = cfg->hostname;
        _cleanup_free_ char *join_ns = NULL, *join_dir = NULL, *join_hn = NULL, *host_hn = NULL;
        if (vs_engine_net_joined(e, c, &join_ns, &join_dir, &join_hn, err) < 0)
                return -1;
        if (join_hn && *join_hn)
                hostname = join_hn;
        if (vs_engine_uts_hostname(c, &host_hn) > 0)
                hostname = host_hn;
        if (hostname == NULL || *hostname == '\0')
                hostname = "vessel";

        json_object *root = json_object_object_get(spec, "root");
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        json_object_object_add(root, "path", json_object_new_string(rootfs));
        json_object_object_add(root, "readonly", json_object_new_boolean(readonly));
        json_object_object_add(spec, "hostname", json_object_new_string(hostname));

        /* process */
        json_object *proc = json_object_object_get(spec, "process");
        bool tty = cfg->tty;
        json_object_object_add(proc, "terminal", json_object_new_boolean(tty));
        _cleanup_strv_ char **argv = NULL;
        if (c->hc.init) {
                strv_push(&argv, VS_ENGINE_INIT_PATH);
                strv_push(&argv, "--");
        }
        strv_push(&argv, c->path);
        for (size_t i = 0; c->args && c->args[i]; i++)
                strv_push(&argv, c->args[i]);
        json_object_object_add(proc, "args", jstrv(argv));
        struct vs_user u;
        if (vs_resolve_user(rootfd, cfg->user, &u, err) < 0)
                return vs_error_wrap(err, "user '%s'", cfg->user);
        uint32_t keep_uid = 0;
        _cleanup_free_ char *keep_home = NULL;
        int keep_id = vs_userns_keep_id_files(c, rootfd, &keep_uid, &keep_home, err);
        if (keep_id < 0) {
                vs_user_clear(&u);
                return -1;
        }
        if (keep_id && u.uid == keep_uid) {
                /* the entry keep-id adds (the image's has none) */
                free(u.home);
                u.home = xstrdup(keep_home);
        }
        if (vs_user_add_groups(rootfd, hc->group_add, &u, err) < 0) {
                vs_user_clear(&u);
                return -1;
        }
        json_object *user = json_object_new_object();
        json_object_object_add(user, "uid", json_object_new_int64(u.uid));
        json_object_object_add(user, "gid", json_object_new_int64(u.gid));
        if (u.n_gids) {
                json_object *g = json_object_new_array();
                for (size_t i = 0; i < u.n_gids; i++)
                        json_object_array_add(g, json_object_new_int64(u.gids[i]));
                json_object_object_add(user, "additionalGids", g);
        }
        json_object_object_add(proc, "user", user);
        _cleanup_strv_ char **env = NULL;
        for (size_t i = 0; cfg->env && cfg->env[i]; i++)
                strv_push(&env, cfg->env[i]);
        if (!env_has(env, "HOSTNAME")) {
                _cleanup_free_ char *h = xasprintf("HOSTNAME=%s", hostname);
                strv_push(&env, h);
        }
        if (tty && !env_has(env, "TERM"))
                strv_push(&env, "TERM=xterm");
        if (!env_has(env, "HOME")) {
                _cleanup_free_ char *h = xasprintf("HOME=%s", u.home);
                strv_push(&env, h);
        }
        vs_user_clear(&u);
        json_object_object_add(proc, "env", jstrv(env));
        const char *wd = cfg->working_dir;
        json_object_object_add(proc, "cwd", json_object_new_string(wd && *wd ? wd : "/"));
        _cleanup_strv_ char **caps = capability_set(hc, privileged);
        json_object *capobj = json_object_new_object();
        json_object_object_add(capobj, "bounding", jstrv(caps));
        json_object_object_add(capobj, "effective", jstrv(caps));
        json_object_object_add(capobj, "permitted", jstrv(caps));
        json_object_object_add(proc, "capabilities", capobj);
        json_object_object_add(proc, "noNewPrivileges",
                               json_object_new_boolean(hc->no_new_privileges));
        json_object_object_add(proc, "oomScoreAdj", json_object_new_int(vs_engine_oom_score_adj()));
        json_object_object_del(proc, "rlimits");
        json_object *rl = rlimits(hc->ulimits);
        if (json_object_array_length(rl))
                json_object_object_add(proc, "rlimits", rl);
        else
                json_object_put(rl);

        if (write_etc_files(e, c, hostname, host_net, err) < 0)
                return -1;
        if (build_mounts(c, join_dir, spec, readonly, privileged, err) < 0)
                return -1;
        for (int i = 0; keep_id && i < 2; i++) {
                const char *base = i ? "group" : "passwd";
                _cleanup_free_ char *src = xasprintf("%s/%s", c->dir, base);
                _cleanup_free_ char *dst = xasprintf("/etc/%s", base);
                if (user_mount_at(c, dst))
                        continue; /* -v ...:/etc/passwd: the user's own file wins */
                char *opts[] = {"rbind", "rprivate", readonly ? "ro" : NULL, NULL};
                json_object_array_add(json_object_object_get(spec, "mounts"),
                                      mount_obj(dst, "bind", src, opts));
        }
        if (c->hc.init) {
                _cleanup_free_ char *init = NULL;
                if (vs_engine_init_binary(e, &init, err) < 0)
                        return -1;
                char *opts[] = {"rbind", "rprivate", "ro", NULL};
                json_object_array_add(json_object_object_get(spec, "mounts"),
                                      mount_obj(VS_ENGINE_INIT_PATH, "bind", init, opts));
        }

        /* linux */
        json_object *linux_ = json_object_object_get(spec, "linux");
        json_object *ns = json_object_object_get(linux_, "namespaces");
        for (size_t i = json_object_array_length(ns); i-- > 0;) {
                json_object *one = json_object_array_get_idx(ns, i);
                if (strcmp(cfg_str(one, "type"), "network") != 0)
                        continue;
                if (host_net)
                        json_object_array_del_idx(ns, i, 1);
                else if (join_ns)
                        json_object_object_add(one, "path", json_object_new_string(join_ns));
        }
        if (add_userns(c->host_config, linux_, err) < 0)
                return -1;
        if (vs_engine_ns_apply(e, c, spec, err) < 0)
                return -1;
        if (privileged) {
                json_object_object_add(linux_, "maskedPaths", json_object_new_array());
                json_object_object_add(linux_, "readonlyPaths", json_object_new_array());
                add_host_devices(linux_);
        } else {
                json_object_object_add(linux_, "maskedPaths", jstrv((char **) masked_paths));
                json_object_object_add(linux_, "readonlyPaths", jstrv((char **) readonly_paths));
        }
        if (build_resources(hc, linux_, privileged, err) < 0 ||
            vs_engine_oci_host_opts(c, spec, err) < 0)
                return -1;
        json_object *seccomp = hc->seccomp_profile;
        if (privileged || (seccomp && json_object_is_type(seccomp, json_type_string))) {
                /* unconfined */
        } else if (seccomp) {
                json_object_object_add(linux_, "seccomp", json_object_get(seccomp));
        } else {
                json_object_object_add(linux_, "seccomp", vs_engine_seccomp_default(caps));
        }
        json_object *ann = json_object_new_object();
        json_object_object_add(ann, "org.opencontainers.image.ref.name",
                               json_object_new_string(c->image_name ? c->image_name : ""));
        json_object_object_add(ann, "vessel.container.name",
                               json_object_new_string(c->name ? c->name : ""));
        if (!host_net && !join_ns) /* a namespace of its own: loopback up, as Docker */
                json_object_object_add(ann, VS_LOOPBACK_ANNOTATION, json_object_new_string("up"));
        json_object_object_add(spec, "annotations", ann);
        (void) e;
        *out = steal_ptr(spec);
        return 0;
}
