/* Containers as users see them (Docker-style): records with names, image
 * config + flags -> OCI config, a per-container monitor, logs, restart
 * policies. Daemonless: every command works on the records under
 * <data-root>/containers/<id>/ and on the runtime's state, and each running
 * container is supervised by its own monitor process (`vessel monitor`).
 *
 *   <data-root>/containers/<64-hex id>/
 *     record.json      the container record (Docker's inspect shape, mostly)
 *     config.json      OCI config generated at each start (the bundle)
 *     rootfs/          overlay mount point while the container is up
 *     upper/ work/     overlay upper and work dirs (image code)
 *     hostname hosts resolv.conf   bind-mounted into the container
 *     container.log    JSON lines {"log","stream","time"}
 *     attach.sock      the monitor's attach socket while it runs
 *     monitor.log      the monitor's own warnings and errors
 */
#ifndef VESSEL_ENGINE_H
#define VESSEL_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"
#include "util/log.h"

struct vs_store;

/* Where things live; built by the command front ends from the globals. */
struct vs_engine {
        char *data_root;
        char *runtime_root; /* runtime state root (VESSEL_RUNTIME_ROOT, or derived) */
        char *ctr_root;     /* <data-root>/containers */
        bool debug;
        struct vs_store *store; /* opened on first vs_engine_store() */
        /* An attach session's detach keys (--detach-keys); none: ctrl-p ctrl-q. */
        char detach_keys[16];
        size_t detach_keys_len;
        /* The streams an attach session shows (VS_ATTACH_STDOUT|STDERR
         * bits, -a); 0: both. */
        unsigned attach_streams;
        /* With defer_links, a removal leaves the host ends of its veths to
         * whoever set it (vs_net_release_deferred): their names are here. */
        bool defer_links;
        char **deferred_links;
};

#define VS_ENGINE_DEFAULT_DATA_ROOT    "/var/lib/vessel"
#define VS_ENGINE_DEFAULT_RUNTIME_ROOT "/run/vessel"

/* Opens the engine on data_root (created when missing). runtime_root NULL
 * derives the runtime state root from the data root: /run/vessel for the
 * default data root, /run/vessel/engine@<hash of its canonical path> for any
 * other, so two data roots never share runtime state. */
int vs_engine_open(const char *data_root, const char *runtime_root, bool debug,
                   struct vs_engine **out, vs_error **err);
/* $VESSEL_RUNTIME_ROOT when set (an explicit runtime state root: --root
 * selects the runtime CLI), else NULL: derive it from the data root. */
const char *vs_engine_runtime_root(void);
void vs_engine_close(struct vs_engine *e);
/* The image store, with the in-use check registered (rmi refuses images
 * that container records use). */
int vs_engine_store(struct vs_engine *e, struct vs_store **out, vs_error **err);
/* Registers the engine's in-use check on a store opened elsewhere (the image
 * commands call it): images that container records under the store's data
 * root use cannot be removed. */
void vs_engine_register_image_checks(struct vs_store *s);

/* The engine's objects, one header each. */
#include "engine/record.h"
#include "engine/create.h"
#include "engine/lifecycle.h"
#include "engine/attach.h"
#include "engine/commit.h"
#include "engine/util.h"
#include "engine/events.h"

static inline void vs_engine_closep(struct vs_engine **e)
{
        if (*e)
                vs_engine_close(*e);
}
#define _cleanup_engine_ __attribute__((cleanup(vs_engine_closep)))

#endif
