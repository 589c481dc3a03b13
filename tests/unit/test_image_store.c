/* The image store: reference parsing, digests, index.json manipulation,
 * manifest checks, and a real store in a temporary directory (lookup by
 * name, tag, id and id prefix; digest verification; rollback; in-use). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/store.h"
#include "image/transfer.h"
#include "util/dynlib.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* ------------------------------------------------------------------ */
/* references and digests */

static void assert_normalizes(const char *ref, const char *want)
{
        char *out = NULL;
        vs_error *err = NULL;
        if (vs_ref_normalize(ref, &out, &err) < 0)
                fail_msg("'%s' rejected: %s", ref, err->msg);
        assert_string_equal(out, want);
        free(out);
}

static void assert_rejects(const char *ref, const char *why)
{
        char *out = NULL;
        vs_error *err = NULL;
        if (vs_ref_normalize(ref, &out, &err) == 0)
                fail_msg("'%s' accepted as '%s'", ref, out);
        if (strstr(err->msg, why) == NULL)
                fail_msg("'%s': message '%s' does not say '%s'", ref, err->msg, why);
        vs_error_free(&err);
}

static void test_ref_normalize(void **state)
{
        assert_normalizes("busybox", "busybox:latest");
        assert_normalizes("busybox:1.36", "busybox:1.36");
        assert_normalizes("docker.io/library/busybox", "busybox:latest");
        assert_normalizes("docker.io/library/busybox:musl", "busybox:musl");
        assert_normalizes("index.docker.io/foo/bar:x", "foo/bar:x");
        assert_normalizes("docker.io/foo/bar", "foo/bar:latest");
        assert_normalizes("localhost/img", "localhost/img:latest");
        assert_normalizes("localhost:5000/a/b", "localhost:5000/a/b:latest");
        assert_normalizes("reg.example.com/team/app:v1.2-rc_3",
                          "reg.example.com/team/app:v1.2-rc_3");
        assert_normalizes("a__b.c-d---e", "a__b.c-d---e:latest");
        assert_rejects("", "empty");
        assert_rejects("Busybox", "lowercase");
        assert_rejects("busybox:bad tag", "bad tag");
        assert_rejects("busybox:-x", "bad tag");
        assert_rejects("busybox@sha256:0000", "digest references");
        assert_rejects("a//b", "bad component");
        assert_rejects("-a", "bad component");
        assert_rejects("a_", "bad component");
        assert_rejects("a...b", "bad component");
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ref_normalize_any(void **state)
{
        static const struct {
                const char *ref, *want;
        } ok[] = {
            {"busybox", "busybox:latest"},
            {"busybox@sha256:" HEX64, "busybox@sha256:" HEX64},
            {"docker.io/library/busybox:1@sha256:" HEX64, "busybox@sha256:" HEX64},
            {"localhost:5000/a/b@sha256:" HEX64, "localhost:5000/a/b@sha256:" HEX64},
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char *out = NULL;
                vs_error *err = NULL;
                if (vs_ref_normalize_any(ok[i].ref, &out, &err) < 0)
                        fail_msg("'%s': %s", ok[i].ref, err->msg);
                assert_string_equal(out, ok[i].want);
                free(out);
        }
        static const struct {
                const char *ref, *why;
        } bad[] = {
            {"busybox@sha256:0000", "invalid digest"},
            {"busybox@md5:" HEX64, "only sha256"},
            {"Busybox@sha256:" HEX64, "lowercase"},
            {"busybox@", "invalid digest"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *out = NULL;
                vs_error *err = NULL;
                if (vs_ref_normalize_any(bad[i].ref, &out, &err) == 0)
                        fail_msg("'%s' accepted as '%s'", bad[i].ref, out);
                if (strstr(err->msg, bad[i].why) == NULL)
                        fail_msg("'%s': message '%s' does not say '%s'", bad[i].ref, err->msg,
                                 bad[i].why);
                vs_error_free(&err);
        }
        (void) state;
}

static void test_ref_split(void **state)
{
        char *repo, *tag;
        vs_ref_split("localhost:5000/a/b:v1", &repo, &tag);
        assert_string_equal(repo, "localhost:5000/a/b");
        assert_string_equal(tag, "v1");
        free(repo);
        free(tag);
        vs_ref_split("localhost:5000/a/b@sha256:" HEX64, &repo, &tag);
        assert_string_equal(repo, "localhost:5000/a/b");
        assert_string_equal(tag, "<none>");
        free(repo);
        free(tag);
}

static void test_id_prefix(void **state)
{
        const char *hex = NULL;
        assert_true(vs_ref_is_id_prefix("abcd", &hex));
        assert_string_equal(hex, "abcd");
        assert_true(vs_ref_is_id_prefix("sha256:0123456789", &hex));
        assert_string_equal(hex, "0123456789");
        assert_false(vs_ref_is_id_prefix("abc", NULL));
        assert_false(vs_ref_is_id_prefix("ABCD", NULL));
        assert_false(vs_ref_is_id_prefix("abcg", NULL));
        char long_hex[70];
        memset(long_hex, 'a', 65);
        long_hex[65] = '\0';
        assert_false(vs_ref_is_id_prefix(long_hex, NULL));
}

static void test_digests(void **state)
{
        char *d = vs_digest_buffer("", 0);
        assert_string_equal(
            d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_true(vs_digest_valid(d));
        assert_string_equal(vs_digest_hex(d),
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        free(d);
        assert_false(vs_digest_valid("sha256:abc"));
        assert_false(vs_digest_valid(
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
        vs_error *err = NULL;
        assert_int_equal(vs_digest_check("sha512:00", "layer", &err), -1);
        assert_non_null(strstr(err->msg, "unsupported digest algorithm"));
        vs_error_free(&err);

        struct vs_sha256 h;
        char out[VS_DIGEST_LEN + 1];
        vs_sha256_init(&h);
        vs_sha256_update(&h, "ab", 2);
        vs_sha256_update(&h, "c", 1);
        vs_sha256_final(&h, out);
        d = vs_digest_buffer("abc", 3);
        assert_string_equal(out, d);
        free(d);
}

/* ------------------------------------------------------------------ */
/* index.json */

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static size_t count_digest(const struct vs_index *idx, const char *digest)
{
        size_t n = 0;
        for (size_t i = 0; i < idx->n; i++)
                n += strcmp(idx->entries[i].digest, digest) == 0;
        return n;
}

static void test_index_names_move(void **state)
{
        struct vs_index idx = {0};
        vs_index_add_image(&idx, DA, VS_MT_OCI_MANIFEST, 10);
        assert_int_equal(idx.n, 1);
        assert_null(idx.entries[0].name);
        /* naming replaces the untagged entry */
        assert_null(vs_index_set_name(&idx, "a:latest", DA, VS_MT_OCI_MANIFEST, 10));
        assert_int_equal(idx.n, 1);
        assert_null(vs_index_set_name(&idx, "a:v2", DA, VS_MT_OCI_MANIFEST, 10));
        assert_int_equal(count_digest(&idx, DA), 2);
        /* the name moves to B; A keeps its other name */
        char *prev = vs_index_set_name(&idx, "a:latest", DB, VS_MT_OCI_MANIFEST, 20);
        assert_string_equal(prev, DA);
        free(prev);
        char **names = vs_index_names(&idx, DA);
        assert_int_equal(strv_len(names), 1);
        assert_string_equal(names[0], "a:v2");
        strv_free(names);
        /* A's last name moves too: A stays, untagged */
        prev = vs_index_set_name(&idx, "a:v2", DB, VS_MT_OCI_MANIFEST, 20);
        free(prev);
        assert_int_equal(count_digest(&idx, DA), 1);
        assert_null(vs_index_entry_of(&idx, DA)->name);
        names = vs_index_names(&idx, DB);
        assert_int_equal(strv_len(names), 2);
        strv_free(names);
        /* untagging the last name of B leaves B untagged */
        assert_true(vs_index_remove_name(&idx, "a:latest"));
        assert_true(vs_index_remove_name(&idx, "a:v2"));
        assert_false(vs_index_remove_name(&idx, "a:v2"));
        assert_int_equal(count_digest(&idx, DB), 1);
        assert_null(vs_index_entry_of(&idx, DB)->name);
        char **digests = vs_index_digests(&idx);
        assert_int_equal(strv_len(digests), 2);
        strv_free(digests);
        vs_index_remove_image(&idx, DA);
        assert_false(vs_index_has_digest(&idx, DA));
        assert_true(vs_index_has_digest(&idx, DB));
        vs_index_clear(&idx);
}

static void test_index_round_trip(void **state)
{
        struct vs_index idx = {0};
        free(vs_index_set_name(&idx, "x:1", DA, VS_MT_OCI_MANIFEST, 10));
        vs_index_add_image(&idx, DB, VS_MT_DOCKER_MANIFEST, 20);
        char *text = vs_index_serialize(&idx);
        struct vs_index back = {0};
        vs_error *err = NULL;
        assert_int_equal(vs_index_parse(text, "index", &back, &err), 0);
        assert_int_equal(back.n, 2);
        assert_int_equal(vs_index_find_name(&back, "x:1"), 0);
        assert_string_equal(back.entries[1].media_type, VS_MT_DOCKER_MANIFEST);
        assert_int_equal(back.entries[1].size, 20);
        char *again = vs_index_serialize(&back);
        assert_string_equal(text, again);
        free(text);
        free(again);
        vs_index_clear(&idx);
        vs_index_clear(&back);
}

static void test_index_parse_repairs_and_rejects(void **state)
{
        /* a duplicate name and an untagged entry for a named image are dropped */
        const char *text =
            "{\"schemaVersion\":2,\"manifests\":["
            "{\"mediaType\":\"" VS_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\",\"size\":1,"
            "\"annotations\":{\"" VS_ANNOTATION_REF_NAME "\":\"n:1\"}},"
            "{\"mediaType\":\"" VS_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\",\"size\":1,"
            "\"annotations\":{\"" VS_ANNOTATION_REF_NAME "\":\"n:1\"}},"
            "{\"mediaType\":\"" VS_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\",\"size\":1}]}";
        struct vs_index idx = {0};
        vs_error *err = NULL;
        assert_int_equal(vs_index_parse(text, "index", &idx, &err), 0);
        assert_int_equal(idx.n, 1);
        assert_string_equal(idx.entries[0].digest, DA);
        vs_index_clear(&idx);

        const char *bad =
            "{\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:00\",\"size\":1}]}";
        assert_int_equal(vs_index_parse(bad, "index", &idx, &err), -1);
        assert_non_null(strstr(err->msg, "invalid digest"));
        vs_error_free(&err);
        assert_int_equal(vs_index_parse("{\"manifests\":[", "index", &idx, &err), -1);
        vs_error_free(&err);
}

/* ------------------------------------------------------------------ */
/* manifests */

static char *manifest_text(const char *config_type, const char *layer_type)
{
        return xasprintf("{\"schemaVersion\":2,\"mediaType\":\"" VS_MT_OCI_MANIFEST "\","
                         "\"config\":{\"mediaType\":\"%s\",\"digest\":\"" DA "\",\"size\":2},"
                         "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"" DB "\",\"size\":3}]}",
                         config_type, layer_type);
}

static void test_manifest_media_types(void **state)
{
        struct vs_manifest m;
        vs_error *err = NULL;
        char *t = manifest_text(VS_MT_OCI_CONFIG, VS_MT_OCI_LAYER_GZIP);
        assert_int_equal(vs_manifest_parse(t, "m", &m, &err), 0);
        assert_false(m.is_index);
        assert_int_equal(m.n_layers, 1);
        assert_string_equal(m.layers[0].digest, DB);
        assert_int_equal(m.config.size, 2);
        vs_manifest_clear(&m);
        free(t);

        t = manifest_text(VS_MT_OCI_CONFIG, "application/x-evil");
        assert_int_equal(vs_manifest_parse(t, "m", &m, &err), -1);
        assert_non_null(strstr(err->msg, "unknown layer media type 'application/x-evil'"));
        vs_error_free(&err);
        free(t);

        t = manifest_text("application/vnd.cncf.helm.config.v1+json", VS_MT_OCI_LAYER);
        assert_int_equal(vs_manifest_parse(t, "m", &m, &err), -1);
        assert_non_null(strstr(err->msg, "unknown config media type"));
        vs_error_free(&err);
        free(t);

        assert_int_equal(
            vs_manifest_parse("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", "m", &m, &err),
            -1);
        assert_non_null(strstr(err->msg, "unknown manifest media type 'text/plain'"));
        vs_error_free(&err);

        assert_int_equal(vs_manifest_parse("{\"schemaVersion\":1}", "m", &m, &err), -1);
        assert_non_null(strstr(err->msg, "schema 1"));
        vs_error_free(&err);

        assert_true(vs_layer_media_type_known(VS_MT_DOCKER_LAYER_GZ));
        assert_string_equal(vs_layer_media_type_for_unpack(VS_MT_DOCKER_LAYER), VS_MT_OCI_LAYER);
        assert_null(vs_layer_media_type_for_unpack("application/octet-stream"));
}

static void test_manifest_index_platforms(void **state)
{
        const char *t =
            "{\"schemaVersion\":2,\"mediaType\":\"" VS_MT_OCI_INDEX "\",\"manifests\":["
            "{\"mediaType\":\"" VS_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\",\"size\":1,"
            "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
            "{\"mediaType\":\"" VS_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\",\"size\":1}]}";
        struct vs_manifest m;
        vs_error *err = NULL;
        assert_int_equal(vs_manifest_parse(t, "i", &m, &err), 0);
        assert_true(m.is_index);
        assert_int_equal(m.n_layers, 2);
        assert_string_equal(m.platforms[0], "linux/arm/v7");
        assert_string_equal(m.platforms[1], "");
        vs_manifest_clear(&m);
}

/* ------------------------------------------------------------------ */
/* a real store */

struct fixture {
        char dir[64];
        struct vs_store *s;
};

static int setup_store(void **state)
{
        struct fixture *f = xzalloc(sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/vessel-unit-store.XXXXXX");
        if (mkdtemp(f->dir) == NULL)
                return -1;
        vs_error *err = NULL;
        if (vs_store_open(f->dir, &f->s, &err) < 0) {
                fprintf(stderr, "%s\n", err->msg);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown_store(void **state)
{
        struct fixture *f = *state;
        vs_store_close(f->s);
        vs_rm_rf(f->dir, NULL);
        free(f);
        return 0;
}

/* A config with no layers (valid: `umoci new` makes such images); salt
 * makes distinct images. Returns the manifest digest. */
static char *add_empty_image(struct vs_txn *t, const char *salt, char **config_digest)
{
        vs_error *err = NULL;
        _cleanup_free_ char *config = xasprintf(
            "{\"created\":\"2024-01-02T03:04:05Z\",\"architecture\":\"amd64\",\"os\":"
            "\"linux\",\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"A=%s\"]},\"rootfs\":{\"type\":"
            "\"layers\",\"diff_ids\":[]}}",
            salt);
        char *cd = NULL, *md = NULL;
        assert_int_equal(vs_txn_put_blob(t, config, strlen(config), &cd, &err), 0);
        _cleanup_free_ char *manifest =
            xasprintf("{\"schemaVersion\":2,\"mediaType\":\"" VS_MT_OCI_MANIFEST "\",\"config\":{"
                      "\"mediaType\":\"" VS_MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
                      "\"layers\":[]}",
                      cd, strlen(config));
        assert_int_equal(vs_txn_put_blob(t, manifest, strlen(manifest), &md, &err), 0);
        if (config_digest)
                *config_digest = cd;
        else
                free(cd);
        return md;
}

static void commit_image(struct vs_store *s, const char *salt, const char *name, char **id)
{
        struct vs_txn *t;
        vs_error *err = NULL;
        assert_int_equal(vs_txn_begin(s, &t, &err), 0);
        _cleanup_free_ char *md = add_empty_image(t, salt, NULL);
        char *names[] = {(char *) name, NULL};
        if (vs_txn_add_image(t, md, names, id, &err) < 0 || vs_txn_commit(t, &err) < 0)
                fail_msg("%s", err->msg);
        vs_txn_free(t);
}

static void test_store_lookup(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *id = NULL;
        commit_image(f->s, "1", "example.com/app:v1", &id);
        struct vs_image *img = NULL;
        vs_error *err = NULL;
        const char *refs[] = {"example.com/app:v1", id, vs_digest_hex(id), "sha256:0000"};
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "%.6s", vs_digest_hex(id));
        refs[3] = prefix;
        for (size_t i = 0; i < 4; i++) {
                if (vs_image_lookup(f->s, refs[i], &img, &err) < 0)
                        fail_msg("lookup '%s': %s", refs[i], err->msg);
                assert_string_equal(img->id, id);
                assert_int_equal(strv_len(img->names), 1);
                assert_string_equal(img->names[0], "example.com/app:v1");
                assert_int_equal(img->n_layers, 0);
                assert_string_equal(img->config.cmd[0], "sh");
                assert_string_equal(img->config.env[0], "A=1");
                assert_string_equal(img->created, "2024-01-02T03:04:05Z");
                vs_image_free(img);
        }
        /* default tag latest: v1 is not latest */
        assert_int_equal(vs_image_lookup(f->s, "example.com/app", &img, &err), -1);
        assert_string_equal(err->msg, "image 'example.com/app' not found");
        vs_error_free(&err);
        assert_int_equal(vs_image_lookup(f->s, "Bad Name", &img, &err), -1);
        assert_non_null(strstr(err->msg, "invalid image name"));
        vs_error_free(&err);
        /* a short name also finds localhost/NAME, as podman names them */
        commit_image(f->s, "2", "localhost/local", NULL);
        assert_int_equal(vs_image_lookup(f->s, "local", &img, &err), 0);
        vs_image_free(img);
}

static void test_store_ambiguous_prefix(void **state)
{
        struct fixture *f = *state;
        /* Find two configs whose ids share their first 4 hex digits. */
        char *seen[65536] = {0};
        char salt_a[32] = "", salt_b[32] = "";
        for (int i = 0; i < 200000 && !salt_b[0]; i++) {
                char salt[32];
                snprintf(salt, sizeof(salt), "%d", i);
                _cleanup_free_ char *config = xasprintf(
                    "{\"created\":\"2024-01-02T03:04:05Z\",\"architecture\":\"amd64\",\"os\":"
                    "\"linux\",\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"A=%s\"]},\"rootfs\":{"
                    "\"type\":\"layers\",\"diff_ids\":[]}}",
                    salt);
                _cleanup_free_ char *d = vs_digest_buffer(config, strlen(config));
                char four[5];
                snprintf(four, sizeof(four), "%.4s", vs_digest_hex(d));
                unsigned key = (unsigned) strtoul(four, NULL, 16);
                if (seen[key]) {
                        snprintf(salt_a, sizeof(salt_a), "%s", seen[key]);
                        snprintf(salt_b, sizeof(salt_b), "%s", salt);
                } else {
                        seen[key] = xstrdup(salt);
                }
        }
        for (size_t i = 0; i < 65536; i++)
                free(seen[i]);
        assert_true(salt_b[0] != '\0');
        _cleanup_free_ char *id_a = NULL, *id_b = NULL;
        commit_image(f->s, salt_a, "a", &id_a);
        commit_image(f->s, salt_b, "b", &id_b);
        assert_memory_equal(vs_digest_hex(id_a), vs_digest_hex(id_b), 4);
        char prefix[8];
        snprintf(prefix, sizeof(prefix), "%.4s", vs_digest_hex(id_a));
        struct vs_image *img = NULL;
        vs_error *err = NULL;
        assert_int_equal(vs_image_lookup(f->s, prefix, &img, &err), -1);
        assert_non_null(strstr(err->msg, "ambiguous"));
        vs_error_free(&err);
        /* a longer prefix that differs resolves */
        size_t n = 4;
        while (vs_digest_hex(id_a)[n] == vs_digest_hex(id_b)[n])
                n++;
        char longer[80];
        snprintf(longer, sizeof(longer), "%.*s", (int) n + 1, vs_digest_hex(id_a));
        assert_int_equal(vs_image_lookup(f->s, longer, &img, &err), 0);
        assert_string_equal(img->id, id_a);
        vs_image_free(img);
}

static bool dir_is_empty(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        return false;
        return true;
}

static void test_store_rollback_and_verification(void **state)
{
        struct fixture *f = *state;
        vs_error *err = NULL;
        struct vs_txn *t;
        _cleanup_free_ char *before = NULL, *after = NULL, *blobs = NULL, *tmp = NULL;
        _cleanup_free_ char *index_path = xasprintf("%s/index.json", f->dir);
        assert_int_equal(vs_read_file(index_path, &before, NULL, &err), 0);

        /* a transaction that is not committed changes nothing */
        assert_int_equal(vs_txn_begin(f->s, &t, &err), 0);
        _cleanup_free_ char *md = add_empty_image(t, "rollback", NULL);
        char *names[] = {"gone:latest", NULL};
        assert_int_equal(vs_txn_add_image(t, md, names, NULL, &err), 0);
        /* a blob with the wrong content for its digest is refused */
        struct vs_blob_writer *w;
        assert_int_equal(vs_blob_writer_open(t, &w, &err), 0);
        assert_int_equal(vs_blob_writer_write(w, "abc", 3, &err), 0);
        assert_int_equal(vs_blob_writer_finish(w, DA, NULL, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "does not match its digest"));
        vs_error_free(&err);
        vs_blob_writer_free(w);
        /* a manifest naming a missing config is refused */
        const char *dangling = "{\"schemaVersion\":2,\"mediaType\":\"" VS_MT_OCI_MANIFEST
                               "\",\"config\":{\"mediaType\":\"" VS_MT_OCI_CONFIG
                               "\",\"digest\":\"" DA "\",\"size\":2},\"layers\":[]}";
        _cleanup_free_ char *dd = NULL;
        assert_int_equal(vs_txn_put_blob(t, dangling, strlen(dangling), &dd, &err), 0);
        assert_int_equal(vs_txn_add_image(t, dd, NULL, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "missing"));
        vs_error_free(&err);
        vs_txn_free(t);

        assert_int_equal(vs_read_file(index_path, &after, NULL, &err), 0);
        assert_string_equal(before, after);
        blobs = xasprintf("%s/blobs/sha256", f->dir);
        tmp = xasprintf("%s/tmp", f->dir);
        assert_true(dir_is_empty(blobs));
        assert_true(dir_is_empty(tmp));

        /* a corrupted blob is found by reads and by the check */
        _cleanup_free_ char *id = NULL;
        commit_image(f->s, "corrupt", "c", &id);
        FILE *null = fopen("/dev/null", "w");
        assert_int_equal(vs_store_check(f->s, null, &err), 0);
        fclose(null);
        _cleanup_free_ char *path = vs_store_blob_path(f->s, id);
        FILE *fp = fopen(path, "r+");
        assert_non_null(fp);
        fputc('X', fp);
        fclose(fp);
        struct vs_image *img = NULL;
        assert_int_equal(vs_image_lookup(f->s, "c", &img, &err), -1);
        assert_non_null(strstr(err->msg, "does not match its digest"));
        vs_error_free(&err);
        char *report = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&report, &len);
        assert_true(vs_store_check(f->s, out, &err) > 0);
        fclose(out);
        assert_non_null(strstr(report, "does not match its digest"));
        free(report);
}

static void test_store_diff_id_verified(void **state)
{
        struct fixture *f = *state;
        /* a one-file layer tar, built in memory */
        char tarbuf[16384];
        size_t used = 0;
        struct archive *a = archive_write_new();
        archive_write_set_format_ustar(a);
        archive_write_set_bytes_per_block(a, 0);
        assert_int_equal(archive_write_open_memory(a, tarbuf, sizeof(tarbuf), &used), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "hello.txt");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 6);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, "hello\n", 6), 6);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);

        vs_error *err = NULL;
        struct vs_txn *t;
        assert_int_equal(vs_txn_begin(f->s, &t, &err), 0);
        _cleanup_free_ char *layer = NULL;
        assert_int_equal(vs_txn_put_blob(t, tarbuf, used, &layer, &err), 0);
        const char *fmt = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                          "\"layers\",\"diff_ids\":[\"%s\"]}}";
        char *configs[2] = {xasprintf(fmt, DA), xasprintf(fmt, layer)};
        char *manifests[2];
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *cd = NULL;
                assert_int_equal(vs_txn_put_blob(t, configs[i], strlen(configs[i]), &cd, &err), 0);
                _cleanup_free_ char *m =
                    xasprintf("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" VS_MT_OCI_CONFIG
                              "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
                              "\"" VS_MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu}]}",
                              cd, strlen(configs[i]), layer, used);
                assert_int_equal(vs_txn_put_blob(t, m, strlen(m), &manifests[i], &err), 0);
        }
        /* the config's diff_id is not the layer's: refused */
        assert_int_equal(vs_txn_add_image(t, manifests[0], NULL, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "rootfs.diff_ids says " DA));
        vs_error_free(&err);
        char *names[] = {"hello:latest", NULL};
        if (vs_txn_add_image(t, manifests[1], names, NULL, &err) < 0 || vs_txn_commit(t, &err) < 0)
                fail_msg("%s", err->msg);
        vs_txn_free(t);
        struct vs_image *img = NULL;
        assert_int_equal(vs_image_lookup(f->s, "hello", &img, &err), 0);
        assert_int_equal(img->n_layers, 1);
        _cleanup_free_ char *file = xasprintf("%s/hello.txt", img->layer_dirs[0]);
        _cleanup_free_ char *content = NULL;
        assert_int_equal(vs_read_file(file, &content, NULL, &err), 0);
        assert_string_equal(content, "hello\n");
        vs_image_free(img);
        for (int i = 0; i < 2; i++) {
                free(configs[i]);
                free(manifests[i]);
        }
        char *report = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&report, &len);
        assert_int_equal(vs_store_check(f->s, out, &err), 0);
        fclose(out);
        free(report);
}

