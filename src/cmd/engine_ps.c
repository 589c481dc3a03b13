/* vessel ps: containers as Docker lists them. Each container becomes one
 * object with the fields of Docker's ps context (ID, Image, Command,
 * CreatedAt, RunningFor, Ports, State, Status, Size, Names, Labels,
 * Mounts, Networks, LocalVolumes), filtered by --filter and printed
 * through the shared --format (src/cmd/format.c). */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "net/net.h"
#include "vm/vm.h"
#include "util/log.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PS_TABLE                                                                                   \
        "{{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t"      \
        "{{.Names}}"

static const char *const ps_headers[][2] = {
    {"ID", "CONTAINER ID"},    {"Image", "IMAGE"},
    {"Command", "COMMAND"},    {"CreatedAt", "CREATED AT"},
    {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
    {"State", "STATE"},        {"Status", "STATUS"},
    {"Size", "SIZE"},          {"Names", "NAMES"},
    {"Labels", "LABELS"},      {"Mounts", "MOUNTS"},
    {"Networks", "NETWORKS"},  {"LocalVolumes", "LOCAL VOLUMES"},
};

/* State.Health.Status, NULL without a health check. */
static const char *health_status(const struct vs_ctr *c)
{
        json_object *st =
            c->state.health ? json_object_object_get(c->state.health, "Status") : NULL;
        return st ? json_object_get_string(st) : NULL;
}

static char *status_text(const struct vs_ctr *c)
{
        const struct vs_ctr_state *s = &c->state;
        if (strcmp(s->status, "running") == 0 || strcmp(s->status, "paused") == 0) {
                _cleanup_free_ char *up = vs_human_since(s->started_at);
                /* Docker's: the health after the uptime, unless paused. */
                const char *health = health_status(c);
                _cleanup_free_ char *hs = s->paused || health == NULL ? xstrdup("")
                                          : strcmp(health, "starting") == 0
                                              ? xstrdup(" (health: starting)")
                                              : xasprintf(" (%s)", health);
                return xasprintf("Up %s%s%s%s", up, s->paused ? " (Paused)" : "", hs,
                                 c->unmonitored ? " (monitor gone)" : "");
        }
        if (strcmp(s->status, "restarting") == 0) {
                _cleanup_free_ char *ago = vs_human_since(s->finished_at);
                return xasprintf("Restarting (%d) %s ago", s->exit_code, ago);
        }
        if (strcmp(s->status, "exited") == 0) {
                if (c->exit_unknown)
                        return xstrdup("Exited (unknown)");
                _cleanup_free_ char *ago = vs_human_since(s->finished_at);
                return xasprintf("Exited (%d) %s ago", s->exit_code, ago);
        }
        if (strcmp(s->status, "created") == 0)
                return xstrdup("Created");
        if (strcmp(s->status, "dead") == 0)
                return xstrdup("Dead");
        return xstrdup(s->status);
}

/* Docker's Ellipsis: at most n runes, the last one "…" when cut. */
static char *ellipsis(const char *s, size_t n)
{
        size_t runes = 0, cut = 0;
        for (const char *p = s; *p; p++)
                if (((unsigned char) *p & 0xc0) != 0x80) {
                        if (runes == n - 1)
                                cut = (size_t) (p - s);
                        runes++;
                }
        if (runes <= n)
                return xstrdup(s);
        return xasprintf("%.*s…", (int) cut, s);
}

/* Go's time.Time.String() of a UTC time: "2006-01-02 15:04:05 +0000 UTC". */
static char *go_time(const char *rfc3339)
{
        int64_t ns = vs_rfc3339_to_ns(rfc3339);
        time_t t = (time_t) (ns / 1000000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[64];
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
        return xstrdup(buf);
}

static json_object *labels_of(const struct vs_ctr *c)
{
        json_object *l = json_object_object_get(c->config, "Labels");
        return l && json_object_is_type(l, json_type_object) ? l : NULL;
}

static char *join_labels(json_object *labels)
{
        char *out = xstrdup("");
        if (!labels)
                return out;
        json_object_object_foreach(labels, k, v)
        {
                char *next =
                    xasprintf("%s%s%s=%s", out, *out ? "," : "", k, json_object_get_string(v));
                free(out);
                out = next;
        }
        return out;
}

static json_object *ps_row(struct vs_engine *e, const struct vs_ctr *ct, bool no_trunc)
{
        json_object *o = json_object_new_object();
        _cleanup_free_ char *cmd = vs_command_string(ct->path, ct->args);
        _cleanup_free_ char *shown = no_trunc ? xstrdup(cmd) : ellipsis(cmd, 20);
        _cleanup_free_ char *quoted = xasprintf("\"%s\"", shown);
        _cleanup_free_ char *created = go_time(ct->created);
        _cleanup_free_ char *since = vs_human_since(ct->created);
        _cleanup_free_ char *ago = xasprintf("%s ago", since);
        _cleanup_free_ char *status = status_text(ct);
        _cleanup_free_ char *labels = join_labels(labels_of(ct));
        _cleanup_free_ char *mounts = xstrdup("");
        int local = 0;
        for (size_t i = 0; ct->mounts && i < json_object_array_length(ct->mounts); i++) {
                json_object *m = json_object_array_get_idx(ct->mounts, i);
                json_object *name = json_object_object_get(m, "Name");
                json_object *src = json_object_object_get(m, "Source");
                const char *shown_m =
                    name ? json_object_get_string(name) : (src ? json_object_get_string(src) : "");
                if (name)
                        local++;
                _cleanup_free_ char *cut = no_trunc ? xstrdup(shown_m) : ellipsis(shown_m, 15);
                char *next = xasprintf("%s%s%s", mounts, *mounts ? "," : "", cut);
                free(mounts);
                mounts = next;
        }
        json_object_object_add(o, "Command", json_object_new_string(quoted));
        json_object_object_add(o, "CreatedAt", json_object_new_string(created));
        _cleanup_free_ char *id = xstrndup(ct->id, no_trunc ? 64 : 12);
        json_object_object_add(o, "ID", json_object_new_string(id));
        /* the image as the user named it */
        json_object *typed = json_object_object_get(ct->config, "Image");
        json_object_object_add(o, "Image",
                               json_object_new_string(typed ? json_object_get_string(typed)
                                                      : ct->image_name ? ct->image_name
                                                                       : ""));
        json_object_object_add(o, "Labels", json_object_new_string(labels));
        _cleanup_free_ char *nlocal = xasprintf("%d", local);
        json_object_object_add(o, "LocalVolumes", json_object_new_string(nlocal));
        json_object_object_add(o, "Mounts", json_object_new_string(mounts));
        json_object_object_add(o, "Names", json_object_new_string(ct->name));
        _cleanup_free_ char *nets = vs_engine_net_names(ct);
        json_object_object_add(o, "Networks", json_object_new_string(nets));
        _cleanup_free_ char *ports = vs_engine_ports_text(e, ct);
        json_object_object_add(o, "Ports", json_object_new_string(ports ? ports : ""));
        json_object_object_add(o, "RunningFor", json_object_new_string(ago));
        json_object_object_add(o, "Size", json_object_new_string("0B"));
        json_object_object_add(o, "State", json_object_new_string(ct->state.status));
        json_object_object_add(o, "Status", json_object_new_string(status));
        return o;
}

/* A filter Docker's daemon refuses: exit status 1, not a usage error. */
/* ---- --filter ---- */

struct ps_filter {
        char **status, **name, **id, **label, **ancestor, **exited, **volume, **health;
        char **network;           /* as given; then (ps_filter_networks) the names they stand for */
        char **publish, **expose; /* container ports, "80/tcp" */
        char **isolation;         /* container or vm ("default": container) */
        const char *before, *since;
};

static void ps_filter_free(struct ps_filter *f)
{
        strv_free(f->status);
        strv_free(f->name);
        strv_free(f->id);
        strv_free(f->label);
        strv_free(f->ancestor);
        strv_free(f->exited);
        strv_free(f->volume);
        strv_free(f->health);
        strv_free(f->network);
        strv_free(f->publish);
        strv_free(f->expose);
        strv_free(f->isolation);
}

/* publish= and expose=: PORT[-END][/PROTO] (tcp by default) into keys. */
static int ps_filter_ports(char ***keys, const char *key, const char *v)
{
        if (strchr(v, ':'))
                return vs_filter_error("filter for '%s' should not contain ':': %s", key, v);
        _cleanup_error_ vs_error *err = NULL;
        if (vs_net_port_keys(v, 0, NULL, keys, &err) < 0)
                return vs_filter_error("error while looking up for %s %s: %s", key, v, err->msg);
        return 0;
}

static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                       "paused",  "exited",     "dead",    NULL};

static int ps_filter_add(struct ps_filter *f, const char *spec)
{
        const char *eq = strchr(spec, '=');
        if (!eq || eq == spec)
                return vs_usage_error("ps", "--filter %s: expected KEY=VALUE", spec);
        _cleanup_free_ char *key = xstrndup(spec, (size_t) (eq - spec));
        const char *v = eq + 1;
        if (strcmp(key, "status") == 0) {
                if (!strv_contains((char *const *) statuses, v))
                        return vs_filter_error("invalid filter 'status=%s' (a status is one of "
                                               "created, restarting, running, removing, paused, "
                                               "exited, dead)",
                                               v);
                strv_push(&f->status, v);
        } else if (strcmp(key, "name") == 0) {
                regex_t re;
                if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
                        return vs_usage_error("ps", "--filter name=%s: invalid regular expression",
                                              v);
                regfree(&re);
                strv_push(&f->name, v);
        } else if (strcmp(key, "id") == 0) {
                strv_push(&f->id, v);
        } else if (strcmp(key, "label") == 0) {
                strv_push(&f->label, v);
        } else if (strcmp(key, "ancestor") == 0) {
                strv_push(&f->ancestor, v);
        } else if (strcmp(key, "exited") == 0) {
                char *end;
                strtol(v, &end, 10);
                if (!*v || *end)
                        return vs_usage_error("ps", "--filter exited=%s: not an exit code", v);
                strv_push(&f->exited, v);
        } else if (strcmp(key, "volume") == 0) {
                strv_push(&f->volume, v);
        } else if (strcmp(key, "health") == 0) {
                static const char *const healths[] = {"starting", "healthy", "unhealthy", "none",
                                                      NULL};
                if (!strv_contains((char *const *) healths, v))
                        return vs_filter_error("Unrecognised filter value for health: %s", v);
                strv_push(&f->health, v);
        } else if (strcmp(key, "network") == 0) {
                strv_push(&f->network, v);
        } else if (strcmp(key, "isolation") == 0) {
                if (strcmp(v, "container") != 0 && strcmp(v, "vm") != 0 &&
                    strcmp(v, "default") != 0)
                        return vs_filter_error("invalid filter 'isolation=%s' (an isolation is one "
                                               "of default, container, vm)",
                                               v);
                strv_push(&f->isolation, strcmp(v, "default") == 0 ? "container" : v);
        } else if (strcmp(key, "publish") == 0 || strcmp(key, "expose") == 0) {
                return ps_filter_ports(key[0] == 'p' ? &f->publish : &f->expose, key, v);
        } else if (strcmp(key, "before") == 0) {
                f->before = v;
        } else if (strcmp(key, "since") == 0) {
                f->since = v;
        } else {
                return vs_filter_error("invalid filter '%s'", key);
        }
        return 0;
}

/* Docker's network filter: a network's name, or a prefix of its id. The
 * values become every name they stand for (none: no container matches). */
static void ps_filter_networks(struct vs_engine *e, struct ps_filter *f)
{
        if (!f->network)
                return;
        _cleanup_json_ json_object *nets = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_net_list(e->data_root, &nets, &err) < 0)
                vs_debug("ps --filter network: %s", err->msg);
        char **names = xcalloc(1, sizeof(char *));
        for (size_t i = 0; f->network[i]; i++) {
                const char *v = f->network[i];
                strv_push(&names, v);
                for (size_t k = 0; nets && *v && k < json_object_array_length(nets); k++) {
                        json_object *n = json_object_array_get_idx(nets, k);
                        const char *id = json_object_get_string(json_object_object_get(n, "Id"));
                        const char *nm = json_object_get_string(json_object_object_get(n, "Name"));
                        if (id && nm && strncmp(id, v, strlen(v)) == 0 && !strv_contains(names, nm))
                                strv_push(&names, nm);
                }
        }
        strv_free(f->network);
        f->network = names;
}

