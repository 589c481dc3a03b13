/* `vessel build`: a Dockerfile and a context to an image, each step run
 * with vessel's own runtime on an overlay over the parent's layers, with a
 * cache keyed as BuildKit keys it. See docs/build.md. */
#ifndef VESSEL_BUILD_BUILD_H
#define VESSEL_BUILD_BUILD_H

#include <stdbool.h>
#include <stdio.h>

#include "util/error.h"

struct vs_engine;

struct vs_build_opts {
        const char *context; /* directory; "-": a tar on stdin */
        const char *file;    /* Dockerfile path; NULL: CONTEXT/Dockerfile; "-": stdin */
        char **tags;         /* -t, NULL-terminated (may be NULL) */
        char **build_args;   /* "K=V" or "K" (taken from the environment) */
        char **labels;       /* "K=V" */
        char **secrets;      /* --secret "id=X,src=FILE" (RUN --mount=type=secret) */
        const char *target;  /* --target stage name */
        const char *network; /* "none" (default) or "host" */
        const char *iidfile;
        bool no_cache, quiet;
        bool tty; /* progress with colours and timings on one line per step */
};

/* Builds; *image_id is the result ("sha256:..."). Progress goes to stderr
 * (nothing with quiet). Errors name the Dockerfile line. */
int vs_build(struct vs_engine *e, const struct vs_build_opts *o, char **image_id, vs_error **err);

/* Removes cache entries whose images no name refers to (and those images).
 * *removed: entries removed. */
int vs_builder_prune(struct vs_engine *e, size_t *removed, vs_error **err);

#endif
