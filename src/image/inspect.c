/* `image inspect` and `history` documents, shared with the engine's
 * `inspect`. */
#include "image/store.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <string.h>

static json_object *copy_member(json_object *obj, const char *key)
{
        json_object *v = NULL;
        if (obj && json_object_object_get_ex(obj, key, &v) && v)
                return json_object_get(v);
        return NULL;
}

static json_object *string_array(char *const *v)
{
        json_object *arr = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(arr, json_object_new_string(v[i]));
        return arr;
}

/* Docker's container config with every member zero (image Config and
 * ContainerConfig show them all). */
#define VS_IMAGE_CONFIG_ZERO                                                                       \
        "{\"Hostname\": \"\", \"Domainname\": \"\", \"User\": \"\", \"AttachStdin\": false, "      \
        "\"AttachStdout\": false, \"AttachStderr\": false, \"Tty\": false, \"OpenStdin\": false, " \
        "\"StdinOnce\": false, \"Env\": null, \"Cmd\": null, \"Image\": \"\", \"Volumes\": null, " \
        "\"WorkingDir\": \"\", \"Entrypoint\": null, \"OnBuild\": null, \"Labels\": null}"

json_object *vs_image_inspect_json(const struct vs_image *img)
{
        json_object *o = json_object_new_object();
        json_object *cfg = img->config_json;
        json_object_object_add(o, "Id", json_object_new_string(img->id));
        json_object_object_add(o, "Digest", json_object_new_string(img->manifest_digest));
        json_object_object_add(o, "RepoTags", string_array(img->names));
        json_object_object_add(o, "RepoDigests", json_object_new_array());
        json_object_object_add(o, "Created",
                               img->created ? json_object_new_string(img->created) : NULL);
        json_object *v;
        json_object_object_add(o, "Author",
                               (v = copy_member(cfg, "author")) ? v : json_object_new_string(""));
        json_object *config = copy_member(cfg, "config");
        json_object_object_add(o, "Config", config ? config : json_object_new_object());
        json_object_object_add(o, "Architecture",
                               (v = copy_member(cfg, "architecture")) ? v
                                                                      : json_object_new_string(""));
        if ((v = copy_member(cfg, "variant")))
                json_object_object_add(o, "Variant", v);
        json_object_object_add(o, "Os",
                               (v = copy_member(cfg, "os")) ? v : json_object_new_string(""));
        json_object_object_add(o, "Size", json_object_new_int64(img->size));
        json_object *rootfs = json_object_new_object();
        json_object_object_add(rootfs, "Type", json_object_new_string("layers"));
        _cleanup_strv_ char **diff_ids = NULL;
        _cleanup_error_ vs_error *e = NULL;
        vs_image_config_diff_ids(cfg, "config", &diff_ids, &e);
        json_object_object_add(rootfs, "Layers", string_array(diff_ids));
        json_object_object_add(o, "RootFS", rootfs);
        json_object_object_add(o, "VirtualSize", json_object_new_int64(img->size));
        /* Docker's shape: its other members, zero when the image says nothing. */
        vs_json_add_defaults(json_object_object_get(o, "Config"), VS_IMAGE_CONFIG_ZERO);
        vs_json_add_defaults(
            o, "{\"Comment\": \"\", \"Container\": \"\", \"DockerVersion\": \"\","
               "\"Parent\": \"\", \"GraphDriver\": {\"Data\": null, \"Name\": "
               "\"overlay\"}, \"Metadata\": {\"LastTagTime\": "
               "\"0001-01-01T00:00:00Z\"}, \"ContainerConfig\": " VS_IMAGE_CONFIG_ZERO "}");
        json_object *history_cfg = copy_member(cfg, "container_config");
        if (history_cfg) {
                vs_json_add_defaults(history_cfg, VS_IMAGE_CONFIG_ZERO);
                json_object_object_add(o, "ContainerConfig", history_cfg);
        }
        if ((v = copy_member(cfg, "comment")))
                json_object_object_add(o, "Comment", v);
        if ((v = copy_member(cfg, "docker_version")))
                json_object_object_add(o, "DockerVersion", v);
        return o;
}

int vs_image_history(struct vs_store *s, const struct vs_image *img, struct vs_history_entry **out,
                     size_t *n, vs_error **err)
{
        _cleanup_strv_ char **diff_ids = NULL;
        if (vs_image_config_diff_ids(img->config_json, "config", &diff_ids, err) < 0)
                return -1;
        json_object *history = NULL;
        if (vs_json_get_array(img->config_json, "config", "history", &history, err) < 0)
                return -1;
        size_t count = history ? json_object_array_length(history) : 0;
        bool synthetic = count == 0;
        if (synthetic)
                count = strv_len(diff_ids);
        struct vs_history_entry *v = xcalloc(count ? count : 1, sizeof(*v));
        size_t layer = 0;
        for (size_t i = 0; i < count; i++) {
                json_object *h = synthetic ? NULL : json_object_array_get_idx(history, i);
                bool empty = false;
                vs_json_get_string(h, NULL, "created", &v[i].created, NULL);
                vs_json_get_string(h, NULL, "created_by", &v[i].created_by, NULL);
                vs_json_get_string(h, NULL, "comment", &v[i].comment, NULL);
                vs_json_get_bool(h, NULL, "empty_layer", &empty, NULL);
                if (synthetic)
                        vs_json_get_string(img->config_json, NULL, "created", &v[i].created, NULL);
                v[i].size = 0;
                if (!empty && diff_ids[layer]) {
                        struct vs_layer_info info;
                        if (vs_store_layer_info(s, diff_ids[layer], &info, NULL) == 1) {
                                v[i].size = info.size;
                                vs_layer_info_clear(&info);
                        }
                        layer++;
                }
        }
        *out = v;
        *n = count;
        return 0;
}

void vs_history_free(struct vs_history_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].created);
                free(v[i].created_by);
                free(v[i].comment);
        }
        free(v);
}
