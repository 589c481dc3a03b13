/* Credentials the way Docker keeps them: $DOCKER_CONFIG/config.json (else
 * ~/.docker/config.json), "auths" entries holding base64("user:secret"),
 * and the credential helpers it names ("credHelpers" per registry, else
 * "credsStore"): docker-credential-NAME get|store|erase, talking JSON on
 * stdin/stdout, as Docker runs them. */
#include "image/libs.h"
#include "registry/client.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HUB_KEY "https://index.docker.io/v1/"

char *vs_base64_encode(const void *data, size_t len)
{
        char *out = xmalloc(4 * ((len + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *) out, data, (int) len);
        return out;
}

int vs_base64_decode(const char *text, char **out, size_t *len)
{
        size_t n = strlen(text);
        if (n % 4 != 0)
                return -1;
        unsigned char *buf = xmalloc(n / 4 * 3 + 1);
        int got = EVP_DecodeBlock(buf, (const unsigned char *) text, (int) n);
        if (got < 0) {
                free(buf);
                return -1;
        }
        /* EVP_DecodeBlock counts the padding as zero bytes. */
        while (n > 0 && text[n - 1] == '=') {
                n--;
                got--;
        }
        buf[got] = '\0';
        *out = (char *) buf;
        if (len)
                *len = (size_t) got;
        return 0;
}

const char *vs_docker_auth_key(const char *domain)
{
        return strcmp(domain, "docker.io") == 0 ? HUB_KEY : domain;
}

static char *config_path(void)
{
        const char *dir = getenv("DOCKER_CONFIG");
        if (dir && *dir)
                return xasprintf("%s/config.json", dir);
        const char *home = getenv("HOME");
        return xasprintf("%s/.docker/config.json", home && *home ? home : "/root");
}

/* The parsed file, or an empty object when there is none. */
static int load_config(json_object **out, vs_error **err)
{
        _cleanup_free_ char *path = config_path();
        if (access(path, F_OK) < 0 && errno == ENOENT) {
                *out = json_object_new_object();
                return 0;
        }
        if (vs_json_parse_file(path, out, err) < 0)
                return -1;
        if (!json_object_is_type(*out, json_type_object)) {
                json_object_put(*out);
                return vs_fail(err, "%s: not a JSON object", path);
        }
        return 0;
}

static const char *string_at(json_object *obj, const char *key)
{
        json_object *v = NULL;
        if (obj && json_object_object_get_ex(obj, key, &v) &&
            json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        return NULL;
}

/* The entry for domain in an object keyed by registry: the exact key, or
 * a URL form of it ("https://host/v1/"). */
static json_object *entry_for(json_object *obj, const char *domain)
{
        const char *key = vs_docker_auth_key(domain);
        json_object *v = NULL;
        if (obj == NULL)
                return NULL;
        if (json_object_object_get_ex(obj, key, &v))
                return v;
        json_object_object_foreach(obj, k, val)
        {
                const char *h = strstr(k, "://") ? strstr(k, "://") + 3 : k;
                size_t n = strcspn(h, "/");
                if (strlen(key) == n && strncmp(h, key, n) == 0)
                        return val;
        }
        return NULL;
}

static const char *helper_for(json_object *cfg, const char *domain)
{
        json_object *helpers = NULL;
        json_object_object_get_ex(cfg, "credHelpers", &helpers);
        json_object *h = entry_for(helpers, domain);
        if (h && json_object_is_type(h, json_type_string))
                return json_object_get_string(h);
        return string_at(cfg, "credsStore");
}

/* Runs docker-credential-<helper> <action> with input on stdin; its stdout
 * in *output. Returns the exit status, or -1 when it could not run. */
static int run_helper(const char *helper, const char *action, const char *input, char **output,
                      vs_error **err)
{
        if (*helper == '\0' || strchr(helper, '/'))
                return vs_fail(err, "invalid credential helper name '%s'", helper);
        _cleanup_free_ char *prog = xasprintf("docker-credential-%s", helper);
        int in[2], outp[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "pipe");
        if (pipe2(outp, O_CLOEXEC) < 0) {
                close(in[0]);
                close(in[1]);
                return vs_fail_errno(err, "pipe");
        }
        pid_t pid = fork();
        if (pid < 0) {
                close(in[0]);
                close(in[1]);
                close(outp[0]);
                close(outp[1]);
                return vs_fail_errno(err, "fork");
        }
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(outp[1], 1);
                execlp(prog, prog, action, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(outp[1]);
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        vs_write_all(in[1], input, strlen(input));
        close(in[1]);
        signal(SIGPIPE, old);
        char *buf = NULL;
        size_t len = 0;
        for (;;) {
                char chunk[4096];
                ssize_t n = read(outp[0], chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || len + (size_t) n > (1 << 20))
                        break;
                buf = xrealloc(buf, len + (size_t) n + 1);
                memcpy(buf + len, chunk, (size_t) n);
                len += (size_t) n;
                buf[len] = '\0';
        }
        close(outp[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        *output = buf ? buf : xstrdup("");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
                free(*output);
                *output = NULL;
                return vs_fail(err, "cannot run credential helper %s", prog);
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int vs_docker_auth_get(const char *domain, char **user, char **secret, vs_error **err)
{
        *user = *secret = NULL;
        _cleanup_json_ json_object *cfg = NULL;
        if (load_config(&cfg, err) < 0)
                return -1;
        const char *helper = helper_for(cfg, domain);
        if (helper) {
                _cleanup_free_ char *output = NULL;
                int st = run_helper(helper, "get", vs_docker_auth_key(domain), &output, err);
                if (st < 0)
                        return -1;
                if (st != 0)
                        return 0; /* "credentials not found in native keychain" */
                _cleanup_json_ json_object *doc = json_tokener_parse(output);
                const char *u = string_at(doc, "Username"), *s = string_at(doc, "Secret");
                if (u == NULL || s == NULL)
                        return vs_fail(err, "credential helper %s: malformed answer", helper);
                *user = xstrdup(u);
                *secret = xstrdup(s);
                return 0;
        }
        json_object *auths = NULL;
        json_object_object_get_ex(cfg, "auths", &auths);
        json_object *e = entry_for(auths, domain);
        const char *b64 = string_at(e, "auth");
        if (b64 == NULL || *b64 == '\0') {
                const char *u = string_at(e, "username"), *p = string_at(e, "password");
                if (u && p) {
                        *user = xstrdup(u);
                        *secret = xstrdup(p);
                }
                return 0;
        }
        _cleanup_free_ char *pair = NULL;
        char *colon;
        if (vs_base64_decode(b64, &pair, NULL) < 0 || (colon = strchr(pair, ':')) == NULL) {
                _cleanup_free_ char *path = config_path();
                return vs_fail(err, "%s: auths.%s.auth is not base64 of user:password", path,
                               vs_docker_auth_key(domain));
        }
        *colon = '\0';
        *user = xstrdup(pair);
        *secret = xstrdup(colon + 1);
        explicit_bzero(colon + 1, strlen(colon + 1));
        return 0;
}

static int save_config(json_object *cfg, vs_error **err)
{
        _cleanup_free_ char *path = config_path();
        _cleanup_free_ char *dir = xstrdup(path);
        *strrchr(dir, '/') = '\0';
        if (vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *text = vs_json_to_string(cfg, true);
        return vs_write_file_atomic(path, text, strlen(text), 0600, err);
}

int vs_docker_auth_store(const char *domain, const char *user, const char *secret, vs_error **err)
{
        _cleanup_json_ json_object *cfg = NULL;
        if (load_config(&cfg, err) < 0)
                return -1;
        const char *key = vs_docker_auth_key(domain);
        json_object *auths = NULL;
        if (!json_object_object_get_ex(cfg, "auths", &auths) ||
            !json_object_is_type(auths, json_type_object)) {
                auths = json_object_new_object();
                json_object_object_add(cfg, "auths", auths);
        }
        const char *helper = helper_for(cfg, domain);
        if (helper) {
                _cleanup_json_ json_object *in = json_object_new_object();
                json_object_object_add(in, "ServerURL", json_object_new_string(key));
                json_object_object_add(in, "Username", json_object_new_string(user));
                json_object_object_add(in, "Secret", json_object_new_string(secret));
                _cleanup_free_ char *text = vs_json_to_string(in, false);
                _cleanup_free_ char *output = NULL;
                int st = run_helper(helper, "store", text, &output, err);
                explicit_bzero(text, strlen(text));
                if (st < 0)
                        return -1;
                if (st != 0)
                        return vs_fail(err, "credential helper %s cannot store credentials: %s",
                                       helper, output ? output : "");
                /* Docker leaves an empty entry: the helper has the secret. */
                json_object_object_add(auths, key, json_object_new_object());
                return save_config(cfg, err);
        }
        _cleanup_free_ char *pair = xasprintf("%s:%s", user, secret);
        _cleanup_free_ char *b64 = vs_base64_encode(pair, strlen(pair));
        explicit_bzero(pair, strlen(pair));
        json_object *e = json_object_new_object();
        json_object_object_add(e, "auth", json_object_new_string(b64));
        json_object_object_add(auths, key, e);
        return save_config(cfg, err);
}

int vs_docker_auth_erase(const char *domain, vs_error **err)
{
        _cleanup_json_ json_object *cfg = NULL;
        if (load_config(&cfg, err) < 0)
                return -1;
        const char *key = vs_docker_auth_key(domain);
        const char *helper = helper_for(cfg, domain);
        bool found = false;
        if (helper) {
                _cleanup_free_ char *output = NULL;
                int st = run_helper(helper, "erase", key, &output, err);
                if (st < 0)
                        return -1;
                found = st == 0;
        }
        json_object *auths = NULL;
        if (json_object_object_get_ex(cfg, "auths", &auths) &&
            json_object_object_get_ex(auths, key, NULL)) {
                json_object_object_del(auths, key);
                found = true;
                if (save_config(cfg, err) < 0)
                        return -1;
        }
        return found ? 1 : 0;
}
