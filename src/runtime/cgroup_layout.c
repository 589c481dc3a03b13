/* Where the cgroup hierarchies are (mountinfo + /proc/self/cgroup), where a
 * container's cgroup goes in each, small cgroupfs file helpers, and the
 * pure v1 <-> v2 conversions. */
#include "runtime/cgroup_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool cg_strv_has(char *const *v, const char *s)
{
        return v != NULL && strv_contains(v, s);
}

static char **split(const char *s, const char *seps)
{
        char **v = xcalloc(1, sizeof(char *));
        _cleanup_free_ char *copy = xstrdup(s);
        char *save = NULL;
        for (char *t = strtok_r(copy, seps, &save); t; t = strtok_r(NULL, seps, &save))
                strv_push(&v, t);
        return v;
}

struct mount_entry {
        char *root, *mountpoint, *fstype;
        char **superopts;
};

static void mount_entries_free(struct mount_entry *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(m[i].root);
                free(m[i].mountpoint);
                free(m[i].fstype);
                strv_free(m[i].superopts);
        }
        free(m);
}

/* Only cgroup and cgroup2 mounts are kept. */
static struct mount_entry *parse_mountinfo(const char *text, size_t *n_out)
{
        struct mount_entry *m = NULL;
        size_t n = 0;
        _cleanup_free_ char *copy = xstrdup(text);
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_strv_ char **f = split(line, " ");
                size_t nf = strv_len(f), dash = 0;
                for (size_t i = 6; i < nf; i++)
                        if (strcmp(f[i], "-") == 0) {
                                dash = i;
                                break;
                        }
                if (dash == 0 || nf < dash + 4)
                        continue;
                const char *fstype = f[dash + 1];
                if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
                        continue;
                m = xrealloc(m, (n + 1) * sizeof(*m));
                m[n].root = vs_mountinfo_unescape(f[3]);
                m[n].mountpoint = vs_mountinfo_unescape(f[4]);
                m[n].fstype = xstrdup(fstype);
                m[n].superopts = split(f[dash + 3], ",");
                n++;
        }
        *n_out = n;
        return m;
}

static bool path_has_prefix(const char *path, const char *prefix)
{
        if (strcmp(prefix, "/") == 0)
                return path[0] == '/';
        size_t l = strlen(prefix);
        return strncmp(path, prefix, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

/* Among mounts of one hierarchy (bind mounts, mounts in other places),
 * prefer the one whose root contains our cgroup, then the first. */
static const struct mount_entry *pick_mount(const struct mount_entry *m, size_t n, bool v2,
                                            char *const *controllers, const char *own)
{
        const struct mount_entry *first = NULL;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(m[i].fstype, v2 ? "cgroup2" : "cgroup") != 0)
                        continue;
                bool all = true;
                for (char *const *c = controllers; !v2 && c && *c; c++)
                        if (!strv_contains(m[i].superopts, *c))
                                all = false;
                if (!all)
                        continue;
                if (own && path_has_prefix(own, m[i].root))
                        return &m[i];
                if (first == NULL)
                        first = &m[i];
        }
        return first;
}

void cg_layout_free(struct cg_layout *l)
{
        if (l == NULL)
                return;
        for (size_t i = 0; i < l->n; i++) {
                strv_free(l->h[i].controllers);
                free(l->h[i].mountpoint);
                free(l->h[i].root);
                free(l->h[i].own);
        }
        free(l->h);
        free(l);
}

static void add_hier(struct cg_layout *l, bool v2, char **controllers, const struct mount_entry *m,
                     const char *own)
{
        l->h = xrealloc(l->h, (l->n + 1) * sizeof(*l->h));
        l->h[l->n] = (struct cg_hier){
            .v2 = v2,
            .controllers = controllers,
            .mountpoint = xstrdup(m->mountpoint),
            .root = xstrdup(m->root),
            .own = xstrdup(own && *own ? own : "/"),
        };
        l->n++;
}

