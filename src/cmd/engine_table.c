/* Engine commands (Docker-style front ends over src/engine). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "vm/vm.h"

int cmd_engine_run(int argc, char **argv);
int cmd_engine_create(int argc, char **argv);
int cmd_engine_start(int argc, char **argv);
int cmd_engine_attach(int argc, char **argv);
int cmd_engine_monitor(int argc, char **argv);
int cmd_engine_stop(int argc, char **argv);
int cmd_engine_restart(int argc, char **argv);
int cmd_engine_kill(int argc, char **argv);
int cmd_engine_pause(int argc, char **argv);
int cmd_engine_unpause(int argc, char **argv);
int cmd_engine_rm(int argc, char **argv);
int cmd_engine_wait(int argc, char **argv);
int cmd_engine_rename(int argc, char **argv);
int cmd_engine_ps(int argc, char **argv);
int cmd_engine_inspect(int argc, char **argv);
int cmd_engine_logs(int argc, char **argv);
int cmd_engine_top(int argc, char **argv);
int cmd_engine_stats(int argc, char **argv);
int cmd_engine_diff(int argc, char **argv);
int cmd_engine_exec(int argc, char **argv);
int cmd_engine_cp(int argc, char **argv);
int cmd_engine_commit(int argc, char **argv);
int cmd_engine_info(int argc, char **argv);
int cmd_vm(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_engine_version(int argc, char **argv);
int cmd_container(int argc, char **argv);
int cmd_volume(int argc, char **argv);
int cmd_engine_update(int argc, char **argv);
int cmd_engine_export(int argc, char **argv);

const struct vs_command vs_engine_commands[] = {
    {"run", cmd_engine_run, "run a command in a new container from an image"},
    {"create", cmd_engine_create, "create a container from an image (not started)"},
    {"start", cmd_engine_start, "start stopped or created containers"},
    {"stop", cmd_engine_stop, "stop containers (stop signal, then SIGKILL)"},
    {"restart", cmd_engine_restart, "stop then start containers"},
    {"kill", cmd_engine_kill, "send a signal to containers"},
    {"pause", cmd_engine_pause, "freeze every process of containers"},
    {"unpause", cmd_engine_unpause, "thaw paused containers"},
    {"rm", cmd_engine_rm, "remove containers"},
    {"ps", cmd_engine_ps, "list containers"},
    {"logs", cmd_engine_logs, "print a container's output"},
    {"attach", cmd_engine_attach, "attach to a running container's streams"},
    {"exec", cmd_engine_exec, "run a command in a running container"},
    {"inspect", cmd_engine_inspect, "print containers (or images) as JSON"},
    {"top", cmd_engine_top, "list a container's processes"},
    {"stats", cmd_engine_stats, "show containers' resource usage"},
    {"cp", cmd_engine_cp, "copy files between a container and the host"},
    {"wait", cmd_engine_wait, "wait for containers to stop; print their exit codes"},
    {"rename", cmd_engine_rename, "rename a container"},
    {"commit", cmd_engine_commit, "create an image from a container's changes"},
    {"diff", cmd_engine_diff, "list a container's filesystem changes"},
    {"info", cmd_engine_info, "show the configuration files in force and the settings"},
    {"vm", cmd_vm, "microVM backend: build or report the guest kernel"},
    {"network", cmd_network, "manage networks (create, ls, inspect, rm, prune)"},
    {"version", cmd_engine_version, "show the version"},
    {"container", cmd_container, "manage containers (every container command, and ls, prune)"},
    {"update", cmd_engine_update, "change containers' resource limits and restart policy"},
    {"export", cmd_engine_export, "write a container's filesystem as a tar archive"},
    {"volume", cmd_volume, "manage volumes (create, ls, inspect, rm, prune)"},
    {"monitor", cmd_engine_monitor, "(internal) supervise one container; started by run"},
    {NULL, NULL, NULL},
};

int vs_cmd_open_engine(struct vs_engine **e, vs_error **err)
{
        return vs_engine_open(vs_globals.data_root, vs_engine_runtime_root(), vs_globals.debug, e,
                              err);
}

int vs_cmd_running_ctr(const char *name, struct vs_engine **e, struct vs_ctr **ct, vs_error **err)
{
        if (vs_cmd_open_engine(e, err) < 0 || vs_ctr_resolve(*e, name, ct, err) < 0)
                return -1;
        vs_ctr_refresh(*e, *ct);
        if (!(*ct)->state.running)
                return vs_fail(err, "container %s is not running", (*ct)->name);
        /* exec and top work on the runtime's container, which a VM has not. */
        if (vs_ctr_is_vm(*ct))
                return vs_fail(err,
                               "container %s runs in a VM (--isolation=vm): not supported "
                               "for VM containers yet",
                               (*ct)->name);
        return 0;
}
