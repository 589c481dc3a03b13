/* libarchive and libcrypto for the image code, loaded on first use.
 *
 * Include this header instead of <archive.h>, <archive_entry.h> and
 * <openssl/evp.h>, and call their functions as usual: each name below is a
 * macro for a pointer in a table that src/image/libs.c fills with dlopen()
 * and dlsym() on the first call (see src/util/dynlib.h). vessel is not
 * linked with either library, so starting a container never maps them or
 * their dependencies. A function missing from these lists is an undefined
 * reference at link time: add it to the list and to the #defines.
 *
 * Except libarchive in the default build (STATIC_LIBS=1, which defines
 * VESSEL_STATIC_LIBARCHIVE; docs/design.md): it is linked statically,
 * with only the objects vessel calls (tar, the decompression filters), so
 * it costs no dlopen() and drags in none of the shared libarchive's
 * dependencies (libxml2, ICU, libstdc++, nettle), and its names are the
 * real functions.
 *
 * Only image code (src/image/) includes this. */
#ifndef VESSEL_IMAGE_LIBS_H
#define VESSEL_IMAGE_LIBS_H

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "util/dynlib.h"

/* The functions vessel uses, by library. */
#ifndef VESSEL_STATIC_LIBARCHIVE
#define VS_LIBARCHIVE_FUNCS(X)                                                                     \
        X(archive_entry_atime)                                                                     \
        X(archive_entry_atime_is_set)                                                              \
        X(archive_entry_atime_nsec)                                                                \
        X(archive_entry_clear)                                                                     \
        X(archive_entry_copy_hardlink)                                                             \
        X(archive_entry_copy_pathname)                                                             \
        X(archive_entry_copy_symlink)                                                              \
        X(archive_entry_filetype)                                                                  \
        X(archive_entry_free)                                                                      \
        X(archive_entry_gid)                                                                       \
        X(archive_entry_hardlink)                                                                  \
        X(archive_entry_mtime)                                                                     \
        X(archive_entry_mtime_nsec)                                                                \
        X(archive_entry_new)                                                                       \
        X(archive_entry_pathname)                                                                  \
        X(archive_entry_pathname_utf8)                                                             \
        X(archive_entry_perm)                                                                      \
        X(archive_entry_rdev)                                                                      \
        X(archive_entry_set_filetype)                                                              \
        X(archive_entry_set_gid)                                                                   \
        X(archive_entry_set_mtime)                                                                 \
        X(archive_entry_set_pathname)                                                              \
        X(archive_entry_set_perm)                                                                  \
        X(archive_entry_set_rdev)                                                                  \
        X(archive_entry_set_size)                                                                  \
        X(archive_entry_set_symlink)                                                               \
        X(archive_entry_set_uid)                                                                   \
        X(archive_entry_size)                                                                      \
        X(archive_entry_symlink)                                                                   \
        X(archive_entry_uid)                                                                       \
        X(archive_entry_xattr_add_entry)                                                           \
        X(archive_entry_xattr_next)                                                                \
        X(archive_entry_xattr_reset)                                                               \
        X(archive_errno)                                                                           \
        X(archive_error_string)                                                                    \
        X(archive_read_data_block)                                                                 \
        X(archive_read_free)                                                                       \
        X(archive_read_new)                                                                        \
        X(archive_read_next_header)                                                                \
        X(archive_read_open)                                                                       \
        X(archive_read_open_fd)                                                                    \
        X(archive_read_support_filter_all)                                                         \
        X(archive_read_support_filter_bzip2)                                                       \
        X(archive_read_support_filter_gzip)                                                        \
        X(archive_read_support_filter_xz)                                                          \
        X(archive_read_support_filter_zstd)                                                        \
        X(archive_read_support_format_empty)                                                       \
        X(archive_read_support_format_raw)                                                         \
        X(archive_read_support_format_tar)                                                         \
        X(archive_set_error)                                                                       \
        X(archive_write_add_filter_gzip)                                                           \
        X(archive_write_add_filter_none)                                                           \
        X(archive_write_close)                                                                     \
        X(archive_write_data)                                                                      \
        X(archive_write_free)                                                                      \
        X(archive_write_header)                                                                    \
        X(archive_write_new)                                                                       \
        X(archive_write_open)                                                                      \
        X(archive_write_open_fd)                                                                   \
        X(archive_write_set_bytes_in_last_block)                                                   \
        X(archive_write_set_bytes_per_block)                                                       \
        X(archive_write_set_filter_option)                                                         \
        X(archive_write_set_format_option)                                                         \
        X(archive_write_set_format_pax_restricted)                                                 \
        X(archive_write_set_format_raw)                                                            \
        X(archive_write_set_format_ustar)
