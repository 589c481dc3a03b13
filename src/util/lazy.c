#include "util/lazy.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void *vs_lazy_resolve(struct vs_lazy_sym *s)
{
        pthread_mutex_lock(&lock);
        if (s->addr == NULL) {
                void *h = dlopen(s->lib, RTLD_NOW | RTLD_LOCAL);
                if (h == NULL) {
                        fprintf(stderr, "vessel: cannot load %s: %s\n", s->lib, dlerror());
                        abort();
                }
                static bool crypto_ready;
                if (!crypto_ready && strncmp(s->lib, "libcrypto.", 10) == 0) {
                        /* vessel only hashes: skip reading openssl.cnf (~3 ms). */
                        int (*init)(uint64_t, const void *) =
                            (int (*)(uint64_t, const void *)) dlsym(h, "OPENSSL_init_crypto");
                        if (init)
                                init(0x00000080L /* OPENSSL_INIT_NO_LOAD_CONFIG */, NULL);
                        crypto_ready = true;
                }
                void *addr = dlsym(h, s->name);
                if (addr == NULL) {
                        fprintf(stderr, "vessel: %s has no symbol %s\n", s->lib, s->name);
                        abort();
                }
                __atomic_store_n(&s->addr, addr, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&lock);
        return s->addr;
}
