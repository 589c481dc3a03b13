/* Container consoles: a pty from the container's own devpts, its master
 * handed over a unix socket with SCM_RIGHTS (runc's --console-socket). */
#ifndef VESSEL_RUNTIME_TERMINAL_H
#define VESSEL_RUNTIME_TERMINAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_rootfs_ctx;

/* Connects to the console socket path. Returns the fd. */
int vs_console_socket_connect(const char *path, vs_error **err);
/* In the container after pivot: opens /dev/ptmx, binds the peer onto
 * /dev/console (with console: the init's root, not exec's), sends the master
 * over sockfd, makes the peer stdio and (when set_ctty; exec leaves that to
 * the process the exec stub forks) the controlling terminal of a new
 * session. */
int vs_terminal_setup(int rootfd, int sockfd, struct vs_rootfs_ctx *console, bool set_ctty,
                      bool set_size, uint16_t rows, uint16_t cols, vs_error **err);
/* Where a container's pty master goes: the given console socket, or, with
 * none, one end of a socketpair (*console, for the container) whose other
 * end (*peer) the runtime receives it on. */
int vs_console_open(const char *console_socket, int *console, int *peer, vs_error **err);
int vs_send_fd(int sockfd, int fd, const char *name, vs_error **err);
int vs_recv_fd(int sockfd, vs_error **err);
/* Puts a tty stdin into raw mode (restored at exit) and gives the pty its
 * size; vs_foreground_wait then copies stdin and stdout through it. */
int vs_terminal_proxy_start(int master, vs_error **err);
void vs_terminal_resize_from_stdin(int master);
/* Detach keys (ctrl-p ctrl-q by default) in the bytes read from a raw
 * terminal: true when they were typed (buf keeps what came before them).
 * A prefix of the keys is held back (*matched of them) until the next
 * bytes tell; when they are not the rest, it goes on with them. At most
 * VS_TERMINAL_KEYS_MAX keys. */
#define VS_TERMINAL_KEYS_MAX 16
bool vs_detach_keys_scan(const char *keys, size_t nkeys, char *buf, ssize_t *n, size_t *matched);

#endif
