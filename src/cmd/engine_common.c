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

/* --detach-keys: checked when given, set on the engine before a session. */
static const char *detach_keys_spec;

int vs_cmd_set_detach_keys(const struct vs_option *o, const char *v, vs_error **err)
{
        (void) o;
        char keys[VS_DETACH_KEYS_MAX];
        size_t n;
        if (*v && vs_parse_detach_keys(v, keys, &n, err) < 0)
                return -1;
        detach_keys_spec = *v ? v : NULL;
        return 0;
}

bool vs_cmd_detach_keys_given(void)
{
        return detach_keys_spec != NULL;
}

void vs_cmd_use_detach_keys(struct vs_engine *e)
{
        if (detach_keys_spec)
                vs_parse_detach_keys(detach_keys_spec, e->detach_keys, &e->detach_keys_len, NULL);
}
