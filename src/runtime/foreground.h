/* Foreground supervision shared by run and exec. */
#ifndef VESSEL_RUNTIME_FOREGROUND_H
#define VESSEL_RUNTIME_FOREGROUND_H

#include <signal.h>
#include <sys/types.h>

#include "util/error.h"

/* The signals a foreground runtime forwards (all but the synchronous
 * faults). Block them before the child exists so none is lost. */
void vs_foreground_signals(sigset_t *set);
/* Waits for pid (our child), forwarding the blocked signals in sigs to it,
 * proxying stdin/stdout to the pty master when master >= 0, and stores its
 * exit status (128+N when killed by signal N). */
int vs_foreground_wait(pid_t pid, int master, const sigset_t *sigs, int *exit_status,
                       vs_error **err);

#endif
