/* The Dockerfile parser and word expansion (src/build/): directives,
 * continuations, comments, exec and shell forms, heredocs, flags,
 * key=value instructions, errors with file:line, and expansion with
 * quotes, escapes and ${V:-x}/${V:+x}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "build/dockerfile.h"
#include "build/internal.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

static struct vs_dockerfile *parse_ok(const char *text)
{
        struct vs_dockerfile *df = NULL;
        vs_error *err = NULL;
        if (vs_dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err) < 0)
                fail_msg("parse failed: %s", err->msg);
        return df;
}

static char *parse_err(const char *text)
{
        struct vs_dockerfile *df = NULL;
        vs_error *err = NULL;
        if (vs_dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err) == 0)
                fail_msg("parse of '%s' succeeded", text);
        assert_null(df);
        char *m = xstrdup(err->msg);
        vs_error_free(&err);
        return m;
}

static void test_basic(void **state)
{
        struct vs_dockerfile *df = parse_ok("# syntax=docker/dockerfile:1\n"
                                            "ARG BASE=busybox\n"
                                            "FROM ${BASE} AS build\n"
                                            "# a comment\n"
                                            "\n"
                                            "RUN echo a \\\n"
                                            "  # inside\n"
                                            "  && echo b\n"
                                            "CMD [\"/bin/sh\", \"-c\", \"echo hi\"]\n"
                                            "ENTRYPOINT [\"broken\n"
                                            "copy --from=build --chown=1:2 a b /dst/\n");
        assert_int_equal(df->n, 6);
        assert_int_equal(df->instrs[0].kind, VS_DF_ARG);
        assert_string_equal(df->instrs[0].args[0], "BASE");
        assert_string_equal(df->instrs[0].args[1], "busybox");
        assert_true(df->instrs[0].has_value[0]);
        assert_int_equal(df->instrs[1].kind, VS_DF_FROM);
        assert_int_equal(df->instrs[1].line, 3);
        assert_string_equal(df->instrs[1].args[2], "build");
        assert_int_equal(df->instrs[2].kind, VS_DF_RUN);
        assert_int_equal(df->instrs[2].line, 6);
        assert_false(df->instrs[2].exec_form);
        assert_string_equal(df->instrs[2].args[0], "echo a   && echo b");
        assert_true(df->instrs[3].exec_form);
        assert_int_equal(strv_len(df->instrs[3].args), 3);
        assert_string_equal(df->instrs[3].args[2], "echo hi");
        /* Not valid JSON: the shell form, as Docker does. */
        assert_false(df->instrs[4].exec_form);
        assert_string_equal(df->instrs[4].args[0], "[\"broken");
        struct vs_df_instr *c = &df->instrs[5];
        assert_int_equal(c->kind, VS_DF_COPY);
        assert_int_equal(c->line, 11);
        assert_string_equal(vs_df_flag(c, "from"), "build");
        assert_string_equal(vs_df_flag(c, "chown"), "1:2");
        assert_null(vs_df_flag(c, "chmod"));
        assert_int_equal(strv_len(c->args), 3);
        vs_dockerfile_free(df);
}

static void test_escape_directive(void **state)
{
        struct vs_dockerfile *df = parse_ok("# escape=`\n"
                                            "FROM scratch\n"
                                            "RUN dir c:\\ `\n"
                                            "  /w\n");
        assert_int_equal(df->escape, '`');
        assert_string_equal(df->instrs[1].args[0], "dir c:\\   /w");
        vs_dockerfile_free(df);
        /* A directive after an instruction is a comment. */
        df = parse_ok("FROM scratch\n# escape=`\nRUN a \\\n b\n");
        assert_int_equal(df->escape, '\\');
        assert_string_equal(df->instrs[1].args[0], "a  b");
        vs_dockerfile_free(df);
}