/* A stream staged as VS_STAGE_LAYER, written in pieces of len bytes:
 * its unpack job keeps the blob. */
static int stage_layer(struct vs_txn *t, const char *data, size_t size, const char *expected,
                       char **digest, vs_error **err)
{
        struct vs_stage *st;
        assert_int_equal(vs_stage_open(t, VS_STAGE_LAYER, VS_MT_OCI_LAYER, &st, err), 0);
        int r = 0;
        for (size_t off = 0; r == 0 && off < size; off += 65536)
                r = vs_stage_write(st, data + off, size - off < 65536 ? size - off : 65536, err);
        int64_t got_size = 0;
        if (r == 0)
                r = vs_stage_finish(st, expected, digest, &got_size, err);
        if (r == 0)
                assert_int_equal(got_size, (int64_t) size);
        vs_stage_free(st);
        return r;
}

static void test_stage_layer_kept_by_its_job(void **state)
{
        struct fixture *f = *state;
        /* a 12 MiB file (three times the job's ring) in a plain tar, then
         * bytes after the archive's end: all of it is the blob */
        size_t file = 12 << 20, cap = file + (64 << 10);
        char *tarbuf = xzalloc(cap);
        char *content = xmalloc(file);
        for (size_t i = 0; i < file; i++)
                content[i] = (char) (i * 7 + i / 4096);
        size_t used = 0;
        struct archive *a = archive_write_new();
        archive_write_set_format_ustar(a);
        archive_write_set_bytes_per_block(a, 0);
        assert_int_equal(archive_write_open_memory(a, tarbuf, cap, &used), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "big");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) file);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, content, file), (la_ssize_t) file);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        memset(tarbuf + used, 0, 3000);
        used += 3000;
        _cleanup_free_ char *want = vs_digest_buffer(tarbuf, used);

        vs_error *err = NULL;
        struct vs_txn *t;
        assert_int_equal(vs_txn_begin(f->s, &t, &err), 0);
        _cleanup_free_ char *got = NULL;
        assert_int_equal(stage_layer(t, tarbuf, used, want, &got, &err), 0);
        assert_string_equal(got, want);
        assert_true(vs_txn_has_blob(t, want));
        /* the kept blob reads back whole, and the layer was unpacked from it
         * (a plain tar's diff_id is its digest) */
        char *back = NULL;
        size_t back_len = 0;
        assert_int_equal(vs_txn_read_blob(t, want, (int64_t) used, &back, &back_len, &err), 0);
        assert_int_equal(back_len, used);
        free(back);
        assert_int_equal(vs_txn_ensure_layer(t, want, VS_MT_OCI_LAYER, want, &err), 0);

        /* the wrong digest expected: refused, with the one the bytes have */
        tarbuf[used - 1] = 1;
        _cleanup_free_ char *other = vs_digest_buffer(tarbuf, used);
        assert_int_equal(stage_layer(t, tarbuf, used, want, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "does not match its digest"));
        assert_non_null(strstr(err->msg, other));
        vs_error_free(&err);
        assert_false(vs_txn_has_blob(t, other));

        /* not a tar at all: the blob is still kept whole (the job reads to
         * the end), and the layer refused with the reason */
        memset(tarbuf, 'x', 5 << 20);
        _cleanup_free_ char *junk = vs_digest_buffer(tarbuf, 5 << 20);
        _cleanup_free_ char *junk_got = NULL;
        assert_int_equal(stage_layer(t, tarbuf, 5 << 20, NULL, &junk_got, &err), 0);
        assert_string_equal(junk_got, junk);
        assert_int_equal(vs_txn_ensure_layer(t, junk, VS_MT_OCI_LAYER, junk, &err), -1);
        assert_non_null(strstr(err->msg, junk));
        vs_error_free(&err);
        vs_txn_free(t);
        free(tarbuf);
        free(content);
}

