/* The Go text/template subset (src/util/template.c, template_exec.c):
 * expected outputs are what Go's text/template prints for the same
 * template on the same decoded JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/template.h"

static const char *DATA =
    "{\"Name\":\"web\",\"Id\":\"abc123\",\"Count\":3,\"Zero\":0,\"Big\":1073741824,"
    "\"Ratio\":0.5,\"Huge\":1e6,\"On\":true,\"Nil\":null,\"Empty\":\"\","
    "\"List\":[\"a\",\"b\",\"c\"],\"Nums\":[1,2],\"None\":[],"
    "\"Labels\":{\"b\":\"2\",\"a\":\"1\"},"
    "\"State\":{\"Status\":\"running\",\"Pid\":42,\"Health\":null},"
    "\"Html\":\"<a&b>\"}";

/* Executes tpl on DATA; returns the output or "ERR: message". */
static char *run_strict(const char *tpl, bool strict)
{
        json_object *data = json_tokener_parse(DATA);
        assert_non_null(data);
        struct vs_template *t = NULL;
        vs_error *err = NULL;
        char *out = NULL;
        if (vs_template_parse(tpl, &t, &err) == 0) {
                vs_template_set_strict(t, strict);
                if (vs_template_exec(t, data, &out, &err) < 0)
                        out = NULL;
                vs_template_free(t);
        }
        if (!out) {
                assert_non_null(err);
                size_t n = strlen(err->msg) + 8;
                out = malloc(n);
                snprintf(out, n, "ERR: %s", err->msg);
                vs_error_free(&err);
        }
        json_object_put(data);
        return out;
}

static char *run(const char *tpl)
{
        return run_strict(tpl, false);
}

#define EXPECT(tpl, want)                                                                          \
        do {                                                                                       \
                char *got_ = run(tpl);                                                             \
                assert_string_equal(got_, want);                                                   \
                free(got_);                                                                        \
        } while (0)

#define EXPECT_ERR(tpl, needle)                                                                    \
        do {                                                                                       \
                char *got_ = run(tpl);                                                             \
                if (strncmp(got_, "ERR: ", 5) != 0 || !strstr(got_, needle))                       \
                        fail_msg("%s: want an error with %s, got %s", tpl, needle, got_);          \
                free(got_);                                                                        \
        } while (0)

static void test_fields_and_printing(void **state)
{
        (void) state;
        EXPECT("plain text", "plain text");
        EXPECT("{{.Name}}", "web");
        EXPECT("{{.State.Status}}/{{.State.Pid}}", "running/42");
        EXPECT("{{.Count}} {{.Big}} {{.Ratio}} {{.Huge}}", "3 1073741824 0.5 1e+06");
        EXPECT("{{.On}} {{.Nil}} {{.Missing}}", "true <nil> <no value>");
        EXPECT("{{.List}} {{.Labels}} {{.None}}", "[a b c] map[a:1 b:2] []");
        EXPECT("{{.State.Health}}", "<nil>");
        EXPECT("{{ .Name }}", "web");
        EXPECT("a  {{- .Name -}}  b", "awebb");
        EXPECT("{{/* a comment */}}x", "x");
        EXPECT("{{.}}", "map[Big:1073741824 Count:3 Empty: Html:<a&b> Huge:1e+06 Id:abc123 "
                        "Labels:map[a:1 b:2] List:[a b c] Name:web Nil:<nil> None:[] Nums:[1 2] "
                        "On:true Ratio:0.5 State:map[Health:<nil> Pid:42 Status:running] Zero:0]");
        EXPECT_ERR("{{.Missing.Deeper}}", "nil pointer evaluating interface {}.Deeper");
        EXPECT_ERR("{{.Name.Deeper}}", "can't evaluate field Deeper in type string");
        char *s = run_strict("{{.Missing}}", true);
        assert_non_null(strstr(s, "can't evaluate field Missing"));
        free(s);
}

