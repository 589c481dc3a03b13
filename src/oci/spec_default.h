/* The default config.json that `vessel spec` writes: runc's example spec
 * (what `runc spec` writes), field for field, with vessel's hostname. */
#ifndef VESSEL_OCI_SPEC_DEFAULT_H
#define VESSEL_OCI_SPEC_DEFAULT_H

#include <json-c/json.h>
#include <stdbool.h>

/* Runtime-spec version the default document declares. */
#include "version.h"
#define OCI_SPEC_DEFAULT_VERSION VESSEL_OCI_VERSION

/* Returns a new document (caller owns the reference). rootless: the variant
 * that an unprivileged user can run: a user namespace mapping root in the
 * container to the caller's effective uid/gid, no network namespace, /sys
 * bind-mounted rather than a new sysfs, no uid=/gid= mount options and no
 * cgroup resources. Never fails (allocation failure aborts). */
json_object *oci_spec_default(bool rootless);

#endif
