/* Remote references by Docker's rules (distribution/reference): the first
 * component is a registry when it has a '.' or a ':' or is "localhost";
 * otherwise the registry is docker.io, where one-component names live
 * under library/. The name and tag are checked by vs_ref_normalize. */
#include "registry/registry.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <string.h>

void vs_remote_ref_clear(struct vs_remote_ref *r)
{
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r->local_name);
        memset(r, 0, sizeof(*r));
}

bool vs_ref_is_remote(const char *ref)
{
        static const char *const transports[] = {"oci:", "oci-archive:", "docker-archive:", NULL};
        for (size_t i = 0; transports[i]; i++)
                if (strncmp(ref, transports[i], strlen(transports[i])) == 0)
                        return false;
        return true;
}

int vs_remote_ref_parse(const char *ref, struct vs_remote_ref *out, vs_error **err)
{
        memset(out, 0, sizeof(*out));
        _cleanup_free_ char *name = xstrdup(ref);
        char *at = strchr(name, '@');
        if (at) {
                *at = '\0';
                if (vs_digest_check(at + 1, "invalid reference", err) < 0)
                        return vs_error_wrap(err, "%s", ref);
        }
        /* The name (with its tag) by the store's rules. */
        _cleanup_free_ char *canonical = NULL;
        if (vs_ref_normalize(name, &canonical, err) < 0)
                return -1;
        const char *slash = strrchr(name, '/');
        bool has_tag = strchr(slash ? slash : name, ':') != NULL;
        char *repo = NULL, *tag = NULL;
        vs_ref_split(canonical, &repo, &tag);
        /* canonical drops docker.io/ and library/: rebuild them from name. */
        const char *first = strchr(name, '/');
        size_t n = first ? (size_t) (first - name) : 0;
        bool domain = first && (memchr(name, '.', n) || memchr(name, ':', n) ||
                                (n == 9 && strncmp(name, "localhost", 9) == 0));
        if (domain) {
                out->domain = xstrndup(name, n);
                if (strcmp(out->domain, "index.docker.io") == 0) {
                        free(out->domain);
                        out->domain = xstrdup("docker.io");
                }
        } else {
                out->domain = xstrdup("docker.io");
        }
        const char *path_start = domain ? first + 1 : name;
        size_t path_len = strcspn(path_start, "");
        /* Strip the tag from the path. */
        const char *tag_colon = has_tag ? strrchr(path_start, ':') : NULL;
        if (tag_colon)
                path_len = (size_t) (tag_colon - path_start);
        if (strcmp(out->domain, "docker.io") == 0 && memchr(path_start, '/', path_len) == NULL)
                out->path = xasprintf("library/%.*s", (int) path_len, path_start);
        else
                out->path = xstrndup(path_start, path_len);
        if (at) {
                out->digest = xstrdup(at + 1);
                if (has_tag)
                        out->tag = xstrdup(tag);
                /* Stored as NAME@DIGEST, which run and the lookups find. */
                _cleanup_free_ char *untagged =
                    xstrndup(canonical, strlen(canonical) - strlen(tag) - 1);
                out->local_name = xasprintf("%s@%s", untagged, out->digest);
        } else {
                out->tag = xstrdup(tag);
                out->local_name = steal_ptr(canonical);
        }
        free(repo);
        free(tag);
        return 0;
}
