/* OCI and Docker v2 manifests, indexes and image configs: parsing with
 * every media type and digest checked before any of it is used. */
#include "image/store.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <string.h>
#include <sys/utsname.h>

static const char *const layer_types[][2] = {
    {VS_MT_OCI_LAYER, VS_MT_OCI_LAYER},
    {VS_MT_OCI_LAYER_GZIP, VS_MT_OCI_LAYER_GZIP},
    {VS_MT_OCI_LAYER_ZSTD, VS_MT_OCI_LAYER_ZSTD},
    {VS_MT_DOCKER_LAYER_GZ, VS_MT_DOCKER_LAYER_GZ},
    {VS_MT_DOCKER_LAYER, VS_MT_OCI_LAYER},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", VS_MT_OCI_LAYER},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", VS_MT_OCI_LAYER_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", VS_MT_OCI_LAYER_ZSTD},
};

bool vs_layer_media_type_known(const char *media_type)
{
        return vs_layer_media_type_for_unpack(media_type) != NULL;
}

const char *vs_layer_media_type_for_unpack(const char *media_type)
{
        if (media_type == NULL)
                return NULL;
        for (size_t i = 0; i < sizeof(layer_types) / sizeof(layer_types[0]); i++)
                if (strcmp(media_type, layer_types[i][0]) == 0)
                        return layer_types[i][1];
        return NULL;
}

static bool is_manifest_type(const char *mt)
{
        return strcmp(mt, VS_MT_OCI_MANIFEST) == 0 || strcmp(mt, VS_MT_DOCKER_MANIFEST) == 0;
}

static bool is_index_type(const char *mt)
{
        return strcmp(mt, VS_MT_OCI_INDEX) == 0 || strcmp(mt, VS_MT_DOCKER_LIST) == 0;
}

json_object *vs_descriptor_json(const char *media_type, const char *digest, int64_t size)
{
        json_object *d = json_object_new_object();
        json_object_object_add(d, "mediaType", json_object_new_string(media_type));
        json_object_object_add(d, "digest", json_object_new_string(digest));
        json_object_object_add(d, "size", json_object_new_int64(size));
        return d;
}

void vs_descriptor_clear(struct vs_descriptor *d)
{
        free(d->media_type);
        free(d->digest);
        memset(d, 0, sizeof(*d));
}

