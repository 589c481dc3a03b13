/* Registries (the OCI Distribution Spec): pull, push, login, logout.
 *
 * A layer above src/image: images come in through the store's transactions
 * (image/store.h) and go out from its blobs. HTTP and TLS are libcurl's,
 * loaded on first use (registry/curl.h). docs/registries.md describes what
 * is supported, the settings and the limits. */
#ifndef VESSEL_REGISTRY_H
#define VESSEL_REGISTRY_H

#include <stdbool.h>
#include <stdio.h>

#include "image/image.h"
#include "util/error.h"

/* Manifests and indexes larger than this are refused. */
#define VS_REGISTRY_MANIFEST_MAX (4 << 20)
/* Tags asked for per page of tags/list (pull --all-tags); at most
 * VS_REGISTRY_TAGS_MAX in all. */
#define VS_REGISTRY_TAGS_PAGE 100
#define VS_REGISTRY_TAGS_MAX  100000
/* Push: blobs larger than this are uploaded in chunks of this size (PATCH
 * with Content-Range, then PUT); $VESSEL_REGISTRY_CHUNK_SIZE overrides. */
#define VS_REGISTRY_CHUNK (64LL << 20)
/* Layers downloaded at once: c/image's (skopeo's, podman's) default.
 * Each download writes its blob and files directly to the device, and
 * a direct write blocks its thread: more at once keep both cores busy
 * (docs/benchmarks.md, "Fourth round"). */
#define VS_REGISTRY_PARALLEL 6

struct vs_registry_opts {
        char *const *mirrors;  /* registry-mirrors: URLs tried first for docker.io */
        char *const *insecure; /* insecure-registries: host[:port] or CIDR */
        const char *platform;  /* "os/arch[/variant]"; NULL: the host's */
        bool quiet;            /* no progress */
        bool all_tags;         /* pull: every tag of the repository */
        /* Credentials to use instead of the stored ones (login), or NULL. */
        const char *user, *password;
};

/* A remote reference, by Docker's rules: "alpine" is
 * docker.io/library/alpine:latest. */
struct vs_remote_ref {
        char *domain;     /* "docker.io", "localhost:5000" */
        char *path;       /* "library/alpine" */
        char *tag;        /* NULL when only a digest was given */
        char *digest;     /* NULL unless NAME@sha256:... */
        char *local_name; /* the store's name: "alpine:latest", "alpine@sha256:..." */
};
int vs_remote_ref_parse(const char *ref, struct vs_remote_ref *out, vs_error **err);
void vs_remote_ref_clear(struct vs_remote_ref *r);
/* Does the reference name a registry (rather than oci:, archives, ...)? */
bool vs_ref_is_remote(const char *ref);

/* `vessel pull`: prints Docker's lines ("Digest: ...", "Status: ...") and
 * the name on out. */
int vs_registry_pull(struct vs_store *s, const char *ref, const struct vs_registry_opts *o,
                     FILE *out, vs_error **err);
/* `vessel push`: the local image named ref, to the registry its name says. */
int vs_registry_push(struct vs_store *s, const char *ref, const struct vs_registry_opts *o,
                     FILE *out, vs_error **err);
/* `vessel login`: checks the credentials against the registry, then stores
 * them as Docker does (credsStore / credHelpers, else config.json auths).
 * server NULL: Docker Hub. */
int vs_registry_login(const char *server, const char *user, const char *password,
                      const struct vs_registry_opts *o, FILE *out, vs_error **err);
int vs_registry_logout(const char *server, FILE *out, vs_error **err);

#endif
