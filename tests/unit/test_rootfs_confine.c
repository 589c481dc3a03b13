/* vs_clean_path(): the lexical form of a container path by which vessel
 * decides which of its mounts owns that path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/rootfs_confine.h"

static void check(const char *in, const char *want)
{
        char *got = vs_clean_path(in);
        if (strcmp(got, want) != 0)
                fail_msg("vs_clean_path(\"%s\") = \"%s\", want \"%s\"", in, got, want);
        free(got);
}

static void test_clean_path(void **state)
{
        check("/", "/");
        check("", "/");
        check("//", "/");
        check("/dev", "/dev");
        check("/dev/", "/dev");
        check("//dev//pts//", "/dev/pts");
        check("/dev/./pts", "/dev/pts");
        check("/a/b/../c", "/a/c");
        check("/a/../../..", "/");
        check("/../dev", "/dev");
        check("/..data/x", "/..data/x");
        check("/a/.b/..c", "/a/.b/..c");
        check("dev/pts", "/dev/pts");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_clean_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
