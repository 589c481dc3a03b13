/* Copy, commit and diff (src/engine/copy.c, commit.c). Included by engine/engine.h (see there for
 * the layout of a container's directory). Strings and arrays returned through out-parameters are
 * the caller's to free unless a comment says otherwise. */
#ifndef VESSEL_ENGINE_COMMIT_H
#define VESSEL_ENGINE_COMMIT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_engine;
struct vs_ctr;
struct vs_run_flags;

/* cp / commit / diff (src/engine/copy.c, commit.c). */
/* The files the engine binds into every container, relative to its root
 * ("etc/hostname", "etc/hosts", "etc/resolv.conf"; NULL-terminated): cp
 * reads them from the container's directory (what the container sees),
 * diff and commit leave their mount targets out. */
extern const char *const vs_engine_mounted_files[];
int vs_engine_cp(struct vs_engine *e, const char *src, const char *dst, vs_error **err);
struct vs_commit_opts {
        char **changes; /* Dockerfile instructions: 'CMD ["x"]', 'ENV A=b' */
        const char *message, *author;
        bool pause;
};
/* *image_id: the new image's id; caller frees. */
int vs_engine_commit(struct vs_engine *e, struct vs_ctr *c, const char *ref,
                     const struct vs_commit_opts *o, char **image_id, vs_error **err);
/* *lines: "A /path", "C /path", "D /path"; caller frees (strv_free). */
int vs_engine_diff(struct vs_engine *e, struct vs_ctr *c, char ***lines, vs_error **err);
/* Dockerfile-instruction changes -> image-config fields (commit --change);
 * *out a new object the caller puts. */
int vs_commit_changes(char **changes, json_object *base_config, json_object **out, vs_error **err);

#endif
