/* Image configs (application/vnd.oci.image.config.v1+json): the diff_ids
 * and the engine-facing fields (Env, Cmd, Entrypoint, User, ports...). */
#include "fuzz_util.h"
#include "image/store.h"
#include "util/json.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_cstr(data, size);
        vs_error *err = NULL;
        json_object *doc = NULL;
        if (vs_json_parse(text, "config", &doc, &err) == 0) {
                char **diff_ids = NULL;
                int ret = vs_image_config_diff_ids(doc, "config", &diff_ids, &err);
                strv_free(diff_ids);
                fuzz_check_result(ret, &err);
                struct vs_image_config c = {0};
                ret = vs_image_config_parse(doc, &c, &err);
                vs_image_config_clear(&c);
                fuzz_check_result(ret, &err);
                json_object_put(doc);
        }
        vs_error_free(&err);
        free(text);
        return 0;
}
