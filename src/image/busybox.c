/* The built-in busybox image, made without any network from the host's
 * statically linked /bin/busybox (Debian's busybox-static): one layer with
 * bin/busybox, a symlink per applet where `busybox --list-full` puts it,
 * /etc/passwd and /etc/group, /tmp and /root. Every timestamp is the
 * binary's mtime, so the image id is the same for the same busybox. */
#include "image/libs.h"
#include "image/transfer.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX      "/bin/busybox"
#define BUSYBOX_NAME "busybox:latest"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char GROUP[] = "root:x:0:\n"
                            "daemon:x:1:\n"
                            "tty:x:5:\n"
                            "nogroup:x:65534:\n";

/* A dynamically linked busybox would not run in the image. */
static int check_static(int fd, vs_error **err)
{
        Elf64_Ehdr eh;
        if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t) sizeof(eh) ||
            memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
                return vs_fail(err, "%s is not an ELF executable", BUSYBOX);
        if (eh.e_ident[EI_CLASS] != ELFCLASS64)
                return 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                off_t at = (off_t) eh.e_phoff + (off_t) i * eh.e_phentsize;
                if (pread(fd, &ph, sizeof(ph), at) != (ssize_t) sizeof(ph))
                        return vs_fail(err, "%s: truncated ELF program headers", BUSYBOX);
                if (ph.p_type == PT_INTERP)
                        return vs_fail(err,
                                       "%s is dynamically linked: the busybox image needs "
                                       "Debian's busybox-static (apt-get install busybox-static)",
                                       BUSYBOX);
        }
        return 0;
}

