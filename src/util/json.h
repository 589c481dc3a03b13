/* Small helpers over json-c for reading typed fields with errors that name
 * the field ("process.user.uid: expected an integer"). */
#ifndef VESSEL_UTIL_JSON_H
#define VESSEL_UTIL_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

static inline void vs_cleanup_jsonp(json_object **j)
{
        if (*j)
                json_object_put(*j);
}
#define _cleanup_json_ __attribute__((cleanup(vs_cleanup_jsonp)))

/* Parses text; on failure names the source and json-c's reason and offset. */
int vs_json_parse(const char *text, const char *what, json_object **out, vs_error **err);
int vs_json_parse_file(const char *path, json_object **out, vs_error **err);

/* The string member key of o (borrowed), or NULL when o is no object, the
 * key is absent or its value is no string. */
const char *vs_json_str(json_object *o, const char *key);

/* Field getters: return 0 when the key is absent (out untouched), 1 when
 * present and well-typed, -1 with err naming "<ctx>.<key>" otherwise. */
int vs_json_get_string(json_object *obj, const char *ctx, const char *key, char **out,
                       vs_error **err);
int vs_json_get_bool(json_object *obj, const char *ctx, const char *key, bool *out, vs_error **err);
int vs_json_get_int64(json_object *obj, const char *ctx, const char *key, int64_t *out,
                      vs_error **err);
int vs_json_get_uint64(json_object *obj, const char *ctx, const char *key, uint64_t *out,
                       vs_error **err);
int vs_json_get_uint32(json_object *obj, const char *ctx, const char *key, uint32_t *out,
                       vs_error **err);
int vs_json_get_object(json_object *obj, const char *ctx, const char *key, json_object **out,
                       vs_error **err);
int vs_json_get_array(json_object *obj, const char *ctx, const char *key, json_object **out,
                      vs_error **err);
/* Array of strings -> NULL-terminated strv. */
int vs_json_get_strv(json_object *obj, const char *ctx, const char *key, char ***out,
                     vs_error **err);

/* Adds to obj every member of the JSON object text defaults that obj lacks
 * (a deep copy each; members obj has stay as they are). defaults is the
 * program's own text: a parse failure aborts. */
void vs_json_add_defaults(json_object *obj, const char *defaults);

/* Serialises with stable formatting (pretty when pretty). Caller frees. */
char *vs_json_to_string(json_object *obj, bool pretty);

#endif