static void test_heredocs(void **state)
{
        struct vs_dockerfile *df = parse_ok("FROM busybox\n"
                                            "RUN <<EOF\n"
                                            "echo $HOME\n"
                                            "EOF\n"
                                            "COPY <<-'END' /etc/x\n"
                                            "\tliteral $V\n"
                                            "\tEND\n"
                                            "RUN cat <<A <<B\n"
                                            "a\n"
                                            "A\n"
                                            "b\n"
                                            "B\n"
                                            "CMD x\n");
        assert_int_equal(df->n, 5);
        struct vs_df_instr *r = &df->instrs[1];
        assert_int_equal(r->n_heredocs, 1);
        assert_string_equal(r->heredocs[0].word, "EOF");
        assert_string_equal(r->heredocs[0].content, "echo $HOME\n");
        assert_true(r->heredocs[0].expand);
        struct vs_df_instr *c = &df->instrs[2];
        assert_int_equal(c->n_heredocs, 1);
        assert_string_equal(c->heredocs[0].word, "END");
        assert_string_equal(c->heredocs[0].content, "literal $V\n");
        assert_false(c->heredocs[0].expand);
        assert_int_equal(df->instrs[3].n_heredocs, 2);
        assert_string_equal(df->instrs[3].heredocs[1].content, "b\n");
        assert_int_equal(df->instrs[4].line, 13);
        vs_dockerfile_free(df);
}

static void test_key_values(void **state)
{
        struct vs_dockerfile *df = parse_ok("FROM scratch\n"
                                            "ENV A=1 B=\"two words\" C=x\\ y\n"
                                            "ENV LEGACY value with  blanks\n"
                                            "LABEL \"com.x\"=y\n"
                                            "ARG NODEF OTHER=2\n"
                                            "ONBUILD RUN echo trig\n"
                                            "HEALTHCHECK --interval=5s CMD [\"true\"]\n"
                                            "VOLUME [\"/a\", \"/b\"]\n"
                                            "EXPOSE 80 443/udp\n");
        struct vs_df_instr *e = &df->instrs[1];
        assert_int_equal(strv_len(e->args), 6);
        assert_string_equal(e->args[3], "\"two words\"");
        assert_string_equal(e->args[5], "x\\ y");
        assert_string_equal(df->instrs[2].args[0], "LEGACY");
        assert_string_equal(df->instrs[2].args[1], "value with  blanks");
        assert_string_equal(df->instrs[3].args[0], "\"com.x\"");
        assert_false(df->instrs[4].has_value[0]);
        assert_true(df->instrs[4].has_value[1]);
        assert_non_null(df->instrs[5].sub);
        assert_int_equal(df->instrs[5].sub->kind, VS_DF_RUN);
        struct vs_df_instr *h = &df->instrs[6];
        assert_string_equal(vs_df_flag(h, "interval"), "5s");
        assert_non_null(h->sub);
        assert_true(h->sub->exec_form);
        assert_true(df->instrs[7].exec_form);
        assert_int_equal(strv_len(df->instrs[8].args), 2);
        vs_dockerfile_free(df);
}

