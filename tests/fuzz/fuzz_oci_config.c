/* The OCI runtime config (config.json): JSON -> struct oci_config, with
 * every check oci_config_parse makes (mounts, namespaces, resources,
 * seccomp, rlimits, hooks...). The same document also goes to the parsers
 * that take parts of it on their own: a process (exec --process FILE), a
 * seccomp profile (--security-opt seccomp=FILE) and resources (update -r). */
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
                struct oci_process *proc = NULL;
                ret = oci_process_parse(doc, "process.json", &proc, &err);
                oci_process_free(proc);
                fuzz_check_result(ret, &err);
                struct oci_seccomp *sc = NULL;
                ret = oci_seccomp_parse(doc, "seccomp.json", &sc, &err);
                oci_seccomp_free(sc);
                fuzz_check_result(ret, &err);
                struct oci_resources *res = NULL;
                ret = oci_resources_parse(doc, "resources.json", &res, &err);
                oci_resources_free(res);
                fuzz_check_result(ret, &err);
                json_object_put(doc);
        }
        vs_error_free(&err);
        free(text);
        return 0;
}
