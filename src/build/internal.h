/* Shared by the files of src/build (not a public interface). */
#ifndef VESSEL_BUILD_INTERNAL_H
#define VESSEL_BUILD_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "build/build.h"
#include "util/error.h"

struct vs_image;

/* A step's scratch: <data-root>/build/tmp/<pid>-<hex>/{rootfs,upper,work},
 * the overlay of an image's layers + upper mounted on rootfs. */
struct step_mount {
        char *dir, *rootfs, *upper;
        int rootfd;
        bool mounted;
};

/* Removes scratch dirs of builds whose process is gone (kill -9): their
 * mounts, runtime containers and files. */
void step_reap_stale(const char *data_root, const char *runtime_root);
int step_mount_open(const char *data_root, const struct vs_image *img, struct step_mount *m,
                    vs_error **err);
/* Unmounts and removes the scratch dir (the upper dir with it). */
void step_mount_close(struct step_mount *m);
/* Unmounts only (the upper dir stays, to be packed). */
int step_mount_unmount(struct step_mount *m, vs_error **err);

/* A RUN step: args in the mounted root, as uid:gid (user spec) in cwd with
 * env. Output goes to out_fd. *exit_code: the process's status. */
/* RUN --mount: what the step's container gets mounted. */
struct run_mount {
        char *type;   /* "bind" or "tmpfs" in the OCI config */
        char *source; /* host path (bind) */
        char *target; /* absolute path in the container */
        bool readonly;
        char *stub; /* the topmost part of target the image lacked (removed
                     * from the layer after the step), or NULL */
        /* A read-write bind of the context: the step gets a copy (BuildKit
         * discards its writes), never the host's own files. */
        bool copy;
        int copy_fd; /* the source in the context, O_PATH, when copy */
};

struct run_spec {
        char **args, **env;
        const char *user, *cwd, *network, *runtime_root;
        const char *data_root;  /* networks (bridge|NAME) live there */
        const char *netns_path; /* set by step_run for a bridged step */
        int out_fd;
        struct run_mount *mounts;
        size_t n_mounts;
};

/* Parses one --mount=... value (types cache, bind, tmpfs, secret) into m.
 * Cache dirs live under <data-root>/build/cache-mounts; bind sources come
 * from the context (ctx_fd, ctx_path); secrets from "id=X,src=F". *skip:
 * an optional secret that was not given. */
int run_mount_parse(const char *spec, const char *data_root, int ctx_fd, char **secrets,
                    struct run_mount *m, bool *skip, vs_error **err);
void run_mount_clear(struct run_mount *m);
/* After the step: mount targets that did not exist in the image are
 * removed from the upper dir, so no stub (and never a secret) lands in the
 * layer. */
void run_mounts_unstub(const struct run_mount *m, size_t n, const char *upper);
/* Sets m->stub from the mounted root, before the step runs. */
void run_mount_find_stub(struct run_mount *m, int rootfd);
/* Before the step: a read-write context bind (m->copy) gets its copy,
 * made as scratch/rw-mount-N, as its source. */
int run_mount_copy(struct run_mount *m, size_t n, const char *scratch, vs_error **err);
int step_run(struct step_mount *m, const struct run_spec *r, int *exit_code, vs_error **err);

/* A RUN step's network namespace on a bridge network (src/build/netns.c). */
struct build_net {
        pid_t holder; /* the process holding the namespace */
        int hold_fd;
        char *ns_path, *ctr_id;
        const char *data_root;
        bool leased;
};
/* Not none or host: a network name ("bridge" is the default network). */
bool build_net_bridged(const char *network);
/* The namespace, a lease on network for id, wired in (dir: the step's
 * scratch dir, for its hosts file). */
int build_net_open(const char *data_root, const char *network, const char *dir, const char *id,
                   struct build_net *bn, vs_error **err);
void build_net_close(struct build_net *bn);

/* Creates dir (and missing parents) inside rootfd, confined; the final
 * directory gets uid:gid when created. Returns an fd of it or -1. */
int mkdir_in_root(int rootfd, const char *path, uid_t uid, gid_t gid, vs_error **err);

/* Copying for COPY/ADD: from src (an fd of a file or directory, already
 * resolved inside its root) to dest_path inside dst_root. */
struct copy_opts {
        int64_t uid, gid; /* -1: keep (ADD of an archive), else set */
        int file_mode;    /* --chmod, -1: keep */
        /* Onto the host (--output type=local): files lose their set-user
         * and set-group-id bits, as in `cp` out of a container. */
        bool host;
        /* Context sources: .dockerignore, paths relative to the context. */
        bool (*ignored)(const char *rel, void *arg);
        void *ignored_arg;
};
int copy_tree(int src_fd, const char *src_rel, int dst_root, const char *dest_path,
              const struct copy_opts *o, vs_error **err);
/* Writes data as a new file dest_path in dst_root. */
int write_in_root(int dst_root, const char *dest_path, const char *data, size_t len, mode_t mode,
                  uid_t uid, gid_t gid, vs_error **err);

/* Content digest of a source tree for the cache: paths, types, modes,
 * sizes, link targets and contents (not times, not owners). */
int hash_tree(int fd, const char *rel, bool (*ignored)(const char *, void *), void *arg,
              char out[72], vs_error **err);

/* .dockerignore (Go filepath.Match patterns, "**", "!" exceptions). */
struct ignore;
struct ignore *ignore_parse(const char *text);
bool ignore_match(const char *rel, void *ignore);
void ignore_free(struct ignore *ig);

/* Downloads url (http/https) into out_fd; digest = "sha256:<hex>" of it. */
int fetch_url(const char *url, int out_fd, char digest[72], vs_error **err);

/* Lexically cleans path (a relative or absolute path inside a root) to
 * "a/b"; NULL when it climbs above the root. "" is the root itself. */
char *clean_inside(const char *path);

#endif
