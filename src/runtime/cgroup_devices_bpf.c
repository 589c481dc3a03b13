/* Device access rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program
 * built from raw instructions and attached with bpf(2) (no libbpf), in the
 * shape runc's devicefilter generates. */
#include "runtime/cgroup_internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i)                                                                        \
        ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
/* dst = *(u32 *)(src + off) */
#define LDX_W(dst, src, off)       INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm)    INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src)        INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm)        INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) INSN(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT_INSN()                INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers after the prologue. */
enum { R_CTX = 1, R_TYPE = 2, R_ACCESS = 3, R_MAJOR = 4, R_MINOR = 5, R_TMP = 1 };

static int access_bits(const char *access)
{
        int bits = 0;
        for (const char *a = access; a && *a; a++)
                bits |= *a == 'r'   ? BPF_DEVCG_ACC_READ
                        : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                        : *a == 'm' ? BPF_DEVCG_ACC_MKNOD
                                    : 0;
        return bits;
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

struct bpf_insn *vs_cgroup_devices_bpf_build(const struct oci_device_cgroup *rules, size_t n,
                                             size_t *count, vs_error **err)
{
        /* prologue + at most 8 per rule (type 1, access 3, major 1, minor 1,
         * verdict 2) + default */
        struct bpf_insn *p = xcalloc(6 + 8 * n + 2, sizeof(*p));
        size_t len = 0;
        /* ctx: struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 |
         * type); u32 major; u32 minor; } */
        p[len++] = LDX_W(R_TYPE, R_CTX, 0);
        p[len++] = ALU32_IMM(BPF_AND, R_TYPE, 0xFFFF);
        p[len++] = LDX_W(R_ACCESS, R_CTX, 0);
        p[len++] = ALU32_IMM(BPF_RSH, R_ACCESS, 16);
        p[len++] = LDX_W(R_MAJOR, R_CTX, 4);
        p[len++] = LDX_W(R_MINOR, R_CTX, 8);

        bool unconditional = false;
        /* Last rule first: the first match decides, so later rules win as
         * they do in the v1 devices list. */
        for (size_t k = n; k-- > 0 && !unconditional;) {
                const struct oci_device_cgroup *r = &rules[k];
                if ((r->major >= 0 && r->major > INT32_MAX) ||
                    (r->minor >= 0 && r->minor > INT32_MAX)) {
                        free(p);
                        vs_fail(err, "linux.resources.devices[%zu]: device number out of range", k);
                        return NULL;
                }
                struct bpf_insn block[8];
                size_t bl = 0, jumps[4], nj = 0;
                int acc = access_bits(r->access);
                if (r->type == 'c' || r->type == 'b') {
                        jumps[nj++] = bl;
                        block[bl++] =
                            JMP_IMM(BPF_JNE, R_TYPE,
                                    r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
                }
                if (acc != ACC_ALL) {
                        block[bl++] = MOV32_REG(R_TMP, R_ACCESS);
                        jumps[nj++] = bl + 1;
                        if (r->allow) {
                                /* allow only when every requested bit is granted */
                                block[bl++] = ALU32_IMM(BPF_AND, R_TMP, ~acc & ACC_ALL);
                                block[bl++] = JMP_IMM(BPF_JNE, R_TMP, 0, 0);
                        } else {
                                /* deny as soon as one requested bit is denied */
                                block[bl++] = ALU32_IMM(BPF_AND, R_TMP, acc);
                                block[bl++] = JMP_IMM(BPF_JEQ, R_TMP, 0, 0);
                        }
                }
                if (r->major >= 0) {
                        jumps[nj++] = bl;
                        block[bl++] = JMP_IMM(BPF_JNE, R_MAJOR, (int32_t) r->major, 0);
                }
                if (r->minor >= 0) {
                        jumps[nj++] = bl;
                        block[bl++] = JMP_IMM(BPF_JNE, R_MINOR, (int32_t) r->minor, 0);
                }
                block[bl++] = MOV64_IMM(0, r->allow ? 1 : 0);
                block[bl++] = EXIT_INSN();
                for (size_t j = 0; j < nj; j++)
                        block[jumps[j]].off = (int16_t) (bl - jumps[j] - 1);
                /* The verifier rejects unreachable code: nothing may follow
                 * a rule that matches everything. */
                unconditional = nj == 0;
                memcpy(p + len, block, bl * sizeof(*block));
                len += bl;
        }
        if (!unconditional) {
                p[len++] = MOV64_IMM(0, 0); /* nothing matched: deny */
                p[len++] = EXIT_INSN();
        }
        *count = len;
        return p;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
        return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, vs_error **err)
{
        static char log[65536];
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t) (uintptr_t) insns;
        attr.insn_cnt = (uint32_t) n;
        attr.license = (uint64_t) (uintptr_t) "GPL";
        int fd = (int) sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0)
                return fd;
        int saved = errno;
        /* Load again with the verifier log, to say why. */
        log[0] = '\0';
        attr.log_buf = (uint64_t) (uintptr_t) log;
        attr.log_size = sizeof(log);
        attr.log_level = 1;
        fd = (int) sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0)
                return fd;
        size_t l = strlen(log);
        while (l > 0 && log[l - 1] == '\n')
                log[--l] = '\0';
        const char *last = strrchr(log, '\n');
        return vs_error_set(err, saved,
                            "linux.resources.devices: cannot load the device BPF program%s%s",
                            *log ? " (verifier: " : "", *log ? (last ? last + 1 : log) : "");
}