static bool in_use_by_web(const char *image_id, void *arg, char **user)
{
        if (strcmp(image_id, (const char *) arg) != 0)
                return false;
        *user = xstrdup("web");
        return true;
}

static void test_store_remove_in_use(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *id = NULL;
        commit_image(f->s, "used", "used:1", &id);
        vs_store_set_in_use_check(f->s, in_use_by_web, id);
        vs_error *err = NULL;
        FILE *out = fopen("/dev/null", "w");
        assert_int_equal(vs_image_remove(f->s, "used:1", false, out, &err), -1);
        assert_string_equal(err->msg, "image used:1 is in use by container web");
        vs_error_free(&err);
        /* -f: the name goes, the image stays for the container */
        assert_int_equal(vs_image_remove(f->s, "used:1", true, out, &err), 0);
        struct vs_image *img = NULL;
        assert_int_equal(vs_image_lookup(f->s, id, &img, &err), 0);
        assert_int_equal(strv_len(img->names), 0);
        vs_image_free(img);
        /* prune keeps it while in use, removes it after */
        struct vs_prune_report r;
        assert_int_equal(vs_store_prune(f->s, false, true, NULL, NULL, out, &r, &err), 0);
        assert_int_equal(r.images, 0);
        vs_store_set_in_use_check(f->s, NULL, NULL);
        assert_int_equal(vs_store_prune(f->s, false, true, NULL, NULL, out, &r, &err), 0);
        assert_int_equal(r.images, 1);
        assert_int_equal(r.blobs, 2);
        fclose(out);
        assert_int_equal(vs_image_lookup(f->s, id, &img, &err), -1);
        vs_error_free(&err);
}

