/* Go text/template, the subset Docker's --format strings use, over json-c
 * values: text and {{actions}} with {{- -}} trimming and comments; fields
 * (.A.B, $x.A, (pipe).A), variables ($, $x := ..., $x = ..., range $i, $e
 * := ...), pipelines (a | f b), if/else if/else, range (arrays; objects in
 * key order) with else, with/else, and the functions json, join, split,
 * upper, lower, title, len, index, printf, print, println, truncate, pad,
 * eq, ne, lt, le, gt, ge, and, or, not; methods of the data with string
 * arguments ({{.Label "k"}}, see vs_template_method).
 *
 * Values print as Go's %v prints decoded JSON: strings as they are,
 * integers in decimal, floats in Go's shortest %g, arrays as [a b],
 * objects as map[k:v] (sorted keys), null as <nil>, a missing key as
 * <no value> (or an error when the template is strict: a fixed set of
 * fields, as Docker's ps and images have).
 *
 * Tables (vs_format_*): a format "table FMT" prints a header (FMT executed
 * on a header object mapping each field to its title) and one row per item,
 * cells split at tabs and aligned as Go's tabwriter(minwidth 10, padding 3)
 * aligns them; "\t" and "\n" written as two characters become a tab and a
 * newline, as Docker does. */
#ifndef VESSEL_UTIL_TEMPLATE_H
#define VESSEL_UTIL_TEMPLATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "util/error.h"

struct vs_template;

/* Parses text. Errors: "template: :LINE: what". */
int vs_template_parse(const char *text, struct vs_template **out, vs_error **err);
/* strict: a field that is missing from an object is an error. */
void vs_template_set_strict(struct vs_template *t, bool strict);
/* Executes t on data; *out: the text (malloc'd). */
int vs_template_exec(const struct vs_template *t, json_object *data, char **out, vs_error **err);

/* A method of the data, as Docker's formatting contexts have (ps's
 * Label(name)): {{.NAME "a"}} on the data object itself (dot at the top,
 * $, or a variable or with that holds it) calls fn with the item's method
 * data (self) and the nargs string arguments (a pipeline's value is the
 * last one: {{"a" | .NAME}}). Go's errors: a count other than nargs
 * ({{.NAME}} too) is "wrong number of args", an argument that is not a
 * string "wrong type". fn returns a new reference. Methods are not fields:
 * {{json .}} does not show them. */
struct vs_template_method {
        const char *name;
        size_t nargs;
        json_object *(*fn)(json_object *self, const char *const *args);
};
/* methods: an array ended by a NULL name, kept by reference. */
void vs_template_set_methods(struct vs_template *t, const struct vs_template_method *methods);
/* vs_template_exec with the methods' self for this data (NULL: the data
 * has no methods, as a table's header has none). */
int vs_template_exec_self(const struct vs_template *t, json_object *data, json_object *self,
                          char **out, vs_error **err);
void vs_template_free(struct vs_template *t);

/* Aligns tab-separated cells as Go's text/tabwriter with Docker's
 * settings (minwidth 10, tabwidth 1, padding 3, spaces). */
char *vs_tabwriter(const char *text);

/* Docker's --format for a list: "table" alone is default_table; "table
 * FMT" prints the header row (FMT on header) then aligned rows; any other
 * FMT prints each row followed by a newline. rows: an array of objects.
 * strict: fields outside the rows' (and header's) set are errors. As
 * Docker, an error executing the header ends it where it happened and is
 * not reported, and in the header json, split, join, title, lower, upper
 * and truncate return their first argument (Docker's HeaderFunctions). */
int vs_format_list(FILE *out, const char *format, const char *default_table, json_object *header,
                   json_object *rows, bool strict, vs_error **err);
/* Methods of a list's rows and of its header: Docker's header map has
 * methods too (ps's Label(name) is the label's value in a row, a title made
 * of the name in the header). */
struct vs_format_methods {
        const struct vs_template_method *row;    /* ended by a NULL name */
        json_object *selves;                     /* rows[i]'s method data */
        const struct vs_template_method *header; /* their self: the header */
};
int vs_format_list_methods(FILE *out, const char *format, const char *default_table,
                           json_object *header, json_object *rows, bool strict,
                           const struct vs_format_methods *methods, vs_error **err);

#endif