static uint32_t prog_id(int fd)
{
        struct bpf_prog_info info;
        memset(&info, 0, sizeof(info));
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.info.bpf_fd = (uint32_t) fd;
        attr.info.info_len = sizeof(info);
        attr.info.info = (uint64_t) (uintptr_t) &info;
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
                return 0;
        return info.id;
}

/* Detaches every device program on cgfd except keep_id: what an update
 * replaces (runc does the same). Best effort: a left-over program that
 * cannot be detached still only narrows access further. */
static void detach_others(int cgfd, uint32_t keep_id)
{
        uint32_t ids[64];
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.query.target_fd = (uint32_t) cgfd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t) (uintptr_t) ids;
        attr.query.prog_cnt = 64;
        if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
                return;
        for (uint32_t i = 0; i < attr.query.prog_cnt && i < 64; i++) {
                if (ids[i] == keep_id)
                        continue;
                union bpf_attr g;
                memset(&g, 0, sizeof(g));
                g.prog_id = ids[i];
                _cleanup_close_ int pfd = (int) sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
                if (pfd < 0)
                        continue;
                union bpf_attr d;
                memset(&d, 0, sizeof(d));
                d.target_fd = (uint32_t) cgfd;
                d.attach_bpf_fd = (uint32_t) pfd;
                d.attach_type = BPF_CGROUP_DEVICE;
                if (sys_bpf(BPF_PROG_DETACH, &d) < 0)
                        vs_warn("cannot detach old device program %u: %m", ids[i]);
        }
}

int cg_v2_devices(const char *dir, const struct oci_resources *r, vs_error **err)
{
        size_t n = 0;
        _cleanup_free_ struct bpf_insn *insns =
            vs_cgroup_devices_bpf_build(r->devices, r->n_devices, &n, err);
        if (insns == NULL)
                return -1;
        _cleanup_close_ int prog = prog_load(insns, n, err);
        if (prog < 0)
                return -1;
        _cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0)
                return vs_fail_errno(err, "linux.resources.devices: cannot open cgroup %s", dir);
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t) cgfd;
        attr.attach_bpf_fd = (uint32_t) prog;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
                return vs_fail_errno(err,
                                     "linux.resources.devices: cannot attach the device BPF "
                                     "program to %s",
                                     dir);
        detach_others(cgfd, prog_id(prog));
        return 0;
}
