/* `vessel login` / `logout`: credentials checked against the registry
 * (a token with them, or GET /v2/ with Basic), then kept where Docker keeps
 * them (auth.c). */
#include "registry/client.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <string.h>

/* "https://host:5000/v1/" or "host:5000" -> "host:5000"; Docker Hub's
 * names -> "docker.io". */
static char *server_domain(const char *server)
{
        if (server == NULL)
                return xstrdup("docker.io");
        const char *h = strstr(server, "://") ? strstr(server, "://") + 3 : server;
        char *d = xstrndup(h, strcspn(h, "/"));
        if (strcmp(d, "index.docker.io") == 0 || strcmp(d, "registry-1.docker.io") == 0 ||
            strcmp(d, "docker.io") == 0) {
                free(d);
                d = xstrdup("docker.io");
        }
        return d;
}

int vs_registry_login(const char *server, const char *user, const char *password,
                      const struct vs_registry_opts *o, FILE *out, vs_error **err)
{
        _cleanup_free_ char *domain = server_domain(server);
        if (*domain == '\0')
                return vs_fail(err, "login: invalid server '%s'", server);
        struct vs_reg_client *c = NULL;
        /* The given credentials, not the stored ones: with Bearer, opening
         * the client gets a token with them, which checks them. */
        struct vs_registry_opts with = *o;
        with.user = user;
        with.password = password;
        if (vs_reg_client_open(domain, "", false, &with, &c, err) < 0)
                return vs_error_wrap(err, "cannot log in to %s", domain);
        int ret = -1;
        struct vs_reg_response r = {0};
        if (c->scheme == NULL) {
                fprintf(out, "Login Succeeded (%s asks for no credentials)\n", domain);
                ret = 0;
        } else if (strcmp(c->scheme, "bearer") == 0) {
                ret = 0;
        } else {
                struct vs_reg_request rq = {.url = "/v2/", .body_fd = -1};
                ret = vs_reg_do(c, &rq, &r, err);
                if (ret == 0 && r.status != 200) {
                        _cleanup_free_ char *why = vs_reg_error_text(&r);
                        ret = vs_fail(err, "%s: wrong user name or password (%s)", domain, why);
                }
        }
        if (ret == 0 && c->scheme) {
                ret = vs_docker_auth_store(domain, user, password, err);
                if (ret == 0)
                        fprintf(out, "Login Succeeded\n");
        }
        vs_reg_response_clear(&r);
        vs_reg_client_free(c);
        return ret < 0 ? vs_error_wrap(err, "cannot log in to %s", domain) : 0;
}

int vs_registry_logout(const char *server, FILE *out, vs_error **err)
{
        _cleanup_free_ char *domain = server_domain(server);
        int r = vs_docker_auth_erase(domain, err);
        if (r < 0)
                return vs_error_wrap(err, "cannot log out of %s", domain);
        if (r == 0)
                fprintf(out, "Not logged in to %s\n", domain);
        else
                fprintf(out, "Removing login credentials for %s\n", vs_docker_auth_key(domain));
        return 0;
}
