/* Registry pieces that need no server: Docker's reference rules
 * (src/registry/ref.c) and base64 of credentials (src/registry/auth.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/client.h"
#include "registry/registry.h"
#include "util/cleanup.h"

static void check(const char *ref, const char *domain, const char *path, const char *tag,
                  const char *digest, const char *local)
{
        struct vs_remote_ref r;
        _cleanup_error_ vs_error *err = NULL;
        int ret = vs_remote_ref_parse(ref, &r, &err);
        if (ret < 0)
                fail_msg("%s: %s", ref, err->msg);
        assert_string_equal(r.domain, domain);
        assert_string_equal(r.path, path);
        if (tag)
                assert_string_equal(r.tag, tag);
        else
                assert_null(r.tag);
        if (digest)
                assert_string_equal(r.digest, digest);
        else
                assert_null(r.digest);
        if (local)
                assert_string_equal(r.local_name, local);
        else
                assert_null(r.local_name);
        vs_remote_ref_clear(&r);
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void docker_reference_rules(void **state)
{
        check("alpine", "docker.io", "library/alpine", "latest", NULL, "alpine:latest");
        check("alpine:3.19", "docker.io", "library/alpine", "3.19", NULL, "alpine:3.19");
        check("docker.io/library/alpine", "docker.io", "library/alpine", "latest", NULL,
              "alpine:latest");
        check("index.docker.io/library/alpine:1", "docker.io", "library/alpine", "1", NULL,
              "alpine:1");
        check("user/app:v2", "docker.io", "user/app", "v2", NULL, "user/app:v2");
        check("localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest");
        check("localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", NULL,
              "localhost:5000/a/b/c:t");
        check("reg.example.com/team/app", "reg.example.com", "team/app", "latest", NULL,
              "reg.example.com/team/app:latest");
        /* A digest pull is stored as NAME@DIGEST (a tag given with it dropped). */
        check("127.0.0.1:5000/x@" D, "127.0.0.1:5000", "x", NULL, D, "127.0.0.1:5000/x@" D);
        check("alpine@" D, "docker.io", "library/alpine", NULL, D, "alpine@" D);
        check("host:1/x:tag@" D, "host:1", "x", "tag", D, "host:1/x@" D);
        (void) state;
}

static void bad_references_say_why(void **state)
{
        static const struct {
                const char *ref, *why;
        } cases[] = {
            {"", "empty"},
            {"Alpine", "lowercase"},
            {"alpine:", "bad tag"},
            {"alpine@sha256:abc", "invalid digest"},
            {"alpine@md5:0123", "unsupported digest algorithm"},
            {"a//b", "bad component"},
            {"-x/y", "bad component"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct vs_remote_ref r;
                _cleanup_error_ vs_error *err = NULL;
                assert_int_equal(vs_remote_ref_parse(cases[i].ref, &r, &err), -1);
                if (strstr(err->msg, cases[i].why) == NULL)
                        fail_msg("%s: '%s' does not say '%s'", cases[i].ref, err->msg,
                                 cases[i].why);
        }
        assert_false(vs_ref_is_remote("oci:/tmp/x"));
        assert_false(vs_ref_is_remote("docker-archive:/tmp/x.tar"));
        assert_true(vs_ref_is_remote("alpine"));
        (void) state;
}

static void base64_round_trip(void **state)
{
        static const char *const texts[] = {"", "a", "ab", "abc", "alice:s3cret", "user:p@ss:w"};
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                _cleanup_free_ char *enc = vs_base64_encode(texts[i], strlen(texts[i]));
                _cleanup_free_ char *dec = NULL;
                size_t len = 0;
                assert_int_equal(vs_base64_decode(enc, &dec, &len), 0);
                assert_int_equal(len, strlen(texts[i]));
                assert_string_equal(dec, texts[i]);
        }
        _cleanup_free_ char *enc = vs_base64_encode("alice:s3cret", 12);
        assert_string_equal(enc, "YWxpY2U6czNjcmV0");
        char *bad = NULL;
        assert_int_equal(vs_base64_decode("abc", &bad, NULL), -1);
        assert_int_equal(vs_base64_decode("a*c=", &bad, NULL), -1);
        assert_string_equal(vs_docker_auth_key("docker.io"), "https://index.docker.io/v1/");
        assert_string_equal(vs_docker_auth_key("localhost:5000"), "localhost:5000");
        (void) state;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(docker_reference_rules),
            cmocka_unit_test(bad_references_say_why),
            cmocka_unit_test(base64_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