/* `busybox --list-full`: "bin/sh", "usr/bin/awk", ... sorted, unique. */
static int list_applets(char ***out, vs_error **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return vs_fail_errno(err, "cannot fork");
        }
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                execl(BUSYBOX, "busybox", "--list-full", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        FILE *f = fdopen(p[0], "r");
        size_t cap = 0;
        _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
        char *line = NULL;
        ssize_t n;
        while (f && (n = getline(&line, &cap, f)) > 0) {
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                if (n > 0 && line[0] != '/' && strstr(line, "..") == NULL &&
                    strcmp(line, "bin/busybox") != 0 && !strv_contains(v, line))
                        strv_push(&v, line);
        }
        free(line);
        if (f)
                fclose(f);
        else
                close(p[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || v[0] == NULL)
                return vs_fail(err, "`%s --list-full` failed", BUSYBOX);
        *out = steal_ptr(v);
        return 0;
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static la_ssize_t write_to_blob(struct archive *a, void *arg, const void *buf, size_t len)
{
        vs_error *e = NULL;
        if (vs_blob_writer_write(arg, buf, len, &e) < 0) {
                archive_set_error(a, e->errno_ ? e->errno_ : EIO, "%s", e->msg);
                vs_error_free(&e);
                return -1;
        }
        return (la_ssize_t) len;
}

struct tar {
        struct archive *a;
        struct archive_entry *e;
        time_t mtime;
};

static int add(struct tar *t, const char *path, mode_t type, mode_t perm, const char *link,
               const void *data, int64_t size, int data_fd, vs_error **err)
{
        archive_entry_clear(t->e);
        archive_entry_set_pathname(t->e, path);
        archive_entry_set_filetype(t->e, type);
        archive_entry_set_perm(t->e, perm);
        archive_entry_set_uid(t->e, 0);
        archive_entry_set_gid(t->e, 0);
        archive_entry_set_mtime(t->e, t->mtime, 0);
        if (link)
                archive_entry_set_symlink(t->e, link);
        archive_entry_set_size(t->e, type == AE_IFREG ? size : 0);
        if (archive_write_header(t->a, t->e) != ARCHIVE_OK)
                return vs_fail(err, "cannot add %s to the busybox layer: %s", path,
                               archive_error_string(t->a));
        if (data && archive_write_data(t->a, data, (size_t) size) != (la_ssize_t) size)
                return vs_fail(err, "cannot add %s to the busybox layer: %s", path,
                               archive_error_string(t->a));
        if (data_fd >= 0) {
                _cleanup_free_ char *buf = xmalloc(1 << 16);
                int64_t left = size;
                while (left > 0) {
                        ssize_t n = read(data_fd, buf, 1 << 16);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return vs_fail_errno(err, "cannot read %s", BUSYBOX);
                        if (n > left)
                                n = (ssize_t) left;
                        if (archive_write_data(t->a, buf, (size_t) n) != n)
                                return vs_fail(err, "cannot add %s to the busybox layer: %s", path,
                                               archive_error_string(t->a));
                        left -= n;
                }
        }
        return 0;
}

static int write_layer(struct vs_blob_writer *w, int bb_fd, const struct stat *st,
                       char *const *applets, vs_error **err)
{
        struct tar t = {.a = archive_write_new(), .e = archive_entry_new(), .mtime = st->st_mtime};
        int ret = -1;
        archive_write_set_format_ustar(t.a);
        archive_write_add_filter_none(t.a);
        if (archive_write_open(t.a, w, NULL, write_to_blob, NULL) != ARCHIVE_OK) {
                vs_fail(err, "cannot write the busybox layer: %s", archive_error_string(t.a));
                goto out;
        }
        /* Directories first (applets need their parents), then files, in
         * a fixed order. */
        static const char *const dirs[] = {"bin",     "dev",      "etc", "home",   "proc",
                                           "root",    "sbin",     "sys", "tmp",    "usr",
                                           "usr/bin", "usr/sbin", "var", "var/tmp"};
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                mode_t perm = strcmp(dirs[i], "root") == 0 ? 0700
                              : strcmp(dirs[i], "tmp") == 0 || strcmp(dirs[i], "var/tmp") == 0
                                  ? 01777
                                  : 0755;
                if (add(&t, dirs[i], AE_IFDIR, perm, NULL, NULL, 0, -1, err) < 0)
                        goto out;
        }
        if (add(&t, "bin/busybox", AE_IFREG, 0755, NULL, NULL, st->st_size, bb_fd, err) < 0 ||
            add(&t, "etc/group", AE_IFREG, 0644, NULL, GROUP, (int64_t) strlen(GROUP), -1, err) <
                0 ||
            add(&t, "etc/passwd", AE_IFREG, 0644, NULL, PASSWD, (int64_t) strlen(PASSWD), -1, err) <
                0)
                goto out;
        for (size_t i = 0; applets[i]; i++) {
                const char *slash = strrchr(applets[i], '/');
                if (slash == NULL ||
                    (strncmp(applets[i], "bin/", 4) != 0 && strncmp(applets[i], "sbin/", 5) != 0 &&
                     strncmp(applets[i], "usr/bin/", 8) != 0 &&
                     strncmp(applets[i], "usr/sbin/", 9) != 0) ||
                    strchr(slash + 1, '/'))
                        continue;
                if (add(&t, applets[i], AE_IFLNK, 0777, "/bin/busybox", NULL, 0, -1, err) < 0)
                        goto out;
        }
        if (archive_write_close(t.a) != ARCHIVE_OK) {
                vs_fail(err, "cannot write the busybox layer: %s", archive_error_string(t.a));
                goto out;
        }
        ret = 0;
out:
        archive_entry_free(t.e);
        archive_write_free(t.a);
        return ret;
}

static json_object *make_config(const char *created, const char *layer)
{
        json_object *cc = json_object_new_object();
        json_object *env = json_object_new_array();
        json_object_array_add(env, json_object_new_string(DEFAULT_PATH));
        json_object_object_add(cc, "Env", env);
        json_object *cmd = json_object_new_array();
        json_object_array_add(cmd, json_object_new_string("sh"));
        json_object_object_add(cc, "Cmd", cmd);
        return vs_image_config_new(
            created, layer, cc,
            "vessel: built-in busybox image from the host's " BUSYBOX " (busybox-static)", NULL);
}

static int build(struct vs_txn *t, vs_error **err)
{
        _cleanup_close_ int fd = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err,
                                     "cannot open %s to make the busybox image (apt-get install "
                                     "busybox-static)",
                                     BUSYBOX);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat %s", BUSYBOX);
        _cleanup_strv_ char **applets = NULL;
        if (check_static(fd, err) < 0 || list_applets(&applets, err) < 0)
                return -1;
        qsort(applets, strv_len(applets), sizeof(char *), compare_strings);
        struct vs_blob_writer *w;
        if (vs_blob_writer_open(t, &w, err) < 0)
                return -1;
        _cleanup_free_ char *layer = NULL, *manifest = NULL;
        int64_t size = 0;
        int r = write_layer(w, fd, &st, applets, err);
        if (r == 0)
                r = vs_blob_writer_finish(w, NULL, &layer, &size, err);
        vs_blob_writer_free(w);
        if (r < 0)
                return -1;
        struct tm tm;
        gmtime_r(&st.st_mtime, &tm);
        char created[64];
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        _cleanup_json_ json_object *config = make_config(created, layer);
        char *layers[] = {layer, NULL};
        char *names[] = {BUSYBOX_NAME, NULL};
        if (vs_make_image(t, config, layers, &size, VS_MT_OCI_LAYER, &manifest, err) < 0 ||
            vs_txn_add_image(t, manifest, names, NULL, err) < 0)
                return -1;
        return vs_txn_commit(t, err);
}

int vs_image_ensure_busybox(struct vs_store *s, vs_error **err)
{
        struct vs_index idx = {0};
        if (vs_store_load_index(s, &idx, err) < 0)
                return -1;
        bool present = vs_index_find_name(&idx, BUSYBOX_NAME) >= 0;
        vs_index_clear(&idx);
        if (present)
                return 0;
        _cleanup_txn_ struct vs_txn *t = NULL;
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        /* Another command may have made it while we waited for the lock. */
        if (vs_index_find_name(vs_txn_index(t), BUSYBOX_NAME) >= 0)
                return 0;
        if (build(t, err) < 0)
                return vs_error_wrap(err, "cannot make the busybox image");
        return 0;
}
