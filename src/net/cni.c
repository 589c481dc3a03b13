/* CNI (https://www.cni.dev, spec 1.0): networks vessel does not implement,
 * joined through plugins. A network list (.conflist, or a single-plugin
 * .conf) named NAME in the configuration directory; its plugins, found by
 * "type" in the plugin directories, run in order for ADD (each given the
 * previous one's result as prevResult) and in reverse for DEL, with the
 * CNI_* environment and the configuration on stdin. The final result and
 * the list it came from are cached in the container's directory: DEL and
 * CHECK use them, as containerd and CRI-O do. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sha2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/internal.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char *str_of(json_object *o, const char *k)
{
        json_object *v = json_object_object_get(o, k);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static bool has_suffix(const char *s, const char *suf)
{
        size_t a = strlen(s), b = strlen(suf);
        return a >= b && strcmp(s + a - b, suf) == 0;
}

/* A .conf (one plugin) as a list of one. */
static json_object *as_list(json_object *conf)
{
        if (json_object_object_get(conf, "plugins"))
                return json_object_get(conf);
        json_object *l = json_object_new_object(), *plugins = json_object_new_array();
        json_object_object_add(l, "cniVersion",
                               json_object_new_string(*str_of(conf, "cniVersion")
                                                          ? str_of(conf, "cniVersion")
                                                          : "1.0.0"));
        json_object_object_add(l, "name", json_object_new_string(str_of(conf, "name")));
        json_object_array_add(plugins, json_object_get(conf));
        json_object_object_add(l, "plugins", plugins);
        return l;
}

/* The configuration files of dir (.conflist, .conf, .json) in lexical
 * order, as libcni picks among several with one name; NULL: none (no
 * directory either). */
static char **config_names(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        char **names = NULL;
        for (struct dirent *de; d && (de = readdir(d)) != NULL;)
                if (has_suffix(de->d_name, ".conflist") || has_suffix(de->d_name, ".conf") ||
                    has_suffix(de->d_name, ".json"))
                        strv_push(&names, de->d_name);
        strv_sort(names);
        return names;
}

int vs_cni_find(const char *dir, const char *name, json_object **out, vs_error **err)
{
        *out = NULL;
        _cleanup_strv_ char **names = config_names(dir);
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
                _cleanup_free_ char *text = NULL;
                _cleanup_json_ json_object *conf = NULL;
                if (vs_read_file(path, &text, NULL, NULL) < 0 ||
                    vs_json_parse(text, path, &conf, NULL) < 0 ||
                    strcmp(str_of(conf, "name"), name) != 0)
                        continue;
                json_object *l = as_list(conf);
                json_object *plugins = json_object_object_get(l, "plugins");
                if (!json_object_is_type(plugins, json_type_array) ||
                    json_object_array_length(plugins) == 0) {
                        json_object_put(l);
                        return vs_fail(err, "CNI network '%s' (%s) has no plugins", name, path);
                }
                *out = l;
                return 0;
        }
        return 0;
}

/* IPAM.Config of a CNI list: the subnets (and gateways) of its first
 * plugin's ipam, host-local's "ranges" or its older "subnet". */
static json_object *ipam_config(json_object *list, bool *ipv6)
{
        json_object *cfg = json_object_new_array();
        json_object *plugin = json_object_array_get_idx(json_object_object_get(list, "plugins"), 0);
        json_object *ipam = json_object_object_get(plugin, "ipam");
        json_object *ranges = json_object_object_get(ipam, "ranges");
        size_t nsets =
            json_object_is_type(ranges, json_type_array) ? json_object_array_length(ranges) : 0;
        for (size_t i = 0; i <= nsets; i++) {
                json_object *set = i < nsets ? json_object_array_get_idx(ranges, i) : NULL;
                if (i == nsets && (nsets > 0 || !*str_of(ipam, "subnet")))
                        break;
                size_t nr = set && json_object_is_type(set, json_type_array)
                                ? json_object_array_length(set)
                                : 1;
                for (size_t k = 0; k < nr; k++) {
                        json_object *r = set ? json_object_array_get_idx(set, k) : ipam;
                        const char *subnet = str_of(r, "subnet");
                        if (!*subnet)
                                continue;
                        json_object *one = json_object_new_object();
                        json_object_object_add(one, "Subnet", json_object_new_string(subnet));
                        if (*str_of(r, "gateway"))
                                json_object_object_add(
                                    one, "Gateway", json_object_new_string(str_of(r, "gateway")));
                        json_object_array_add(cfg, one);
                        if (strchr(subnet, ':'))
                                *ipv6 = true;
                }
        }
        return cfg;
}

