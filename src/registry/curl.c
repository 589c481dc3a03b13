/* The table behind src/registry/curl.h. */
#include "registry/curl.h"

#define VS_CURL_NAME(f) #f,
static const char *const curl_names[] = {VS_LIBCURL_FUNCS(VS_CURL_NAME) NULL};
#undef VS_CURL_NAME

static struct vs_libcurl curl_table;

_Static_assert(sizeof(curl_table) ==
                   (sizeof(curl_names) / sizeof(curl_names[0]) - 1) * sizeof(void *),
               "one pointer per libcurl function");

struct vs_dynlib vs_libcurl_lib = {
    .soname = "libcurl.so.4",
    .package = "libcurl4",
    .names = curl_names,
    .table = &curl_table,
};
