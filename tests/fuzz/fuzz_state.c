/* The runtime's state file (<root>/<id>/state.json), read back through
 * vs_state_load() exactly as `vessel state/kill/delete` do. */
#include "fuzz_util.h"
#include "runtime/state.h"

#include <fcntl.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *tmp = fuzz_tmp();
        char dir[4200], path[4300];
        snprintf(dir, sizeof(dir), "%s/c1", tmp);
        snprintf(path, sizeof(path), "%s/state.json", dir);
        mkdir(dir, 0700);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (size && write(fd, data, size) != (ssize_t) size)) {
                perror(path);
                abort();
        }
        close(fd);
        vs_error *err = NULL;
        struct vs_state *st = NULL;
        int ret = vs_state_load(tmp, "c1", &st, &err);
        vs_state_free(st);
        fuzz_check_result(ret, &err);
        return 0;
}
