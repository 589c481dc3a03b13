/* --init (create.h): the static init of src/engine/init/vessel-init.c,
 * embedded into vessel by the Makefile, written once per build under
 * <data-root>/init/ and bind-mounted read-only at /sbin/docker-init. */
#include "engine/engine.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#ifndef VESSEL_INIT
#error "VESSEL_INIT (the path of the built vessel-init) must be defined by the Makefile"
#endif

extern const char vs_init_start[], vs_init_end[];
__asm__(".section .rodata\n.balign 16\n.globl vs_init_start\n.hidden vs_init_start\n"
        "vs_init_start:\n.incbin \"" VESSEL_INIT "\"\n"
        ".globl vs_init_end\n.hidden vs_init_end\nvs_init_end:\n.previous\n");

int vs_engine_init_binary(struct vs_engine *e, char **path, vs_error **err)
{
        size_t size = (size_t) (vs_init_end - vs_init_start);
        _cleanup_free_ char *digest = vs_digest_buffer(vs_init_start, size);
        const char *hex = strchr(digest, ':') ? strchr(digest, ':') + 1 : digest;
        _cleanup_free_ char *dir = xasprintf("%s/init", e->data_root);
        _cleanup_free_ char *file = xasprintf("%s/vessel-init-%.16s", dir, hex);
        struct stat st;
        if (lstat(file, &st) == 0 && S_ISREG(st.st_mode) && (size_t) st.st_size == size) {
                *path = steal_ptr(file);
                return 0;
        }
        if (vs_mkdir_p(dir, 0755, err) < 0 ||
            vs_write_file_atomic(file, vs_init_start, size, 0555, err) < 0)
                return vs_error_wrap(err, "--init");
        *path = steal_ptr(file);
        return 0;
}
