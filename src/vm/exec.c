/* `vessel exec` into a running VM container: the request goes to the
 * container's VM launcher over <container dir>/vm.sock, which opens a
 * session on the guest agent's control channel (guest/proto.h); the
 * session's frames are the engine's attach frames, so the client side is
 * the attach session's. */
#include "vm/vm.h"
#include "../guest/proto.h"
#include "engine/engine.h"
#include "oci/config.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_launcher(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_close_ int dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return vs_fail_errno(err, "container %s: cannot open %s", c->name, c->dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" VS_VM_EXEC_SOCK, dirfd);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create a socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                if (e == ENOENT || e == ECONNREFUSED)
                        return vs_fail(err,
                                       "container %s: its VM is still booting or has "
                                       "ended (no %s/" VS_VM_EXEC_SOCK ")",
                                       c->name, c->dir);
                errno = e;
                return vs_fail_errno(err, "container %s: cannot reach its VM launcher", c->name);
        }
        return fd;
}

int vs_vm_exec(struct vs_engine *e, const struct vs_ctr *c, const struct oci_config *cfg,
               const struct oci_process *proc, bool interactive, bool detach, int *status,
               vs_error **err)
{
        _cleanup_free_ char *payload = NULL;
        size_t len = 0;
        if (vs_vm_exec_payload(c, cfg, proc, interactive && !detach, &payload, &len, err) < 0)
                return -1;
        _cleanup_close_ int fd = connect_launcher(c, err);
        if (fd < 0)
                return -1;
        if (vs_frame_write(fd, (enum vs_frame_type) VS_VM_EXEC, payload, len) < 0)
                return vs_fail_errno(err, "container %s: cannot send the exec request", c->name);
        *status = 0;
        if (detach)
                return 0; /* the session runs on without a client */
        int code = -1;
        if (vs_attach_session(e, c, fd, proc->terminal, interactive, &code, err) < 0)
                return -1;
        /* The launcher hung up without an exit code: the VM ended and took
         * the process with it, as a container's end kills its execs. */
        *status = code < 0 ? 137 : code;
        return 0;
}
