/* Checkpoint and restore of VM containers (docs/vm.md, "Checkpoint and
 * restore"): the whole VM, RAM and devices, saved by QEMU's migration into
 * a file and loaded back with -incoming. QEMU refuses to migrate while a
 * 9p share is mounted in the guest (its server's open files are not part
 * of the stream), so only a VM whose root is a disk image
 * (--vm-rootfs=block) and that has no 9p volumes can be saved; the image
 * is saved beside the RAM, so the pair is the container's whole state.
 *
 * <container dir>/checkpoint/   vm.state (QEMU's stream), root.img (the
 *                               disk at that instant), checkpoint.json
 * <container dir>/vm-restore    the next start loads the checkpoint */
#include "vm/vm.h"
#include "../guest/proto.h"
#include "engine/engine.h"
#include "net/net.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROOT_IMAGE_SIZE "2G"

bool vs_vm_block_root(const struct vs_ctr *c)
{
        const char *v =
            json_object_get_string(json_object_object_get(c->host_config, VS_VM_HC_ROOTFS));
        return v && strcmp(v, "block") == 0;
}

/* Copies src into dst (both regular files), keeping holes: a reflink when
 * the file system shares blocks, else the data extents only. */
static int copy_sparse(int src, int dst)
{
        if (ioctl(dst, FICLONE, src) == 0)
                return 0;
        struct stat st;
        if (fstat(src, &st) < 0 || ftruncate(dst, st.st_size) < 0)
                return -1;
        off_t pos = 0;
        while (pos < st.st_size) {
                off_t data = lseek(src, pos, SEEK_DATA);
                if (data < 0)
                        return errno == ENXIO ? 0 : -1;
                off_t hole = lseek(src, data, SEEK_HOLE);
                if (hole < 0)
                        return -1;
                off_t in = data, out = data;
                while (in < hole) {
                        ssize_t n = copy_file_range(src, &in, dst, &out, (size_t) (hole - in), 0);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return -1;
                }
                pos = hole;
        }
        return 0;
}

/* An unnamed file in dir (O_TMPFILE): a kill leaves nothing behind. */
static int open_unnamed(const char *dir, vs_error **err)
{
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create a file in %s", dir);
        return fd;
}

/* Gives fd (an O_TMPFILE) the name path, replacing what was there. */
static int name_unnamed(int fd, const char *path, vs_error **err)
{
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        _cleanup_free_ char *tmp = xasprintf("%s.new", path);
        unlink(tmp);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0)
                return vs_fail_errno(err, "cannot create %s", tmp);
        if (rename(tmp, path) < 0) {
                unlink(tmp);
                return vs_fail_errno(err, "cannot create %s", path);
        }
        return 0;
}

static int copy_to(const char *src, const char *dir, const char *dst, vs_error **err)
{
        _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in < 0)
                return vs_fail_errno(err, "cannot open %s", src);
        _cleanup_close_ int out = open_unnamed(dir, err);
        if (out < 0)
                return -1;
        if (copy_sparse(in, out) < 0)
                return vs_fail_errno(err, "cannot copy %s", src);
        return name_unnamed(out, dst, err);
}

/* Runs argv, its stdout to out_fd (-1: /dev/null); stderr's first line is
 * the error. */