static bool match_network(const struct vs_ctr *c, const char *name)
{
        return vs_engine_net_on(c, name);
}

/* Docker matches publish= and expose= against the ports of a container's
 * network settings, which only a running (or paused) container on a
 * network with ports has (bridge ones: not host, none or the default
 * loopback-only namespace). */
static bool ports_up(const struct vs_ctr *c)
{
        return (strcmp(c->state.status, "running") == 0 ||
                strcmp(c->state.status, "paused") == 0) &&
               vs_engine_net_name(c) != NULL;
}

static bool match_isolation(const struct vs_ctr *c, const char *v)
{
        return strcmp(vs_ctr_is_vm(c) ? "vm" : "container", v) == 0;
}

/* ports: PortBindings or ExposedPorts, keyed "80/tcp" */
static bool has_port(const struct vs_ctr *c, json_object *ports, const char *port)
{
        return ports_up(c) && json_object_is_type(ports, json_type_object) &&
               json_object_object_get_ex(ports, port, NULL);
}

static bool match_publish(const struct vs_ctr *c, const char *port)
{
        return has_port(c, json_object_object_get(c->host_config, "PortBindings"), port);
}

static bool match_expose(const struct vs_ctr *c, const char *port)
{
        return has_port(c, json_object_object_get(c->config, "ExposedPorts"), port);
}

