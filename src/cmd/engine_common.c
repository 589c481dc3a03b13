/* Shared by the engine's command front ends (engine_cmd.h). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "vm/vm.h"

int vs_cmd_open_engine(struct vs_engine **e, vs_error **err)
{
        return vs_engine_open(vs_globals.data_root, vs_engine_runtime_root(), vs_globals.debug, e,
                              err);
}

int vs_cmd_running_ctr(const char *name, struct vs_engine **e, struct vs_ctr **ct, vs_error **err)
{
        if (vs_cmd_open_engine(e, err) < 0 || vs_ctr_resolve(*e, name, ct, err) < 0)
                return -1;
        vs_ctr_refresh(*e, *ct);
        if (!(*ct)->state.running)
                return vs_fail(err, "container %s is not running", (*ct)->name);
        return 0;
}
