/* The tables behind src/image/libs.h. */
#include "image/libs.h"

#include <dlfcn.h>
#include <openssl/crypto.h>

/* The real functions, not the macros of libs.h. */
#define VS_LIBS_NAME(f) #f,
#ifndef VESSEL_STATIC_LIBARCHIVE
static const char *const archive_names[] = {VS_LIBARCHIVE_FUNCS(VS_LIBS_NAME) NULL};
#endif
static const char *const crypto_names[] = {VS_LIBCRYPTO_FUNCS(VS_LIBS_NAME) NULL};
#undef VS_LIBS_NAME

static struct vs_libcrypto crypto_table;

_Static_assert(sizeof(crypto_table) ==
                   (sizeof(crypto_names) / sizeof(crypto_names[0]) - 1) * sizeof(void *),
               "one pointer per libcrypto function");

/* vessel only hashes: initialise libcrypto without reading openssl.cnf
 * (~3 ms per image operation), before any other call can load it. */
static void crypto_init(void *dl)
{
        __typeof__(OPENSSL_init_crypto) *init =
            (__typeof__(OPENSSL_init_crypto) *) dlsym(dl, "OPENSSL_init_crypto");
        if (init)
                init(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

#ifndef VESSEL_STATIC_LIBARCHIVE
static struct vs_libarchive archive_table;
_Static_assert(sizeof(archive_table) ==
                   (sizeof(archive_names) / sizeof(archive_names[0]) - 1) * sizeof(void *),
               "one pointer per libarchive function");

struct vs_dynlib vs_libarchive_lib = {
    .soname = "libarchive.so.13",
    .package = "libarchive13",
    .names = archive_names,
    .table = &archive_table,
};
#endif

struct vs_dynlib vs_libcrypto_lib = {
    .soname = "libcrypto.so." OPENSSL_MSTR(OPENSSL_SHLIB_VERSION),
    .package = "libssl" OPENSSL_MSTR(OPENSSL_SHLIB_VERSION),
    .names = crypto_names,
    .table = &crypto_table,
    .on_load = crypto_init,
};
