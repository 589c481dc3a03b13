/* The engine's container record (<data-root>/containers/<id>/record.json)
 * through vs_ctr_load(), then back to JSON and inspect's view of it: a
 * damaged record must give an error, never a crash, in every command that
 * lists containers. */
#include "engine/engine.h"
#include "fuzz_util.h"

#include <fcntl.h>
#include <json-c/json.h>

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *tmp = fuzz_tmp();
        static struct vs_engine *e;
        vs_error *err = NULL;
        if (e == NULL) {
                char dr[4200], rr[4200];
                snprintf(dr, sizeof(dr), "%s/data", tmp);
                snprintf(rr, sizeof(rr), "%s/run", tmp);
                if (vs_engine_open(dr, rr, false, &e, &err) < 0)
                        abort();
                char dir[4300];
                snprintf(dir, sizeof(dir), "%s/%s", e->ctr_root, ID);
                mkdir(dir, 0700);
        }
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s/record.json", e->ctr_root, ID);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (size && write(fd, data, size) != (ssize_t) size))
                abort();
        close(fd);
        struct vs_ctr *c = NULL;
        int ret = vs_ctr_load(e, ID, &c, &err);
        if (ret == 0) {
                json_object *j = vs_ctr_to_json(c);
                json_object_put(j);
                j = vs_ctr_inspect(e, c);
                json_object_put(j);
        }
        vs_ctr_free(c);
        fuzz_check_result(ret, &err);
        return 0;
}
