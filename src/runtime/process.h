/* The last steps of every container process (init and exec). */
#ifndef VESSEL_RUNTIME_PROCESS_H
#define VESSEL_RUNTIME_PROCESS_H

#include "oci/config.h"
#include "runtime/seccomp.h"
#include "util/error.h"

/* Inside the container's namespaces and root: rlimits, no_new_privs,
 * seccomp (before the capability drop unless no_new_privs), capabilities,
 * user and groups, umask, cwd (checked to be inside the root), and the
 * PATH lookup of args[0] into *exe. */
int vs_process_prepare(const struct oci_process *p, const struct vs_seccomp_prog *seccomp, char **exe,
                       vs_error **err);
/* Late seccomp (with no_new_privs), default signals, every fd >= 3 +
 * preserve_fds close-on-exec, then exec through the sealed exec stub
 * (CVE-2019-5736), which reports its own exec failure as text on report_fd.
 * Returns only on failure. */
int vs_process_exec(const struct oci_process *p, const struct vs_seccomp_prog *seccomp,
                    const char *exe, int preserve_fds, int report_fd, vs_error **err);

#endif
