/* The monitor's I/O: the container's streams (pipes or a pty master), the
 * JSON-lines log, the attach socket and its clients. Internal to the
 * engine (monitor.c). */
#ifndef VESSEL_ENGINE_MONITOR_IO_H
#define VESSEL_ENGINE_MONITOR_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define VS_MON_MAX_CLIENTS 8
#define VS_MON_LINE_MAX    16384 /* a longer line is logged in parts, as Docker does */

struct vs_mon_client {
        int fd;
        bool stdin_owner; /* its stdin EOF closes the container's stdin (StdinOnce) */
};

struct vs_mon_line {
        char *buf; /* allocated while a partial line is pending */
        size_t len;
};

struct vs_mon_io {
        int devnull;
        int log_fd;
        /* Rotation (Docker's max-size/max-file): past log_max_size bytes,
         * container.log becomes container.log.1, .1 becomes .2, ...; at
         * most log_max_file files in all. log_max_size 0: no rotation. */
        char *log_path;
        long long log_size, log_max_size;
        int log_max_file;
        int listen_fd;
        int out_fd, err_fd; /* read ends; with a tty, out_fd is the master */
        int in_fd;          /* the container's stdin (pipe write end or master) */
        int master;         /* pty master, -1 without a tty */
        bool stdin_once;
        struct vs_mon_line lines[2];
        struct vs_mon_client clients[VS_MON_MAX_CLIENTS];
        size_t n_clients;
        char *pending; /* stdin bytes the container has not taken yet */
        size_t pending_len, pending_off;
        char *sock_path;
        pid_t signal_pid; /* > 0: a VM launcher, which takes clients' signals */
};

/* Opens the log (append) and the attach socket in dir. */
int vs_mon_io_init(struct vs_mon_io *io, const char *dir, const char *log_path, bool stdin_once,
                   vs_error **err);
void vs_mon_io_free(struct vs_mon_io *io);
void vs_mon_io_set_log_rotation(struct vs_mon_io *io, long long max_size, int max_file);
void vs_mon_io_close_listener(struct vs_mon_io *io);
/* New streams for one incarnation. The child ends come back to be
 * installed as the init's 0/1/2 (without a tty), then closed. */
int vs_mon_io_open(struct vs_mon_io *io, bool tty, bool open_stdin, int *in_r, int *out_w,
                   int *err_w, vs_error **err);
void vs_mon_io_close_child_ends(int *in_r, int *out_w, int *err_w);
void vs_mon_io_set_master(struct vs_mon_io *io, int master);
/* Flushes partial lines, closes this incarnation's streams. */
void vs_mon_io_close_streams(struct vs_mon_io *io);
void vs_mon_io_add_client(struct vs_mon_io *io, int fd, bool stdin_owner);

#define VS_MON_SIGNAL 1
/* One round of poll over everything (plus sfd); handles the I/O; returns
 * VS_MON_SIGNAL when sfd is readable. timeout_ms -1: no timeout. */
int vs_mon_io_poll(struct vs_mon_io *io, int sfd, int timeout_ms);
/* Reads the streams until EOF, or for at most timeout_ms (0: what is
 * there now). */
void vs_mon_io_drain(struct vs_mon_io *io, int timeout_ms);
/* Sends the exit frame to every client and disconnects them. */
void vs_mon_io_send_exit(struct vs_mon_io *io, int exit_code);

/* One log line as JSON ({"log":..,"stream":..,"time":..}\n) into a new
 * buffer; *len its length. */
char *vs_log_line_json(const char *data, size_t n, const char *stream, size_t *len);

#endif