int cg_layout_parse(const char *mountinfo, const char *proc_cgroup, const char *v2_controllers,
                    struct cg_layout **out, vs_error **err)
{
        size_t nm = 0;
        struct mount_entry *mounts = parse_mountinfo(mountinfo, &nm);
        struct cg_layout *l = xzalloc(sizeof(*l));
        _cleanup_free_ char *v2_own = NULL;
        bool v1_controllers = false;

        /* /proc/self/cgroup names every hierarchy and our place in it; the
         * mount table says where (and whether) it is visible. */
        _cleanup_free_ char *copy = xstrdup(proc_cgroup);
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL)
                        continue;
                *c1 = *c2 = '\0';
                const char *hid = line, *ctrls = c1 + 1, *path = c2 + 1;
                if (strcmp(hid, "0") == 0 && *ctrls == '\0') {
                        free(v2_own);
                        v2_own = xstrdup(path);
                        continue;
                }
                char **cv = split(ctrls, ",");
                if (cv[0] == NULL) {
                        strv_free(cv);
                        continue;
                }
                const struct mount_entry *m = pick_mount(mounts, nm, false, cv, path);
                if (m == NULL) {
                        strv_free(cv); /* hierarchy exists but is not mounted */
                        continue;
                }
                for (char **c = cv; *c; c++)
                        if (strncmp(*c, "name=", 5) != 0)
                                v1_controllers = true;
                add_hier(l, false, cv, m, path);
        }

        const struct mount_entry *m2 = pick_mount(mounts, nm, true, NULL, v2_own);
        if (m2 != NULL) {
                _cleanup_free_ char *text = NULL;
                if (v2_controllers == NULL) {
                        _cleanup_free_ char *p = xasprintf("%s/cgroup.controllers", m2->mountpoint);
                        _cleanup_error_ vs_error *ignored = NULL;
                        if (vs_read_file(p, &text, NULL, &ignored) == 0)
                                v2_controllers = text;
                }
                add_hier(l, true, split(v2_controllers ? v2_controllers : "", " \n"), m2, v2_own);
        }
        mount_entries_free(mounts, nm);

        if (l->n == 0) {
                cg_layout_free(l);
                return vs_fail(err, "no cgroup filesystem is mounted (neither cgroup v1 "
                                    "hierarchies nor cgroup2 found in the mount table)");
        }
        if (v1_controllers)
                l->mode = m2 ? "hybrid" : "v1";
        else
                l->mode = m2 ? "v2" : "v1";
        *out = l;
        return 0;
}

static struct cg_layout *cached_layout;

void vs_cgroup_reset_detection(void)
{
        cg_layout_free(cached_layout);
        cached_layout = NULL;
}

const struct cg_layout *cg_layout_get(vs_error **err)
{
        if (cached_layout != NULL)
                return cached_layout;
        const char *mi = getenv(VS_CGROUP_ENV_MOUNTINFO);
        const char *pc = getenv(VS_CGROUP_ENV_PROC_CGROUP);
        _cleanup_free_ char *mtext = NULL, *ctext = NULL;
        if (vs_read_file(mi && *mi ? mi : "/proc/self/mountinfo", &mtext, NULL, err) < 0 ||
            vs_read_file(pc && *pc ? pc : "/proc/self/cgroup", &ctext, NULL, err) < 0)
                return NULL;
        if (cg_layout_parse(mtext, ctext, getenv(VS_CGROUP_ENV_V2_CONTROLLERS), &cached_layout,
                            err) < 0)
                return NULL;
        return cached_layout;
}

const char *vs_cgroup_mode(void)
{
        _cleanup_error_ vs_error *err = NULL;
        const struct cg_layout *l = cg_layout_get(&err);
        return l ? l->mode : "none";
}

static char *join(const char *a, const char *b)
{
        while (*b == '/')
                b++;
        size_t la = strlen(a);
        if (*b == '\0')
                return xstrdup(a);
        if (la > 0 && a[la - 1] == '/')
                return xasprintf("%s%s", a, b);
        return xasprintf("%s/%s", a, b);
}