static int run_tool(char *const argv[], int out_fd, vs_error **err)
{
        int pe[2];
        if (pipe2(pe, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        pid_t pid = fork();
        if (pid < 0) {
                close(pe[0]);
                close(pe[1]);
                return vs_fail_errno(err, "cannot fork");
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, 0);
                dup2(out_fd >= 0 ? out_fd : null, 1);
                dup2(pe[1], 2);
                execvp(argv[0], argv);
                dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(pe[1]);
        char msg[1024];
        size_t n = 0;
        ssize_t r;
        char chunk[4096];
        while ((r = read(pe[0], chunk, sizeof(chunk))) > 0 || (r < 0 && errno == EINTR)) {
                size_t take = r > 0 ? (size_t) r : 0; /* the head is enough */
                if (take > sizeof(msg) - 1 - n)
                        take = sizeof(msg) - 1 - n;
                memcpy(msg + n, chunk, take);
                n += take;
        }
        close(pe[0]);
        msg[n] = '\0';
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
        /* The first line says what (tar's last one only that it failed). */
        msg[strcspn(msg, "\n")] = '\0';
        return vs_fail(err, "%s failed: %s", argv[0], n ? msg : "no reason given");
}

int vs_vm_root_image(const struct vs_ctr *c, bool restore, char **path, vs_error **err)
{
        _cleanup_free_ char *img = xasprintf("%s/" VS_VM_ROOT_IMAGE, c->dir);
        if (restore) {
                /* The checkpoint's disk stays as it was: a later restore
                 * starts from it again. */
                _cleanup_free_ char *saved = xasprintf("%s/" VS_VM_CKPT_DIR "/root.img", c->dir);
                if (copy_to(saved, c->dir, img, err) < 0)
                        return -1;
        } else if (access(img, F_OK) != 0) {
                /* Made once from the prepared rootfs (the container is not
                 * running: nothing changes it meanwhile); later starts keep
                 * its changes, as a container keeps its upper layer. Lazy
                 * inode tables and no journal: 3 MiB on disk for busybox. */
                _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
                _cleanup_free_ char *tmp = xasprintf("%s.new", img);
                unlink(tmp);
                char *argv[] = {"mkfs.ext4",
                                "-q",
                                "-F",
                                "-m",
                                "0",
                                "-O",
                                "^has_journal",
                                "-E",
                                "lazy_itable_init=1,root_owner=0:0",
                                "-d",
                                rootfs,
                                tmp,
                                ROOT_IMAGE_SIZE,
                                NULL};
                _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0)
                        return vs_fail_errno(err, "cannot create %s", tmp);
                if (run_tool(argv, -1, err) < 0) {
                        unlink(tmp);
                        return vs_error_wrap(err, "cannot make the VM's root disk %s", img);
                }
                if (rename(tmp, img) < 0) {
                        unlink(tmp);
                        return vs_fail_errno(err, "cannot create %s", img);
                }
        }
        *path = steal_ptr(img);
        return 0;
}

/* Why c cannot be checkpointed, or NULL. A VM on a vessel network can be:
 * the guest keeps its address, which the restore leases again
 * (vs_vm_restore_network); one from another host (import) cannot. */
static const char *not_saveable(const struct vs_ctr *c, bool import)
{
        if (!vs_vm_block_root(c))
                return "its root is a 9p share, which QEMU cannot migrate (QEMU keeps open "
                       "files for it outside the VM): create it with --vm-rootfs=block";
        json_object *mounts = c->mounts;
        for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
                const char *type = json_object_get_string(
                    json_object_object_get(json_object_array_get_idx(mounts, i), "Type"));
                if (type && (strcmp(type, "bind") == 0 || strcmp(type, "volume") == 0))
                        return "its volumes are 9p shares, which QEMU cannot migrate";
        }
        const char *mode =
            json_object_get_string(json_object_object_get(c->host_config, "NetworkMode"));
        if (mode && strcmp(mode, VS_VM_NET_USER) == 0)
                return "on --network " VS_VM_NET_USER " its connections are QEMU's sockets on "
                       "the host, which a checkpoint cannot hold (use a vessel network)";
        if (json_object_object_get(c->host_config, "CniNetworks") ||
            json_object_object_get(c->host_config, "CniNetwork"))
                return "VMs on CNI networks cannot be checkpointed";
        if (import && vs_engine_net_name(c) != NULL)
                return "it was on a network of the host it came from, whose address it keeps";
        return NULL;
}

/* One answer frame from the launcher: 0 for EXIT 0, else the error. */
static int launcher_answer(int fd, const struct vs_ctr *c, vs_error **err)
{
        int type = 0;
        _cleanup_free_ char *d = NULL;
        if (vs_vm_launcher_answer(fd, c, &type, &d, err) < 0)
                return -1;
        if (type == VS_FRAME_EXIT && strcmp(d, "0") == 0)
                return 0;
        return vs_fail(err, "container %s: checkpoint failed", c->name);
}

/* The addresses the guest holds on its vessel network, which its restore
 * leases again: {"Network", "NetworkID", "IPAddress", "GlobalIPv6Address",
 * "MacAddress"}; *out NULL without a network. A network whose lease has
 * no address is refused: the restore could not ask for it again. */
