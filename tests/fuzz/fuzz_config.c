/* The configuration file (/etc/vessel/config.json and the user's), applied
 * as a layer exactly as vs_config_load() does for each file. A refused
 * layer must leave the settings as they were: the effective settings
 * (vs_config_to_json, what `vessel info` prints) are compared before and
 * after. */
#include "engine/config.h"
#include "fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        struct vs_config c;
        vs_config_init(&c);
        vs_error *err = NULL;
        /* A first layer, so that a refused second one has values to keep. */
        int ret = vs_config_apply(&c, text, "system.json", &err);
        fuzz_check_result(ret, &err);
        json_object *before = vs_config_to_json(&c);
        ret = vs_config_apply(&c, text, "user.json", &err);
        json_object *after = vs_config_to_json(&c);
        if (ret < 0) {
                const char *b = json_object_to_json_string(before);
                const char *a = json_object_to_json_string(after);
                /* Origins name the file that set a key: a refused layer
                 * sets none, so the whole document stays the same. */
                if (strcmp(a, b) != 0) {
                        fprintf(stderr, "a refused layer changed the settings\n%s\n%s\n", b, a);
                        abort();
                }
        }
        fuzz_check_result(ret, &err);
        json_object_put(before);
        json_object_put(after);
        vs_config_clear(&c);
        free(text);
        return 0;
}