static void test_functions(void **state)
{
        (void) state;
        EXPECT("{{json .List}}", "[\"a\",\"b\",\"c\"]");
        EXPECT("{{json .Html}}", "\"\\u003ca\\u0026b\\u003e\"");
        EXPECT("{{json .Nil}}", "null");
        EXPECT("{{json .State}}", "{\"Status\":\"running\",\"Pid\":42,\"Health\":null}");
        EXPECT("{{join .List \",\"}}", "a,b,c");
        EXPECT("{{upper .Name}} {{lower \"ABC\"}} {{title \"hello big world\"}}",
               "WEB abc Hello Big World");
        EXPECT("{{split \"a:b:c\" \":\"}}", "[a b c]");
        EXPECT("{{len .List}} {{len .Labels}} {{len .Name}}", "3 2 3");
        EXPECT("{{index .List 1}} {{index .Labels \"b\"}} {{index .Labels \"zz\"}}", "b 2 <nil>");
        EXPECT_ERR("{{index .List 5}}", "index out of range: 5");
        EXPECT("{{printf \"%s-%d-%5s|%-4s|%q|%v|%x\" .Name .Count \"ab\" \"c\" \"q\" .On 255}}",
               "web-3-   ab|c   |\"q\"|true|ff");
        EXPECT("{{printf \"%.2f\" .Ratio}}", "0.50");
        EXPECT("{{printf \"%d\"}}", "%!d(MISSING)");
        EXPECT("{{.Name | printf \"<%s>\"}}", "<web>");
        EXPECT("{{.Name | upper | printf \"%s!\"}}", "WEB!");
        EXPECT("{{truncate .Id 3}} [{{pad .Name 1 2}}]", "abc [ web  ]");
        EXPECT("{{print 1 2 \"x\" 3}}", "1 2x3");
        EXPECT("{{eq .Name \"web\"}} {{ne .Count 3}} {{lt 1 2}} {{ge .Count 4}}",
               "true false true false");
        EXPECT("{{eq .Name \"x\" \"y\" \"web\"}}", "true");
        EXPECT("{{and .On .Name}} {{or .Empty .Name}} {{not .On}}", "web web false");
        EXPECT("{{(index .List 2) | upper}}", "C");
        EXPECT("{{(index .Labels \"a\")}}", "1");
        EXPECT_ERR("{{eq .Name 3}}", "incompatible types for comparison");
        EXPECT_ERR("{{len .Count}}", "len of type int");
}

static void test_control(void **state)
{
        (void) state;
        EXPECT("{{if .On}}yes{{else}}no{{end}}", "yes");
        EXPECT("{{if .Zero}}yes{{else if .Empty}}e{{else if .Count}}c{{else}}no{{end}}", "c");
        EXPECT("{{if not .None}}empty{{end}}", "empty");
        EXPECT("{{range .List}}[{{.}}]{{end}}", "[a][b][c]");
        EXPECT("{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", "0=a 1=b 2=c ");
        EXPECT("{{range $k, $v := .Labels}}{{$k}}:{{$v}},{{end}}", "a:1,b:2,");
        EXPECT("{{range .None}}x{{else}}none{{end}}", "none");
        EXPECT("{{range .List}}{{$.Name}}{{end}}", "webwebweb");
        EXPECT("{{with .State}}{{.Status}}{{end}}", "running");
        EXPECT("{{with .Nil}}x{{else}}nothing{{end}}", "nothing");
        EXPECT("{{$n := .Name}}{{$n}}{{$n = \"x\"}}{{$n}}", "webx");
        EXPECT("{{range .List -}}\n  {{.}}\n{{- end}}", "abc");
}

static void test_parse_errors(void **state)
{
        (void) state;
        EXPECT_ERR("{{.Name", "unclosed action");
        EXPECT_ERR("{{if .On}}x", "unexpected EOF");
        EXPECT_ERR("{{end}}", "unexpected {{end}}");
        EXPECT_ERR("{{nosuch .Name}}", "function \"nosuch\" not defined");
        EXPECT_ERR("{{\"a\" \"x\"}}", "can't give argument to non-function");
        EXPECT_ERR("{{. \"x\"}}", "can't give argument to non-function");
        EXPECT_ERR("{{\"abc}}", "unterminated quoted string");
        EXPECT_ERR("{{$x}}", "undefined variable: $x");
        EXPECT_ERR("{{(.Name}}", "unclosed left paren");
        EXPECT_ERR("{{template \"x\"}}", "not supported");
        EXPECT_ERR("{{}}", "missing value for command");
        EXPECT_ERR("{{if .On}}a{{else}}b{{else}}c{{end}}", "expected end; found else");
}