static int saved_network(struct vs_engine *e, const struct vs_ctr *c, json_object **out,
                         vs_error **err)
{
        *out = NULL;
        const char *name = vs_engine_net_name(c);
        if (name == NULL)
                return 0;
        _cleanup_json_ json_object *ns = vs_engine_net_settings(e, c);
        json_object *ep = json_object_object_get(json_object_object_get(ns, "Networks"), name);
        const char *ip = vs_json_str(ep, "IPAddress");
        const char *id = vs_json_str(ep, "NetworkID");
        if (ip == NULL || !*ip || id == NULL || !*id)
                return vs_fail(err,
                               "cannot checkpoint container %s: it holds no address on network "
                               "%s",
                               c->name, name);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "Network", json_object_new_string(name));
        json_object_object_add(o, "NetworkID", json_object_new_string(id));
        static const char *const keys[] = {"IPAddress", "GlobalIPv6Address", "MacAddress"};
        for (size_t i = 0; i < 3; i++) {
                const char *v = vs_json_str(ep, keys[i]);
                if (v && *v)
                        json_object_object_add(o, keys[i], json_object_new_string(v));
        }
        *out = o;
        return 0;
}

static int write_meta(struct vs_engine *e, const struct vs_ctr *c, const char *dir,
                      off_t state_size, vs_error **err)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        _cleanup_free_ char *now = vs_now_rfc3339();
        json_object_object_add(o, "Version", json_object_new_int(1));
        json_object_object_add(o, "Container", json_object_new_string(c->id));
        json_object_object_add(o, "Created", json_object_new_string(now));
        json_object_object_add(o, "StateBytes", json_object_new_int64((int64_t) state_size));
        /* What QEMU's devices were: a restore must build the same ones. */
        json_object_object_add(o, "MemoryBytes", json_object_new_int64(c->hc.memory));
        json_object_object_add(o, "NanoCpus", json_object_new_int64(c->hc.nano_cpus));
        json_object *net = NULL;
        if (saved_network(e, c, &net, err) < 0)
                return -1;
        if (net)
                json_object_object_add(o, "Network", net);
        _cleanup_free_ char *text = vs_json_to_string(o, true);
        _cleanup_free_ char *path = xasprintf("%s/checkpoint.json", dir);
        return vs_write_file_atomic(path, text, strlen(text), 0600, err);
}

/* checkpoint.new -> checkpoint (the previous one removed). */
static int commit_dir(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_free_ char *fresh = xasprintf("%s/" VS_VM_CKPT_DIR ".new", c->dir);
        _cleanup_free_ char *cur = xasprintf("%s/" VS_VM_CKPT_DIR, c->dir);
        _cleanup_free_ char *old = xasprintf("%s/" VS_VM_CKPT_DIR ".old", c->dir);
        vs_rm_rf(old, NULL);
        if (rename(cur, old) < 0 && errno != ENOENT)
                return vs_fail_errno(err, "cannot replace %s", cur);
        if (rename(fresh, cur) < 0)
                return vs_fail_errno(err, "cannot create %s", cur);
        vs_rm_rf(old, NULL);
        return 0;
}

/* The files of a checkpoint and of the container it restores into. */
static const char *const export_members[] = {"record.json",
                                             "config.json",
                                             VS_VM_CKPT_DIR "/checkpoint.json",
                                             VS_VM_CKPT_DIR "/" VS_VM_CKPT_STATE,
                                             VS_VM_CKPT_DIR "/root.img",
                                             NULL};

int vs_vm_checkpoint_export(const struct vs_ctr *c, const char *file, vs_error **err)
{
        _cleanup_free_ char *where = xstrdup(file);
        char *slash = strrchr(where, '/');
        const char *dir = slash ? (slash == where ? "/" : (*slash = '\0', where)) : ".";
        _cleanup_close_ int out = open_unnamed(dir, err);
        if (out < 0)
                return -1;
        char *argv[16] = {"tar", "--sparse", "--zstd", "-c", "-f", "-", "-C", c->dir};
        size_t n = 8;
        for (size_t i = 0; export_members[i]; i++)
                argv[n++] = (char *) export_members[i];
        argv[n] = NULL;
        if (run_tool(argv, out, err) < 0)
                return -1;
        if (fsync(out) < 0)
                return vs_fail_errno(err, "cannot write %s", file);
        return name_unnamed(out, file, err);
}

