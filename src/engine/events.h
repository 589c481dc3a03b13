/* The engine's event log (src/engine/events.c): Docker's events without a
 * daemon. Every command that changes an object appends one JSON line to
 * <data-root>/events.log (docs/engine.md, "Events"); `vessel events` reads
 * and follows it. Included by engine/engine.h. */
#ifndef VESSEL_ENGINE_EVENTS_H
#define VESSEL_ENGINE_EVENTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_engine;
struct vs_ctr;

#define VS_EVENTS_LOG "events.log"
/* Past this size the log is renamed to events.log.1 (the one before is
 * dropped) by the writer that finds it so. */
#define VS_EVENTS_MAX_SIZE (4 << 20)

/* Appends one event (Docker's JSON shape: status, id, from, Type, Action,
 * Actor{ID, Attributes}, scope, time, timeNano). attrs: "key", "value",
 * ..., NULL (a NULL value skips its key); the attributes are taken over
 * when extra is not NULL (an object: more attributes). Never fails the
 * caller: a log that cannot be written is a warning. */
void vs_event_log(const char *data_root, const char *type, const char *action, const char *id,
                  json_object *extra, ...) __attribute__((sentinel));
/* A container's event: Docker's attributes (image, name, the labels) and
 * key/value (may be NULL). */
void vs_ctr_event(struct vs_engine *e, const struct vs_ctr *c, const char *action, const char *key,
                  const char *value);

/* An image event (the store's event hook, image.h: arg is the data root):
 * Docker's Type image, Actor.ID id, attributes the image's labels (may be
 * NULL) and name. */
void vs_image_event(void *data_root, const char *action, const char *id, const char *name,
                    json_object *labels);
/* A network event: Docker's Type network, Actor.ID the network's id,
 * attributes name, type (the driver) and, for connect and disconnect,
 * container (its id). */
void vs_network_event(const char *data_root, const char *action, const char *id, const char *name,
                      const char *container);
/* exec_create, exec_start (Docker's action names carry the command:
 * "exec_start: sh -c ...") and exec_die (exitCode) of container c, with
 * the attribute execID. */
void vs_exec_event(struct vs_engine *e, const struct vs_ctr *c, const char *action,
                   const char *exec_id, char *const *argv, const char *exit_code);

/* Reading (`vessel events`). One event at a time, in the order written. */
struct vs_events_reader {
        char *path, *old_path; /* events.log, events.log.1 */
        int fd;
        dev_t dev;
        ino_t ino;
        char *buf; /* an unfinished line */
        size_t len, cap;
        int inotify_fd;
};
/* Opens the log: from_start reads events.log.1 then events.log from their
 * beginning (--since), else only what is appended from now on. */
int vs_events_open(struct vs_events_reader *r, const char *data_root, bool from_start,
                   vs_error **err);
/* The next whole event (caller puts) into *out: 1; 0 when none is there
 * yet (wait with vs_events_wait). Lines that are not JSON (a line cut by
 * a crash) are skipped. */
int vs_events_next(struct vs_events_reader *r, json_object **out, vs_error **err);
/* Waits up to timeout_ms for the log to grow (or be rotated). */
void vs_events_wait(struct vs_events_reader *r, int timeout_ms);
void vs_events_close(struct vs_events_reader *r);

#endif