static bool any_match(char **v, bool (*pred)(const struct vs_ctr *, const char *),
                      const struct vs_ctr *c)
{
        if (!v)
                return true;
        for (size_t i = 0; v[i]; i++)
                if (pred(c, v[i]))
                        return true;
        return false;
}

static bool match_status(const struct vs_ctr *c, const char *v)
{
        return strcmp(c->state.status, v) == 0;
}

static bool match_name(const struct vs_ctr *c, const char *v)
{
        regex_t re;
        if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        bool ok = regexec(&re, c->name, 0, NULL, 0) == 0;
        regfree(&re);
        return ok;
}

static bool match_id(const struct vs_ctr *c, const char *v)
{
        return strncmp(c->id, v, strlen(v)) == 0;
}

static bool match_label(const struct vs_ctr *c, const char *v)
{
        json_object *l = labels_of(c);
        if (!l)
                return false;
        const char *eq = strchr(v, '=');
        _cleanup_free_ char *key = eq ? xstrndup(v, (size_t) (eq - v)) : xstrdup(v);
        json_object *val = json_object_object_get(l, key);
        if (!json_object_object_get_ex(l, key, NULL))
                return false;
        return !eq || strcmp(json_object_get_string(val), eq + 1) == 0;
}

static bool match_ancestor(const struct vs_ctr *c, const char *v)
{
        const char *img = c->image_name ? c->image_name : "";
        size_t n = strlen(v);
        if (strcmp(img, v) == 0 || (strncmp(img, v, n) == 0 && strcmp(img + n, ":latest") == 0))
                return true;
        if (strchr(v, ':') == NULL && strncmp(img, v, n) == 0 && img[n] == ':')
                return false; /* "busybox" names busybox:latest only */
        const char *id = c->image_id ? c->image_id : "";
        if (strncmp(id, "sha256:", 7) == 0 && strncmp(v, "sha256:", 7) != 0)
                id += 7;
        return n >= 4 && strncmp(id, v, n) == 0;
}

