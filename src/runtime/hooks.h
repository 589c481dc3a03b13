/* OCI lifecycle hooks: each runs with the container state on stdin. */
#ifndef VESSEL_RUNTIME_HOOKS_H
#define VESSEL_RUNTIME_HOOKS_H

#include <stddef.h>

#include "oci/config.h"
#include "util/error.h"

/* Runs hooks[0..n) in order, stopping at the first failure, which is
 * reported as "hooks.<kind>[i] <path>: exited with status 3: <output>" or
 * "... timed out after N s". */
int vs_hooks_run(const struct oci_hook *hooks, size_t n, const char *kind, const char *state_json,
                 vs_error **err);

/* For poststart and poststop, whose failures must not stop the others:
 * runs every hook and logs each failure as a warning. */
void vs_hooks_run_all(const struct oci_hook *hooks, size_t n, const char *kind,
                      const char *state_json);

#endif