char *cg_hier_dir(const struct cg_hier *h, const char *cgpath)
{
        const char *rel = cgpath;
        /* The mount may show a sub-tree of the hierarchy (a container's
         * cgroupfs, a bind mount): paths below its root are relative to it. */
        if (strcmp(h->root, "/") != 0 && path_has_prefix(cgpath, h->root))
                rel = cgpath + strlen(h->root);
        return join(h->mountpoint, rel);
}

int cg_container_path(const struct cg_hier *h, const char *id, const char *cgroups_path, char **out,
                      vs_error **err)
{
        _cleanup_free_ char *raw = NULL;
        if (cgroups_path == NULL || *cgroups_path == '\0') {
                _cleanup_free_ char *leaf = xasprintf("vessel-%s", id);
                raw = join(h->own, leaf);
        } else if (cgroups_path[0] == '/') {
                raw = xstrdup(cgroups_path);
        } else {
                raw = join(h->own, cgroups_path);
        }
        /* Normalise so that the same cgroup always has the same spelling
         * (it is compared and stored), and refuse ".." so a config cannot
         * climb out of the hierarchy or the invoking cgroup. */
        _cleanup_strv_ char **parts = split(raw, "/");
        size_t cap = strlen(raw) + 2, len = 0;
        _cleanup_free_ char *norm = xmalloc(cap);
        norm[0] = '\0';
        for (char **p = parts; *p; p++) {
                if (strcmp(*p, ".") == 0)
                        continue;
                if (strcmp(*p, "..") == 0)
                        return vs_fail(err, "linux.cgroupsPath: '%s' must not contain '..'",
                                       cgroups_path ? cgroups_path : raw);
                len += (size_t) snprintf(norm + len, cap - len, "/%s", *p);
        }
        if (len == 0)
                return vs_fail(err,
                               "linux.cgroupsPath: '%s' names the root cgroup; a container needs "
                               "a cgroup of its own",
                               cgroups_path ? cgroups_path : raw);
        *out = steal_ptr(norm);
        return 0;
}

const struct cg_dir *cg_find_v2(const struct vs_cgroup *cg)
{
        for (size_t i = 0; i < cg->n; i++)
                if (cg->dirs[i].v2)
                        return &cg->dirs[i];
        return NULL;
}

const struct cg_dir *cg_find(const struct vs_cgroup *cg, const char *controller)
{
        for (size_t i = 0; i < cg->n; i++)
                if (!cg->dirs[i].v2 && cg_strv_has(cg->dirs[i].controllers, controller))
                        return &cg->dirs[i];
        const struct cg_dir *v2 = cg_find_v2(cg);
        if (v2 == NULL)
                return NULL;
        if (cg_strv_has(v2->controllers, controller) || strcmp(controller, "devices") == 0 ||
            strcmp(controller, "freezer") == 0)
                return v2;
        return NULL;
}

int cg_open_write(const char *dir, const char *file, const char *value, const char *field,
                  vs_error **err)
{
        _cleanup_free_ char *path = join(dir, file);
        _cleanup_free_ char *prefix = field ? xasprintf("%s: ", field) : xstrdup("");
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                if (!vs_is_dir(dir))
                        return vs_error_set(err, ENOENT, "%scannot set %s to %s: cgroup %s", prefix,
                                            file, value, dir);
                /* On cgroup2 the usual cause is a controller the parent did
                 * not delegate: say which, and why that happens. */
                _cleanup_free_ char *ctrl = xstrndup(file, strcspn(file, "."));
                _cleanup_free_ char *avail = NULL;
                if (strcmp(ctrl, "cgroup") != 0 &&
                    cg_read(dir, "cgroup.controllers", &avail, NULL) == 0) {
                        _cleanup_strv_ char **have = split(avail, " ");
                        if (!strv_contains(have, ctrl)) {
                                vs_error_set(err, 0,
                                             "%scannot set %s to %s in %s: the %s controller is "
                                             "not enabled there (the parent's "
                                             "cgroup.subtree_control lacks it; the kernel refuses "
                                             "to delegate controllers from a cgroup that has "
                                             "processes of its own)",
                                             prefix, file, value, dir, ctrl);
                                if (err && *err)
                                        (*err)->errno_ = ENOENT;
                                return -1;
                        }
                }
                /* Otherwise the kernel lacks the feature (no BFQ, no RT
                 * group scheduling, no swap accounting...). */
                vs_error_set(err, 0,
                             "%scannot set %s to %s in %s: no such file (this kernel lacks "
                             "the feature)",
                             prefix, file, value, dir);
                if (err && *err)
                        (*err)->errno_ = ENOENT;
                return -1;
        }
        if (fd < 0)
                return vs_fail_errno(err, "%scannot open %s", prefix, path);
        return fd;
}

