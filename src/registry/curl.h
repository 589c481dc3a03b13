/* libcurl for the registry client, loaded on first use.
 *
 * The same pattern as src/image/libs.h: each name below is a macro for a
 * pointer in a table that curl.c fills with dlopen() and dlsym() on the
 * first call (src/util/dynlib.h). vessel is not linked with libcurl, so
 * running a local image never maps it, OpenSSL's libssl or nghttp2.
 * curl's type-checking macros are disabled: they would hide the table. */
#ifndef VESSEL_REGISTRY_CURL_H
#define VESSEL_REGISTRY_CURL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "util/dynlib.h"

#define VS_LIBCURL_FUNCS(X)                                                                        \
        X(curl_easy_cleanup)                                                                       \
        X(curl_easy_getinfo)                                                                       \
        X(curl_easy_init)                                                                          \
        X(curl_easy_pause)                                                                         \
        X(curl_easy_perform)                                                                       \
        X(curl_easy_reset)                                                                         \
        X(curl_easy_setopt)                                                                        \
        X(curl_easy_strerror)                                                                      \
        X(curl_global_init)                                                                        \
        X(curl_multi_add_handle)                                                                   \
        X(curl_multi_cleanup)                                                                      \
        X(curl_multi_info_read)                                                                    \
        X(curl_multi_init)                                                                         \
        X(curl_multi_perform)                                                                      \
        X(curl_multi_poll)                                                                         \
        X(curl_multi_remove_handle)                                                                \
        X(curl_multi_setopt)                                                                       \
        X(curl_slist_append)                                                                       \
        X(curl_slist_free_all)

#define VS_CURL_SLOT(f) __typeof__(f) *f;
struct vs_libcurl {
        VS_LIBCURL_FUNCS(VS_CURL_SLOT)
};
#undef VS_CURL_SLOT

extern struct vs_dynlib vs_libcurl_lib;
#define vs_libcurl() ((const struct vs_libcurl *) vs_dynlib_table(&vs_libcurl_lib))

/* curl.h's own function-like macros for these (argument checks). */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#undef curl_multi_setopt
#define curl_easy_cleanup        (vs_libcurl()->curl_easy_cleanup)
#define curl_easy_getinfo        (vs_libcurl()->curl_easy_getinfo)
#define curl_easy_init           (vs_libcurl()->curl_easy_init)
#define curl_easy_pause          (vs_libcurl()->curl_easy_pause)
#define curl_easy_perform        (vs_libcurl()->curl_easy_perform)
#define curl_easy_reset          (vs_libcurl()->curl_easy_reset)
#define curl_easy_setopt         (vs_libcurl()->curl_easy_setopt)
#define curl_easy_strerror       (vs_libcurl()->curl_easy_strerror)
#define curl_global_init         (vs_libcurl()->curl_global_init)
#define curl_multi_add_handle    (vs_libcurl()->curl_multi_add_handle)
#define curl_multi_cleanup       (vs_libcurl()->curl_multi_cleanup)
#define curl_multi_info_read     (vs_libcurl()->curl_multi_info_read)
#define curl_multi_init          (vs_libcurl()->curl_multi_init)
#define curl_multi_perform       (vs_libcurl()->curl_multi_perform)
#define curl_multi_poll          (vs_libcurl()->curl_multi_poll)
#define curl_multi_remove_handle (vs_libcurl()->curl_multi_remove_handle)
#define curl_multi_setopt        (vs_libcurl()->curl_multi_setopt)
#define curl_slist_append        (vs_libcurl()->curl_slist_append)
#define curl_slist_free_all      (vs_libcurl()->curl_slist_free_all)

#endif
