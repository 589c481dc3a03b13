/* process.capabilities: name mapping, validation, and the two-step
 * application around the container init's setresuid() (runc's order). */
#ifndef VESSEL_RUNTIME_CAPS_H
#define VESSEL_RUNTIME_CAPS_H

#include "oci/config.h"
#include "util/error.h"

/* "CAP_CHOWN" (any case; the "CAP_" prefix is required, as in the spec) ->
 * 0; -1 when libcap does not know the name. */
int vs_cap_from_name(const char *name);

/* Canonical upper-case name ("CAP_CHOWN"); NULL when libcap has no name for
 * cap. The string is static. */
const char *vs_cap_name(int cap);

/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap,
 * read once). */
int vs_cap_last_cap(void);

/* Checks every name of every set. Names libcap knows but the running kernel
 * does not are warned about and later ignored, as runc does. */
int vs_caps_validate(const struct oci_capabilities *c, vs_error **err);

/* Step 1, still root and before setresuid(): drops from the bounding set
 * every capability not listed in c->bounding (a NULL list drops all), and
 * sets PR_SET_KEEPCAPS so the permitted set survives the uid change. Needs
 * CAP_SETPCAP. c == NULL (no capabilities object in the config) does
 * nothing, here and in vs_caps_apply(). */
int vs_caps_prepare(const struct oci_capabilities *c, vs_error **err);

/* Step 2, after setresgid()/setresuid(): sets the effective, permitted and
 * inheritable sets exactly (NULL lists are empty), clears PR_SET_KEEPCAPS,
 * then replaces the ambient set with c->ambient. */
int vs_caps_apply(const struct oci_capabilities *c, vs_error **err);

#endif
