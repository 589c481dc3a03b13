/* The engine's container record (<data-root>/containers/<id>/record.json)
 * through vs_ctr_load(), then back to JSON, inspect's view of it, and the
 * OCI config a start makes of it (vs_engine_oci_config, against an empty scratch
 * root): a damaged record must give an error, never a crash. */
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
                static int rootfd = -1;
                if (rootfd < 0) {
                        char root[4200];
                        snprintf(root, sizeof(root), "%s/root", tmp);
                        mkdir(root, 0700);
                        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                }
                json_object *spec = NULL;
                vs_error *serr = NULL;
                int r = vs_engine_oci_config(e, c, rootfd, &spec, &serr);
                json_object_put(spec);
                fuzz_check_result(r, &serr);
        }
        vs_ctr_free(c);
        fuzz_check_result(ret, &err);
        return 0;
}