/* Label(name), as Docker's ps context has: self is the labels object. */
static json_object *method_label(json_object *self, const char *const *args)
{
        json_object *v = json_object_object_get(self, args[0]);
        return json_object_new_string(v ? json_object_get_string(v) : "");
}

static json_object *method_pair(json_object *self, const char *const *args)
{
        (void) self;
        char buf[64];
        snprintf(buf, sizeof(buf), "%s+%s", args[0], args[1]);
        return json_object_new_string(buf);
}

static const struct vs_template_method METHODS[] = {
    {"Label", 1, method_label},
    {"Pair", 2, method_pair},
    {NULL, 0, NULL},
};

/* tpl on DATA with METHODS, self {"a":"1","b":"x y"}: output or "ERR: ". */
static char *run_methods(const char *tpl, bool strict)
{
        json_object *data = json_tokener_parse(DATA);
        json_object *self = json_tokener_parse("{\"a\":\"1\",\"b\":\"x y\"}");
        struct vs_template *t = NULL;
        vs_error *err = NULL;
        char *out = NULL;
        if (vs_template_parse(tpl, &t, &err) == 0) {
                vs_template_set_strict(t, strict);
                vs_template_set_methods(t, METHODS);
                if (vs_template_exec_self(t, data, self, &out, &err) < 0)
                        out = NULL;
                vs_template_free(t);
        }
        if (!out) {
                size_t n = strlen(err->msg) + 8;
                out = malloc(n);
                snprintf(out, n, "ERR: %s", err->msg);
                vs_error_free(&err);
        }
        json_object_put(self);
        json_object_put(data);
        return out;
}

#define EXPECT_M(strict, tpl, want)                                                                \
        do {                                                                                       \
                char *got_ = run_methods(tpl, strict);                                             \
                if (strcmp(got_, want) != 0)                                                       \
                        fail_msg("%s: want \"%s\", got \"%s\"", tpl, want, got_);                  \
                free(got_);                                                                        \
        } while (0)

/* An error whose message has tail (the column aside: vessel counts from the
 * action's start). */
#define EXPECT_MERR(strict, tpl, tail)                                                             \
        do {                                                                                       \
                char *got_ = run_methods(tpl, strict);                                             \
                if (strncmp(got_, "ERR: template: :1:", 18) != 0 || !strstr(got_, tail))           \
                        fail_msg("%s: want an error ending %s, got %s", tpl, tail, got_);          \
                free(got_);                                                                        \
        } while (0)

