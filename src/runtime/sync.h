/* Messages between the runtime (parent) and the container init (child)
 * over a SOCK_SEQPACKET socketpair. Internal to src/runtime. */
#ifndef VESSEL_RUNTIME_SYNC_H
#define VESSEL_RUNTIME_SYNC_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

enum vs_sync_type {
        SYNC_GO = 1,     /* P->C: mappings written, cgroup joined; carries the host pid */
        SYNC_CGROUP,     /* P->C: the init is in its cgroups */
        SYNC_HOOKS,      /* C->P: namespaces and mounts ready: run prestart/createRuntime */
        SYNC_HOOKS_DONE, /* P->C */
        SYNC_CREATED,    /* C->P: about to wait on the exec fifo */
        SYNC_ERROR,      /* C->P: text is the error message */
};

struct vs_sync_msg {
        int type;
        int value;
        char text[3072];
};

int vs_sync_send(int fd, int type, int value, const char *text);
/* Returns 0, or -1 with errno (0 on EOF: the peer is gone). */
int vs_sync_recv(int fd, struct vs_sync_msg *m);
/* Child side: report err to the parent. */
void vs_sync_send_error(int fd, vs_error *err);

/* The channels of a process the runtime starts (create's init, exec's
 * process): the sync socketpair (*sync_fd the parent's end, *child_sync the
 * child's) and, when terminal, the console (vs_console_open: *console for
 * the child, *console_peer to receive the master on). Each fd the caller's
 * to close, -1 when not made; on an error the ones made are still set. */
int vs_sync_open_channels(bool terminal, const char *console_socket, int *console,
                          int *console_peer, int *sync_fd, int *child_sync, vs_error **err);

#endif