static void test_store_tag_and_untag(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *id = NULL;
        commit_image(f->s, "tagged", "one", &id);
        vs_error *err = NULL;
        assert_int_equal(vs_image_tag(f->s, "one", "two:x", &err), 0);
        struct vs_image *img = NULL;
        assert_int_equal(vs_image_lookup(f->s, "two:x", &img, &err), 0);
        assert_string_equal(img->id, id);
        assert_int_equal(strv_len(img->names), 2);
        vs_image_free(img);
        FILE *out = fopen("/dev/null", "w");
        /* by ID with two names: refused without -f */
        assert_int_equal(vs_image_remove(f->s, id, false, out, &err), -1);
        assert_non_null(strstr(err->msg, "several names"));
        vs_error_free(&err);
        /* by one name: only the name goes */
        assert_int_equal(vs_image_remove(f->s, "one", false, out, &err), 0);
        assert_int_equal(vs_image_lookup(f->s, "two:x", &img, &err), 0);
        assert_int_equal(strv_len(img->names), 1);
        vs_image_free(img);
        assert_int_equal(vs_image_remove(f->s, "two:x", false, out, &err), 0);
        fclose(out);
        assert_int_equal(vs_image_lookup(f->s, id, &img, &err), -1);
        vs_error_free(&err);
        _cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", f->dir);
        assert_true(dir_is_empty(blobs));
}