/* Staging directories of imports whose process is gone (killed). */
static void sweep_imports(const char *base)
{
        DIR *d = opendir(base);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                int pid;
                if (sscanf(de->d_name, "import-%d", &pid) != 1 || pid <= 0 ||
                    (kill(pid, 0) == 0 || errno != ESRCH))
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", base, de->d_name);
                vs_rm_rf(path, NULL);
        }
        if (d)
                closedir(d);
}

int vs_vm_import(struct vs_engine *e, const char *file, const char *name, struct vs_ctr **out,
                 vs_error **err)
{
        _cleanup_free_ char *base = xasprintf("%s/vm", e->data_root);
        if (vs_mkdir_p(base, 0700, err) < 0)
                return -1;
        sweep_imports(base);
        _cleanup_free_ char *stage = xasprintf("%s/import-%d", base, (int) getpid());
        vs_rm_rf(stage, NULL);
        if (mkdir(stage, 0700) < 0)
                return vs_fail_errno(err, "cannot create %s", stage);
        /* Only the members a checkpoint has, each a regular file (tar
         * refuses absolute and .. names; a link in their place is caught
         * below). */
        char *argv[16] = {"tar", "--zstd",      "-x", "--no-same-owner",
                          "-f",  (char *) file, "-C", stage};
        size_t n = 8;
        for (size_t i = 0; export_members[i]; i++)
                argv[n++] = (char *) export_members[i];
        argv[n] = NULL;
        int r = run_tool(argv, -1, err);
        for (size_t i = 0; r == 0 && export_members[i]; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", stage, export_members[i]);
                struct stat st;
                if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
                        r = vs_fail(err, "%s: %s is missing or not a file", file,
                                    export_members[i]);
        }
        _cleanup_json_ json_object *rec = NULL;
        _cleanup_free_ char *rec_path = xasprintf("%s/record.json", stage);
        if (r == 0)
                r = vs_json_parse_file(rec_path, &rec, err);
        struct vs_ctr *c = NULL;
        if (r == 0 && (r = vs_engine_adopt(e, rec, name, &c, err)) == 0) {
                _cleanup_free_ char *from = xasprintf("%s/" VS_VM_CKPT_DIR, stage);
                _cleanup_free_ char *to = xasprintf("%s/" VS_VM_CKPT_DIR, c->dir);
                /* The record came from elsewhere: only what a checkpoint can
                 * hold (no host directories to share, no network). */
                const char *why = vs_ctr_is_vm(c) ? not_saveable(c, true) : "not a VM container";
                if (why)
                        r = vs_fail(err, "%s: not a checkpoint vessel could have made: %s", file,
                                    why);
                else if (rename(from, to) < 0)
                        r = vs_fail_errno(err, "cannot move the checkpoint into %s", c->dir);
                if (r < 0) {
                        _cleanup_error_ vs_error *rerr = NULL;
                        vs_engine_rm(e, c, true, false, &rerr);
                        vs_ctr_free(c);
                        c = NULL;
                }
        }
        if (r < 0 && err && *err && strstr((*err)->msg, file) == NULL)
                vs_error_wrap(err, "cannot import %s", file);
        vs_rm_rf(stage, NULL);
        if (r < 0)
                return -1;
        *out = c;
        return 0;
}