static bool match_exited(const struct vs_ctr *c, const char *v)
{
        return strcmp(c->state.status, "exited") == 0 && c->state.exit_code == atoi(v);
}

/* Docker's: the health status, "none" without a health check. */
static bool match_health(const struct vs_ctr *c, const char *v)
{
        const char *h = health_status(c);
        return strcmp(h ? h : "none", v) == 0;
}

static bool match_volume(const struct vs_ctr *c, const char *v)
{
        for (size_t i = 0; c->mounts && i < json_object_array_length(c->mounts); i++) {
                json_object *m = json_object_array_get_idx(c->mounts, i);
                const char *keys[] = {"Name", "Source", "Destination"};
                for (size_t k = 0; k < 3; k++) {
                        json_object *s = json_object_object_get(m, keys[k]);
                        if (s && strcmp(json_object_get_string(s), v) == 0)
                                return true;
                }
        }
        return false;
}

/* before/since: created before/after the named container. */
static int created_of(struct vs_engine *e, const char *ref, int64_t *ns)
{
        vs_error *err = NULL;
        _cleanup_ctr_ struct vs_ctr *c = NULL;
        if (vs_ctr_resolve(e, ref, &c, &err) < 0)
                return vs_report_error(&err);
        *ns = vs_rfc3339_to_ns(c->created);
        return 0;
}

