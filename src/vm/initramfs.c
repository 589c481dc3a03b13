/* The guest's initramfs: an uncompressed cpio (newc) archive holding the
 * agent vessel embeds (guest/agent.c, built static by the Makefile) as
 * /init, /dev/console for its first stdio, and the directories it mounts
 * on. Written once per agent build under <data-root>/vm/. */
#include "vm/vm.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#if !defined(VESSEL_AGENT) || !defined(VESSEL_AGENT_DIGEST_H)
#error                                                                                             \
    "VESSEL_AGENT and VESSEL_AGENT_DIGEST_H (the built guest agent and its sha256) must be defined by the Makefile"
#endif
/* VESSEL_AGENT_DIGEST: the agent's sha256, hex, computed by the build (a
 * hash of the 860 KB agent at every VM start cost ~3 ms). */
#include VESSEL_AGENT_DIGEST_H
_Static_assert(sizeof(VESSEL_AGENT_DIGEST) == 65, "the agent's digest: 64 hex digits");

extern const char vs_agent_start[], vs_agent_end[];
__asm__(".section .rodata\n.balign 16\n.globl vs_agent_start\n.hidden vs_agent_start\n"
        "vs_agent_start:\n.incbin \"" VESSEL_AGENT "\"\n"
        ".globl vs_agent_end\n.hidden vs_agent_end\nvs_agent_end:\n.previous\n");

struct cpio {
        char *buf;
        size_t len, cap;
        unsigned ino;
};

static void put(struct cpio *c, const void *data, size_t n)
{
        if (c->len + n + 4 > c->cap) {
                c->cap = (c->len + n + 4) * 2;
                c->buf = xrealloc(c->buf, c->cap);
        }
        memcpy(c->buf + c->len, data, n);
        c->len += n;
}

static void pad4(struct cpio *c)
{
        static const char zero[4];
        put(c, zero, (4 - c->len % 4) % 4);
}

static void entry(struct cpio *c, const char *name, mode_t mode, dev_t rdev, const void *data,
                  size_t size)
{
        char h[128];
        size_t namesize = strlen(name) + 1;
        snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
                 ++c->ino, (unsigned) mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, size, 0u, 0u,
                 (unsigned) major(rdev), (unsigned) minor(rdev), namesize, 0u);
        put(c, h, 110);
        put(c, name, namesize);
        pad4(c);
        if (size) {
                put(c, data, size);
                pad4(c);
        }
}

int vs_vm_initramfs(const char *data_root, char **path, vs_error **err)
{
        size_t size = (size_t) (vs_agent_end - vs_agent_start);
        _cleanup_free_ char *dir = xasprintf("%s/vm", data_root);
        _cleanup_free_ char *p = xasprintf("%s/initramfs-%.16s.cpio", dir, VESSEL_AGENT_DIGEST);
        if (vs_path_exists(p)) {
                *path = steal_ptr(p);
                return 0;
        }
        if (vs_mkdir_p(dir, 0755, err) < 0)
                return -1;
        struct cpio c = {0};
        entry(&c, "dev", S_IFDIR | 0755, 0, NULL, 0);
        entry(&c, "dev/console", S_IFCHR | 0600, makedev(5, 1), NULL, 0);
        entry(&c, "proc", S_IFDIR | 0755, 0, NULL, 0);
        entry(&c, "sys", S_IFDIR | 0755, 0, NULL, 0);
        entry(&c, "newroot", S_IFDIR | 0755, 0, NULL, 0);
        entry(&c, "init", S_IFREG | 0755, 0, vs_agent_start, size);
        entry(&c, "TRAILER!!!", 0, 0, NULL, 0);
        int r = vs_write_file_replace(p, c.buf, c.len, 0644, err);
        free(c.buf);
        if (r < 0)
                return -1;
        *path = steal_ptr(p);
        return 0;
}
