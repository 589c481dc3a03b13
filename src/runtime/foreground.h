/* Foreground supervision shared by run and exec. */
#ifndef VESSEL_RUNTIME_FOREGROUND_H
#define VESSEL_RUNTIME_FOREGROUND_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* The signals a foreground runtime forwards (all but the synchronous
 * faults). Block them before the child exists so none is lost. */
void vs_foreground_signals(sigset_t *set);
/* Waits for pid (our child), forwarding the blocked signals in sigs to it,
 * proxying stdin/stdout to the pty master when master >= 0, and stores its
 * exit status (128+N when killed by signal N). */
/* dk (NULL: none): detach keys; typed on a terminal (master >= 0 and a tty
 * stdin), the process is left running, its pty held by a helper process,
 * and *exit_status is VS_FOREGROUND_DETACHED. */
struct vs_detach_keys {
        char keys[16];
        size_t n;
};
#define VS_FOREGROUND_DETACHED (-2)
int vs_foreground_wait(pid_t pid, int master, const sigset_t *sigs, const struct vs_detach_keys *dk,
                       int *exit_status, vs_error **err);

#endif
