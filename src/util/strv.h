/* NULL-terminated string vectors. */
#ifndef VESSEL_UTIL_STRV_H
#define VESSEL_UTIL_STRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t strv_len(char *const *v);
void strv_free(char **v);
/* Appends a copy of s; *v may be NULL. */
void strv_push(char ***v, const char *s);
char **strv_copy(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* Sorts v in place by strcmp (byte order, as Go's sort.Strings). */
void strv_sort(char **v);
/* The strings of v joined by sep ("" for an empty or NULL v). */
char *strv_join(char *const *v, const char *sep);
/* Sets "KEY=VALUE" in an environment vector: replaces KEY's entry, or
 * appends. */
void strv_env_set(char ***env, const char *kv);
/* 64-bit FNV-1a of a string: names files and directories after a key (the
 * seccomp cache, an engine's runtime state dir); not collision-resistant, so
 * users also keep and compare the whole key. */
uint64_t vs_fnv1a(const char *s);
/* s for one line of a message: control characters and backslashes as C
 * escapes (\n, \t, \\, \xNN). The caller frees. */
char *vs_str_escape(const char *s);

#endif
