/* The image command group (images, image, tag, rmi, history, load, save,
 * import, pull, system): shared declarations of its files. */
#ifndef VESSEL_CMD_IMAGE_CMD_H
#define VESSEL_CMD_IMAGE_CMD_H

#include "cmd/cmd.h"
#include "image/store.h"

int cmd_images(int argc, char **argv);
int cmd_image_inspect(int argc, char **argv);
int cmd_image_prune(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_system_check(int argc, char **argv);
int cmd_system_prune(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);

/* Opens the store under vs_globals.data_root, with the engine's check of
 * which images its containers use when the engine is linked in. */
int vs_cmd_open_store(struct vs_store **s, vs_error **err);

/* Registry settings from the configuration file (registry.c). */
struct vs_registry_opts;
void vs_cmd_registry_opts(struct vs_registry_opts *o);
/* pull: the built-in busybox, a local transport (oci:, archives) or a
 * registry. */
int vs_cmd_pull_image(struct vs_store *s, const char *ref, const struct vs_registry_opts *o,
                      FILE *out, vs_error **err);
/* run/create --pull=missing|always|never: the policy's check, whether an
 * error is the store's "image 'x' not found", and the pull itself (missing:
 * says so first, as Docker), its output on stderr; quiet (run/create -q):
 * nothing of it, errors aside. */
bool vs_cmd_image_missing(const vs_error *err);
int vs_cmd_pull_for_run(struct vs_store *s, const char *image, bool missing, vs_error **err);
int vs_cmd_pull_for_create(struct vs_store *s, const char *image, bool missing, bool quiet,
                           vs_error **err);

static inline void vs_cleanup_storep(struct vs_store **s)
{
        vs_store_close(*s);
}
#define _cleanup_store_ __attribute__((cleanup(vs_cleanup_storep)))

#endif
