/* What the exec stub (src/runtime/stub/execstub.c, freestanding) and vessel
 * exchange besides argv: plain C, no libc or kernel headers. */
#ifndef VESSEL_RUNTIME_STUB_PROTOCOL_H
#define VESSEL_RUNTIME_STUB_PROTOCOL_H

/* The kernel's BPF_MAXINSNS. */
#define VS_STUB_MAX_INSNS 4096

/* SECCOMP_FD holds this header, then len instructions (struct sock_filter). */
struct vs_stub_seccomp {
        unsigned int flags; /* SECCOMP_FILTER_FLAG_* */
        unsigned int len;
};

struct vs_stub_insn {
        unsigned short code;
        unsigned char jt, jf;
        unsigned int k;
};

/* The stage report on PID_FD; the layout of src/runtime/stage.c's, one
 * atomic pipe write (PIPE_BUF is 4096 on Linux). */
struct vs_stub_report {
        int pid;
        char msg[4096 - sizeof(int)];
};

/* The most cgroup v1 "tasks" fds CGROUP may list. */
#define VS_STUB_MAX_TASKS 16

#endif
