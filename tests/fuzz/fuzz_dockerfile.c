/* Dockerfiles: the parser (src/build/parse.c) and, on every word it
 * returns, the expansion of src/build/expand.c, as `vessel build` runs them. */
#include "fuzz_util.h"
#include "build/dockerfile.h"
#include "util/strv.h"

static const char *lookup(const char *name, void *arg)
{
        (void) arg;
        return name[0] == 'A' ? "alpha beta" : name[0] == 'E' ? "" : NULL;
}

static void expand_all(const struct vs_df_instr *in, char escape)
{
        for (size_t i = 0; in->args && in->args[i]; i++) {
                vs_error *err = NULL;
                char *out = NULL;
                char **words = NULL;
                int r = vs_df_expand(in->args[i], escape, lookup, NULL, &out, &err);
                fuzz_check_result(r, &err);
                free(out);
                r = vs_df_expand_words(in->args[i], escape, lookup, NULL, &words, &err);
                fuzz_check_result(r, &err);
                strv_free(words);
        }
        for (size_t i = 0; i < in->n_heredocs; i++) {
                vs_error *err = NULL;
                char *out = NULL;
                int r = vs_df_expand(in->heredocs[i].content, escape, lookup, NULL, &out, &err);
                fuzz_check_result(r, &err);
                free(out);
        }
        if (in->sub)
                expand_all(in->sub, escape);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vs_error *err = NULL;
        struct vs_dockerfile *df = NULL;
        int r = vs_dockerfile_parse((const char *) data, size, "Dockerfile", &df, &err);
        if (r == 0 && err == NULL)
                for (size_t i = 0; i < df->n; i++)
                        expand_all(&df->instrs[i], df->escape);
        vs_dockerfile_free(df);
        fuzz_check_result(r, &err);
        return 0;
}
