/* The workload image: host binaries and the libraries the dynamic loader
 * resolves for them, imported once per content (workload.h). */
#include "bench/workload.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sha2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_REPO "vessel-bench-workload"

static char *image_ref;
static char *tool_paths[3];
static const char *const tool_names[3] = {"stress-ng", "fio", "iperf3"};
static int vm_state; /* 0 unknown, 1 ready, -1 not */
static const char *vm_why;

const char *vs_bench_workload_image(void)
{
        return image_ref;
}

const char *vs_bench_tool(const char *name)
{
        for (size_t i = 0; i < 3; i++)
                if (strcmp(tool_names[i], name) == 0)
                        return tool_paths[i];
        return NULL;
}

/* The ELF interpreter (PT_INTERP) of path, or NULL for a static binary. */
char *vs_bench_elf_interp(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        Elf64_Ehdr eh;
        if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t) sizeof(eh) ||
            memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
                return NULL;
        for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
                Elf64_Phdr ph;
                off_t at = (off_t) eh.e_phoff + (off_t) i * eh.e_phentsize;
                if (pread(fd, &ph, sizeof(ph), at) != (ssize_t) sizeof(ph))
                        return NULL;
                if (ph.p_type != PT_INTERP || ph.p_filesz < 2 || ph.p_filesz > 4096)
                        continue;
                char *s = xmalloc(ph.p_filesz + 1);
                if (pread(fd, s, ph.p_filesz, (off_t) ph.p_offset) != (ssize_t) ph.p_filesz) {
                        free(s);
                        return NULL;
                }
                s[ph.p_filesz] = '\0';
                return s;
        }
        return NULL;
}

/* The absolute library paths in the output of `ld.so --list`:
 * "\tlibx.so.1 => /lib/.../libx.so.1 (0x...)" and "\t/lib64/ld-...so.2
 * (0x...)"; the vDSO and unresolved names ("not found") are left out. */
void vs_bench_parse_ldlist(const char *text, char ***libs)
{
        _cleanup_free_ char *copy = xstrdup(text);
        char *save = NULL;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *arrow = strstr(l, "=> ");
                char *p = arrow ? arrow + 3 : l;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p != '/')
                        continue;
                char *end = strstr(p, " (");
                if (end)
                        *end = '\0';
                if (strstr(p, "/../") == NULL && !strv_contains(*libs, p))
                        strv_push(libs, p);
        }
}

static int libraries_of(const char *bin, char ***libs, vs_error **err)
{
        _cleanup_free_ char *interp = vs_bench_elf_interp(bin);
        if (!interp)
                return 0; /* static: nothing to add */
        char *argv[] = {interp, "--list", (char *) bin, NULL};
        _cleanup_free_ char *out = NULL;
        if (vs_bench_capture(argv, &out, 30) != 0)
                return vs_fail(err, "`%s --list %s` failed", interp, bin);
        if (!strv_contains(*libs, interp))
                strv_push(libs, interp);
        vs_bench_parse_ldlist(out, libs);
        return 0;
}

static int copy_into(const char *root, const char *src, const char *dst, mode_t mode,
                     vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s%s", root, dst);
        _cleanup_free_ char *dir = xstrdup(path);
        *strrchr(dir, '/') = '\0';
        if (vs_mkdir_p(dir, 0755, err) < 0)
                return -1;
        _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (in < 0 || fstat(in, &st) < 0)
                return vs_fail_errno(err, "cannot open %s", src);
        _cleanup_close_ int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (out < 0)
                return errno == EEXIST ? 0 : vs_fail_errno(err, "cannot create %s", path);
        off_t left = st.st_size;
        while (left > 0) {
                ssize_t n = sendfile(out, in, NULL, (size_t) left);
                if (n <= 0)
                        return vs_fail_errno(err, "cannot copy %s to %s", src, path);
                left -= n;
        }
        return 0;
}

static bool executable(const char *p)
{
        return access(p, X_OK) == 0;
}

/* The files of the image: pairs (host source, image path). */
static int collect(struct vs_bench *b, char ***pairs, vs_error **err)
{
        _cleanup_strv_ char **libs = xcalloc(1, sizeof(char *));
        strv_push(pairs, b->opts.vessel);
        strv_push(pairs, "/usr/bin/vessel");
        if (libraries_of(b->opts.vessel, &libs, err) < 0)
                return -1;
        for (size_t i = 0; i < 3; i++) {
                free(tool_paths[i]);
                tool_paths[i] = NULL;
                static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/bin", "/sbin"};
                for (size_t d = 0; d < 4 && !tool_paths[i]; d++) {
                        _cleanup_free_ char *p = xasprintf("%s/%s", dirs[d], tool_names[i]);
                        if (executable(p))
                                tool_paths[i] = xasprintf("/usr/bin/%s", tool_names[i]);
                        if (tool_paths[i]) {
                                strv_push(pairs, p);
                                strv_push(pairs, tool_paths[i]);
                                if (libraries_of(p, &libs, err) < 0)
                                        return -1;
                        }
                }
        }
        for (size_t i = 0; libs[i]; i++) {
                strv_push(pairs, libs[i]);
                strv_push(pairs, libs[i]);
        }
        return 0;
}

static int content_key(char *const *pairs, char out[13], vs_error **err)
{
        SHA2_CTX ctx;
        SHA256Init(&ctx);
        for (size_t i = 0; pairs[i]; i += 2) {
                char hex[SHA256_DIGEST_STRING_LENGTH];
                if (!SHA256File(pairs[i], hex))
                        return vs_fail_errno(err, "cannot read %s", pairs[i]);
                SHA256Update(&ctx, (const uint8_t *) pairs[i + 1], strlen(pairs[i + 1]) + 1);
                SHA256Update(&ctx, (const uint8_t *) hex, strlen(hex));
        }
        char all[SHA256_DIGEST_STRING_LENGTH];
        SHA256End(&ctx, all);
        memcpy(out, all, 12);
        out[12] = '\0';
        return 0;
}

