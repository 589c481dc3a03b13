/* The store's own index.json (names -> manifests): parse, and a parsed
 * index must serialize to text that parses back to the same entries. */
#include "fuzz_util.h"
#include "image/store.h"

static int str_eq(const char *a, const char *b)
{
        return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_cstr(data, size);
        vs_error *err = NULL;
        struct vs_index idx = {0};
        int ret = vs_index_parse(text, "index.json", &idx, &err);
        if (ret == 0) {
                char *again = vs_index_serialize(&idx);
                struct vs_index idx2 = {0};
                if (vs_index_parse(again, "serialized index", &idx2, &err) < 0) {
                        fprintf(stderr, "serialized index does not parse: %s\n%s\n", err->msg,
                                again);
                        abort();
                }
                if (idx2.n != idx.n)
                        abort();
                for (size_t i = 0; i < idx.n; i++)
                        if (!str_eq(idx.entries[i].digest, idx2.entries[i].digest) ||
                            !str_eq(idx.entries[i].name, idx2.entries[i].name) ||
                            !str_eq(idx.entries[i].media_type, idx2.entries[i].media_type) ||
                            idx.entries[i].size != idx2.entries[i].size) {
                                fprintf(stderr, "index entry %zu changed in a round trip\n", i);
                                abort();
                        }
                vs_index_clear(&idx2);
                free(again);
        }
        vs_index_clear(&idx);
        fuzz_check_result(ret, &err);
        free(text);
        return 0;
}
