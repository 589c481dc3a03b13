/* Shared by the engine's command front ends. */
#ifndef VESSEL_CMD_ENGINE_CMD_H
#define VESSEL_CMD_ENGINE_CMD_H

#include "engine/engine.h"
#include "util/error.h"

/* The engine at --data-root / $VESSEL_ROOT with its runtime root. */
int vs_cmd_open_engine(struct vs_engine **e, vs_error **err);
/* Opens the engine and resolves name (or id prefix) to a container that is
 * running: "container NAME is not running" otherwise. */
int vs_cmd_running_ctr(const char *name, struct vs_engine **e, struct vs_ctr **ct, vs_error **err);

/* A Go duration ("5s", "1m30s", "500ms"; src/cmd/events.c): false when
 * malformed or not positive. */
bool vs_parse_go_duration(const char *s, int64_t *ns_out);

/* Docker's --since/--until value (an option callback; target int64_t *
 * ns since the epoch): RFC 3339, Unix seconds, or a Go duration before
 * now (src/cmd/engine_info.c). */
struct vs_option;
int vs_cmd_opt_time(const struct vs_option *o, const char *s, vs_error **err);
/* The same, as a function: 0, or -1 when s is none of those forms. */
int vs_cmd_parse_time(const char *s, int64_t *ns);

/* system prune --filter (engine_common.c): Docker's until=TIME (created
 * before; RFC 3339, Unix seconds or a duration before now), label=K[=V]
 * (every one must match) and label!=K[=V] (none may). */
struct vs_prune_filter {
        bool set, until_set;
        int64_t until_ns;
        char **labels, **not_labels;
};
/* Parses --filter values; volumes: --volumes was given (until is refused
 * there, as Docker's). Errors name the filter. */
int vs_prune_filter_parse(char **filters, bool volumes, struct vs_prune_filter *f, vs_error **err);
/* Does an object created at `created` (RFC 3339; NULL: unknown) with these
 * labels (an object; NULL: none) pass f (a struct vs_prune_filter *; NULL:
 * everything passes)? The signature the store's and the networks' prune
 * take. */
bool vs_prune_filter_match(void *f, const char *created, json_object *labels);
void vs_prune_filter_clear(struct vs_prune_filter *f);

/* The work of container prune and volume prune (container.c, volume.c):
 * removes the stopped containers / the volumes no container uses (that
 * pass f; NULL: all), prints Docker's "Deleted Containers:" / "Deleted
 * Volumes:" section, returns how many went; *status takes the exit status
 * of errors (reported). */
int vs_cmd_prune_containers(struct vs_engine *e, const struct vs_prune_filter *f, int *status);
int vs_cmd_prune_volumes(struct vs_engine *e, const struct vs_prune_filter *f, int *status);

/* --detach-keys of run, start, attach and exec (engine_common.c): the
 * option's callback checks the keys; vs_cmd_use_detach_keys sets them on
 * the engine (e->detach_keys; unset: ctrl-p ctrl-q). */
struct vs_option;
int vs_cmd_set_detach_keys(const struct vs_option *o, const char *v, vs_error **err);
bool vs_cmd_detach_keys_given(void);
void vs_cmd_use_detach_keys(struct vs_engine *e);
#define VS_DETACH_KEYS_OPTION                                                                      \
        {                                                                                          \
                "detach-keys", 0, VS_OPT_CALLBACK, NULL, "KEYS",                                   \
                    "keys that detach from the container (default ctrl-p,ctrl-q)",                 \
                    vs_cmd_set_detach_keys                                                         \
        }

/* vessel system df (src/cmd/system_df.c). */
int vs_cmd_system_df(int argc, char **argv);

#endif