static int build_image(struct vs_bench *b, char *const *pairs, const char *ref, vs_error **err)
{
        _cleanup_free_ char *root = xasprintf("%s/workload-rootfs", b->opts.workdir);
        static const char *const dirs[] = {"/dev", "/proc", "/sys", "/etc", "/root", "/tmp"};
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                _cleanup_free_ char *d = xasprintf("%s%s", root, dirs[i]);
                if (vs_mkdir_p(d, 0755, err) < 0)
                        return -1;
        }
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", root);
        chmod(tmp, 01777);
        static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
        _cleanup_free_ char *pw = xasprintf("%s/etc/passwd", root);
        if (vs_write_file_atomic(pw, passwd, strlen(passwd), 0644, err) < 0)
                return -1;
        for (size_t i = 0; pairs[i]; i += 2)
                if (copy_into(root, pairs[i], pairs[i + 1], 0755, err) < 0)
                        return -1;
        _cleanup_free_ char *tar = xasprintf("%s/workload.tar", b->opts.workdir);
        char *tar_argv[] = {"/bin/tar", "-C", root, "-cf", tar, ".", NULL};
        _cleanup_free_ char *out = NULL;
        if (vs_bench_capture(tar_argv, &out, 120) != 0)
                return vs_fail(err, "cannot archive the workload root filesystem (tar)");
        char *imp[] = {(char *) b->opts.vessel,
                       "import",
                       "-m",
                       "vessel bench workloads",
                       tar,
                       (char *) ref,
                       NULL};
        free(out);
        out = NULL;
        int r = vs_bench_capture(imp, &out, 300);
        unlink(tar);
        vs_rm_rf(root, NULL);
        if (r != 0)
                return vs_fail(err, "`vessel import` of the workload image failed (status %d)", r);
        return 0;
}

/* Whether pid is a live vessel process (a reused pid is not the bench). */
static bool bench_alive(int pid)
{
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return false;
        _cleanup_free_ char *path = xasprintf("/proc/%d/comm", pid), *comm = NULL;
        size_t len = 0;
        if (vs_read_file(path, &comm, &len, NULL) < 0)
                return false;
        return strncmp(comm, "vessel", 6) == 0;
}

/* Containers named vessel-bench-<pid>-<n> whose bench is gone. */
static void remove_leftovers(struct vs_bench *b)
{
        char *argv[] = {(char *) b->opts.vessel, "ps", "-a", "--format", "{{.Names}}", NULL};
        _cleanup_free_ char *out = NULL;
        if (vs_bench_capture(argv, &out, 60) != 0)
                return;
        char *save = NULL;
        for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (strncmp(l, VS_BENCH_NAME_PREFIX, strlen(VS_BENCH_NAME_PREFIX)) != 0)
                        continue;
                int pid = atoi(l + strlen(VS_BENCH_NAME_PREFIX));
                if (pid > 0 && pid != getpid() && !bench_alive(pid)) {
                        vs_bench_progress(b, "removing %s, left by an earlier bench run", l);
                        vs_bench_rm(b, l);
                }
        }
}

int vs_bench_workload_setup(struct vs_bench *b, vs_error **err)
{
        if (image_ref)
                return 0;
        remove_leftovers(b);
        _cleanup_strv_ char **pairs = xcalloc(1, sizeof(char *));
        char key[13];
        if (collect(b, &pairs, err) < 0 || content_key(pairs, key, err) < 0)
                return vs_error_wrap(err, "bench: cannot collect the workload image's files");
        _cleanup_free_ char *ref = xasprintf(IMAGE_REPO ":%s", key);
        char *inspect[] = {(char *) b->opts.vessel, "image", "inspect", ref, NULL};
        _cleanup_free_ char *out = NULL;
        if (vs_bench_capture(inspect, &out, 60) != 0) {
                vs_bench_progress(b, "building the workload image %s", ref);
                if (build_image(b, pairs, ref, err) < 0)
                        return -1;
        }
        image_ref = steal_ptr(ref);
        return 0;
}

bool vs_bench_vm_ready(struct vs_bench *b, const char **why)
{
        if (vm_state == 0) {
                char *argv[] = {
                    (char *) b->opts.vessel, "vm", "kernel", "--path", "--no-build", NULL};
                _cleanup_free_ char *out = NULL;
                if (!executable("/usr/bin/qemu-system-x86_64") &&
                    !executable("/usr/bin/qemu-system-aarch64")) {
                        vm_state = -1;
                        vm_why = "QEMU is not installed (scripts/deps.sh installs qemu-system)";
                } else if (vs_bench_capture(argv, &out, 60) == 0) {
                        vm_state = 1;
                } else if (b->opts.quick) {
                        vm_state = -1;
                        vm_why = "no guest kernel built, and --quick does not build one (`vessel "
                                 "vm kernel` does, in minutes)";
                } else {
                        vs_bench_progress(b, "building the VM guest kernel (minutes)");
                        char *build[] = {(char *) b->opts.vessel, "vm", "kernel", NULL};
                        free(out);
                        out = NULL;
                        vm_state = vs_bench_capture(build, &out, 3600) == 0 ? 1 : -1;
                        vm_why = "`vessel vm kernel` could not build the guest kernel";
                }
        }
        if (why)
                *why = vm_why;
        return vm_state == 1;
}
