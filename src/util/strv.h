/* NULL-terminated string vectors. */
#ifndef VESSEL_UTIL_STRV_H
#define VESSEL_UTIL_STRV_H

#include <stdbool.h>
#include <stddef.h>

size_t strv_len(char *const *v);
void strv_free(char **v);
/* Appends a copy of s; *v may be NULL. */
void strv_push(char ***v, const char *s);
char **strv_copy(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* Sets "KEY=VALUE" in an environment vector: replaces KEY's entry, or
 * appends. */
void strv_env_set(char ***env, const char *kv);

#endif
