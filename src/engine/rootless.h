/* The rootless engine (docs/rootless.md): an ordinary user's engine runs in
 * a user and mount namespace of its own, held by a pause process and
 * joined by every command (podman's `unshare` model). */
#ifndef VESSEL_ENGINE_ROOTLESS_H
#define VESSEL_ENGINE_ROOTLESS_H

#include "util/error.h"

#include <stdbool.h>
#include <stdint.h>

/* Environment a joined command passes to its children (the monitor, the
 * command of `vessel unshare`): where the rootless engine keeps its state. */
#define VS_ROOTLESS_RUN_ENV  "VESSEL_ROOTLESS_RUN_DIR"
#define VS_ROOTLESS_DATA_ENV "VESSEL_ROOTLESS_DATA_DIR"

/* For a caller whose effective uid is not 0: joins the caller's rootless
 * namespaces, made first when no pause process holds them (its ids: 0 is
 * the caller, 1.. its /etc/subuid and /etc/subgid ranges, written by
 * newuidmap/newgidmap). Afterwards the process is root in that user
 * namespace with a mount namespace of its own, and vs_rootless() is true.
 * Root (or a process already joined) is left as it is. Must be called
 * while the process has one thread. */
int vs_rootless_enter(vs_error **err);

/* True in the rootless engine's namespaces (this process or a child of a
 * joined one): the run dir environment is set and the process is in a user
 * namespace other than the initial one. */
bool vs_rootless(void);
/* $XDG_RUNTIME_DIR/vessel (or /tmp/vessel-run-UID) and $XDG_DATA_HOME/vessel
 * (or ~/.local/share/vessel) of the user; NULL outside the rootless engine. */
const char *vs_rootless_run_dir(void);
const char *vs_rootless_data_dir(void);

/* The engine namespace's ids, from its uid_map and gid_map: its root is
 * the user's host *uid and *gid, and it has the ids 0 .. *n_uid - 1 (and
 * 0 .. *n_gid - 1), the ones above 0 being the user's subordinate ids. */
int vs_rootless_ids(uint32_t *uid, uint32_t *gid, uint32_t *n_uid, uint32_t *n_gid, vs_error **err);

/* Resource limits asked by flag: refused with the reason where the host
 * cannot delegate cgroups to a user (cgroup v1 and hybrid); 0 on a v2 host
 * (the runtime then needs a delegated tree, and says so without one). */
int vs_rootless_limits(const char *flag, vs_error **err);

#endif
