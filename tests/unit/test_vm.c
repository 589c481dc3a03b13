/* The microVM backend's host-side pieces that need no QEMU: the initramfs
 * writer (parsed back as cpio newc), the kernel cache key, the accelerator
 * override, and the missing-kernel error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "vm/vm.h"

struct entry {
        char name[64];
        unsigned mode, rdevmajor, rdevminor;
        size_t size;
        const unsigned char *data;
};

static unsigned hex8(const char *p)
{
        char b[9];
        memcpy(b, p, 8);
        b[8] = '\0';
        return (unsigned) strtoul(b, NULL, 16);
}

/* Parses a newc archive; returns the number of entries (trailer included). */
static size_t parse_cpio(const unsigned char *buf, size_t len, struct entry *out, size_t max)
{
        size_t off = 0, n = 0;
        while (off + 110 <= len && n < max) {
                const char *h = (const char *) buf + off;
                assert_memory_equal(h, "070701", 6);
                struct entry *e = &out[n++];
                e->mode = hex8(h + 14);
                e->size = hex8(h + 54);
                e->rdevmajor = hex8(h + 78);
                e->rdevminor = hex8(h + 86);
                size_t namesize = hex8(h + 94);
                assert_true(namesize > 0 && namesize <= sizeof(e->name));
                memcpy(e->name, h + 110, namesize);
                assert_int_equal(e->name[namesize - 1], '\0');
                off = (off + 110 + namesize + 3) & ~(size_t) 3;
                e->data = buf + off;
                off = (off + e->size + 3) & ~(size_t) 3;
                if (strcmp(e->name, "TRAILER!!!") == 0)
                        break;
        }
        assert_true(off <= len);
        return n;
}

static void test_initramfs(void **state)
{
        char dir[] = "/tmp/vessel-vm-unit.XXXXXX";
        assert_non_null(mkdtemp(dir));
        vs_error *err = NULL;
        _cleanup_free_ char *path = NULL, *again = NULL;
        assert_int_equal(vs_vm_initramfs(dir, &path, &err), 0);
        assert_non_null(strstr(path, "/vm/initramfs-"));
        _cleanup_free_ char *buf = NULL;
        size_t len;
        assert_int_equal(vs_read_file(path, &buf, &len, &err), 0);
        struct entry e[16];
        size_t n = parse_cpio((const unsigned char *) buf, len, e, 16);
        const char *names[] = {"dev",     "dev/console", "proc",      "sys",
                               "newroot", "init",        "TRAILER!!!"};
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(e[i].name, names[i]);
        assert_true(S_ISCHR(e[1].mode));
        assert_int_equal(e[1].rdevmajor, 5);
        assert_int_equal(e[1].rdevminor, 1);
        assert_true(S_ISREG(e[5].mode));
        assert_int_equal(e[5].mode & 07777, 0755);
        /* The agent: a static ELF executable. */
        assert_true(e[5].size > 10000);
        assert_memory_equal(e[5].data, "\177ELF", 4);
        /* Cached: the same file the second time. */
        assert_int_equal(vs_vm_initramfs(dir, &again, &err), 0);
        assert_string_equal(path, again);
        assert_int_equal(vs_rm_rf(dir, &err), 0);
}

static void test_kernel_key_and_missing_kernel(void **state)
{
        vs_error *err = NULL;
        _cleanup_free_ char *k1 = NULL, *k2 = NULL, *path = NULL;
        assert_int_equal(vs_vm_kernel_key(&k1, &err), 0);
        assert_int_equal(vs_vm_kernel_key(&k2, &err), 0);
        assert_string_equal(k1, k2);
        assert_int_equal(strlen(k1), 32);
        assert_int_equal(strspn(k1, "0123456789abcdef"), 32);
        size_t flen;
        const char *frag = vs_vm_kernel_fragment(&flen);
        assert_non_null(strstr(frag, "CONFIG_VIRTIO_MMIO=y"));

        char dir[] = "/tmp/vessel-vm-unit.XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *cache = xasprintf("%s/cache", dir);
        _cleanup_free_ char *src = xasprintf("%s/no-source.tar.xz", dir);
        setenv("VESSEL_KERNEL_CACHE", cache, 1);
        setenv("VESSEL_LINUX_SOURCE", src, 1);
        assert_int_equal(vs_vm_kernel_get(dir, true, false, &path, &err), -1);
        assert_non_null(strstr(err->msg, "no guest kernel"));
        assert_non_null(strstr(err->msg, "no-source.tar.xz"));
        vs_error_free(&err);
        /* A kernel in the shared cache is used even without the source. */
        _cleanup_free_ char *kdir = xasprintf("%s/%s", cache, k1);
        _cleanup_free_ char *img = xasprintf("%s/bzImage", kdir);
        assert_int_equal(vs_mkdir_p(kdir, 0755, &err), 0);
        assert_int_equal(vs_write_file_replace(img, "x", 1, 0644, &err), 0);
        assert_int_equal(vs_vm_kernel_get(dir, false, false, &path, &err), 0);
        assert_string_equal(path, img);
        unsetenv("VESSEL_KERNEL_CACHE");
        unsetenv("VESSEL_LINUX_SOURCE");
        assert_int_equal(vs_rm_rf(dir, &err), 0);
}

static void test_accel_override(void **state)
{
        const char *why = NULL;
        setenv("VESSEL_VM_ACCEL", "tcg", 1);
        assert_string_equal(vs_vm_accel_detect(&why), "tcg");
        assert_non_null(strstr(why, "VESSEL_VM_ACCEL"));
        unsetenv("VESSEL_VM_ACCEL");
        const char *a = vs_vm_accel_detect(&why);
        assert_true(strcmp(a, "tcg") == 0 || strcmp(a, "kvm") == 0);
        assert_true(why && *why);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_initramfs),
            cmocka_unit_test(test_kernel_key_and_missing_kernel),
            cmocka_unit_test(test_accel_override),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
