/* CVE-2019-5736: a process in a container's namespaces must never be the
 * on-disk vessel binary, or the container can exec it through a
 * "#!/proc/self/exe" script and then rewrite it. Commands that put
 * processes into containers first re-exec vessel from a sealed memfd copy. */
#ifndef VESSEL_UTIL_SEALED_H
#define VESSEL_UTIL_SEALED_H

#include <stdbool.h>

#include "util/error.h"

/* True when /proc/self/exe is a memfd sealed against writes. */
bool vs_running_sealed(void);
/* Re-execs the current binary from a sealed memfd with the same argv and
 * environment; returns 0 at once when already sealed, -1 on failure. */
int vs_reexec_sealed(char **argv, vs_error **err);

#endif
