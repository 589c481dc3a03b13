#include "runtime/hostmounts.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

char *vs_host_mounts_file(const char *root, const char *id)
{
        _cleanup_free_ char *dir = vs_state_dir(root, id);
        return xasprintf("%s/host-mounts", dir);
}

struct mount_entry {
        uint64_t id;
        char *path;
};

static bool at_or_beneath(const char *mp, const char *path)
{
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
                n--;
        return strncmp(mp, path, n) == 0 && (mp[n] == '\0' || mp[n] == '/');
}

/* Mounts at or beneath path, in mountinfo order (parents first). */
static int scan(const char *path, struct mount_entry **out, size_t *n_out, vs_error **err)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        if (f == NULL)
                return vs_fail_errno(err, "cannot read /proc/self/mountinfo");
        struct mount_entry *v = NULL;
        size_t n = 0;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
                uint64_t id;
                char field[4096];
                if (sscanf(line, "%" SCNu64 " %*s %*s %*s %4095s", &id, field) != 2)
                        continue;
                char *mp = vs_mountinfo_unescape(field);
                if (!at_or_beneath(mp, path)) {
                        free(mp);
                        continue;
                }
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = (struct mount_entry){.id = id, .path = mp};
        }
        *out = v;
        *n_out = n;
        return 0;
}

static void entries_free(struct mount_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].path);
        free(v);
}

int vs_host_mounts_list(const char *path, struct vs_mount_ids *out, vs_error **err)
{
        struct mount_entry *v;
        size_t n;
        if (scan(path, &v, &n, err) < 0)
                return -1;
        out->ids = xcalloc(n ? n : 1, sizeof(*out->ids));
        out->n = n;
        for (size_t i = 0; i < n; i++)
                out->ids[i] = v[i].id;
        entries_free(v, n);
        return 0;
}

void vs_mount_ids_free(struct vs_mount_ids *m)
{
        free(m->ids);
        m->ids = NULL;
        m->n = 0;
}

static bool known(const struct vs_mount_ids *m, uint64_t id)
{
        for (size_t i = 0; i < m->n; i++)
                if (m->ids[i] == id)
                        return true;
        return false;
}

/* Detaches mount id at path if path still leads there without symlinks:
 * the container shares this namespace and may have swapped a component. */
static void detach(uint64_t id, const char *path)
{
        _cleanup_close_ int fd = vs_openat2(AT_FDCWD, path, O_PATH | O_NOFOLLOW,
                                            RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        struct statx stx;
        if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
            !(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != id) {
                vs_warn("mount %" PRIu64 " on %s: no longer reachable there; left alone", id, path);
                return;
        }
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (umount2(proc, MNT_DETACH) < 0)
                vs_warn("cannot detach mount %" PRIu64 " on %s: %s", id, path, strerror(errno));
}

int vs_host_mounts_record(const char *file, const char *path, const struct vs_mount_ids *before,
                          vs_error **err)
{
        struct mount_entry *v;
        size_t n;
        if (scan(path, &v, &n, err) < 0)
                return -1;
        _cleanup_free_ char *text = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                if (known(before, v[i].id) || strchr(v[i].path, '\n'))
                        continue;
                char *t = xasprintf("%s%" PRIu64 " %s\n", text, v[i].id, v[i].path);
                free(text);
                text = t;
        }
        entries_free(v, n);
        if (*text == '\0')
                return 0;
        return vs_write_file_atomic(file, text, strlen(text), 0600, err);
}

void vs_host_mounts_release(const char *file)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_read_file(file, &text, NULL, &err) < 0) {
                if (err->errno_ != ENOENT)
                        vs_warn("%s", err->msg);
                return;
        }
        /* Newest (last) first: children before their parents. */
        char *end = text + strlen(text);
        while (end > text) {
                if (end[-1] == '\n')
                        *--end = '\0';
                char *line = end;
                while (line > text && line[-1] != '\n')
                        line--;
                uint64_t id;
                int off = 0;
                if (sscanf(line, "%" SCNu64 " %n", &id, &off) == 1 && off > 0)
                        detach(id, line + off);
                end = line;
        }
}

void vs_host_mounts_release_new(const char *path, const struct vs_mount_ids *before)
{
        struct mount_entry *v;
        size_t n;
        _cleanup_error_ vs_error *err = NULL;
        if (scan(path, &v, &n, &err) < 0) {
                vs_warn("%s", err->msg);
                return;
        }
        for (size_t i = n; i-- > 0;)
                if (!known(before, v[i].id))
                        detach(v[i].id, v[i].path);
        entries_free(v, n);
}