int vs_vm_checkpoint(struct vs_engine *e, struct vs_ctr *c, bool leave_running,
                     const char *export_file, vs_error **err)
{
        const char *why = not_saveable(c, false);
        if (why)
                return vs_fail(err, "cannot checkpoint container %s: %s", c->name, why);
        if (c->hc.auto_remove && !leave_running && export_file == NULL)
                return vs_fail(err,
                               "container %s is removed when it stops (--rm): its checkpoint "
                               "would go with it (use --export FILE or --leave-running)",
                               c->name);
        _cleanup_free_ char *fresh = xasprintf("%s/" VS_VM_CKPT_DIR ".new", c->dir);
        vs_rm_rf(fresh, NULL);
        _cleanup_close_ int state = open_unnamed(c->dir, err);
        if (state < 0)
                return -1;
        _cleanup_close_ int fd = vs_vm_connect(c->dir, c->name, err);
        if (fd < 0)
                return -1;
        struct timeval tv = {.tv_sec = 600};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (vs_frame_write(fd, (enum vs_frame_type) VS_VM_CHECKPOINT, NULL, 0) < 0 ||
            vs_send_fd(fd, state, "c", NULL) < 0)
                return vs_fail_errno(err, "container %s: cannot reach its VM launcher", c->name);
        if (launcher_answer(fd, c, err) < 0)
                return -1;
        /* The VM is stopped: its disk is as its RAM knows it. Whatever
         * fails from here, closing fd lets the launcher continue it. */
        struct stat st;
        _cleanup_free_ char *img = xasprintf("%s/" VS_VM_ROOT_IMAGE, c->dir);
        _cleanup_free_ char *saved_img = xasprintf("%s/root.img", fresh);
        _cleanup_free_ char *saved_state = xasprintf("%s/" VS_VM_CKPT_STATE, fresh);
        if (fstat(state, &st) < 0 || fsync(state) < 0)
                return vs_fail_errno(err, "cannot write the VM's state");
        if (mkdir(fresh, 0700) < 0)
                return vs_fail_errno(err, "cannot create %s", fresh);
        if (name_unnamed(state, saved_state, err) < 0 || copy_to(img, fresh, saved_img, err) < 0 ||
            write_meta(e, c, fresh, st.st_size, err) < 0 || commit_dir(c, err) < 0) {
                vs_rm_rf(fresh, NULL);
                return -1;
        }
        if (export_file && vs_vm_checkpoint_export(c, export_file, err) < 0)
                return -1;
        if (!leave_running) {
                /* A stop of the user's: no restart policy applies. */
                _cleanup_ctr_ struct vs_ctr *f = NULL;
                if (vs_engine_mark_stopped(e, c, &f, err) < 0)
                        return -1;
        }
        if (vs_frame_write(fd, (enum vs_frame_type) VS_VM_CHECKPOINT,
                           leave_running ? "cont" : "end", leave_running ? 4 : 3) < 0)
                return vs_fail_errno(err, "container %s: cannot reach its VM launcher", c->name);
        if (launcher_answer(fd, c, err) < 0)
                return -1;
        if (!leave_running) {
                /* Until the monitor has recorded the stop and is gone (a
                 * restore right after finds the container stopped). */
                for (int i = 0; i < 3000; i++) {
                        _cleanup_ctr_ struct vs_ctr *f = NULL;
                        if (vs_ctr_load(e, c->id, &f, NULL) < 0 ||
                            (!f->state.running && !vs_ctr_monitor_alive(f)))
                                break;
                        usleep(10000);
                }
        }
        return 0;
}

/* The restore's token travels to the monitor it starts in the environment
 * (the monitor inherits it); the marker holds the same token. */
#define RESTORE_ENV "VESSEL_VM_RESTORE"

/* Whether this process was started by a restore of c (its marker holds
 * our token); consume: the marker is removed. */
static bool restore_marked(const struct vs_ctr *c, bool consume)
{
        _cleanup_free_ char *mark = xasprintf("%s/" VS_VM_RESTORE_MARK, c->dir);
        _cleanup_free_ char *text = NULL;
        size_t n;
        if (vs_read_file(mark, &text, &n, NULL) < 0)
                return false;
        if (consume)
                unlink(mark);
        const char *token = getenv(RESTORE_ENV);
        return token && *token && strcmp(text, token) == 0;
}

bool vs_vm_restore_requested(const struct vs_ctr *c)
{
        return restore_marked(c, true);
}

json_object *vs_vm_restore_network(const struct vs_ctr *c)
{
        if (!vs_ctr_is_vm(c) || !restore_marked(c, false))
                return NULL;
        _cleanup_free_ char *path = xasprintf("%s/" VS_VM_CKPT_DIR "/checkpoint.json", c->dir);
        _cleanup_json_ json_object *meta = NULL;
        if (vs_json_parse_file(path, &meta, NULL) < 0)
                return NULL;
        json_object *net = json_object_object_get(meta, "Network");
        return net ? json_object_get(net) : NULL;
}

