#include "util/lazy.h"

#include <dlfcn.h>
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
