/* Health checks (src/engine/health.c): the monitor runs the container's
 * Config.Healthcheck on schedule, through the engine's exec path, in a
 * helper process of its own, and keeps Docker's State.Health in the record.
 * See docs/docker-compat.md, "Health checks". */
#ifndef VESSEL_ENGINE_HEALTH_H
#define VESSEL_ENGINE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vs_engine;
struct vs_ctr;

struct vs_health {
        char **argv; /* NULL: no health check */
        int64_t interval_ms, timeout_ms, start_period_ms;
        int64_t start_interval_ms; /* 0: interval_ms during the start period too */
        int retries;
        int64_t started_ms, next_ms; /* CLOCK_MONOTONIC */
        pid_t helper;                /* the running check's helper, 0: none */
        int result_fd;
        int64_t check_ms;
        char *check_start; /* RFC 3339 */
        char *exec_id;     /* the running check's, for its exec_* events */
        bool timed_out;
        /* A check killed by SIGKILL that we did not time out: most likely
         * the container's exit (its pid namespace going), which is no
         * result; recorded at pending_ms unless the container exits first. */
        char *pending; /* the helper's result bytes, NULL: none */
        size_t pending_len;
        int64_t pending_ms;
};

/* Reads the container's Healthcheck; with one, records State.Health as
 * "starting" (the container just started). */
void vs_health_start(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c);
/* Milliseconds until the monitor must call vs_health_tick (-1: never). */
int vs_health_poll_timeout(const struct vs_health *h);
/* Starts a check when one is due, kills one past its timeout. */
void vs_health_tick(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c);
/* A reaped child: when it is the check's helper, records the result (with
 * record: not when the container has exited) and returns true. */
bool vs_health_reaped(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c, pid_t pid,
                      int status, bool record);
/* Ends a running check (the container exited) and frees h. */
void vs_health_stop(struct vs_health *h);

#endif
