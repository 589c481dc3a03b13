/* The OCI runtime as a library: the runc-compatible commands are thin
 * front ends over these functions, and the engine calls them in process. */
#ifndef VESSEL_RUNTIME_CONTAINER_H
#define VESSEL_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_create_opts {
        const char *root; /* state root, e.g. /run/vessel */
        const char *id;
        const char *bundle;         /* may be relative; made absolute */
        const char *pid_file;       /* NULL: none */
        const char *console_socket; /* NULL: none */
        bool no_pivot;
        int preserve_fds; /* fds 3..3+n-1 stay open in the container */
        /* Set by run in the foreground when process.terminal is true and no
         * console socket was given: the pty master comes back here. */
        int *console_master_out;
        /* Set by run: the exec fifo's read end comes back here, opened before
         * the init starts (see vs_container_run). */
        int *exec_fifo_out;
        /* run in the foreground: SIGINT/TERM/HUP/QUIT kill the container
         * instead of being forwarded (build steps: Ctrl-C cancels). */
        bool cancel_on_signal;
        /* The container's init is killed (SIGKILL, so its whole pid
         * namespace) when the calling process dies, even by kill -9: for
         * callers that own the container's whole life (build steps). */
        bool die_with_caller;
        /* VM isolation whatever the config says (vessel invoked as
         * vessel-vm); otherwise the annotation run.vessel.isolation=vm
         * selects it (docs/vm.md). */
        bool vm;
};

/* Creates the container: its init waits on the exec fifo afterwards.
 * On failure nothing is left (state dir, init process, cgroup, mounts). */
int vs_container_create(const struct vs_create_opts *o, pid_t *pid_out, vs_error **err);
/* Lets the init exec the user process; runs startContainer (in the init)
 * and poststart hooks. */
int vs_container_start(const char *root, const char *id, vs_error **err);
int vs_container_kill(const char *root, const char *id, int sig, bool all, vs_error **err);
int vs_container_delete(const char *root, const char *id, bool force, vs_error **err);
/* create + start; in the foreground waits, forwards signals, deletes the
 * container and stores the exit status (128+N when killed by signal N). */
int vs_container_run(const struct vs_create_opts *o, bool detach, int *exit_status, vs_error **err);

/* pause/resume through the freezer (v1 freezer.state, v2 cgroup.freeze). */
int vs_container_pause(const char *root, const char *id, vs_error **err);
int vs_container_resume(const char *root, const char *id, vs_error **err);
/* Applies res to the live cgroup (only the fields present). */
struct oci_resources;
int vs_container_update(const char *root, const char *id, const struct oci_resources *res,
                        vs_error **err);
/* Host pids of every process in the container. */
int vs_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, vs_error **err);
/* runc-events-shaped stats ({"type":"stats","id":..,"data":{...}}). */
struct json_object;
int vs_container_stats(const char *root, const char *id, struct json_object **out, vs_error **err);

struct oci_process;
struct vs_detach_keys;
struct vs_exec_opts {
        const char *root;
        const char *id;
        struct oci_process *process; /* complete: args, env, cwd, user, caps... */
        const char *console_socket;  /* with process->terminal */
        const char *pid_file;
        bool detach;
        int preserve_fds;
        const struct vs_detach_keys *detach_keys; /* NULL: none (foreground.h) */
        /* Called (unless NULL) once the process has started (its execve
         * done), before the foreground wait: engine exec -d's waiter. */
        void (*started)(void *arg, pid_t pid);
        void *started_arg;
};
/* Runs a process in every namespace and the cgroup of a running container,
 * with its seccomp profile, no_new_privs and capabilities unless the process
 * overrides them. In the foreground, waits and stores the exit status. */
int vs_container_exec(const struct vs_exec_opts *o, int *exit_status, vs_error **err);
/* The process of the container's config (as saved at create), for exec to
 * start from. */
int vs_container_process(const char *root, const char *id, struct oci_process **out,
                         vs_error **err);

/* "TERM", "SIGTERM", "15", "RTMIN+2" -> signal number; -1 when unknown. */
int vs_signal_from_name(const char *s);

#endif