int vs_vm_restore(struct vs_engine *e, struct vs_ctr *c, vs_error **err)
{
        if (!vs_ctr_is_vm(c))
                return vs_fail(err, "container %s is not a VM container: nothing to restore",
                               c->name);
        /* A monitor that has recorded its container's end may still be
         * cleaning up: let it finish. */
        bool alive = vs_ctr_monitor_alive(c);
        for (int i = 0; i < 1000 && alive; i++) {
                _cleanup_ctr_ struct vs_ctr *f = NULL;
                if (vs_ctr_load(e, c->id, &f, err) < 0)
                        return -1;
                vs_ctr_refresh(e, f);
                alive = vs_ctr_monitor_alive(f);
                if (!alive || (f->state.running && !f->state.restarting))
                        break;
                usleep(10000);
        }
        if (alive)
                return vs_fail(err,
                               "container %s is running: only a stopped container can be "
                               "restored (checkpoint it without --leave-running first)",
                               c->name);
        _cleanup_free_ char *meta_path = xasprintf("%s/" VS_VM_CKPT_DIR "/checkpoint.json", c->dir);
        _cleanup_free_ char *text = NULL;
        size_t n;
        if (vs_read_file(meta_path, &text, &n, NULL) < 0)
                return vs_fail(err, "container %s has no checkpoint (vessel checkpoint %s)",
                               c->name, c->name);
        _cleanup_json_ json_object *meta = json_tokener_parse(text);
        _cleanup_free_ char *state = xasprintf("%s/" VS_VM_CKPT_DIR "/" VS_VM_CKPT_STATE, c->dir);
        struct stat st;
        if (meta == NULL || stat(state, &st) < 0 ||
            json_object_get_int64(json_object_object_get(meta, "StateBytes")) != st.st_size)
                return vs_fail(err,
                               "the checkpoint of container %s is damaged: %s is not the "
                               "file it wrote",
                               c->name, state);
        if (json_object_get_int64(json_object_object_get(meta, "MemoryBytes")) != c->hc.memory ||
            json_object_get_int64(json_object_object_get(meta, "NanoCpus")) != c->hc.nano_cpus)
                return vs_fail(err,
                               "the checkpoint of container %s was taken with other --memory or "
                               "--cpus than the container has now",
                               c->name);
        /* The guest's NIC is in the saved devices: it needs the network it
         * was on (whose address it holds), and a tap on it, again. */
        json_object *saved = json_object_object_get(meta, "Network");
        const char *was_on = vs_json_str(saved, "Network");
        const char *now_on = vs_engine_net_name(c);
        if ((was_on || now_on) && (!was_on || !now_on || strcmp(was_on, now_on) != 0))
                return vs_fail(err,
                               "the checkpoint of container %s was taken on network %s and the "
                               "container is now on %s: it cannot be restored (start it to boot "
                               "afresh)",
                               c->name, was_on ? was_on : "none", now_on ? now_on : "none");
        if (was_on) {
                /* The same network, not one made again with its name (other
                 * subnets, IPv6 or not). */
                _cleanup_json_ json_object *net = NULL;
                _cleanup_error_ vs_error *nerr = NULL;
                const char *id = vs_json_str(saved, "NetworkID");
                if (vs_net_inspect(e->data_root, was_on, &net, &nerr) < 0 || id == NULL ||
                    strcmp(vs_json_str(net, "Id") ? vs_json_str(net, "Id") : "", id) != 0)
                        return vs_fail(err,
                                       "the checkpoint of container %s was taken on a network "
                                       "%s that is gone (removed, or made again): it cannot be "
                                       "restored (start it to boot afresh)",
                                       c->name, was_on);
        }
        /* Only the monitor this restore starts honours the marker: one left
         * by a restore killed before it started one is dropped by the next
         * plain start. Once started, the monitor restores on its own. */
        _cleanup_free_ char *mark = xasprintf("%s/" VS_VM_RESTORE_MARK, c->dir);
        _cleanup_free_ char *token = vs_random_hex(16);
        if (vs_write_file_atomic(mark, token, strlen(token), 0600, err) < 0 ||
            setenv(RESTORE_ENV, token, 1) < 0)
                return -1;
        int r = vs_engine_start(e, c, -1, err);
        unsetenv(RESTORE_ENV);
        unlink(mark);
        return r;
}
