/* Small shared helpers of the engine (src/engine/util.c). Included by engine/engine.h (see there
 * for the layout of a container's directory). Strings and arrays returned through out-parameters
 * are the caller's to free unless a comment says otherwise. */
#ifndef VESSEL_ENGINE_UTIL_H
#define VESSEL_ENGINE_UTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_engine;
struct vs_ctr;
struct vs_run_flags;

/* Small shared helpers (src/engine/util.c). Every string returned is the
 * caller's to free. */
/* "3 seconds", "About a minute", "2 hours" since an RFC 3339 time. */
char *vs_human_since(const char *rfc3339);
int64_t vs_rfc3339_to_ns(const char *s);
/* This boot's id ("" when unknown). Caller frees. */
char *vs_boot_id(void);
bool vs_pid_is(pid_t pid, unsigned long long start);
/* 2 * bytes random hex digits. Caller frees. */
char *vs_random_hex(size_t bytes);
/* shell-ish display of argv: `sh -c 'echo hi'`. Caller frees. */
char *vs_command_string(const char *path, char *const *args);

#endif
