/* The OCI runtime config (config.json): JSON -> struct oci_config, with
 * every check oci_config_parse makes (mounts, namespaces, resources,
 * seccomp, rlimits, hooks...). */
#include "fuzz_util.h"
#include "oci/config.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_cstr(data, size);
        vs_error *err = NULL;
        json_object *doc = NULL;
        if (vs_json_parse(text, "config.json", &doc, &err) == 0) {
                struct oci_config *cfg = NULL;
                int ret = oci_config_parse(doc, "/fuzz-bundle", &cfg, &err);
                oci_config_free(cfg);
                fuzz_check_result(ret, &err);
                json_object_put(doc);
        }
        vs_error_free(&err);
        free(text);
        return 0;
}