int vs_cni_networks(const char *dir, json_object **out)
{
        *out = json_object_new_array();
        _cleanup_strv_ char **names = config_names(dir), **seen = NULL;
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
                _cleanup_free_ char *text = NULL;
                _cleanup_json_ json_object *conf = NULL;
                struct stat st;
                if (vs_read_file(path, &text, NULL, NULL) < 0 ||
                    vs_json_parse(text, path, &conf, NULL) < 0 || stat(path, &st) < 0)
                        continue;
                const char *name = str_of(conf, "name");
                /* libcni's pick among several of one name: the first. */
                if (!*name || strv_contains(seen, name))
                        continue;
                _cleanup_json_ json_object *list = as_list(conf);
                json_object *first =
                    json_object_array_get_idx(json_object_object_get(list, "plugins"), 0);
                if (first == NULL)
                        continue;
                strv_push(&seen, name);
                /* podman's id of a CNI network: the sha256 of its name. */
                char id[SHA256_DIGEST_STRING_LENGTH];
                if (SHA256Data((const uint8_t *) name, strlen(name), id) == NULL)
                        continue;
                _cleanup_free_ char *created = vs_time_rfc3339(&st.st_mtim);
                _cleanup_json_ json_object *rec = json_object_new_object();
                json_object_object_add(rec, "Id", json_object_new_string(id));
                json_object_object_add(rec, "Created", json_object_new_string(created));
                bool ipv6 = false;
                json_object *cfg = ipam_config(list, &ipv6);
                json_object *o =
                    vs_net_shape_base(rec, name, str_of(first, "type"), ipv6, cfg, false);
                json_object_object_add(o, "Containers", json_object_new_object());
                json_object_object_add(o, "Options", json_object_new_object());
                json_object_object_add(o, "Labels", json_object_new_object());
                json_object_object_add(o, "ConfigFile", json_object_new_string(path));
                json_object_array_add(*out, o);
        }
        return 0;
}

