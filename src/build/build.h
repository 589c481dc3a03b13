/* `vessel build`: a Dockerfile and a context to an image, each step run
 * with vessel's own runtime on an overlay over the parent's layers, with a
 * cache keyed as BuildKit keys it. See docs/build.md. */
#ifndef VESSEL_BUILD_BUILD_H
#define VESSEL_BUILD_BUILD_H

#include <stdbool.h>
#include <stdio.h>

#include "util/error.h"

struct vs_engine;
struct vs_store;

/* --output type=...: what the result is written as, besides the store. */
enum vs_build_output {
        VS_BUILD_OUT_NONE,
        VS_BUILD_OUT_OCI,    /* an oci-archive tar at dest ("-": stdout) */
        VS_BUILD_OUT_DOCKER, /* a docker-archive tar at dest ("-": stdout) */
        VS_BUILD_OUT_LOCAL,  /* the result's files in the directory dest */
};

/* Pulls ref into the store (the front end's registry layer); missing: the
 * store lacked it ("Unable to find image" is said). */
typedef int (*vs_build_pull_fn)(struct vs_store *s, const char *ref, bool missing, vs_error **err);

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
        const char *platform;        /* --platform; NULL: the host's (others are refused) */
        const char *pull;            /* "never", "missing" (default, NULL) or "always" */
        vs_build_pull_fn pull_image; /* NULL: no registry pulls */
        enum vs_build_output output;
        const char *output_dest;
        bool no_cache, quiet;
        bool tty; /* progress with colours and timings on one line per step */
};

/* --platform and FROM --platform: "linux/<host arch>[/<host variant>]" is
 * the only one accepted; others fail naming the host's. */
int vs_build_platform_check(const char *platform, vs_error **err);

/* Builds; *image_id is the result ("sha256:..."). Progress goes to stderr
 * (nothing with quiet). Errors name the Dockerfile line. */
int vs_build(struct vs_engine *e, const struct vs_build_opts *o, char **image_id, vs_error **err);

/* Removes cache entries whose images no name refers to (and those images).
 * *removed: entries removed. */
int vs_builder_prune(struct vs_engine *e, size_t *removed, vs_error **err);

#endif