/* Go's method calls with arguments ({{.Label "k"}}), errors as Go words them. */
static void test_methods(void **state)
{
        (void) state;
        EXPECT_M(true, "{{.Label \"a\"}}|{{.Label \"b\"}}|{{.Label \"zz\"}}", "1|x y|");
        EXPECT_M(true, "{{.Label `a`}} {{\"b\" | .Label}} {{.Label \"b\" | upper}}", "1 x y X Y");
        EXPECT_M(
            true,
            "{{$.Label \"a\"}} {{with .}}{{.Label \"a\"}}{{end}} {{$d := .}}{{$d.Label \"a\"}}",
            "1 1 1");
        EXPECT_M(true, "{{range .List}}{{$.Label \"a\"}}{{end}}", "111");
        EXPECT_M(true, "{{printf \"%s-%s\" (.Label \"a\") (.Label \"b\")}}", "1-x y");
        EXPECT_M(true, "{{if eq (.Label \"a\") \"1\"}}one{{end}}", "one");
        EXPECT_M(true, "{{.Pair \"p\" \"q\"}} {{\"q\" | .Pair \"p\"}} {{.Pair .Name .Id}}",
                 "p+q p+q web+abc123");
        EXPECT_M(true, "{{(.).Label \"a\"}}", "1");
        /* methods are not fields */
        EXPECT_M(true, "{{len .}} {{.Name}}", "16 web");
        EXPECT_M(true, "{{json .Labels}}", "{\"b\":\"2\",\"a\":\"1\"}");
        char *s = run_methods("{{json .}}", true);
        assert_null(strstr(s, "Label\""));
        free(s);
        /* Go's errors */
        EXPECT_MERR(true, "{{.Label}}",
                    "executing \"\" at <.Label>: wrong number "
                    "of args for Label: want 1 got 0");
        EXPECT_MERR(true, "{{.Label \"a\" \"b\"}}",
                    "executing \"\" at <.Label \"a\" \"b\">: wrong number of "
                    "args for Label: want 1 got 2");
        EXPECT_MERR(true, "{{.Pair \"a\"}}",
                    "executing \"\" at <.Pair \"a\">: wrong number of args for "
                    "Pair: want 2 got 1");
        EXPECT_MERR(true, "{{.Label.X \"a\"}}",
                    "executing \"\" at <.Label.X \"a\">: wrong number of args "
                    "for Label: want 1 got 0");
        EXPECT_MERR(true, "{{.Label 1}}", "executing \"\" at <.Label 1>: expected string; found 1");
        EXPECT_MERR(true, "{{.Label true}}",
                    "executing \"\" at <.Label true>: expected string; found "
                    "true");
        EXPECT_MERR(true, "{{.Label nil}}",
                    "executing \"\" at <.Label nil>: cannot assign nil to "
                    "string");
        EXPECT_MERR(true, "{{.Label .Count}}",
                    "executing \"\" at <.Label .Count>: wrong type for value; "
                    "expected string; got int");
        EXPECT_MERR(false, "{{.Label .Nope}}",
                    "executing \"\" at <.Label .Nope>: invalid value; expected "
                    "string");
        EXPECT_MERR(true, "{{.Count | .Label}}",
                    "executing \"\" at <.Count | .Label>: wrong type for value; "
                    "expected string; got int");
        /* a method of the data, not of what it holds */
        EXPECT_MERR(false, "{{.State.Label \"a\"}}",
                    "executing \"\" at <.State.Label \"a\">: Label is not a "
                    "method but has arguments");
        EXPECT_MERR(true, "{{range .List}}{{.Label \"a\"}}{{end}}",
                    "executing \"\" at <.Label \"a\">: can't evaluate field "
                    "Label in type string");
        /* a field given arguments: strict data stands for Docker's contexts,
         * whose fields are methods without arguments */
        EXPECT_MERR(true, "{{.Name \"x\"}}",
                    "executing \"\" at <.Name \"x\">: wrong number of args for "
                    "Name: want 0 got 1");
        EXPECT_MERR(false, "{{.Name \"x\"}}",
                    "executing \"\" at <.Name \"x\">: Name is not a method "
                    "but has arguments");
        EXPECT_MERR(false, "{{\"x\" | .Name}}",
                    "executing \"\" at <\"x\" | .Name>: Name is not a method "
                    "but has arguments");
        /* without methods (vs_template_exec), a method is a missing field */
        EXPECT_ERR("{{.Label \"a\"}}", "Label is not a method but has arguments");
}

/* vs_format_list_methods's output, or its error's message; takes the JSON. */
static char *capture_list(const char *fmt, const char *default_table, json_object *header,
                          json_object *rows, const struct vs_format_methods *m)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        vs_error *err = NULL;
        int r = vs_format_list_methods(f, fmt, default_table, header, rows, true, m, &err);
        fclose(f);
        json_object_put(rows);
        json_object_put(header);
        if (r < 0) {
                free(buf);
                char *e = strdup(err->msg);
                vs_error_free(&err);
                return e;
        }
        return buf;
}

static char *format_list(const char *fmt)
{
        json_object *rows = json_tokener_parse(
            "[{\"ID\":\"1\",\"Names\":\"alpha\",\"Status\":\"Up\"},"
            "{\"ID\":\"22\",\"Names\":\"b\",\"Status\":\"Exited (0) 3 seconds ago\"}]");
        json_object *header = json_tokener_parse(
            "{\"ID\":\"CONTAINER ID\",\"Names\":\"NAMES\",\"Status\":\"STATUS\"}");
        return capture_list(fmt, "{{.ID}}\\t{{.Names}}", header, rows, NULL);
}

static json_object *method_names2(json_object *self, const char *const *args)
{
        return json_object_new_string(
            json_object_get_string(json_object_object_get(self, args[0])));
}

