/* The exec stub (src/runtime/stub/execstub.c), embedded in vessel and
 * run from a sealed memfd as the last step of every container process. */
#ifndef VESSEL_RUNTIME_EXECSTUB_H
#define VESSEL_RUNTIME_EXECSTUB_H

#include "util/error.h"

/* A sealed, close-on-exec memfd holding the stub. */
int vs_execstub_fd(vs_error **err);

#endif
