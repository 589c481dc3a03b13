/* --network pasta (docs/rootless.md): the rootless engine's way to the
 * network. The container gets a network namespace of its own; pasta (from
 * Debian's passt) joins it, gives it a tap interface with the host's
 * addresses and routes, and forwards the published ports from the
 * network namespace the command was run in, as podman does for rootless
 * containers. pasta runs as the user (it drops to nobody in the user's
 * namespace), with what the user could do anyway: it needs the tun device,
 * which some hosts keep for root (mode 0600); then the run is refused
 * with that reason before anything is made. */
#include "engine/engine.h"
#include "engine/pasta.h"
#include "engine/rootless.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TUN "/dev/net/tun"

int vs_pasta_check(json_object *ports, vs_error **err)
{
        if (!vs_rootless())
                return vs_fail(err, "--network pasta: for the rootless engine (root's engine has "
                                    "bridge networks: --network bridge)");
        _cleanup_free_ char *pasta = vs_find_program("pasta");
        if (pasta == NULL)
                return vs_fail(err, "--network pasta: pasta not found on PATH (install Debian's "
                                    "passt package)");
        int fd = open(TUN, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err,
                                     "--network pasta: pasta needs %s, which this host does not "
                                     "open to unprivileged users",
                                     TUN);
        close(fd);
        json_object_object_foreach(ports, key, arr)
        {
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        json_object *b = json_object_array_get_idx(arr, i);
                        const char *hp =
                            json_object_get_string(json_object_object_get(b, "HostPort"));
                        if (hp == NULL || *hp == '\0')
                                return vs_fail(err,
                                               "-p %s: --network pasta needs a host port "
                                               "(HOSTPORT:%s)",
                                               key, key);
                }
        }
        return 0;
}

/* "-t"/"-u" arguments of pasta for the bindings of one protocol. */
static void port_args(json_object *ports, const char *proto, const char *flag, char ***argv)
{
        size_t before = strv_len(*argv);
        json_object_object_foreach(ports, key, arr)
        {
                const char *slash = strchr(key, '/');
                if (strcmp(slash ? slash + 1 : "tcp", proto) != 0)
                        continue;
                _cleanup_free_ char *cport =
                    slash ? xstrndup(key, (size_t) (slash - key)) : xstrdup(key);
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        json_object *b = json_object_array_get_idx(arr, i);
                        const char *ip =
                            json_object_get_string(json_object_object_get(b, "HostIp"));
                        const char *hp =
                            json_object_get_string(json_object_object_get(b, "HostPort"));
                        strv_push(argv, flag);
                        char *spec = xasprintf("%s%s%s:%s", ip && *ip ? ip : "",
                                               ip && *ip ? "/" : "", hp, cport);
                        strv_push(argv, spec);
                        free(spec);
                }
        }
        if (strv_len(*argv) == before) {
                strv_push(argv, flag);
                strv_push(argv, "none");
        }
}

static char *pid_path(const struct vs_ctr *c)
{
        return xasprintf("%s/pasta.pid", c->dir);
}

void vs_pasta_stop(const struct vs_ctr *c)
{
        _cleanup_free_ char *path = pid_path(c);
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_read_file(path, &text, NULL, &err) < 0)
                return;
        long pid = strtol(text, NULL, 10);
        char comm_path[64];
        snprintf(comm_path, sizeof(comm_path), "/proc/%ld/comm", pid);
        _cleanup_free_ char *comm = NULL;
        _cleanup_error_ vs_error *cerr = NULL;
        /* A recycled pid is left alone: only pasta (passt.avx2 once it
         * re-executed itself) is ended. */
        if (pid > 0 && vs_read_file(comm_path, &comm, NULL, &cerr) == 0 &&
            (strncmp(comm, "pasta", 5) == 0 || strncmp(comm, "passt", 5) == 0))
                kill((pid_t) pid, SIGTERM);
        unlink(path);
}

int vs_pasta_start(const struct vs_ctr *c, pid_t pid, vs_error **err)
{
        vs_pasta_stop(c);
        _cleanup_free_ char *pasta = vs_find_program("pasta");
        if (pasta == NULL)
                return vs_fail(err, "--network pasta: pasta not found on PATH");
        /* The namespace is opened here and handed over as /proc/self/fd/N:
         * pasta drops its capabilities before it opens a path, and then may
         * not open another process's namespace files. */
        char nspath[64];
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int) pid);
        _cleanup_close_ int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return vs_fail_errno(err, "--network pasta: cannot open %s", nspath);
        _cleanup_free_ char *pidfile = pid_path(c);
        char fdpath[64];
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", nsfd);
        _cleanup_strv_ char **argv = NULL;
        const char *fixed[] = {pasta,  "--config-net", "--quiet", "--netns",
                               fdpath, "--netns-only", "--pid",   pidfile,
                               "-T",   "none",         "-U",      "none"};
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                strv_push(&argv, fixed[i]);
        json_object *ports = json_object_object_get(c->host_config, "PortBindings");
        port_args(ports, "tcp", "-t", &argv);
        port_args(ports, "udp", "-u", &argv);
        _cleanup_free_ char *log = xasprintf("%s/pasta.log", c->dir);
        pid_t child = fork();
        if (child < 0)
                return vs_fail_errno(err, "--network pasta: fork");
        if (child == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                }
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull >= 0)
                        dup2(devnull, STDIN_FILENO);
                /* The monitor's signal state survives exec: it blocks
                 * SIGTERM and SIGCHLD (for its signalfd), so pasta never
                 * saw the SIGTERM that ends it; and it ignores SIGPIPE,
                 * which Debian's pasta (0.0~git20230309) takes for a
                 * failure (signal() returning the old SIG_IGN: "Couldn't
                 * install signal handlers"). pasta starts as from a shell. */
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                /* Nothing of the monitor's but the namespace: pasta stays in
                 * the background, and an inherited end of the monitor's
                 * status pipe would keep `run -d` waiting for its EOF. */
                syscall(SYS_close_range, 3u, ~0U, CLOSE_RANGE_CLOEXEC);
                int flags = fcntl(nsfd, F_GETFD);
                fcntl(nsfd, F_SETFD, flags & ~FD_CLOEXEC);
                execv(pasta, argv);
                _exit(127);
        }
        int status;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return vs_fail_errno(err, "--network pasta: waiting for pasta");
        /* pasta forks into the background once the namespace is set up. */
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                _cleanup_free_ char *why = NULL;
                _cleanup_error_ vs_error *rerr = NULL;
                vs_read_file(log, &why, NULL, &rerr);
                if (why)
                        why[strcspn(why, "\n")] = '\0';
                return vs_fail(err, "--network pasta: pasta failed (status %d)%s%s", status,
                               why && *why ? ": " : "", why ? why : "");
        }
        return 0;
}
