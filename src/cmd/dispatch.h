/* Which command set serves an invocation (docs/cli.md, "Two command sets"). */
#ifndef VESSEL_CMD_DISPATCH_H
#define VESSEL_CMD_DISPATCH_H

#include <stdbool.h>

enum vs_mode {
        VS_MODE_ENGINE,  /* Docker-style commands over images and named containers */
        VS_MODE_RUNTIME, /* runc-style commands over bundles and ids */
};

/* The rule, decided only by what comes before the command's own arguments:
 * argv0's base name is vessel-runtime or runc; a runc global option
 * (--root, --log, --log-format, --systemd-cgroup, --rootless) came before
 * the command name; the command was prefixed with `runtime`; or the engine
 * has no command of that name. Anything after the command name is never
 * looked at. Pure: no I/O, no globals. */
enum vs_mode vs_dispatch_mode(const char *argv0, bool runc_globals, bool runtime_prefix,
                              bool engine_has_command);

#endif
