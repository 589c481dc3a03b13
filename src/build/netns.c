/* RUN on a bridge network (--network bridge|NAME): the step's network
 * namespace is made beforehand by a small holder process, the step gets a
 * lease on the network under its runtime container id and is wired in by
 * the network code (src/net: bridge, veth, address, NAT), then the runtime
 * joins that namespace by path. After the step the lease is released and
 * the holder ends (with it the namespace and the veth). A killed build's
 * lease is released by step_reap_stale (the id is in the scratch dir). */
#include "build/internal.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

bool build_net_bridged(const char *network)
{
        return network && strcmp(network, "none") != 0 && strcmp(network, "host") != 0;
}

int build_net_open(const char *data_root, const char *network, const char *dir, const char *id,
                   struct build_net *bn, vs_error **err)
{
        memset(bn, 0, sizeof(*bn));
        if (vs_net_check(data_root, network, NULL, NULL, err) < 0)
                return -1;
        int ready[2], hold[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot make a pipe");
        if (pipe2(hold, O_CLOEXEC) < 0) {
                close(ready[0]);
                close(ready[1]);
                return vs_fail_errno(err, "cannot make a pipe");
        }
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
                close(ready[0]);
                close(hold[1]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                char c = getppid() == parent && unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
                if (write(ready[1], &c, 1) != 1 || c != 'y')
                        _exit(1);
                /* Until the build closes its end. */
                while (read(hold[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        char c = 'n';
        ssize_t n = pid < 0 ? -1 : read(ready[0], &c, 1);
        close(ready[0]);
        bn->holder = pid;
        bn->hold_fd = hold[1];
        bn->data_root = data_root;
        if (pid < 0 || n != 1 || c != 'y') {
                build_net_close(bn);
                return vs_fail(err, "cannot make a network namespace for the step");
        }
        bn->ns_path = xasprintf("/proc/%d/ns/net", (int) pid);
        bn->ctr_id = xstrdup(id);
        _cleanup_free_ char *hosts = xasprintf("%s/hosts", dir);
        if (vs_write_file_atomic(hosts, "", 0, 0644, err) < 0)
                goto fail;
        struct vs_net_endpoint_opts o = {
            .network = network,
            .ctr_id = id,
            .ctr_name = id,
            .hostname = "buildkitsandbox",
            .hosts_path = hosts,
        };
        if (vs_net_lease(data_root, &o, err) < 0)
                goto fail;
        bn->leased = true;
        if (vs_net_attach(data_root, id, pid, err) < 0)
                goto fail;
        return 0;
fail:
        vs_error_wrap(err, "--network %s", network);
        build_net_close(bn);
        return -1;
}

void build_net_close(struct build_net *bn)
{
        if (bn->leased) {
                _cleanup_error_ vs_error *e = NULL;
                vs_net_release(bn->data_root, bn->ctr_id, &e);
        }
        if (bn->hold_fd > 0)
                close(bn->hold_fd);
        if (bn->holder > 0) {
                kill(bn->holder, SIGKILL);
                while (waitpid(bn->holder, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        free(bn->ns_path);
        free(bn->ctr_id);
        memset(bn, 0, sizeof(*bn));
}
