#include "util/dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int load_locked(struct vs_dynlib *lib, vs_error **err)
{
        if (lib->loaded)
                return 0;
        /* RTLD_LAZY: the names vessel calls are resolved by dlsym() below;
         * binding every other symbol of the library and its dependencies
         * up front (RTLD_NOW) costs ~4 ms for libcrypto alone, on every
         * image command, for functions vessel never calls. */
        void *dl = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
        if (dl == NULL)
                return vs_fail(err, "cannot load %s (Debian package %s): %s", lib->soname,
                               lib->package, dlerror());
        if (lib->on_load)
                lib->on_load(dl);
        void **slots = lib->table;
        for (size_t i = 0; lib->names[i]; i++) {
                dlerror();
                void *sym = dlsym(dl, lib->names[i]);
                if (sym == NULL) {
                        /* Slots already filled point into dl: clear them. */
                        memset(slots, 0, i * sizeof(*slots));
                        const char *why = dlerror();
                        vs_fail(err, "cannot load %s (Debian package %s): no symbol %s%s%s",
                                lib->soname, lib->package, lib->names[i], why ? ": " : "",
                                why ? why : "");
                        dlclose(dl);
                        return -1;
                }
                slots[i] = sym;
        }
        /* The handle stays open for the life of the process. */
        __atomic_store_n(&lib->loaded, true, __ATOMIC_RELEASE);
        return 0;
}

int vs_dynlib_load(struct vs_dynlib *lib, vs_error **err)
{
        if (__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE))
                return 0;
        pthread_mutex_lock(&lock);
        int r = load_locked(lib, err);
        pthread_mutex_unlock(&lock);
        return r;
}

void *vs_dynlib_need(struct vs_dynlib *lib)
{
        vs_error *err = NULL;
        if (vs_dynlib_load(lib, &err) < 0) {
                fprintf(stderr, "vessel: %s\n", err->msg);
                exit(1);
        }
        return lib->table;
}