void vs_manifest_clear(struct vs_manifest *m)
{
        free(m->media_type);
        vs_descriptor_clear(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                vs_descriptor_clear(&m->layers[i]);
        free(m->layers);
        strv_free(m->platforms);
        memset(m, 0, sizeof(*m));
}

static int parse_descriptor(json_object *obj, const char *ctx, struct vs_descriptor *d,
                            vs_error **err)
{
        if (!json_object_is_type(obj, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);
        d->size = -1;
        if (vs_json_get_string(obj, ctx, "mediaType", &d->media_type, err) < 0 ||
            vs_json_get_string(obj, ctx, "digest", &d->digest, err) < 0 ||
            vs_json_get_int64(obj, ctx, "size", &d->size, err) < 0)
                return -1;
        if (d->media_type == NULL)
                return vs_fail(err, "%s: missing mediaType", ctx);
        if (vs_digest_check(d->digest, ctx, err) < 0)
                return -1;
        if (d->size < 0)
                return vs_fail(err, "%s: missing or negative size", ctx);
        return 0;
}

static char *platform_of(json_object *d)
{
        json_object *p = NULL, *os = NULL, *arch = NULL, *variant = NULL;
        if (!json_object_object_get_ex(d, "platform", &p) ||
            !json_object_is_type(p, json_type_object))
                return xstrdup("");
        json_object_object_get_ex(p, "os", &os);
        json_object_object_get_ex(p, "architecture", &arch);
        json_object_object_get_ex(p, "variant", &variant);
        const char *v = variant ? json_object_get_string(variant) : NULL;
        return xasprintf("%s/%s%s%s", os ? json_object_get_string(os) : "",
                         arch ? json_object_get_string(arch) : "", v && *v ? "/" : "",
                         v && *v ? v : "");
}

int vs_manifest_parse(const char *text, const char *what, struct vs_manifest *m, vs_error **err)
{
        memset(m, 0, sizeof(*m));
        _cleanup_json_ json_object *root = NULL;
        _cleanup_free_ char *cctx = xasprintf("%s: config", what);
        if (vs_json_parse(text, what, &root, err) < 0)
                return -1;
        if (!json_object_is_type(root, json_type_object))
                return vs_fail(err, "%s: expected a JSON object", what);
        int64_t schema = 2;
        if (vs_json_get_int64(root, what, "schemaVersion", &schema, err) < 0)
                return -1;
        if (schema != 2)
                return vs_fail(err,
                               "%s: unsupported manifest schemaVersion %lld (Docker schema 1 "
                               "manifests are not supported)",
                               what, (long long) schema);
        if (vs_json_get_string(root, what, "mediaType", &m->media_type, err) < 0)
                goto fail;
        if (m->media_type == NULL)
                m->media_type = xstrdup(json_object_object_get_ex(root, "manifests", NULL)
                                            ? VS_MT_OCI_INDEX
                                            : VS_MT_OCI_MANIFEST);
        if (is_index_type(m->media_type)) {
                m->is_index = true;
                json_object *list = NULL;
                if (vs_json_get_array(root, what, "manifests", &list, err) < 0)
                        goto fail;
                size_t n = list ? json_object_array_length(list) : 0;
                m->layers = xcalloc(n ? n : 1, sizeof(*m->layers));
                m->platforms = xcalloc(n + 1, sizeof(char *));
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *ctx = xasprintf("%s: manifests[%zu]", what, i);
                        json_object *d = json_object_array_get_idx(list, i);
                        m->n_layers++;
                        if (parse_descriptor(d, ctx, &m->layers[i], err) < 0)
                                goto fail;
                        if (!is_manifest_type(m->layers[i].media_type) &&
                            !is_index_type(m->layers[i].media_type)) {
                                vs_fail(err, "%s: unknown manifest media type '%s'", ctx,
                                        m->layers[i].media_type);
                                goto fail;
                        }
                        m->platforms[i] = platform_of(d);
                }
                return 0;
        }
        if (!is_manifest_type(m->media_type)) {
                vs_fail(err, "%s: unknown manifest media type '%s'", what, m->media_type);
                goto fail;
        }
        json_object *config = NULL, *layers = NULL;
        if (vs_json_get_object(root, what, "config", &config, err) < 0 ||
            vs_json_get_array(root, what, "layers", &layers, err) < 0)
                goto fail;
        if (config == NULL) {
                vs_fail(err, "%s: missing config", what);
                goto fail;
        }
        if (parse_descriptor(config, cctx, &m->config, err) < 0)
                goto fail;
        if (strcmp(m->config.media_type, VS_MT_OCI_CONFIG) != 0 &&
            strcmp(m->config.media_type, VS_MT_DOCKER_CONFIG) != 0) {
                vs_fail(err, "%s: unknown config media type '%s'", what, m->config.media_type);
                goto fail;
        }
        size_t n = layers ? json_object_array_length(layers) : 0;
        m->layers = xcalloc(n ? n : 1, sizeof(*m->layers));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ctx = xasprintf("%s: layers[%zu]", what, i);
                m->n_layers++;
                if (parse_descriptor(json_object_array_get_idx(layers, i), ctx, &m->layers[i],
                                     err) < 0)
                        goto fail;
                if (!vs_layer_media_type_known(m->layers[i].media_type)) {
                        vs_fail(err, "%s: unknown layer media type '%s'", ctx,
                                m->layers[i].media_type);
                        goto fail;
                }
        }
        return 0;
fail:
        vs_manifest_clear(m);
        return -1;
}

