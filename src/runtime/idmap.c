#include "runtime/idmap.h"
#include "runtime/stage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

int vs_idmap_write(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                   vs_error **err)
{
        _cleanup_free_ char *text = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t =
                    xasprintf("%s%u %u %u\n", text, m[i].container_id, m[i].host_id, m[i].size);
                free(text);
                text = t;
        }
        _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int) pid, file);
        return vs_write_file_at(AT_FDCWD, path, text, strlen(text), err);
}

int vs_idmap_userns_fd(const struct oci_id_mapping *uid, size_t n_uid,
                       const struct oci_id_mapping *gid, size_t n_gid, vs_error **err)
{
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        pid_t pid = vs_raw_clone(CLONE_NEWUSER | SIGCHLD);
        if (pid == 0) {
                char c;
                close(pp[1]);
                /* Lives until the parent has opened its namespace. */
                (void) !read(pp[0], &c, 1);
                _exit(0);
        }
        close(pp[0]);
        if (pid < 0) {
                close(pp[1]);
                return vs_fail_errno(err, "cannot create a user namespace");
        }
        int fd = -1;
        if (vs_idmap_write(pid, "uid_map", uid, n_uid, err) == 0 &&
            vs_idmap_write(pid, "gid_map", gid, n_gid, err) == 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        vs_fail_errno(err, "cannot open %s", path);
        } else {
                vs_error_wrap(err, "cannot set up a user namespace for the mappings");
        }
        close(pp[1]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return fd;
}

int vs_idmap_apply(int tree_fd, int userns_fd, bool recursive, const char *what, vs_error **err)
{
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd};
        if (mount_setattr(tree_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                          sizeof(attr)) < 0)
                return vs_fail_errno(err,
                                     "cannot make an idmapped mount of %s (the kernel or the "
                                     "filesystem lacks idmapped mounts)",
                                     what);
        return 0;
}

int vs_idmap_clone(int dirfd, const char *path, int userns_fd, const char *what, vs_error **err)
{
        int t = open_tree(dirfd, path,
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (*path ? 0 : AT_EMPTY_PATH));
        if (t < 0)
                return vs_fail_errno(err, "cannot bind %s", what);
        if (vs_idmap_apply(t, userns_fd, false, what, err) < 0) {
                close(t);
                return -1;
        }
        return t;
}

bool vs_in_user_namespace(void)
{
        static int cached = -1;
        if (cached < 0) {
                _cleanup_free_ char *map = NULL;
                vs_error *e = NULL;
                unsigned a, b, n;
                /* The initial namespace maps all 2^32-1 ids onto themselves;
                 * an unreadable map counts as the initial one. */
                cached = vs_read_file("/proc/self/uid_map", &map, NULL, &e) == 0 &&
                         !(sscanf(map, "%u %u %u", &a, &b, &n) == 3 && a == 0 && b == 0 &&
                           n == 4294967295u);
                vs_error_free(&e);
        }
        return cached;
}

bool vs_host_unprivileged(void)
{
        return geteuid() != 0 || vs_in_user_namespace();
}
