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

/* vessel system df (src/cmd/system_df.c). */
int vs_cmd_system_df(int argc, char **argv);

#endif