static json_object *method_title(json_object *self, const char *const *args)
{
        (void) self;
        char buf[64];
        snprintf(buf, sizeof(buf), "<%s>", args[0]);
        return json_object_new_string(buf);
}

static char *format_list_methods(const char *fmt, bool header_methods)
{
        static const struct vs_template_method row[] = {{"Label", 1, method_names2},
                                                        {NULL, 0, NULL}};
        static const struct vs_template_method head[] = {{"Label", 1, method_title},
                                                         {NULL, 0, NULL}};
        json_object *rows = json_tokener_parse("[{\"ID\":\"1\",\"Names\":\"alpha\"},"
                                               "{\"ID\":\"22\",\"Names\":\"b\"}]");
        json_object *selves = json_tokener_parse("[{\"k\":\"v1\"},{\"k\":\"v22\"}]");
        json_object *header = json_tokener_parse("{\"ID\":\"CONTAINER ID\",\"Names\":\"NAMES\"}");
        const struct vs_format_methods m = {row, selves, header_methods ? head : NULL};
        char *out = capture_list(fmt, "{{.ID}}", header, rows, &m);
        json_object_put(selves);
        return out;
}

static void test_table_methods(void **state)
{
        (void) state;
        char *s = format_list_methods("{{.Names}}={{.Label \"k\"}}", true);
        assert_string_equal(s, "alpha=v1\nb=v22\n");
        free(s);
        /* the header's own method */
        s = format_list_methods("table {{.Names}}\\t{{.Label \"k\"}}\\t{{.ID}}", true);
        assert_string_equal(s, "NAMES     <k>       CONTAINER ID\n"
                               "alpha     v1        1\n"
                               "b         v22       22\n");
        free(s);
        /* a header without methods: the call ends it, silently (Docker
         * ignores a header's errors) */
        s = format_list_methods("table {{.Names}}\\t{{.Label \"k\"}}\\t{{.ID}}", false);
        assert_string_equal(s, "NAMES     \nalpha     v1        1\nb         v22       22\n");
        free(s);
        s = format_list_methods("table {{.ID}}\\t{{.Label \"k\"}}", false);
        assert_string_equal(s, "CONTAINER ID   \n1              v1\n22             v22\n");
        free(s);
        /* a row's error is the command's */
        s = format_list_methods("table {{.ID}}\\t{{.Label}}", true);
        assert_non_null(strstr(s, "wrong number of args for Label: want 1 got 0"));
        free(s);
}

static void test_table(void **state)
{
        (void) state;
        char *s = format_list("table {{.ID}}\\t{{.Names}}\\t{{.Status}}");
        assert_string_equal(s, "CONTAINER ID   NAMES     STATUS\n"
                               "1              alpha     Up\n"
                               "22             b         Exited (0) 3 seconds ago\n");
        free(s);
        s = format_list("table");
        assert_string_equal(s, "CONTAINER ID   NAMES\n1              alpha\n22             b\n");
        free(s);
        s = format_list("{{.Names}}");
        assert_string_equal(s, "alpha\nb\n");
        free(s);
        /* Docker's HeaderFunctions keep the titles; pad is not one of them */
        s = format_list("table {{upper .Names}}|{{lower .ID}}|{{json .Names}}|{{truncate .Names "
                        "2}}|{{title .Status}}|{{split .ID \",\"}}|{{pad .Names 1 0}}|");
        assert_string_equal(s, "NAMES|CONTAINER ID|NAMES|NAMES|STATUS|CONTAINER ID| NAMES|\n"
                               "ALPHA|1|\"alpha\"|al|Up|[1]| alpha|\n"
                               "B|22|\"b\"|b|Exited (0) 3 Seconds Ago|[22]| b|\n");
        free(s);
        s = format_list("{{.Nope}}");
        assert_non_null(strstr(s, "can't evaluate field Nope"));
        free(s);
        s = format_list("{{.Names");
        assert_non_null(strstr(s, "template parsing error"));
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fields_and_printing),
            cmocka_unit_test(test_functions),
            cmocka_unit_test(test_control),
            cmocka_unit_test(test_parse_errors),
            cmocka_unit_test(test_table),
            cmocka_unit_test(test_methods),
            cmocka_unit_test(test_table_methods),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
