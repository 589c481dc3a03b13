#include "runtime/sync.h"
#include "runtime/terminal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int vs_sync_send(int fd, int type, int value, const char *text)
{
        struct vs_sync_msg m = {.type = type, .value = value};
        if (text)
                snprintf(m.text, sizeof(m.text), "%s", text);
        ssize_t n;
        do
                n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n == (ssize_t) sizeof(m) ? 0 : -1;
}

int vs_sync_recv(int fd, struct vs_sync_msg *m)
{
        ssize_t n;
        /* A peer that exits with messages of ours unread leaves ECONNRESET
         * pending, reported before what it sent us (its SYNC_ERROR): the
         * error is cleared by being reported, so read on. */
        do
                n = recv(fd, m, sizeof(*m), 0);
        while (n < 0 && (errno == EINTR || errno == ECONNRESET));
        if (n == 0) {
                errno = 0;
                return -1;
        }
        if (n > 0 && n < (ssize_t) sizeof(m->text)) {
                /* Plain text: the exec stub reporting a failed exec. */
                char text[sizeof(m->text)];
                memcpy(text, m, (size_t) n);
                text[n] = '\0';
                m->type = SYNC_ERROR;
                m->value = 0;
                memcpy(m->text, text, (size_t) n + 1);
                return 0;
        }
        if (n != (ssize_t) sizeof(*m)) {
                if (n > 0)
                        errno = EPROTO;
                return -1;
        }
        m->text[sizeof(m->text) - 1] = '\0';
        return 0;
}

void vs_sync_send_error(int fd, vs_error *err)
{
        vs_sync_send(fd, SYNC_ERROR, err ? err->errno_ : 0,
                     err ? err->msg : "container init failed");
}

int vs_sync_open_channels(bool terminal, const char *console_socket, int *console,
                          int *console_peer, int *sync_fd, int *child_sync, vs_error **err)
{
        if (terminal && vs_console_open(console_socket, console, console_peer, err) < 0)
                return -1;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return vs_fail_errno(err, "cannot create the sync socket");
        *sync_fd = sv[0];
        *child_sync = sv[1];
        return 0;
}
