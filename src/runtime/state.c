/* Container state records. */
#include "runtime/state.h"
#include "version.h"
#include "runtime/cgroup.h"
#include "oci/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int vs_validate_id(const char *id, vs_error **err)
{
        size_t n = strlen(id);
        if (n == 0)
                return vs_fail(err, "container id must not be empty");
        if (n > 1024)
                return vs_fail(err, "container id is longer than 1024 bytes");
        if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                return vs_fail(err, "invalid container id '%s'", id);
        for (size_t i = 0; i < n; i++) {
                char c = id[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || (i > 0 && strchr("_.+-", c));
                if (!ok)
                        return vs_fail(err,
                                       "invalid container id '%s': character '%c' at %zu is not "
                                       "allowed (use letters, digits and _.+- after the first)",
                                       id, c, i);
        }
        return 0;
}

char *vs_state_dir(const char *root, const char *id)
{
        return xasprintf("%s/%s", root, id);
}

char *vs_state_fifo_path(const char *root, const char *id)
{
        return xasprintf("%s/%s/exec.fifo", root, id);
}

void vs_state_free(struct vs_state *st)
{
        if (!st)
                return;
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        free(st->owner);
        if (st->annotations)
                json_object_put(st->annotations);
        if (st->cgroup)
                json_object_put(st->cgroup);
        free(st);
}

int vs_state_load(const char *root, const char *id, struct vs_state **out, vs_error **err)
{
        if (vs_validate_id(id, err) < 0)
                return -1;
        _cleanup_free_ char *path = xasprintf("%s/%s/state.json", root, id);
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *rerr = NULL;
        if (vs_read_file(path, &text, NULL, &rerr) < 0) {
                if (rerr->errno_ == ENOENT) {
                        vs_fail(err, "container '%s' does not exist", id);
                        if (err && *err)
                                (*err)->errno_ = ENOENT;
                        return -1;
                }
                *err = steal_ptr(rerr);
                return -1;
        }
        _cleanup_json_ json_object *doc = NULL;
        if (vs_json_parse(text, path, &doc, err) < 0)
                return -1;
        _cleanup_state_ struct vs_state *st = xzalloc(sizeof(*st));
        int64_t pid = 0, exit_status = 0, creator = 0;
        uint64_t start = 0, creator_start = 0;
        int r;
        if (vs_json_get_string(doc, path, "id", &st->id, err) < 0 ||
            vs_json_get_string(doc, path, "bundle", &st->bundle, err) < 0 ||
            vs_json_get_string(doc, path, "rootfs", &st->rootfs, err) < 0 ||
            vs_json_get_string(doc, path, "created", &st->created, err) < 0 ||
            vs_json_get_string(doc, path, "owner", &st->owner, err) < 0 ||
            vs_json_get_int64(doc, path, "pid", &pid, err) < 0 ||
            vs_json_get_uint64(doc, path, "pidStartTime", &start, err) < 0)
                return -1;
        r = vs_json_get_int64(doc, path, "exitStatus", &exit_status, err);
        if (r < 0)
                return -1;
        st->has_exit_status = r == 1;
        st->exit_status = (int) exit_status;
        if (vs_json_get_int64(doc, path, "creatorPid", &creator, err) < 0 ||
            vs_json_get_uint64(doc, path, "creatorStartTime", &creator_start, err) < 0 ||
            vs_json_get_bool(doc, path, "cgroupPending", &st->cgroup_pending, err) < 0)
                return -1;
        st->creator = (pid_t) creator;
        st->creator_start = creator_start;
        if (st->id == NULL || st->bundle == NULL || pid < 0 || (pid == 0 && creator <= 0))
                return vs_fail(err, "%s: incomplete state record", path);
        st->pid = (pid_t) pid;
        st->pid_start = start;
        json_object *v;
        if (vs_json_get_object(doc, path, "annotations", &v, err) < 0)
                return -1;
        st->annotations = v ? json_object_get(v) : json_object_new_object();
        if (vs_json_get_object(doc, path, "cgroup", &v, err) < 0)
                return -1;
        st->cgroup = v ? json_object_get(v) : NULL;
        *out = steal_ptr(st);
        return 0;
}

/* bundle, rootfs, created, owner: in state.json and in `state` alike. */
static void add_descriptive(json_object *o, const struct vs_state *st)
{
        json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
        if (st->rootfs)
                json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
        if (st->created)
                json_object_object_add(o, "created", json_object_new_string(st->created));
        if (st->owner)
                json_object_object_add(o, "owner", json_object_new_string(st->owner));
}

int vs_state_save(const char *root, const struct vs_state *st, vs_error **err)
{
        _cleanup_free_ char *dir = vs_state_dir(root, st->id);
        return vs_state_save_in(dir, st, err);
}

int vs_state_save_in(const char *dir, const struct vs_state *st, vs_error **err)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(st->id));
        json_object_object_add(o, "pid", json_object_new_int64(st->pid));
        add_descriptive(o, st);
        json_object_object_add(o, "pidStartTime", json_object_new_uint64(st->pid_start));
        if (st->has_exit_status)
                json_object_object_add(o, "exitStatus", json_object_new_int(st->exit_status));
        json_object_object_add(o, "annotations",
                               st->annotations ? json_object_get(st->annotations)
                                               : json_object_new_object());
        if (st->cgroup)
                json_object_object_add(o, "cgroup", json_object_get(st->cgroup));
        if (st->creator > 0) {
                json_object_object_add(o, "creatorPid", json_object_new_int64(st->creator));
                json_object_object_add(o, "creatorStartTime",
                                       json_object_new_uint64(st->creator_start));
        }
        if (st->cgroup_pending)
                json_object_object_add(o, "cgroupPending", json_object_new_boolean(true));
        _cleanup_free_ char *text = vs_json_to_string(o, false);
        _cleanup_free_ char *path = xasprintf("%s/state.json", dir);
        return vs_write_file_replace(path, text, strlen(text), 0600, err);
}

