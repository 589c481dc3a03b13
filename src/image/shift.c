/* Shifted copies of layers, for containers of the rootless engine with id
 * mappings of their own (--userns=keep-id, --uidmap): docs/rootless.md.
 *
 * Layers are stored with the image's ids as the engine's user namespace
 * sees them. A container in a user namespace of its own sees them through
 * its map, and only host root can make the idmapped mounts that would undo
 * that (the kernel wants CAP_SYS_ADMIN over the layers' filesystem). So
 * such a container's overlay is stacked on copies of the layers whose
 * owners went through the map, cached per map:
 *
 *   <store>/shifted/lock              flock held while copies are made
 *   <store>/shifted/<map>/map         the map, for people ("uid C:H:S ...")
 *   <store>/shifted/<map>/<layer hex> a finished copy
 *   <store>/shifted/<map>/<hex>.tmp   a copy being made
 *
 * <map> is the first 16 hex digits of the sha256 of the map's text. A copy
 * is made under the lock in <hex>.tmp, synced, and renamed into place: a
 * copy at <hex> is always whole. A .tmp left by a killed command is
 * removed by the next one that takes the lock. Copies of a layer go when
 * the store removes the layer (vs_image_shift_forget). */
#include "image/image.h"
#include "image/layer.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHIFT_DIR "shifted"

static void append_maps(char **text, const char *what, const struct oci_id_mapping *m, size_t n)
{
        char *t = xasprintf("%s%s", *text, what);
        for (size_t i = 0; i < n; i++) {
                char *next =
                    xasprintf("%s %u:%u:%u", t, m[i].container_id, m[i].host_id, m[i].size);
                free(t);
                t = next;
        }
        free(*text);
        *text = xasprintf("%s\n", t);
        free(t);
}

static char *map_text(const struct vs_layer_idshift *shift)
{
        char *text = xstrdup("");
        append_maps(&text, "uid", shift->uid, shift->n_uid);
        append_maps(&text, "gid", shift->gid, shift->n_gid);
        return text;
}

/* Removes the <hex>.tmp copies a killed command left in dir. */
static int remove_partial(const char *dir, vs_error **err)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (d == NULL)
                return vs_fail_errno(err, "cannot read %s", dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);
                if (len < 4 || strcmp(de->d_name + len - 4, ".tmp") != 0)
                        continue;
                vs_debug("removing the partial copy %s/%s", dir, de->d_name);
                if (vs_rm_rf_at(dirfd(d), de->d_name, err) < 0)
                        return -1;
        }
        return 0;
}

static int make_copy(const char *layer, const char *dir, const char *hex,
                     const struct vs_layer_idshift *shift, char **out, vs_error **err)
{
        _cleanup_free_ char *dst = xasprintf("%s/%s", dir, hex);
        if (vs_is_dir(dst)) {
                *out = steal_ptr(dst);
                return 0;
        }
        _cleanup_free_ char *tmp = xasprintf("%s/%s.tmp", dir, hex);
        if (mkdir(tmp, 0700) < 0)
                return vs_fail_errno(err, "cannot create %s", tmp);
        if (vs_layer_copy_shifted(layer, tmp, shift, err) < 0)
                return -1;
        /* whole on disk before it has its name: a crash never leaves a
         * copy at <hex> with files missing */
        _cleanup_close_ int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) < 0)
                return vs_fail_errno(err, "cannot sync %s", tmp);
        if (rename(tmp, dst) < 0)
                return vs_fail_errno(err, "cannot rename %s to %s", tmp, dst);
        *out = steal_ptr(dst);
        return 0;
}

int vs_image_shift_layers(const struct vs_store *s, struct vs_image *img,
                          const struct vs_layer_idshift *shift, vs_error **err)
{
        _cleanup_free_ char *text = map_text(shift);
        _cleanup_free_ char *digest = vs_digest_buffer(text, strlen(text));
        _cleanup_free_ char *top = xasprintf("%s/" SHIFT_DIR, s->root);
        _cleanup_free_ char *dir = xasprintf("%s/%.16s", top, vs_digest_hex(digest));
        _cleanup_free_ char *lockpath = xasprintf("%s/lock", top);
        _cleanup_free_ char *mapfile = xasprintf("%s/map", dir);
        if (vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        _cleanup_close_ int lock = vs_lock_open(lockpath, O_RDWR | O_CREAT, 0600, err);
        if (lock < 0 || remove_partial(dir, err) < 0)
                return -1;
        if (!vs_path_exists(mapfile) &&
            vs_write_file_atomic(mapfile, text, strlen(text), 0644, err) < 0)
                return -1;
        bool said = false;
        for (size_t i = 0; i < img->n_layers; i++) {
                const char *hex = strrchr(img->layer_dirs[i], '/');
                hex = hex ? hex + 1 : img->layer_dirs[i];
                char *copy = NULL;
                _cleanup_free_ char *dst = xasprintf("%s/%s", dir, hex);
                if (!said && !vs_is_dir(dst)) {
                        vs_debug("copying the image's layers with the container's ids into %s",
                                 dir);
                        said = true;
                }
                if (make_copy(img->layer_dirs[i], dir, hex, shift, &copy, err) < 0)
                        return vs_error_wrap(err,
                                             "cannot make a copy of layer %.12s with the "
                                             "container's ids",
                                             hex);
                free(img->layer_dirs[i]);
                img->layer_dirs[i] = copy;
        }
        return 0;
}

void vs_image_shift_forget(const struct vs_store *s, const char *hex)
{
        _cleanup_free_ char *top = xasprintf("%s/" SHIFT_DIR, s->root);
        _cleanup_free_ char *lockpath = xasprintf("%s/lock", top);
        _cleanup_closedir_ DIR *d = opendir(top);
        if (d == NULL)
                return;
        _cleanup_error_ vs_error *lerr = NULL;
        _cleanup_close_ int lock = vs_lock_open(lockpath, O_RDWR | O_CREAT, 0600, &lerr);
        if (lock < 0) {
                vs_warn("%s", lerr->msg);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.' || strcmp(de->d_name, "lock") == 0)
                        continue;
                _cleanup_free_ char *copy = xasprintf("%s/%s", de->d_name, hex);
                _cleanup_error_ vs_error *e = NULL;
                if (vs_rm_rf_at(dirfd(d), copy, &e) < 0)
                        vs_warn("%s", e->msg);
                /* a map no layer has a copy for any more: its dir goes */
                _cleanup_free_ char *map = xasprintf("%s/map", de->d_name);
                _cleanup_free_ char *mapdir = xstrdup(de->d_name);
                _cleanup_close_ int fd =
                    openat(dirfd(d), mapdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_closedir_ DIR *m = fd >= 0 ? fdopendir(fd) : NULL;
                if (m == NULL)
                        continue;
                fd = -1;
                bool other = false;
                struct dirent *me;
                while ((me = readdir(m)) != NULL && !other)
                        other = strcmp(me->d_name, ".") != 0 && strcmp(me->d_name, "..") != 0 &&
                                strcmp(me->d_name, "map") != 0;
                if (!other) {
                        unlinkat(dirfd(d), map, 0);
                        unlinkat(dirfd(d), mapdir, AT_REMOVEDIR);
                }
        }
}