/* The plugin binary for type among dirs. */
static char *plugin_path(char *const *dirs, const char *type, vs_error **err)
{
        if (!*type || strchr(type, '/') || strcmp(type, "..") == 0)
                return vs_fail(err, "CNI: invalid plugin type '%s'", type), NULL;
        for (size_t i = 0; dirs && dirs[i]; i++) {
                char *p = xasprintf("%s/%s", dirs[i], type);
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        vs_fail(err, "CNI: plugin '%s' not found in %s", type, dirs && dirs[0] ? dirs[0] : "");
        return NULL;
}

/* Runs one plugin: env CNI_*, stdin the config; *out its stdout (JSON). */
static int exec_plugin(const char *bin, const char *cmd, const struct vs_cni_args *a,
                       const char *stdin_text, char **out, vs_error **err)
{
        int in[2], outp[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "pipe");
        if (pipe2(outp, O_CLOEXEC) < 0) {
                close(in[0]);
                close(in[1]);
                return vs_fail_errno(err, "pipe");
        }
        _cleanup_free_ char *path = NULL;
        for (size_t i = 0; a->plugin_dirs && a->plugin_dirs[i]; i++) {
                char *t = xasprintf("%s%s%s", path ? path : "", path ? ":" : "", a->plugin_dirs[i]);
                free(path);
                path = t;
        }
        _cleanup_free_ char *e1 = xasprintf("CNI_COMMAND=%s", cmd);
        _cleanup_free_ char *e2 = xasprintf("CNI_CONTAINERID=%s", a->ctr_id);
        _cleanup_free_ char *e3 = xasprintf("CNI_NETNS=%s", a->netns ? a->netns : "");
        _cleanup_free_ char *e4 = xasprintf("CNI_IFNAME=%s", a->ifname);
        _cleanup_free_ char *e5 = xasprintf("CNI_PATH=%s", path ? path : "");
        _cleanup_free_ char *e6 = a->args ? xasprintf("CNI_ARGS=%s", a->args) : NULL;
        char *env[] = {e1, e2, e3, e4, e5, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", e6, NULL};
        pid_t pid = fork();
        if (pid < 0)
                return vs_fail_errno(err, "fork");
        if (pid == 0) {
                /* The monitor blocks the signals it reads from a signalfd. */
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                dup2(in[0], 0);
                dup2(outp[1], 1);
                char *argv[] = {(char *) bin, NULL};
                execve(bin, argv, env);
                _exit(127);
        }
        close(in[0]);
        close(outp[1]);
        size_t len = strlen(stdin_text);
        for (size_t off = 0; off < len;) {
                ssize_t w = write(in[1], stdin_text + off, len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        break;
                off += (size_t) w;
        }
        close(in[1]);
        char *buf = xstrdup("");
        size_t blen = 0;
        char chunk[4096];
        for (;;) {
                ssize_t r = read(outp[0], chunk, sizeof(chunk));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                buf = xrealloc(buf, blen + (size_t) r + 1);
                memcpy(buf + blen, chunk, (size_t) r);
                blen += (size_t) r;
                buf[blen] = '\0';
        }
        close(outp[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                *out = buf;
                return 0;
        }
        /* The spec's error object: {"code": N, "msg": "...", "details": "..."} */
        _cleanup_json_ json_object *e = NULL;
        _cleanup_free_ char *text = buf;
        const char *msg = vs_json_parse(text, "CNI error", &e, NULL) == 0 ? str_of(e, "msg") : "";
        return vs_fail(err, "CNI: plugin %s %s failed: %s", bin, cmd,
                       *msg ? msg : "no message (exit status not 0)");
}

/* The stdin of one plugin: its object, with the list's name and version,
 * the runtime config it asks for, and the previous result. */
static char *plugin_conf(json_object *list, json_object *plugin, json_object *prev,
                         const struct vs_cni_args *a)
{
        _cleanup_json_ json_object *c = NULL;
        json_object_deep_copy(plugin, &c, NULL);
        json_object_object_add(c, "name", json_object_new_string(str_of(list, "name")));
        json_object_object_add(c, "cniVersion", json_object_new_string(str_of(list, "cniVersion")));
        /* Capabilities the plugin asks for (the conventions of
         * CONVENTIONS.md): portMappings, and aliases as podman passes
         * them, {"NETWORK": ["NAME", ...]}. */
        json_object *caps = json_object_object_get(plugin, "capabilities");
        json_object *rc = json_object_new_object();
        if (a->port_mappings &&
            json_object_get_boolean(json_object_object_get(caps, "portMappings")))
                json_object_object_add(rc, "portMappings", json_object_get(a->port_mappings));
        if (a->aliases && a->network &&
            json_object_get_boolean(json_object_object_get(caps, "aliases"))) {
                json_object *al = json_object_new_object();
                json_object_object_add(al, a->network, json_object_get(a->aliases));
                json_object_object_add(rc, "aliases", al);
        }
        if (json_object_object_length(rc))
                json_object_object_add(c, "runtimeConfig", rc);
        else
                json_object_put(rc);
        if (prev)
                json_object_object_add(c, "prevResult", json_object_get(prev));
        return vs_json_to_string(c, false);
}

static int run_list(json_object *list, const char *cmd, bool reverse, json_object *prev_in,
                    const struct vs_cni_args *a, json_object **result, vs_error **err)
{
        json_object *plugins = json_object_object_get(list, "plugins");
        size_t n = json_object_array_length(plugins);
        json_object *prev = prev_in ? json_object_get(prev_in) : NULL;
        int ret = 0;
        for (size_t k = 0; k < n; k++) {
                json_object *p = json_object_array_get_idx(plugins, reverse ? n - 1 - k : k);
                _cleanup_free_ char *bin = plugin_path(a->plugin_dirs, str_of(p, "type"), err);
                if (bin == NULL) {
                        ret = -1;
                        break;
                }
                _cleanup_free_ char *conf = plugin_conf(list, p, prev, a);
                _cleanup_free_ char *out = NULL;
                if (exec_plugin(bin, cmd, a, conf, &out, err) < 0) {
                        ret = -1;
                        if (strcmp(cmd, "DEL") == 0) /* go on: remove what the others made */
                                continue;
                        break;
                }
                if (strcmp(cmd, "ADD") == 0) {
                        json_object *r = NULL;
                        if (vs_json_parse(out, "CNI result", &r, err) < 0) {
                                ret = -1;
                                break;
                        }
                        if (prev)
                                json_object_put(prev);
                        prev = r;
                }
        }
        if (result && ret == 0)
                *result = prev;
        else if (prev)
                json_object_put(prev);
        return ret;
}

int vs_cni_add(json_object *list, const struct vs_cni_args *a, vs_error **err)
{
        json_object *result = NULL;
        if (run_list(list, "ADD", false, NULL, a, &result, err) < 0) {
                /* Undo what the first plugins did (spec: DEL after a failed ADD). */
                run_list(list, "DEL", true, NULL, a, NULL, NULL);
                return -1;
        }
        _cleanup_json_ json_object *cache = json_object_new_object();
        json_object_object_add(cache, "config", json_object_get(list));
        json_object_object_add(cache, "result", result);
        json_object_object_add(cache, "ifname", json_object_new_string(a->ifname));
        _cleanup_free_ char *text = vs_json_to_string(cache, true);
        return vs_write_file_replace(a->cache_path, text, strlen(text), 0600, err);
}

static int load_cache(const char *path, json_object **out)
{
        _cleanup_free_ char *text = NULL;
        if (vs_read_file(path, &text, NULL, NULL) < 0)
                return -1;
        return vs_json_parse(text, path, out, NULL);
}

int vs_cni_del(const struct vs_cni_args *a, vs_error **err)
{
        _cleanup_json_ json_object *cache = NULL;
        if (load_cache(a->cache_path, &cache) < 0)
                return 0; /* never added */
        int r = run_list(json_object_object_get(cache, "config"), "DEL", true,
                         json_object_object_get(cache, "result"), a, NULL, err);
        if (r == 0)
                unlink(a->cache_path);
        return r;
}

int vs_cni_check(const struct vs_cni_args *a, vs_error **err)
{
        _cleanup_json_ json_object *cache = NULL;
        if (load_cache(a->cache_path, &cache) < 0)
                return vs_fail(err, "CNI: no cached result for container %.12s", a->ctr_id);
        return run_list(json_object_object_get(cache, "config"), "CHECK", false,
                        json_object_object_get(cache, "result"), a, NULL, err);
}

json_object *vs_cni_cached_result(const char *cache_path)
{
        _cleanup_json_ json_object *cache = NULL;
        if (load_cache(cache_path, &cache) < 0)
                return NULL;
        return json_object_get(json_object_object_get(cache, "result"));
}
