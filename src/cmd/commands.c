/* The command table: every command of both command sets, one row each
 * (git's and kvmtool's pattern). `vessel help`, `vessel --help`, the group
 * commands' help (`vessel image`) and docs/cli.md's command list are
 * generated from it. How to add a command: docs/cli.md. */
#include "cmd/cmd.h"
#include "cmd/image_cmd.h"

#include <stdio.h>
#include <string.h>

#define E VS_CMD_ENGINE
#define R VS_CMD_RUNTIME
#define H VS_CMD_HIDDEN

/* A name with a space is a subcommand of the group named by its first
 * word (whose handler is vs_cmd_group). Rows in the order help lists them. */
const struct vs_command vs_commands[] = {
    /* Engine: containers. */
    {"run", cmd_engine_run, E, "run a command in a new container from an image"},
    {"create", cmd_engine_create, E, "create a container from an image (not started)"},
    {"start", cmd_engine_start, E, "start stopped or created containers"},
    {"stop", cmd_engine_stop, E, "stop containers (stop signal, then SIGKILL)"},
    {"restart", cmd_engine_restart, E, "stop then start containers"},
    {"kill", cmd_engine_kill, E, "send a signal to containers"},
    {"pause", cmd_engine_pause, E, "freeze every process of containers"},
    {"unpause", cmd_engine_unpause, E, "thaw paused containers"},
    {"rm", cmd_engine_rm, E, "remove containers"},
    {"ps", cmd_engine_ps, E, "list containers"},
    {"logs", cmd_engine_logs, E, "print a container's output"},
    {"attach", cmd_engine_attach, E, "attach to a running container's streams"},
    {"exec", cmd_engine_exec, E, "run a command in a running container"},
    {"inspect", cmd_engine_inspect, E, "print containers (or images) as JSON"},
    {"top", cmd_engine_top, E, "list a container's processes"},
    {"checkpoint", cmd_engine_checkpoint, E, "save a running VM container's whole state"},
    {"restore", cmd_engine_restore, E, "start a VM container again from its checkpoint"},
    {"stats", cmd_engine_stats, E, "show containers' resource usage"},
    {"cp", cmd_engine_cp, E, "copy files between a container and the host"},
    {"wait", cmd_engine_wait, E, "wait for containers to stop; print their exit codes"},
    {"rename", cmd_engine_rename, E, "rename a container"},
    {"commit", cmd_engine_commit, E, "create an image from a container's changes"},
    {"build", cmd_build, E, "build an image from a Dockerfile"},
    {"builder", vs_cmd_group, E, "manage the build cache (prune)"},
    {"builder prune", cmd_builder_prune, E, "remove build cache entries no named image uses"},
    {"diff", cmd_engine_diff, E, "list a container's filesystem changes"},
    {"info", cmd_engine_info, E, "show the configuration files in force and the settings"},
    {"vm", cmd_vm, E, "microVM backend: build or report the guest kernel"},
    {"port", cmd_engine_port, E, "list a container's published ports"},
    {"unshare", cmd_engine_unshare, E,
     "run a command in the rootless engine's user and mount namespaces"},
    {"update", cmd_engine_update, E, "change containers' resource limits and restart policy"},
    {"export", cmd_engine_export, E, "write a container's filesystem as a tar archive"},
    {"version", cmd_engine_version, E, "show the version"},
    {"bench", cmd_bench, E, "measure native, container and VM overhead on this machine"},
    {"events", cmd_engine_events, E, "print the engine's events (Docker's shape; follows)"},
    {"monitor", cmd_engine_monitor, E | H, "supervise one container; started by run"},
    {"bench-worker", cmd_bench_worker, E | H,
     "the workloads of vessel bench (docs/bench-suites.md)"},
    /* Engine: Docker's container group (every container command again). */
    {"container", vs_cmd_group, E, "manage containers (every container command, and ls, prune)"},
    {"container ls", cmd_engine_ps, E, "list containers"},
    {"container list", cmd_engine_ps, E | H, "list containers"},
    {"container ps", cmd_engine_ps, E | H, "list containers"},
    {"container prune", cmd_container_prune, E, "remove every stopped container"},
    {"container attach", cmd_engine_attach, E, "attach to a running container's streams"},
    {"container commit", cmd_engine_commit, E, "create an image from a container's changes"},
    {"container cp", cmd_engine_cp, E, "copy files between a container and the host"},
    {"container create", cmd_engine_create, E, "create a container from an image (not started)"},
    {"container diff", cmd_engine_diff, E, "list a container's filesystem changes"},
    {"container exec", cmd_engine_exec, E, "run a command in a running container"},
    {"container inspect", cmd_engine_inspect, E, "print containers (or images) as JSON"},
    {"container kill", cmd_engine_kill, E, "send a signal to containers"},
    {"container logs", cmd_engine_logs, E, "print a container's output"},
    {"container pause", cmd_engine_pause, E, "freeze every process of containers"},
    {"container rename", cmd_engine_rename, E, "rename a container"},
    {"container restart", cmd_engine_restart, E, "stop then start containers"},
    {"container rm", cmd_engine_rm, E, "remove containers"},
    {"container run", cmd_engine_run, E, "run a command in a new container from an image"},
    {"container start", cmd_engine_start, E, "start stopped or created containers"},
    {"container stats", cmd_engine_stats, E, "show containers' resource usage"},
    {"container stop", cmd_engine_stop, E, "stop containers (stop signal, then SIGKILL)"},
    {"container top", cmd_engine_top, E, "list a container's processes"},
    {"container unpause", cmd_engine_unpause, E, "thaw paused containers"},
    {"container update", cmd_engine_update, E,
     "change containers' resource limits and restart policy"},
    {"container wait", cmd_engine_wait, E, "wait for containers to stop; print their exit codes"},
    {"container export", cmd_engine_export, E, "write a container's filesystem as a tar archive"},
    {"container port", cmd_engine_port, E, "list a container's published ports"},
    /* Engine: volumes. */
    {"volume", vs_cmd_group, E, "manage volumes (create, ls, inspect, rm, prune)"},
    {"volume create", cmd_volume_create, E, "create a named volume"},
    {"volume ls", cmd_volume_ls, E, "list volumes"},
    {"volume list", cmd_volume_ls, E | H, "list volumes"},
    {"volume inspect", cmd_volume_inspect, E, "print volumes as JSON"},
    {"volume rm", cmd_volume_rm, E, "remove volumes"},
    {"volume remove", cmd_volume_rm, E | H, "remove volumes"},
    {"volume prune", cmd_volume_prune, E, "remove volumes no container uses"},
    /* Engine: networks. */
    {"network", vs_cmd_group, E,
     "manage networks (create, ls, inspect, rm, prune, connect, disconnect)"},
    {"network create", cmd_network_create, E, "create a network"},
    {"network ls", cmd_network_ls, E, "list networks"},
    {"network list", cmd_network_ls, E | H, "list networks"},
    {"network inspect", cmd_network_inspect, E, "print networks as JSON"},
    {"network rm", cmd_network_rm, E, "remove networks"},
    {"network remove", cmd_network_rm, E | H, "remove networks"},
    {"network prune", cmd_network_prune, E, "remove unused networks and stale endpoints"},
    {"network connect", cmd_network_connect, E, "connect a container to a network"},
    {"network disconnect", cmd_network_disconnect, E, "disconnect a container from a network"},
    {"network check", cmd_network_check, E, "CNI CHECK of a container's network"},
    /* Engine: images. */
    {"images", cmd_images, E, "list images"},
    {"image", vs_cmd_group, E, "manage images (ls, rm, tag, inspect, history, load, save, ...)"},
    {"image ls", cmd_images, E, "list images"},
    {"image list", cmd_images, E | H, "list images"},
    {"image rm", cmd_rmi, E, "remove images"},
    {"image remove", cmd_rmi, E | H, "remove images"},
    {"image tag", cmd_tag, E, "give an image another name"},
    {"image inspect", cmd_image_inspect, E, "print images' details as JSON"},
    {"image history", cmd_history, E, "show how an image was made"},
    {"image load", cmd_load, E, "load images from an archive"},
    {"image save", cmd_save, E, "save images to an archive"},
    {"image import", cmd_import, E, "make an image from a root filesystem tarball"},
    {"image pull", cmd_pull, E, "copy an image from a registry or an OCI layout"},
    {"image push", cmd_push, E, "upload an image to a registry"},
    {"image prune", cmd_image_prune, E, "remove untagged images no container uses"},
    {"tag", cmd_tag, E, "give an image another name"},
    {"rmi", cmd_rmi, E, "remove images"},
    {"history", cmd_history, E, "show how an image was made, layer by layer"},
    {"load", cmd_load, E, "load images from a docker-archive or oci-archive"},
    {"save", cmd_save, E, "save images to a docker-archive or oci-archive"},
    {"import", cmd_import, E, "make an image from a root filesystem tarball"},
    {"pull", cmd_pull, E, "copy an image from a registry, or an OCI layout (oci:PATH[:TAG])"},
    {"push", cmd_push, E, "upload an image to a registry"},
    {"login", cmd_login, E, "store credentials for a registry"},
    {"logout", cmd_logout, E, "remove stored credentials for a registry"},
    {"system", vs_cmd_group, E, "check the image store, or remove what no image uses"},
    {"system check", cmd_system_check, E, "verify the image store (exit status 1: problems)"},
    {"system prune", cmd_system_prune, E, "image prune, then unused blobs, layers, leftovers"},
    {"system config", vs_cmd_system_config, E, "validate a configuration file"},
    {"system df", vs_cmd_system_df, E, "disk used by images, containers and volumes"},
    {"system events", cmd_engine_events, E | H, "print the engine's events"},
    {"help", vs_cmd_help, E | R, "print the commands (help COMMAND: its options)"},
    /* Runtime (runc's command set). */
    {"spec", cmd_spec, R, "write a default config.json into the bundle"},
    {"create", cmd_create, R, "create a container from a bundle (stopped before the user process)"},
    {"start", cmd_start, R, "run the user process of a created container"},
    {"run", cmd_run, R, "create and start a container"},
    {"state", cmd_state, R, "print the runtime-spec state of a container"},
    {"kill", cmd_kill, R, "send a signal to a container's init (or all its processes)"},
    {"delete", cmd_delete, R, "delete a container and its state"},
    {"list", cmd_list, R, "list the containers under the state root"},
    {"exec", cmd_exec, R, "run a new process inside a running container"},
    {"pause", cmd_pause, R, "freeze every process of a container"},
    {"resume", cmd_resume, R, "thaw a paused container"},
    {"update", cmd_update, R, "change the resource limits of a running container"},
    {"ps", cmd_ps, R, "list the processes of a container"},
    {"events", cmd_events, R, "print container statistics and OOM events as JSON"},
    {"features", cmd_features, R, "print the runtime-spec features document"},
    {NULL, NULL, 0, NULL},
};

