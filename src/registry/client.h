/* The registry client: one registry, one repository, its scheme (HTTPS, or
 * plain HTTP where allowed), TLS settings and authentication. Internal to
 * src/registry. */
#ifndef VESSEL_REGISTRY_CLIENT_H
#define VESSEL_REGISTRY_CLIENT_H

#include "registry/curl.h"
#include "registry/registry.h"

#include <stdint.h>

struct vs_reg_client {
        char *domain;  /* as in the reference ("docker.io") */
        char *host;    /* the host[:port] spoken to ("registry-1.docker.io") */
        char *base;    /* "https://host" or "http://host" */
        char *path;    /* repository */
        bool insecure; /* TLS not verified; plain HTTP allowed */
        bool plain_ok; /* plain HTTP allowed (insecure, or loopback) */
        char *ca_file, *cert_file, *key_file; /* from the certs directory */
        bool push;                            /* token scope: pull,push */
        char *user, *secret;                  /* credentials, NULL when none */
        char *authorization; /* the header in use ("Authorization: Bearer ..."), or NULL */
        /* the challenge the registry gave (scheme "bearer" or "basic") */
        char *scheme, *realm, *service;
        char *extra_scope; /* another repository's pull scope (cross-repository mount) */
        CURL *easy;        /* for requests one at a time (keeps the connection) */
};

/* Opens a client for the repository path on domain; pings /v2/ to choose
 * the scheme and learn the challenge, and authenticates (credentials from
 * Docker's config, else anonymous). */
int vs_reg_client_open(const char *domain, const char *path, bool push,
                       const struct vs_registry_opts *o, struct vs_reg_client **out,
                       vs_error **err);
void vs_reg_client_free(struct vs_reg_client *c);

struct vs_reg_response {
        long status;
        char *body;
        size_t len;
        char *content_type, *docker_digest, *location, *www_authenticate;
        char *link;  /* Link: <URL>; rel="next" (tags/list pagination) */
        char *range; /* Range: 0-N (the bytes an upload session holds) */
        int64_t content_length;
};
void vs_reg_response_clear(struct vs_reg_response *r);

struct vs_reg_request {
        const char *method; /* GET, HEAD, PUT, POST, PATCH, DELETE */
        const char *url;    /* absolute, or a path under base ("/v2/...") */
        const char *accept;
        const char *content_type;
        const void *body; /* or body_fd */
        size_t body_len;
        int body_fd;                          /* -1: none */
        int64_t body_fd_offset, body_fd_size; /* the part of body_fd sent */
        const char *content_range;            /* "START-END" (chunked upload) */
        size_t max_body;                      /* responses above are refused */
};

/* One request, retried once with fresh credentials on 401. Fails on a
 * transport error; any HTTP status is returned in resp. */
int vs_reg_do(struct vs_reg_client *c, const struct vs_reg_request *rq,
              struct vs_reg_response *resp, vs_error **err);
/* The settings every transfer of this client uses (TLS, redirects, the
 * authorization header, timeouts); headers is appended to and returned. */
struct curl_slist *vs_reg_setup(struct vs_reg_client *c, CURL *h, const char *url,
                                struct curl_slist *headers);
/* Absolute URL for a path under base. */
char *vs_reg_url(const struct vs_reg_client *c, const char *path);
/* Re-authenticates after a 401 (a fresh token). */
int vs_reg_reauth(struct vs_reg_client *c, vs_error **err);
/* "unauthorized: ...", "manifest unknown: ..." from an error body, or the
 * status line. */
char *vs_reg_error_text(const struct vs_reg_response *r);

/* A layer blob that the process unpacking it downloads itself (blob.c): a
 * vs_layer_input for vs_stage_open_input, whose first read (in the job's
 * process) starts the transfer. Resumes a cut transfer with Range and
 * re-authenticates on 401. Reports go to report_fd (-1: none), a line
 * each: "P<bytes>" (progress), "R<bytes>" (resuming), "D" (every byte
 * received), "E<why>" (failed). */
struct vs_reg_blob_input;
struct vs_reg_blob_input *vs_reg_blob_input_new(struct vs_reg_client *c, const char *digest,
                                                int64_t size, int report_fd);
struct vs_layer_input *vs_reg_blob_input_base(struct vs_reg_blob_input *b);
void vs_reg_blob_input_free(struct vs_reg_blob_input *b);

/* Docker's credential store (auth.c). */
int vs_docker_auth_get(const char *domain, char **user, char **secret, vs_error **err);
int vs_docker_auth_store(const char *domain, const char *user, const char *secret, vs_error **err);
/* 1 when removed, 0 when there were none. */
int vs_docker_auth_erase(const char *domain, vs_error **err);
/* Docker's key for a registry in config.json ("https://index.docker.io/v1/"
 * for docker.io, else host[:port]). */
const char *vs_docker_auth_key(const char *domain);

/* base64 (OpenSSL's, from image/libs.h's libcrypto). */
char *vs_base64_encode(const void *data, size_t len);
int vs_base64_decode(const char *text, char **out, size_t *len);

#endif