int vs_state_lock(const char *root, const char *id, vs_error **err)
{
        _cleanup_free_ char *dir = vs_state_dir(root, id);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT) {
                        vs_error_set(err, 0, "container '%s' does not exist", id);
                        if (err && *err)
                                (*err)->errno_ = ENOENT;
                        return -1;
                }
                return vs_fail_errno(err, "cannot open %s", dir);
        }
        if (flock(fd, LOCK_EX) < 0)
                return vs_fail_errno(err, "cannot lock %s", dir);
        return steal_fd(fd);
}

/* Field 22 of /proc/<pid>/stat, and whether the process is a zombie. */
static int pid_stat(pid_t pid, unsigned long long *start, char *state)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        /* comm may contain spaces and parentheses: parse after the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p)
                return -1;
        p += 2;
        *state = *p;
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -1;
                p++;
        }
        *start = strtoull(p, NULL, 10);
        return 0;
}

unsigned long long vs_proc_start_time(pid_t pid)
{
        unsigned long long start;
        char state;
        return pid_stat(pid, &start, &state) < 0 ? 0 : start;
}

int vs_state_open_locked(const char *root, const char *id, struct vs_state **out, int *lockfd,
                         vs_error **err)
{
        if (vs_validate_id(id, err) < 0)
                return -1;
        int fd = vs_state_lock(root, id, err);
        if (fd < 0)
                return -1;
        if (vs_state_load(root, id, out, err) < 0) {
                close(fd);
                return -1;
        }
        *lockfd = fd;
        return 0;
}

/* pid is still the process that started at start_time (0: any), not a
 * zombie. */
static bool same_live_process(pid_t pid, unsigned long long start_time)
{
        unsigned long long start;
        char state;
        if (pid <= 0 || pid_stat(pid, &start, &state) < 0)
                return false;
        if (start_time && start != start_time)
                return false;
        return state != 'Z' && state != 'X';
}

bool vs_pid_live(pid_t pid)
{
        return same_live_process(pid, 0);
}

bool vs_state_pid_alive(const struct vs_state *st)
{
        return same_live_process(st->pid, st->pid_start);
}

int vs_state_pidfd(const struct vs_state *st)
{
        int fd = (int) syscall(SYS_pidfd_open, st->pid, 0);
        if (fd < 0)
                return -1;
        /* Checked after opening: from here on the pidfd pins this process. */
        if (!vs_state_pid_alive(st)) {
                close(fd);
                return -1;
        }
        return fd;
}

const char *vs_state_status(const char *root, const struct vs_state *st)
{
        if (st->creator > 0)
                return same_live_process(st->creator, st->creator_start) ? "creating" : "stopped";
        if (!vs_state_pid_alive(st))
                return "stopped";
        if (st->cgroup) {
                _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
                _cleanup_error_ vs_error *e = NULL;
                if (vs_cgroup_from_json(st->cgroup, &cg, &e) == 0 && vs_cgroup_is_frozen(cg))
                        return "paused";
        }
        _cleanup_free_ char *fifo = vs_state_fifo_path(root, st->id);
        if (access(fifo, F_OK) == 0)
                return "created";
        return "running";
}

json_object *vs_state_to_json(const char *root, const struct vs_state *st)
{
        json_object *o = json_object_new_object();
        const char *status = vs_state_status(root, st);
        json_object_object_add(o, "ociVersion", json_object_new_string(VESSEL_OCI_VERSION));
        json_object_object_add(o, "id", json_object_new_string(st->id));
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "pid",
                               json_object_new_int(strcmp(status, "stopped") ? st->pid : 0));
        add_descriptive(o, st);
        json_object_object_add(o, "annotations",
                               st->annotations ? json_object_get(st->annotations)
                                               : json_object_new_object());
        return o;
}

int vs_state_list(const char *root, char ***ids, vs_error **err)
{
        *ids = xcalloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = opendir(root);
        if (d == NULL) {
                if (errno == ENOENT)
                        return 0;
                return vs_fail_errno(err, "cannot read state root %s", root);
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s/state.json", root, de->d_name);
                if (access(path, F_OK) == 0)
                        strv_push(ids, de->d_name);
        }
        strv_sort(*ids);
        return 0;
}

int vs_state_load_config(const char *root, const struct vs_state *st, struct oci_config **out,
                         vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s/config.json", root, st->id);
        _cleanup_json_ json_object *doc = NULL;
        *out = NULL;
        if (vs_json_parse_file(path, &doc, err) < 0)
                return -1;
        if (oci_config_parse(doc, st->bundle, out, err) < 0) {
                oci_config_free(*out);
                *out = NULL;
                return vs_error_wrap(err, "%s", path);
        }
        return 0;
}

int vs_write_pid_file(const char *path, pid_t pid, vs_error **err)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", pid);
        if (vs_write_output(path, buf, (size_t) n, 0644, false, err) < 0)
                return vs_error_wrap(err, "--pid-file");
        return 0;
}
