/* The last steps of every container process (init and exec). */
#ifndef VESSEL_RUNTIME_PROCESS_H
#define VESSEL_RUNTIME_PROCESS_H

#include "oci/config.h"
#include "runtime/seccomp.h"
#include "runtime/stub/protocol.h"
#include "util/error.h"

/* Inside the container's namespaces and root: rlimits, no_new_privs,
 * seccomp (before the capability drop unless no_new_privs), capabilities,
 * user and groups, umask, cwd (checked to be inside the root), and the
 * PATH lookup of args[0] into *exe. */
int vs_process_prepare(const struct oci_process *p, const struct vs_seccomp_prog *seccomp,
                       char **exe, vs_error **err);
/* Default signals, every fd >= 3 + preserve_fds close-on-exec, then exec
 * through the sealed exec stub (CVE-2019-5736, src/runtime/stub/execstub.c),
 * which installs the late seccomp filter (with no_new_privs) and reports its
 * own failures as text on report_fd. With pid_fd >= 0 the stub first forks
 * the process into the pid namespace joined for children and reports its pid
 * on pid_fd (a stage report); with tty it makes fd 0 the controlling
 * terminal of a new session. done_fd (if >= 0) is closed by the stub once it
 * is non-dumpable again. With wait_dir >= 0, report_fd is an O_PATH fd
 * on the exec fifo and wait_dir the directory fd of /proc/self/fd: the stub
 * opens the fifo for writing there (waiting for `start`) and reports on it.
 * With cgroup (fork mode), the child moves itself into the v1 hierarchies
 * through cgroup->tasks (the stub's CGROUP field). Returns only on failure. */
struct vs_exec_cgroup {
        int tasks[VS_STUB_MAX_TASKS];
        size_t n_tasks;
};
int vs_process_exec(const struct oci_process *p, const struct vs_seccomp_prog *seccomp,
                    const char *exe, int preserve_fds, int wait_dir, int report_fd, int pid_fd,
                    int done_fd, const struct vs_exec_cgroup *cgroup, bool tty, vs_error **err);

#endif
