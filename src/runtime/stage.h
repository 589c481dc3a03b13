/* Intermediate processes that join namespaces and fork the real child
 * (a joined pid namespace applies to children only) report its pid back
 * over a pipe with one atomic write. */
#ifndef VESSEL_RUNTIME_STAGE_H
#define VESSEL_RUNTIME_STAGE_H

#include <sys/types.h>

#include "util/error.h"

/* fork() with namespace (and CLONE_PARENT) flags: the child continues on a
 * copy-on-write stack, as after fork. */
pid_t vs_raw_clone(unsigned long flags);
/* vs_raw_clone into the cgroup2 directory cgroup_fd (clone3 with
 * CLONE_INTO_CGROUP, SIGCHLD); -1 with errno set when the kernel lacks
 * clone3 or CLONE_INTO_CGROUP, or refuses (a pids limit reached). */
pid_t vs_clone_into_cgroup(unsigned long flags, int cgroup_fd);

/* In the stage: pid of the child (or -1) and, on failure, why. */
void vs_stage_report(int fd, pid_t pid, const char *msg);
/* In the runtime: reads the report, reaps the stage, returns the pid or -1
 * with err ("what" when the stage said nothing). */
pid_t vs_stage_wait(int fd, pid_t stage, const char *what, vs_error **err);

#endif
