/* Lazy binding of the libraries only the image code needs (libarchive,
 * libcrypto). Linked normally, they and their dependencies (libxml2, ICU,
 * libstdc++, ...) would be loaded by every vessel process, including every
 * container start: ~6 ms and ~5 MiB more. Instead, each of their functions
 * is an assembler trampoline in src/util/lazy_syms.c that resolves the real
 * symbol with dlopen/dlsym on its first call and jumps to it with every
 * argument register intact; later calls are one indirect jump. */
#ifndef VESSEL_UTIL_LAZY_H
#define VESSEL_UTIL_LAZY_H

struct vs_lazy_sym {
        const char *lib;  /* soname */
        const char *name; /* symbol */
        void *addr;       /* resolved address, or NULL */
};

/* Called by the trampolines; aborts with a clear message when the library
 * or the symbol is missing (a broken installation, not a user error). */
void *vs_lazy_resolve(struct vs_lazy_sym *s);

#endif