int cg_write_fd(int fd, const char *dir, const char *file, const char *value, const char *field,
                vs_error **err)
{
        size_t len = strlen(value);
        ssize_t w;
        do
                w = write(fd, value, len);
        while (w < 0 && errno == EINTR);
        if (w < 0)
                return vs_fail_errno(err, "%s%scannot set %s to %s in %s", field ? field : "",
                                     field ? ": " : "", file, value, dir);
        return 0;
}

int cg_write(const char *dir, const char *file, const char *value, const char *field,
             vs_error **err)
{
        _cleanup_close_ int fd = cg_open_write(dir, file, value, field, err);
        if (fd < 0)
                return -1;
        return cg_write_fd(fd, dir, file, value, field, err);
}

int cg_writef(const char *dir, const char *file, const char *field, vs_error **err, const char *fmt,
              ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *value = xvasprintf(fmt, ap);
        va_end(ap);
        return cg_write(dir, file, value, field, err);
}

int cg_read(const char *dir, const char *file, char **out, vs_error **err)
{
        _cleanup_free_ char *path = join(dir, file);
        char *text = NULL;
        size_t len = 0;
        if (vs_read_file(path, &text, &len, err) < 0)
                return -1;
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
                text[--len] = '\0';
        *out = text;
        return 0;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *out, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        if (cg_read(dir, file, &text, err) < 0)
                return -1;
        if (strcmp(text, "max") == 0 || strcmp(text, "-1") == 0) {
                *out = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || end == text || (*end != '\0' && *end != '\n' && *end != ' '))
                return vs_fail(err, "%s/%s: '%s' is not a number", dir, file, text);
        *out = v;
        return 0;
}

int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *ignored = NULL;
        if (cg_read(dir, file, &text, &ignored) < 0)
                return -1;
        size_t kl = strlen(key);
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
                        *out = strtoull(line + kl + 1, NULL, 10);
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -1;
}

bool cg_has_file(const char *dir, const char *file)
{
        _cleanup_free_ char *path = join(dir, file);
        return access(path, F_OK) == 0;
}

uint64_t vs_cgroup_shares_to_weight(uint64_t shares)
{
        if (shares == 0)
                return 0;
        if (shares < 2)
                shares = 2;
        if (shares > 262144)
                shares = 262144;
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t vs_cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
        if (weight == 0)
                return 0;
        if (weight < 10)
                weight = 10;
        if (weight > 1000)
                weight = 1000;
        return 1 + ((weight - 10) * 9999) / 990;
}

int vs_cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, vs_error **err)
{
        /* As cgroup v1 does: unlimited memory with no swap setting means
         * unlimited swap too. */
        if (limit == -1 && swap == 0) {
                *out = -1;
                return 0;
        }
        if (swap == -1 || swap == 0) {
                *out = swap;
                return 0;
        }
        if (limit == 0 || limit == -1)
                return vs_fail(err,
                               "linux.resources.memory.swap: %" PRId64
                               " needs a memory limit (swap is the memory+swap limit)",
                               swap);
        if (swap < limit)
                return vs_fail(err,
                               "linux.resources.memory.swap: %" PRId64
                               " is below memory.limit %" PRId64
                               ": swap is the memory+swap limit and must be >= limit",
                               swap, limit);
        *out = swap - limit;
        return 0;
}

