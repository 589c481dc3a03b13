/* Attach and logs (src/engine/attach.c, logs.c). Included by engine/engine.h (see there for the
 * layout of a container's directory). Strings and arrays returned through out-parameters are the
 * caller's to free unless a comment says otherwise. */
#ifndef VESSEL_ENGINE_ATTACH_H
#define VESSEL_ENGINE_ATTACH_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_engine;
struct vs_ctr;
struct vs_run_flags;

/* Attach protocol (src/engine/attach.c): frames of an 8-byte header
 * (type, 3 zero bytes, big-endian length) + payload. */
enum vs_frame_type {
        VS_FRAME_STDIN = 0,
        VS_FRAME_STDOUT = 1,
        VS_FRAME_STDERR = 2,
        VS_FRAME_EXIT = 3,      /* payload: exit code in decimal */
        VS_FRAME_STDIN_EOF = 4, /* client's stdin ended */
        VS_FRAME_RESIZE = 5,    /* payload: "rows cols" */
        VS_FRAME_SIGNAL = 6,    /* payload: signal number (a VM exec session) */
};
int vs_frame_write(int fd, enum vs_frame_type type, const void *data, size_t len);
/* Reads one frame; payload malloc'd (NUL-terminated). 0 on EOF, 1 on a frame. */
int vs_frame_read(int fd, enum vs_frame_type *type, char **data, size_t *len);
/* Connects to a running container's monitor. */
int vs_attach_connect(const struct vs_ctr *c, vs_error **err);
/* The client side of an attached session: copies stdout/stderr frames to
 * 1/2, stdin to the monitor when forward_stdin, forwards signals to the
 * container (runtime kill) and window size changes (tty); returns when the
 * monitor sends the exit frame or hangs up (*exit_code -1 then). */
int vs_attach_session(struct vs_engine *e, const struct vs_ctr *c, int fd, bool tty,
                      bool forward_stdin, int *exit_code, vs_error **err);
/* *exit_code after the user typed the detach keys (e->detach_keys, by
 * default ctrl-p ctrl-q) on a raw terminal: the container keeps running;
 * `attach` reattaches. */
#define VS_ATTACH_DETACHED (-2)
/* Docker's --detach-keys ("ctrl-p,ctrl-q", "a,ctrl-x": characters and
 * ctrl-@, ctrl-a..ctrl-z, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_) into
 * keys (VS_DETACH_KEYS_MAX bytes at most). */
#define VS_DETACH_KEYS_MAX 16
int vs_parse_detach_keys(const char *spec, char *keys, size_t *len, vs_error **err);

/* Logs (src/engine/logs.c). */
struct vs_log_opts {
        bool follow, timestamps;
        long tail;                  /* -1: all */
        int64_t since_ns, until_ns; /* lines' times, ns since the epoch; 0: no bound */
};
int vs_logs_print(struct vs_engine *e, struct vs_ctr *c, const struct vs_log_opts *o,
                  vs_error **err);

#endif
