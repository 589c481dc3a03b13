/* The container init: the child the runtime clones. It builds the
 * container from inside its namespaces, reports to the parent over the
 * sync socket, waits on the exec fifo, and execs the user process. */
#ifndef VESSEL_RUNTIME_INIT_H
#define VESSEL_RUNTIME_INIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "oci/config.h"

/* A bundle annotated run.vessel.net.loopback=up gets its new network
 * namespace's loopback brought up by the init, as Docker's and podman's
 * --network none have it (runc leaves it down; vessel's engine sets this). */
#define VS_LOOPBACK_ANNOTATION "run.vessel.net.loopback"

struct vs_init_args {
        const struct oci_config *cfg;
        const char *id;
        const char *bundle;
        int sync_fd;        /* child end of the SOCK_SEQPACKET pair */
        int parent_sync_fd; /* the runtime's end, closed first (-1: none) */
        int console_fd;     /* where the pty master goes; -1 without terminal */
        int fifo_fd;        /* O_PATH fd on the exec fifo */
        int late_unshare;   /* CLONE_NEWCGROUP / CLONE_NEWTIME, done after GO */
        bool in_userns;
        bool new_userns;
        bool no_pivot;
        /* keep PDEATHSIG after setup (vs_create_opts.die_with_caller) */
        bool die_with_caller;
        int preserve_fds;
        pid_t host_pid; /* our pid as the runtime sees it (from SYNC_GO) */
        /* Set when the init enters its cgroups itself (vs_cgroup_enter_self),
         * once SYNC_CGROUP says they are complete; otherwise the runtime
         * moves it, then sends SYNC_CGROUP. */
        const struct vs_cgroup *self_cgroup;
        bool v2_at_birth;                      /* clone3(CLONE_INTO_CGROUP) placed it in cgroup2 */
        const struct vs_seccomp_prog *seccomp; /* compiled by the runtime; NULL: none */
        /* An unprivileged runtime: the init stays dumpable until SYNC_GO,
         * so that its caller may open and write its /proc/PID/uid_map. */
        bool rootless;
        bool root_is_cwd; /* see struct vs_rootfs_ctx */
        int *bind_fds;
        size_t n_bind_fds;
};

_Noreturn void vs_init_main(struct vs_init_args *a);

/* The runtime-spec state document hooks read on stdin. */
char *vs_hook_state_json(const char *id, const char *bundle, const char *status, pid_t pid,
                         const struct oci_config *cfg);

#endif
