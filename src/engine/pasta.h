/* --network pasta for the rootless engine (src/engine/pasta.c). */
#ifndef VESSEL_ENGINE_PASTA_H
#define VESSEL_ENGINE_PASTA_H

#include "engine/record.h"
#include "util/error.h"

#include <json-c/json.h>
#include <sys/types.h>

#define VS_NET_PASTA "pasta"

/* At create: the rootless engine, pasta installed, the tun device open to
 * the user, and a host port for every published port (PortBindings). */
int vs_pasta_check(json_object *ports, vs_error **err);
/* Connects the network namespace of pid (the container's init) through
 * pasta, forwarding the container's published ports; pasta's pid is kept
 * in the container's directory. */
int vs_pasta_start(const struct vs_ctr *c, pid_t pid, vs_error **err);
/* Ends the container's pasta, if any (after the container, and at rm). */
void vs_pasta_stop(const struct vs_ctr *c);

#endif