const char *vs_platform_arch(void)
{
        static char arch[80];
        if (arch[0])
                return arch;
        struct utsname u;
        const char *m = uname(&u) == 0 ? u.machine : "x86_64";
        static const char *const map[][2] = {
            {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"armv7l", "arm"},
            {"armv6l", "arm"},      {"i686", "386"},      {"i386", "386"},
            {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"},
        };
        const char *a = m;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(m, map[i][0]) == 0)
                        a = map[i][1];
        snprintf(arch, sizeof(arch), "%s", a);
        return arch;
}

const char *vs_platform_variant(void)
{
        struct utsname u;
        if (uname(&u) == 0 && strcmp(u.machine, "armv7l") == 0)
                return "v7";
        if (uname(&u) == 0 && strcmp(u.machine, "armv6l") == 0)
                return "v6";
        return "";
}

int vs_image_config_diff_ids(json_object *config, const char *what, char ***diff_ids,
                             vs_error **err)
{
        if (!json_object_is_type(config, json_type_object))
                return vs_fail(err, "%s: expected a JSON object", what);
        json_object *rootfs = NULL;
        _cleanup_free_ char *type = NULL;
        _cleanup_strv_ char **ids = NULL;
        _cleanup_free_ char *ctx = xasprintf("%s: rootfs", what);
        if (vs_json_get_object(config, what, "rootfs", &rootfs, err) < 0)
                return -1;
        if (rootfs == NULL)
                return vs_fail(err, "%s: missing rootfs", what);
        if (vs_json_get_string(rootfs, ctx, "type", &type, err) < 0 ||
            vs_json_get_strv(rootfs, ctx, "diff_ids", &ids, err) < 0)
                return -1;
        if (type == NULL || strcmp(type, "layers") != 0)
                return vs_fail(err, "%s.type: expected \"layers\"", ctx);
        if (ids == NULL)
                ids = xcalloc(1, sizeof(char *));
        for (size_t i = 0; ids[i]; i++) {
                _cleanup_free_ char *c = xasprintf("%s.diff_ids[%zu]", ctx, i);
                if (vs_digest_check(ids[i], c, err) < 0)
                        return -1;
        }
        *diff_ids = steal_ptr(ids);
        return 0;
}

void vs_image_config_clear(struct vs_image_config *c)
{
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        strv_free(c->env);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        if (c->labels)
                json_object_put(c->labels);
        if (c->exposed_ports)
                json_object_put(c->exposed_ports);
        if (c->volumes)
                json_object_put(c->volumes);
        memset(c, 0, sizeof(*c));
}

int vs_image_config_parse(json_object *config, struct vs_image_config *out, vs_error **err)
{
        memset(out, 0, sizeof(*out));
        json_object *cc = NULL, *o = NULL;
        if (vs_json_get_object(config, "image config", "config", &cc, err) < 0)
                return -1;
        if (cc == NULL)
                return 0;
        const char *ctx = "image config: config";
        if (vs_json_get_strv(cc, ctx, "Entrypoint", &out->entrypoint, err) < 0 ||
            vs_json_get_strv(cc, ctx, "Cmd", &out->cmd, err) < 0 ||
            vs_json_get_strv(cc, ctx, "Env", &out->env, err) < 0 ||
            vs_json_get_string(cc, ctx, "WorkingDir", &out->working_dir, err) < 0 ||
            vs_json_get_string(cc, ctx, "User", &out->user, err) < 0 ||
            vs_json_get_string(cc, ctx, "StopSignal", &out->stop_signal, err) < 0)
                goto fail;
        if (vs_json_get_object(cc, ctx, "Labels", &o, err) < 0)
                goto fail;
        out->labels = o ? json_object_get(o) : NULL;
        o = NULL;
        if (vs_json_get_object(cc, ctx, "ExposedPorts", &o, err) < 0)
                goto fail;
        out->exposed_ports = o ? json_object_get(o) : NULL;
        o = NULL;
        if (vs_json_get_object(cc, ctx, "Volumes", &o, err) < 0)
                goto fail;
        out->volumes = o ? json_object_get(o) : NULL;
        return 0;
fail:
        vs_image_config_clear(out);
        return -1;
}
