/* vessel unshare [COMMAND [ARG...]]: runs a command in the rootless
 * engine's user and mount namespaces (podman unshare), where the user is
 * root over the files of its data root and sees its containers' mounts.
 * main() has joined the namespaces already (docs/rootless.md). */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "engine/rootless.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_engine_unshare(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {
            "unshare",
            "[COMMAND [ARG...]]",
            "Run COMMAND (default $SHELL) in the rootless engine's user and mount namespaces, "
            "as root over the user's data root. For an unprivileged user only.",
            opts,
            0,
            0,
        };
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (!vs_rootless()) {
                fprintf(stderr, "vessel: unshare: only an unprivileged user's engine has "
                                "namespaces to enter (root's engine runs on the host)\n");
                return 125;
        }
        setenv("VESSEL_ROOT", vs_rootless_data_dir(), 0);
        const char *shell = getenv("SHELL");
        char *sh_argv[] = {(char *) (shell && *shell ? shell : "/bin/sh"), NULL};
        char **cmd = first < argc ? argv + first : sh_argv;
        execvp(cmd[0], cmd);
        fprintf(stderr, "vessel: unshare: cannot run %s: %s\n", cmd[0], strerror(errno));
        return errno == ENOENT ? 127 : 126;
}