#endif
#define VS_LIBCRYPTO_FUNCS(X)                                                                      \
        X(EVP_DecodeBlock)                                                                         \
        X(EVP_EncodeBlock)                                                                         \
        X(EVP_DigestFinal_ex)                                                                      \
        X(EVP_DigestInit_ex)                                                                       \
        X(EVP_DigestUpdate)                                                                        \
        X(EVP_MD_CTX_free)                                                                         \
        X(EVP_MD_CTX_new)                                                                          \
        X(EVP_sha256)

#define VS_LIBS_SLOT(f) __typeof__(f) *f;
#ifndef VESSEL_STATIC_LIBARCHIVE
struct vs_libarchive {
        VS_LIBARCHIVE_FUNCS(VS_LIBS_SLOT)
};
#endif
struct vs_libcrypto {
        VS_LIBCRYPTO_FUNCS(VS_LIBS_SLOT)
};
#undef VS_LIBS_SLOT

extern struct vs_dynlib vs_libcrypto_lib;

/* The tables, loaded on first use; a missing library ends the process with
 * one error line naming it and its Debian package (vs_dynlib_need). */
#define vs_libcrypto() ((const struct vs_libcrypto *) vs_dynlib_table(&vs_libcrypto_lib))

/* Every use of a listed name goes through its table. */
#ifndef VESSEL_STATIC_LIBARCHIVE
extern struct vs_dynlib vs_libarchive_lib;
#define vs_libarchive()                   ((const struct vs_libarchive *) vs_dynlib_table(&vs_libarchive_lib))
#define archive_entry_atime               (vs_libarchive()->archive_entry_atime)
#define archive_entry_atime_is_set        (vs_libarchive()->archive_entry_atime_is_set)
#define archive_entry_atime_nsec          (vs_libarchive()->archive_entry_atime_nsec)
#define archive_entry_clear               (vs_libarchive()->archive_entry_clear)
#define archive_entry_copy_hardlink       (vs_libarchive()->archive_entry_copy_hardlink)
#define archive_entry_copy_pathname       (vs_libarchive()->archive_entry_copy_pathname)
#define archive_entry_copy_symlink        (vs_libarchive()->archive_entry_copy_symlink)
#define archive_entry_filetype            (vs_libarchive()->archive_entry_filetype)
#define archive_entry_free                (vs_libarchive()->archive_entry_free)
#define archive_entry_gid                 (vs_libarchive()->archive_entry_gid)
#define archive_entry_hardlink            (vs_libarchive()->archive_entry_hardlink)
#define archive_entry_mtime               (vs_libarchive()->archive_entry_mtime)
#define archive_entry_mtime_nsec          (vs_libarchive()->archive_entry_mtime_nsec)
#define archive_entry_new                 (vs_libarchive()->archive_entry_new)
#define archive_entry_pathname            (vs_libarchive()->archive_entry_pathname)
#define archive_entry_pathname_utf8       (vs_libarchive()->archive_entry_pathname_utf8)
#define archive_entry_perm                (vs_libarchive()->archive_entry_perm)
#define archive_entry_rdev                (vs_libarchive()->archive_entry_rdev)
#define archive_entry_set_filetype        (vs_libarchive()->archive_entry_set_filetype)
#define archive_entry_set_gid             (vs_libarchive()->archive_entry_set_gid)
#define archive_entry_set_mtime           (vs_libarchive()->archive_entry_set_mtime)
#define archive_entry_set_pathname        (vs_libarchive()->archive_entry_set_pathname)
#define archive_entry_set_perm            (vs_libarchive()->archive_entry_set_perm)
#define archive_entry_set_rdev            (vs_libarchive()->archive_entry_set_rdev)
#define archive_entry_set_size            (vs_libarchive()->archive_entry_set_size)
#define archive_entry_set_symlink         (vs_libarchive()->archive_entry_set_symlink)
#define archive_entry_set_uid             (vs_libarchive()->archive_entry_set_uid)
#define archive_entry_size                (vs_libarchive()->archive_entry_size)
#define archive_entry_symlink             (vs_libarchive()->archive_entry_symlink)
#define archive_entry_uid                 (vs_libarchive()->archive_entry_uid)
#define archive_entry_xattr_add_entry     (vs_libarchive()->archive_entry_xattr_add_entry)
#define archive_entry_xattr_next          (vs_libarchive()->archive_entry_xattr_next)
#define archive_entry_xattr_reset         (vs_libarchive()->archive_entry_xattr_reset)
#define archive_errno                     (vs_libarchive()->archive_errno)
#define archive_error_string              (vs_libarchive()->archive_error_string)
#define archive_read_data_block           (vs_libarchive()->archive_read_data_block)
#define archive_read_free                 (vs_libarchive()->archive_read_free)
#define archive_read_new                  (vs_libarchive()->archive_read_new)
#define archive_read_next_header          (vs_libarchive()->archive_read_next_header)
#define archive_read_open                 (vs_libarchive()->archive_read_open)
#define archive_read_open_fd              (vs_libarchive()->archive_read_open_fd)
#define archive_read_support_filter_all   (vs_libarchive()->archive_read_support_filter_all)
#define archive_read_support_filter_bzip2 (vs_libarchive()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip  (vs_libarchive()->archive_read_support_filter_gzip)
#define archive_read_support_filter_xz    (vs_libarchive()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd  (vs_libarchive()->archive_read_support_filter_zstd)
#define archive_read_support_format_empty (vs_libarchive()->archive_read_support_format_empty)
#define archive_read_support_format_raw   (vs_libarchive()->archive_read_support_format_raw)
#define archive_read_support_format_tar   (vs_libarchive()->archive_read_support_format_tar)
#define archive_set_error                 (vs_libarchive()->archive_set_error)
#define archive_write_add_filter_gzip     (vs_libarchive()->archive_write_add_filter_gzip)
#define archive_write_add_filter_none     (vs_libarchive()->archive_write_add_filter_none)
#define archive_write_close               (vs_libarchive()->archive_write_close)
#define archive_write_data                (vs_libarchive()->archive_write_data)
#define archive_write_free                (vs_libarchive()->archive_write_free)
#define archive_write_header              (vs_libarchive()->archive_write_header)
#define archive_write_new                 (vs_libarchive()->archive_write_new)
#define archive_write_open                (vs_libarchive()->archive_write_open)
#define archive_write_open_fd             (vs_libarchive()->archive_write_open_fd)
#define archive_write_set_bytes_in_last_block                                                      \
        (vs_libarchive()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (vs_libarchive()->archive_write_set_bytes_per_block)
#define archive_write_set_filter_option   (vs_libarchive()->archive_write_set_filter_option)
#define archive_write_set_format_option   (vs_libarchive()->archive_write_set_format_option)
#define archive_write_set_format_pax_restricted                                                    \
        (vs_libarchive()->archive_write_set_format_pax_restricted)
#define archive_write_set_format_raw   (vs_libarchive()->archive_write_set_format_raw)
#define archive_write_set_format_ustar (vs_libarchive()->archive_write_set_format_ustar)
#endif
#define EVP_DecodeBlock    (vs_libcrypto()->EVP_DecodeBlock)
#define EVP_EncodeBlock    (vs_libcrypto()->EVP_EncodeBlock)
#define EVP_DigestFinal_ex (vs_libcrypto()->EVP_DigestFinal_ex)
#define EVP_DigestInit_ex  (vs_libcrypto()->EVP_DigestInit_ex)
#define EVP_DigestUpdate   (vs_libcrypto()->EVP_DigestUpdate)
#define EVP_MD_CTX_free    (vs_libcrypto()->EVP_MD_CTX_free)
#define EVP_MD_CTX_new     (vs_libcrypto()->EVP_MD_CTX_new)
#define EVP_sha256         (vs_libcrypto()->EVP_sha256)

#endif
