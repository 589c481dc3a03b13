/* Shared by the engine's command front ends (engine_cmd.h). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "vm/vm.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <string.h>
#include <time.h>

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

int vs_prune_filter_parse(char **filters, bool volumes, struct vs_prune_filter *f, vs_error **err)
{
        for (size_t i = 0; filters && filters[i]; i++) {
                const char *v = filters[i];
                const char *eq = strchr(v, '=');
                if (eq == NULL || eq == v)
                        return vs_fail(err, "--filter: '%s': expected KEY=VALUE", v);
                size_t klen = (size_t) (eq - v);
                const char *val = eq + 1;
                f->set = true;
                if (klen == 5 && strncmp(v, "until", 5) == 0) {
                        if (volumes)
                                return vs_fail(err, "--filter: the \"until\" filter is not "
                                                    "supported with \"--volumes\"");
                        if (vs_cmd_parse_time(val, &f->until_ns) < 0)
                                return vs_fail(err,
                                               "--filter: until='%s': not a time (RFC 3339, Unix "
                                               "seconds or a duration such as 10m)",
                                               val);
                        f->until_set = true;
                } else if (klen == 5 && strncmp(v, "label", 5) == 0 && *val) {
                        strv_push(&f->labels, val);
                } else if (klen == 6 && strncmp(v, "label!", 6) == 0 && *val) {
                        strv_push(&f->not_labels, val);
                } else {
                        return vs_fail(err,
                                       "--filter: invalid filter '%.*s' (until, label or "
                                       "label!)",
                                       (int) klen, v);
                }
        }
        return 0;
}

/* label K or K=V in labels. */
static bool has_label(json_object *labels, const char *spec)
{
        const char *eq = strchr(spec, '=');
        _cleanup_free_ char *key = eq ? xstrndup(spec, (size_t) (eq - spec)) : xstrdup(spec);
        json_object *v = NULL;
        if (labels == NULL || !json_object_is_type(labels, json_type_object) ||
            !json_object_object_get_ex(labels, key, &v))
                return false;
        return eq == NULL || strcmp(json_object_get_string(v), eq + 1) == 0;
}

bool vs_prune_filter_match(void *arg, const char *created, json_object *labels)
{
        const struct vs_prune_filter *f = arg;
        if (f == NULL || !f->set)
                return true;
        if (f->until_set) {
                time_t t;
                if (created == NULL || vs_parse_rfc3339(created, &t) < 0 ||
                    (int64_t) t * 1000000000 >= f->until_ns)
                        return false;
        }
        for (size_t i = 0; f->labels && f->labels[i]; i++)
                if (!has_label(labels, f->labels[i]))
                        return false;
        for (size_t i = 0; f->not_labels && f->not_labels[i]; i++)
                if (has_label(labels, f->not_labels[i]))
                        return false;
        return true;
}

void vs_prune_filter_clear(struct vs_prune_filter *f)
{
        strv_free(f->labels);
        strv_free(f->not_labels);
        f->labels = f->not_labels = NULL;
}