static unsigned mode_bit(enum vs_mode mode)
{
        return mode == VS_MODE_ENGINE ? VS_CMD_ENGINE : VS_CMD_RUNTIME;
}

const struct vs_command *vs_command_find(const char *name, enum vs_mode mode)
{
        for (const struct vs_command *c = vs_commands; c->name; c++)
                if ((c->mode & mode_bit(mode)) && strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

/* The rows of one command set (group NULL: the top level; else the
 * subcommands of group), hidden ones left out. */
static void list(FILE *out, enum vs_mode mode, const char *group, bool markdown)
{
        size_t glen = group ? strlen(group) : 0;
        for (const struct vs_command *c = vs_commands; c->name; c++) {
                if (!(c->mode & mode_bit(mode)) || (c->mode & VS_CMD_HIDDEN))
                        continue;
                const char *sp = strchr(c->name, ' ');
                if (group ? !(sp && (size_t) (sp - c->name) == glen &&
                              strncmp(c->name, group, glen) == 0)
                          : sp != NULL)
                        continue;
                const char *shown = group ? sp + 1 : c->name;
                if (markdown)
                        fprintf(out, "| `%s` | %s |\n", c->name, c->summary);
                else
                        fprintf(out, "  %-10s %s\n", shown, c->summary);
        }
}

void vs_cmd_usage(FILE *out)
{
        fprintf(out, "Usage: vessel [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
                     "Containers from images, and an OCI runtime.\n\nCommands:\n");
        list(out, VS_MODE_ENGINE, NULL, false);
        fprintf(out, "\nOCI runtime commands (runc-compatible; `vessel runtime CMD`, or any runc\n"
                     "global option, selects them where the engine has the same name):\n");
        list(out, VS_MODE_RUNTIME, NULL, false);
        fprintf(out,
                "\nGlobal options:\n"
                "  --root DIR              state root (default " VESSEL_DEFAULT_ROOT ")\n"
                "  --log FILE              write logs and errors to FILE\n"
                "  --log-format text|json  format of the --log file (default text)\n"
                "  --debug                 log debug messages\n"
                "  --systemd-cgroup        accepted for runc compatibility\n"
                "  --data-root DIR         engine data (default /var/lib/vessel, or $VESSEL_ROOT)\n"
                "  --config FILE           configuration file instead of the user's (or\n"
                "                          $VESSEL_CONFIG); see docs/configuration.md\n"
                "  --version, -v           print the version\n"
                "  --help, -h              print this help\n\n"
                "Run 'vessel COMMAND --help' for a command's options.\n");
}

/* vessel help [--markdown | --names | COMMAND...]: the command list
 * (--markdown: the tables of docs/cli.md; --names: the engine's command
 * names, one a line, for scripts/gen-cli-docs.sh), or COMMAND's --help. */
int vs_cmd_help(int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "--names") == 0) {
                for (const struct vs_command *c = vs_commands; c->name; c++)
                        if ((c->mode & VS_CMD_ENGINE) && !(c->mode & VS_CMD_HIDDEN) &&
                            c->fn != vs_cmd_help)
                                printf("%s\n", c->name);
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "--markdown") == 0) {
                printf("### Engine commands\n\n| command | what it does |\n|---|---|\n");
                list(stdout, VS_MODE_ENGINE, NULL, true);
                for (const struct vs_command *c = vs_commands; c->name; c++)
                        if (c->fn == vs_cmd_group)
                                list(stdout, VS_MODE_ENGINE, c->name, true);
                printf("\n### Runtime commands\n\n| command | what it does |\n|---|---|\n");
                list(stdout, VS_MODE_RUNTIME, NULL, true);
                return 0;
        }
        if (argc < 2 || strcmp(argv[1], "--help") == 0) {
                vs_cmd_usage(stdout);
                return 0;
        }
        const struct vs_command *c = vs_command_find(argv[1], vs_globals.mode);
        if (c == NULL || c->fn == vs_cmd_help)
                return vs_usage_error("help", "unknown command '%s'", argv[1]);
        char *sub[4] = {argv[1], argc > 2 ? argv[2] : "--help", argc > 2 ? "--help" : NULL, NULL};
        return c->fn(argc > 2 ? 3 : 2, sub);
}

/* A group (image, network, system): argv[1] names the subcommand. */
int vs_cmd_group(int argc, char **argv)
{
        const char *group = argv[0];
        if (argc < 2 || strcmp(argv[1], "--help") == 0) {
                FILE *out = argc < 2 ? stderr : stdout;
                fprintf(out, "Usage: vessel %s COMMAND [OPTIONS]\n\nCommands:\n", group);
                list(out, vs_globals.mode, group, false);
                fprintf(out, "\nRun 'vessel %s COMMAND --help' for a command's options.\n", group);
                return argc < 2 ? vs_usage_status() : 0;
        }
        char name[64];
        snprintf(name, sizeof(name), "%s %s", group, argv[1]);
        const struct vs_command *c = vs_command_find(name, vs_globals.mode);
        if (c == NULL)
                return vs_usage_error(group, "unknown command '%s'", argv[1]);
        return c->fn(argc - 1, argv + 1);
}