static void test_errors(void **state)
{
        struct {
                const char *text, *want;
        } cases[] = {
            {"FROM busybox\nFOO bar\n", "Dockerfile:2: unknown instruction: FOO"},
            {"RUN true\n", "Dockerfile:1: RUN before the first FROM"},
            {"", "Dockerfile:1: file with no instructions"},
            {"ARG A=1\n", "Dockerfile:1: no FROM instruction"},
            {"FROM busybox\nSHELL /bin/bash -c\n", "Dockerfile:2: SHELL requires the arguments "
                                                   "to be in JSON form"},
            {"FROM busybox\n\nRUN <<EOF\necho\n", "Dockerfile:3: unterminated heredoc EOF"},
            {"FROM busybox\nCOPY --bogus=1 a b\n", "Dockerfile:2: unknown flag: --bogus"},
            {"FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"},
            {"FROM busybox\nENV A=1 B\n", "Dockerfile:2: syntax error - can't find = in"},
            {"FROM busybox\nCOPY onlyone\n", "Dockerfile:2: COPY requires at least two"},
            {"FROM busybox\nONBUILD FROM x\n", "Dockerfile:2: FROM isn't allowed"},
            {"# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token"},
            {"FROM busybox\nUSER\n", "Dockerfile:2: USER requires exactly one argument"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *m = parse_err(cases[i].text);
                if (strncmp(m, cases[i].want, strlen(cases[i].want)) != 0)
                        fail_msg("case %zu: got '%s', want prefix '%s'", i, m, cases[i].want);
                assert_null(strchr(m, '\n'));
        }
}

static const char *lookup(const char *name, void *arg)
{
        char **env = arg;
        size_t n = strlen(name);
        for (size_t i = 0; env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

static void expect(const char *word, const char *want)
{
        char *env[] = {"A=alpha", "E=", "P=/usr/bin", NULL};
        char *out = NULL;
        vs_error *err = NULL;
        if (vs_df_expand(word, '\\', lookup, env, &out, &err) < 0)
                fail_msg("expand '%s': %s", word, err->msg);
        if (strcmp(out, want) != 0)
                fail_msg("expand '%s': got '%s', want '%s'", word, out, want);
        free(out);
}

static void test_expand(void **state)
{
        expect("$A", "alpha");
        expect("${A}x", "alphax");
        expect("$Ax", "");
        expect("'$A'", "$A");
        expect("\"$A b\"", "alpha b");
        expect("\\$A", "$A");
        expect("\"\\$A\\\"\\n\"", "$A\"\\n");
        expect("${U:-def}", "def");
        expect("${E:-def}", "def");
        expect("${E-def}", "");
        expect("${A:+set}", "set");
        expect("${U:+set}", "");
        expect("${E+set}", "set");
        expect("${U:-${A}}", "alpha");
        expect("${U:-\"a b\"}", "a b");
        expect("$P:/x", "/usr/bin:/x");
        expect("a$", "a$");
        expect("x\\ y", "x y");
        char *env[] = {NULL};
        char *out = NULL;
        vs_error *err = NULL;
        const char *bad[] = {"${", "${A", "${A:=x}", "'open", "\"open", "${U:?must be set}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (vs_df_expand(bad[i], '\\', lookup, env, &out, &err) == 0)
                        fail_msg("expand '%s' succeeded: '%s'", bad[i], out);
                assert_non_null(err);
                vs_error_free(&err);
        }
        char **words = NULL;
        char *env2[] = {"A=alpha", NULL};
        assert_int_equal(vs_df_expand_words("a \"b c\" $A 'd e'", '\\', lookup, env2, &words, &err),
                         0);
        assert_int_equal(strv_len(words), 4);
        assert_string_equal(words[1], "b c");
        assert_string_equal(words[2], "alpha");
        assert_string_equal(words[3], "d e");
        strv_free(words);
}

static void test_dockerignore(void **state)
{
        struct ignore *ig = ignore_parse("# comment\n"
                                         "*.log\n"
                                         "!keep.log\n"
                                         "/build\n"
                                         "docs/**/*.tmp\n"
                                         "sub/?.txt\n"
                                         "./cache/\n"
                                         "\n");
        struct {
                const char *path;
                bool ignored;
        } cases[] = {
            {"a.log", true},       {"keep.log", false},   {"dir/a.log", false},
            {"build", true},       {"build/x/y", true},   {"docs/a/b/c.tmp", true},
            {"docs/c.tmp", true},  {"docs/c.txt", false}, {"sub/a.txt", true},
            {"sub/ab.txt", false}, {"cache/x", true},     {"Dockerfile", false},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (ignore_match(cases[i].path, ig) != cases[i].ignored)
                        fail_msg("%s: expected %s", cases[i].path,
                                 cases[i].ignored ? "ignored" : "kept");
        ignore_free(ig);
}

static void test_clean_inside(void **state)
{
        struct {
                const char *in, *out;
        } cases[] = {
            {"a/b", "a/b"}, {"/a//b/", "a/b"}, {"./a/./b", "a/b"},  {"a/../b", "b"}, {".", ""},
            {"/", ""},      {"..", NULL},      {"a/../../b", NULL}, {"/../x", NULL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = clean_inside(cases[i].in);
                if (cases[i].out == NULL ? got != NULL
                                         : (got == NULL || strcmp(got, cases[i].out) != 0))
                        fail_msg("clean_inside(%s) = %s, want %s", cases[i].in, got ? got : "NULL",
                                 cases[i].out ? cases[i].out : "NULL");
                free(got);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_basic),        cmocka_unit_test(test_escape_directive),
            cmocka_unit_test(test_heredocs),     cmocka_unit_test(test_key_values),
            cmocka_unit_test(test_errors),       cmocka_unit_test(test_expand),
            cmocka_unit_test(test_dockerignore), cmocka_unit_test(test_clean_inside),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