char *vs_cgroup_cpu_max(bool has_quota, int64_t quota, bool has_period, uint64_t period,
                        const char *current)
{
        if (!has_quota && !has_period)
                return NULL;
        _cleanup_free_ char *q = NULL;
        if (has_quota) {
                q = quota > 0 ? xasprintf("%" PRId64, quota) : xstrdup("max");
        } else {
                /* Only the period changes: keep the present quota. */
                size_t l = current ? strcspn(current, " \n") : 0;
                q = l ? xstrndup(current, l) : xstrdup("max");
        }
        if (!has_period)
                return steal_ptr(q);
        return xasprintf("%s %" PRIu64, q, period);
}

char **vs_cgroup_hugepage_sizes(void)
{
        char **v = xcalloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = opendir("/sys/kernel/mm/hugepages");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                unsigned long kb;
                if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
                        continue;
                _cleanup_free_ char *name = vs_cgroup_hugepage_name(kb);
                strv_push(&v, name);
        }
        return v;
}

char *vs_cgroup_hugepage_name(unsigned long kb)
{
        /* As the kernel's hugetlb controller names its files: the largest
         * whole unit (tests/unit/test_cgroup.c). */
        if (kb >= 1024UL * 1024)
                return xasprintf("%luGB", kb / (1024UL * 1024));
        if (kb >= 1024UL)
                return xasprintf("%luMB", kb / 1024UL);
        return xasprintf("%luKB", kb);
}

int vs_cgroup_parse_id_list(const char *s, unsigned char *bits, size_t nbits)
{
        memset(bits, 0, (nbits + 7) / 8);
        while (*s == ' ' || *s == '\n')
                s++;
        while (*s && *s != '\n') {
                if (!isdigit((unsigned char) *s))
                        return -1;
                char *end;
                errno = 0;
                unsigned long a = strtoul(s, &end, 10), b = a;
                s = end;
                if (*s == '-') {
                        s++;
                        if (!isdigit((unsigned char) *s))
                                return -1;
                        b = strtoul(s, &end, 10);
                        s = end;
                }
                if (errno || b < a || b >= nbits)
                        return -1;
                for (unsigned long i = a; i <= b; i++)
                        bits[i / 8] |= (unsigned char) (1u << (i % 8));
                if (*s == ',')
                        s++;
                else if (*s != '\0' && *s != '\n')
                        return -1;
        }
        return 0;
}

#define ID_BITS 8192

int vs_cgroup_check_id_subset(const char *want, const char *avail, const char *field,
                              const char *what, vs_error **err)
{
        _cleanup_free_ unsigned char *w = xzalloc(ID_BITS / 8);
        _cleanup_free_ unsigned char *a = xzalloc(ID_BITS / 8);
        if (vs_cgroup_parse_id_list(want, w, ID_BITS) < 0)
                return vs_fail(err, "%s: '%s' is not a valid %s list", field, want, what);
        if (vs_cgroup_parse_id_list(avail, a, ID_BITS) < 0)
                return vs_fail(err, "%s: cannot understand the host's %s list '%s'", field, what,
                               avail);
        for (size_t i = 0; i < ID_BITS; i++)
                if ((w[i / 8] & (1u << (i % 8))) && !(a[i / 8] & (1u << (i % 8))))
                        return vs_fail(err,
                                       "%s: %s %zu is not available on this host (available: %s)",
                                       field, what, i, avail);
        return 0;
}

uint64_t cg_read_or_zero(const char *dir, const char *file)
{
        uint64_t v = 0;
        if (cg_read_u64(dir, file, &v, NULL) < 0)
                return 0;
        return v;
}

void cg_set_u64(json_object *o, const char *key, uint64_t v)
{
        json_object_object_add(o, key, json_object_new_uint64(v));
}
