/* vessel bench's workload machinery: the libraries collected from the
 * dynamic loader's --list output, the ELF interpreter read from the program
 * headers, and the worker's `name=value` output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/workload.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

static void test_parse_ldlist(void **state)
{
        const char *text = "\tlinux-vdso.so.1 (0x00007ffd5e9f2000)\n"
                           "\tlibjson-c.so.5 => /lib/x86_64-linux-gnu/libjson-c.so.5 "
                           "(0x00007f1e2c1a0000)\n"
                           "\tlibgone.so.1 => not found\n"
                           "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1e2bfbf000)\n"
                           "\t/lib64/ld-linux-x86-64.so.2 (0x00007f1e2c1e5000)\n"
                           "\tlibevil.so => /lib/../etc/shadow (0x1)\n"
                           "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1e2bfbf000)\n";
        _cleanup_strv_ char **libs = xcalloc(1, sizeof(char *));
        strv_push(&libs, "/lib64/ld-linux-x86-64.so.2");
        vs_bench_parse_ldlist(text, &libs);
        assert_int_equal(strv_len(libs), 3);
        assert_string_equal(libs[0], "/lib64/ld-linux-x86-64.so.2");
        assert_string_equal(libs[1], "/lib/x86_64-linux-gnu/libjson-c.so.5");
        assert_string_equal(libs[2], "/lib/x86_64-linux-gnu/libc.so.6");
        /* Nothing: a static binary's "statically linked" line. */
        _cleanup_strv_ char **none = xcalloc(1, sizeof(char *));
        vs_bench_parse_ldlist("\tstatically linked\n", &none);
        assert_int_equal(strv_len(none), 0);
}

static void test_elf_interp(void **state)
{
        /* This test binary is dynamically linked. */
        _cleanup_free_ char *self = vs_bench_elf_interp("/proc/self/exe");
        assert_non_null(self);
        assert_true(self[0] == '/' && strstr(self, "ld-") != NULL);
        if (access("/bin/busybox", R_OK) == 0) {
                /* Debian's busybox-static has no PT_INTERP. */
                char *none = vs_bench_elf_interp("/bin/busybox");
                assert_null(none);
        }
        char dir[] = "/tmp/vessel-test-elf.XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *text = xasprintf("%s/text", dir);
        _cleanup_free_ char *cut = xasprintf("%s/cut", dir);
        FILE *f = fopen(text, "w");
        fputs("#!/bin/sh\necho not an ELF\n", f);
        fclose(f);
        assert_null(vs_bench_elf_interp(text));
        /* The first 20 bytes of an ELF header: truncated, refused. */
        f = fopen(cut, "w");
        fwrite("\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\3\0\076\0", 1, 20, f);
        fclose(f);
        assert_null(vs_bench_elf_interp(cut));
        assert_null(vs_bench_elf_interp("/nonexistent/vessel-test"));
        unlink(text);
        unlink(cut);
        rmdir(dir);
}

static void test_out_value(void **state)
{
        const char *out = "go\nops_per_s=1234.5 secs=2.010000 check=7\n";
        assert_true(vs_bench_out_value(out, "ops_per_s") == 1234.5);
        assert_true(vs_bench_out_value(out, "secs") == 2.01);
        /* A key must start a word and be followed by '='. */
        assert_true(vs_bench_out_value("xsecs=3 secs=4\n", "secs") == 4);
        assert_true(vs_bench_out_value("ops_per_s_x=3\n", "ops_per_s") !=
                    vs_bench_out_value("ops_per_s_x=3\n", "ops_per_s"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_ldlist),
            cmocka_unit_test(test_elf_interp),
            cmocka_unit_test(test_out_value),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
