/* The executor's shared state (src/build/build.c, copy_step.c): not a
 * public interface. */
#ifndef VESSEL_BUILD_EXEC_H
#define VESSEL_BUILD_EXEC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "build/build.h"
#include "build/dockerfile.h"
#include "build/internal.h"
#include "util/error.h"
#include "util/xalloc.h"

struct vs_engine;
struct vs_store;
struct vs_image;

struct stage {
        char *name;
        size_t from; /* index of its FROM */
        size_t end;  /* one past its last instruction */
        bool needed;
        char *image_id;
};

struct builder {
        struct vs_engine *e;
        struct vs_store *store;
        const struct vs_build_opts *o;
        const char *dfname;
        struct vs_dockerfile *df;
        struct stage *stages;
        size_t n_stages, n_all;
        char **meta; /* global ARGs "K=V" */
        int ctx_fd;
        struct ignore *ignore;
        char *created; /* SOURCE_DATE_EPOCH as RFC 3339, or NULL */
        int step;
        size_t total;
        /* tty progress: the current step's line, still open (no newline yet). */
        char *header;
        bool line_open;
        /* A stage built beside others (src/build/parallel.c): RUN output
         * lines go out as "#N line", as BuildKit's plain progress. */
        bool prefixed;
};

/* RUN output of a prefixed builder: a pipe whose lines a thread writes to
 * stderr as "#step line" (whole lines, one write each). */
struct line_relay;
struct line_relay *relay_start(int step, int *wfd, vs_error **err);
/* After the writers closed their ends: waits for the rest, frees. */
void relay_finish(struct line_relay *r);

/* tty progress: ends the open step line before a step prints output. */
void progress_break(struct builder *b);

/* The state of the stage being built. */
struct state {
        struct builder *b;
        struct stage *stage;
        struct vs_image *img; /* NULL: scratch */
        char *id;             /* current image id, NULL for scratch */
        json_object *config;  /* the image config's "config" object */
        char **args;          /* ARGs in scope: "K=V" */
        bool cmd_set;
        int line;
};

/* "Dockerfile:LINE: msg" (msg is freed; it may quote the error it replaces). */
int fail_at_line(struct builder *b, int line, char *msg, vs_error **err);
#define fail_line(s, ...) fail_at_line((s)->b, (s)->line, xasprintf(__VA_ARGS__), err)

/* Expands a word with the stage's ENV and ARGs; errors name the line. */
int expand(struct state *s, const char *word, char **out, vs_error **err);
/* The cache: key of a step, and the image a key names (NULL: a miss). */
char *cache_key(struct state *s, const char *created_by, const char *extra);
char *cache_get(struct state *s, const char *key);
/* A base image (FROM, COPY --from) by the --pull policy. */
int base_image(struct builder *b, const char *ref, struct vs_image **img, vs_error **err);
/* Moves the stage onto image id. */
int set_image(struct state *s, const char *id, vs_error **err);
const char *workdir_of(struct state *s);
char *join_words(char **v);
/* An earlier stage by name or index (before: stages to look at). */
struct stage *stage_named(struct builder *b, const char *name, size_t before);

/* A step on the overlay of the current image: fn runs with it mounted,
 * post (may be NULL) after it is unmounted, then the upper dir is
 * committed (and cached under key). */
typedef int (*fs_fn)(struct state *s, struct step_mount *m, void *arg, vs_error **err);
int fs_step(struct state *s, const char *created_by, const char *key, fs_fn fn, fs_fn post,
            void *arg, vs_error **err);

/* fs_step with the overlay over base's layers instead (NULL: an empty
 * root); the upper dir is still committed onto the current image. */
int fs_step_on(struct state *s, const struct vs_image *base, const char *created_by,
               const char *key, fs_fn fn, fs_fn post, void *arg, vs_error **err);

/* One stage, FROM to its last instruction; stage->image_id set. */
int build_stage(struct builder *b, struct stage *stage, vs_error **err);
/* The earlier stages stage i's FROM and COPY --from name: deps[j] set. */
void stage_deps(struct builder *b, size_t i, bool *deps);
/* The needed stages, independent ones in parallel (src/build/parallel.c). */
int build_stages(struct builder *b, vs_error **err);
/* Set by SIGINT/SIGTERM/SIGHUP during a build. */
bool build_interrupted(void);

/* COPY and ADD (src/build/copy_step.c). Returns 1 when cached. */
int do_copy(struct state *s, const struct vs_df_instr *in, vs_error **err);

#endif
