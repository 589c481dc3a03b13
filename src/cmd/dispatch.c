/* The dispatch rule (dispatch.h). */
#include "cmd/dispatch.h"

#include <string.h>

enum vs_mode vs_dispatch_mode(const char *argv0, bool runc_globals, bool runtime_prefix,
                              bool engine_has_command)
{
        const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
        const char *base = slash ? slash + 1 : argv0 ? argv0 : "";
        if (strcmp(base, "vessel-runtime") == 0 || strcmp(base, "runc") == 0 ||
            strcmp(base, "vessel-vm") == 0)
                return VS_MODE_RUNTIME;
        if (runc_globals || runtime_prefix || !engine_has_command)
                return VS_MODE_RUNTIME;
        return VS_MODE_ENGINE;
}