static bool ps_match(const struct ps_filter *f, const struct vs_ctr *c, int64_t before,
                     int64_t since)
{
        int64_t created = vs_rfc3339_to_ns(c->created);
        if (f->before && created >= before)
                return false;
        if (f->since && created <= since)
                return false;
        return any_match(f->status, match_status, c) && any_match(f->name, match_name, c) &&
               any_match(f->id, match_id, c) && any_match(f->label, match_label, c) &&
               any_match(f->ancestor, match_ancestor, c) && any_match(f->exited, match_exited, c) &&
               any_match(f->volume, match_volume, c) && any_match(f->health, match_health, c) &&
               any_match(f->network, match_network, c) && any_match(f->publish, match_publish, c) &&
               any_match(f->expose, match_expose, c) && any_match(f->isolation, match_isolation, c);
}

static int set_last(const struct vs_option *o, const char *v, vs_error **err)
{
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < -1)
                return vs_fail(err, "invalid value '%s' for --last: not a number", v);
        *(long *) o->target = n;
        return 0;
}

static int set_latest(const struct vs_option *o, const char *v, vs_error **err)
{
        (void) v;
        (void) err;
        *(long *) o->target = 1;
        return 0;
}

int cmd_engine_ps(int argc, char **argv)
{
        bool all = false, quiet = false, no_trunc = false, size = false;
        const char *format = NULL;
        long last = -1;
        _cleanup_strv_ char **filters = NULL;
        const struct vs_option opts[] = {
            {"all", 'a', VS_OPT_BOOL, &all, NULL, "also created and exited containers"},
            {"filter", 'f', VS_OPT_LIST, &filters, "K=V",
             "status, name, id, label, ancestor, exited, before, since, volume, health, "
             "network, publish, expose, isolation (same key: any; different keys: all)"},
            {"format", 0, VS_OPT_STRING, &format, "FORMAT",
             "Go template (table, table FMT, json, {{.Names}}, {{.Label \"K\"}}...)"},
            {"last", 'n', VS_OPT_CALLBACK, &last, "N", "the N most recently created (all states)",
             set_last},
            {"latest", 'l', VS_OPT_CALLBACK, &last, NULL, "the most recently created (all states)",
             set_latest},
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "ids only"},
            {"no-trunc", 0, VS_OPT_BOOL, &no_trunc, NULL, "full ids and commands"},
            {"size", 's', VS_OPT_BOOL, &size, NULL, "accepted (sizes are not computed)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"ps", "[OPTIONS]", "List running containers (-a: all).", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("ps", "unexpected argument '%s'", argv[first]);
        struct ps_filter f = {0};
        int status = 0;
        for (size_t i = 0; filters && filters[i]; i++) {
                status = ps_filter_add(&f, filters[i]);
                if (status) {
                        ps_filter_free(&f);
                        return status;
                }
        }
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        struct vs_ctr **v = NULL;
        size_t n = 0;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_list(e, &v, &n, &err) < 0) {
                ps_filter_free(&f);
                return vs_report_error(&err);
        }
        ps_filter_networks(e, &f);
        int64_t before = 0, since = 0;
        if ((f.before && (status = created_of(e, f.before, &before)) != 0) ||
            (f.since && (status = created_of(e, f.since, &since)) != 0)) {
                ps_filter_free(&f);
                vs_ctr_list_free(v, n);
                return status;
        }
        if (last >= 0 || f.status || f.exited)
                all = true; /* Docker: these look at every container */
        _cleanup_json_ json_object *rows = json_object_new_array();
        _cleanup_json_ json_object *labels = json_object_new_array();
        long shown = 0;
        for (size_t i = 0; i < n && (last < 0 || shown < last); i++) {
                struct vs_ctr *ct = v[i];
                vs_ctr_refresh(e, ct);
                const char *st = ct->state.status;
                bool up = strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 ||
                          strcmp(st, "restarting") == 0;
                if ((!all && !up) || !ps_match(&f, ct, before, since))
                        continue;
                shown++;
                if (quiet)
                        printf("%.*s\n", no_trunc ? 64 : 12, ct->id);
                else {
                        json_object_array_add(rows, ps_row(e, ct, no_trunc));
                        json_object *l = labels_of(ct);
                        json_object_array_add(labels,
                                              l ? json_object_get(l) : json_object_new_object());
                }
        }
        ps_filter_free(&f);
        vs_ctr_list_free(v, n);
        if (quiet)
                return 0;
        _cleanup_json_ json_object *header = json_object_new_object();
        for (size_t i = 0; i < sizeof(ps_headers) / sizeof(ps_headers[0]); i++)
                json_object_object_add(header, ps_headers[i][0],
                                       json_object_new_string(ps_headers[i][1]));
        return vs_cmd_format_labelled_list(format, PS_TABLE, header, rows, labels);
}