static void test_nested_lock(void **state)
{
        struct fixture *f = *state;
        vs_error *err = NULL;
        int outer = vs_store_lock(f->s, &err);
        assert_true(outer >= 0);
        /* a transaction inside a held lock must not deadlock */
        commit_image(f->s, "nested", "nested", NULL);
        close(outer);
}

/* The dlopen tables behind image/libs.h: a missing library or symbol is one
 * clear error and leaves nothing half-loaded; a present one is callable. */
static void test_dynlib(void **state)
{
        _cleanup_error_ vs_error *err = NULL;
        void *slots[2] = {NULL, NULL};
        static const char *const missing_names[] = {"f", NULL};
        struct vs_dynlib missing = {.soname = "libvessel-missing.so.7",
                                    .package = "libvessel-missing7",
                                    .names = missing_names,
                                    .table = slots};
        assert_int_equal(vs_dynlib_load(&missing, &err), -1);
        assert_non_null(strstr(err->msg, "cannot load libvessel-missing.so.7 (Debian package "
                                         "libvessel-missing7): "));
        assert_false(missing.loaded);
        vs_error_free(&err);

        static const char *const bad_names[] = {"archive_version_number",
                                                "archive_no_such_function", NULL};
        struct vs_dynlib bad = {.soname = "libarchive.so.13",
                                .package = "libarchive13",
                                .names = bad_names,
                                .table = slots};
        assert_int_equal(vs_dynlib_load(&bad, &err), -1);
        assert_non_null(strstr(err->msg, "no symbol archive_no_such_function"));
        assert_false(bad.loaded);
        assert_null(slots[0]);
        vs_error_free(&err);

        static const char *const good_names[] = {"archive_version_number", NULL};
        struct {
                int (*version)(void);
        } table = {NULL};
        struct vs_dynlib good = {.soname = "libarchive.so.13",
                                 .package = "libarchive13",
                                 .names = good_names,
                                 .table = &table};
        assert_int_equal(vs_dynlib_load(&good, &err), 0);
        assert_true(good.loaded);
        assert_int_equal(table.version(), ARCHIVE_VERSION_NUMBER);
        assert_ptr_equal(vs_dynlib_table(&good), &table);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ref_normalize),
            cmocka_unit_test(test_dynlib),
            cmocka_unit_test(test_ref_normalize_any),
            cmocka_unit_test(test_ref_split),
            cmocka_unit_test(test_id_prefix),
            cmocka_unit_test(test_digests),
            cmocka_unit_test(test_index_names_move),
            cmocka_unit_test(test_index_round_trip),
            cmocka_unit_test(test_index_parse_repairs_and_rejects),
            cmocka_unit_test(test_manifest_media_types),
            cmocka_unit_test(test_manifest_index_platforms),
            cmocka_unit_test_setup_teardown(test_store_lookup, setup_store, teardown_store),
            cmocka_unit_test_setup_teardown(test_store_ambiguous_prefix, setup_store,
                                            teardown_store),
            cmocka_unit_test_setup_teardown(test_store_rollback_and_verification, setup_store,
                                            teardown_store),
            cmocka_unit_test_setup_teardown(test_store_diff_id_verified, setup_store,
                                            teardown_store),
            cmocka_unit_test_setup_teardown(test_store_remove_in_use, setup_store, teardown_store),
            cmocka_unit_test_setup_teardown(test_store_tag_and_untag, setup_store, teardown_store),
            cmocka_unit_test_setup_teardown(test_nested_lock, setup_store, teardown_store),
            cmocka_unit_test_setup_teardown(test_stage_layer_kept_by_its_job, setup_store,
                                            teardown_store),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
