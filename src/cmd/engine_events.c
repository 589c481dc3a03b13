/* vessel events (the engine's): the event log (src/engine/events.c) as
 * Docker prints it: past events with --since/--until, new ones as they are
 * written (until --until), filtered by --filter as Docker's daemon filters,
 * each a line of text or of the --format template. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/template.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ev_filter {
        char **keys, **values; /* parallel */
};

static bool has_key(const struct ev_filter *f, const char *key)
{
        for (size_t i = 0; f->keys && f->keys[i]; i++)
                if (strcmp(f->keys[i], key) == 0)
                        return true;
        return false;
}

/* Docker's filters.Args: no value for key matches; else any value does,
 * exactly, or (fuzzy) as a prefix. */
static bool match(const struct ev_filter *f, const char *key, const char *s, bool fuzzy)
{
        if (!has_key(f, key))
                return true;
        if (s == NULL)
                return false;
        for (size_t i = 0; f->keys[i]; i++) {
                if (strcmp(f->keys[i], key) != 0)
                        continue;
                const char *v = f->values[i];
                if (strcmp(v, s) == 0 || (fuzzy && strncmp(s, v, strlen(v)) == 0))
                        return true;
        }
        return false;
}

static const char *attr(json_object *attrs, const char *k)
{
        json_object *v = json_object_object_get(attrs, k);
        return v ? json_object_get_string(v) : NULL;
}

static const char *str(json_object *o, const char *k)
{
        return json_object_get_string(json_object_object_get(o, k));
}

/* An image reference without its tag ("busybox:1" -> "busybox"). */
static char *strip_tag(const char *ref)
{
        if (ref == NULL)
                return NULL;
        const char *slash = strrchr(ref, '/');
        const char *colon = strrchr(slash ? slash : ref, ':');
        return colon ? xstrndup(ref, (size_t) (colon - ref)) : xstrdup(ref);
}

static bool match_name(const struct ev_filter *f, const char *key, json_object *ev)
{
        json_object *actor = json_object_object_get(ev, "Actor");
        json_object *attrs = json_object_object_get(actor, "Attributes");
        return match(f, key, str(actor, "ID"), true) || match(f, key, attr(attrs, "name"), true);
}

static bool match_labels(const struct ev_filter *f, json_object *attrs)
{
        for (size_t i = 0; f->keys && f->keys[i]; i++) {
                if (strcmp(f->keys[i], "label") != 0)
                        continue;
                const char *v = f->values[i], *eq = strchr(v, '=');
                _cleanup_free_ char *k = eq ? xstrndup(v, (size_t) (eq - v)) : xstrdup(v);
                const char *have = attr(attrs, k);
                if (have == NULL || (eq && strcmp(have, eq + 1) != 0))
                        return false;
        }
        return true;
}

static bool include(const struct ev_filter *f, json_object *ev)
{
        const char *type = str(ev, "Type"), *action = str(ev, "Action");
        json_object *actor = json_object_object_get(ev, "Actor");
        json_object *attrs = json_object_object_get(actor, "Attributes");
        const char *id = str(actor, "ID");
        /* Docker: these actions carry the command after a colon. */
        bool fuzzy_event = false;
        for (size_t i = 0; f->keys && f->keys[i]; i++)
                if (strcmp(f->keys[i], "event") == 0 &&
                    (strcmp(f->values[i], "health_status") == 0 ||
                     strcmp(f->values[i], "exec_create") == 0 ||
                     strcmp(f->values[i], "exec_start") == 0))
                        fuzzy_event = true;
        if (!match(f, "event", action, fuzzy_event) || !match(f, "type", type, false) ||
            !match(f, "scope", str(ev, "scope"), false))
                return false;
        static const char *const by_name[] = {"container", "daemon",  "plugin", "volume", "network",
                                              "node",      "service", "secret", "config", NULL};
        for (size_t i = 0; by_name[i]; i++)
                if (!match_name(f, by_name[i], ev))
                        return false;
        if (has_key(f, "image")) {
                const char *name = attr(attrs, strcmp(type, "image") == 0 ? "name" : "image");
                _cleanup_free_ char *bare_id = strip_tag(id), *bare_name = strip_tag(name);
                if (!match(f, "image", id, false) && !match(f, "image", name, false) &&
                    !match(f, "image", bare_id, false) && !match(f, "image", bare_name, false))
                        return false;
        }
        return match_labels(f, attrs);
}

/* KEY=VALUE. A key no event has matches nothing and excludes nothing, as
 * Docker's daemon (which does not check event filter keys) does. */
static int filter_add(struct ev_filter *f, const char *spec)
{
        const char *eq = strchr(spec, '=');
        if (eq == NULL || eq == spec)
                return vs_usage_error("events", "--filter %s: expected KEY=VALUE", spec);
        _cleanup_free_ char *key = xstrndup(spec, (size_t) (eq - spec));
        strv_push(&f->keys, key);
        strv_push(&f->values, eq + 1);
        return 0;
}

static int compare_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Docker's text: TIME TYPE ACTION ID (k=v, ... sorted by key). */
static void print_text(json_object *ev)
{
        int64_t nano = json_object_get_int64(json_object_object_get(ev, "timeNano"));
        time_t secs = (time_t) (nano / 1000000000);
        struct tm tm;
        localtime_r(&secs, &tm);
        char when[64], zone[48];
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        if (tm.tm_gmtoff == 0)
                snprintf(zone, sizeof(zone), "Z");
        else
                snprintf(zone, sizeof(zone), "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+',
                         labs(tm.tm_gmtoff) / 3600, labs(tm.tm_gmtoff) % 3600 / 60);
        json_object *actor = json_object_object_get(ev, "Actor");
        json_object *attrs = json_object_object_get(actor, "Attributes");
        printf("%s.%09lld%s %s %s %s", when, (long long) (nano % 1000000000), zone, str(ev, "Type"),
               str(ev, "Action"), str(actor, "ID"));
        _cleanup_strv_ char **keys = NULL;
        if (attrs && json_object_is_type(attrs, json_type_object)) {
                json_object_object_foreach(attrs, k, v)
                {
                        (void) v;
                        strv_push(&keys, k);
                }
        }
        if (keys) {
                size_t n = strv_len(keys);
                qsort(keys, n, sizeof(char *), compare_str);
                printf(" (");
                for (size_t i = 0; i < n; i++)
                        printf("%s%s=%s", i ? ", " : "", keys[i], attr(attrs, keys[i]));
                printf(")");
        }
        printf("\n");
}

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct ev_opts {
        int64_t since, until;
        const char *format;
        struct ev_filter filter;
        struct vs_template *tmpl;
};

/* Prints what the log holds now; false when stdout is gone. */
static bool drain(struct vs_events_reader *r, const struct ev_opts *o, vs_error **err)
{
        json_object *ev = NULL;
        while (vs_events_next(r, &ev, err) > 0) {
                _cleanup_json_ json_object *owned = ev; /* put at the end of the turn */
                (void) owned;
                int64_t t = json_object_get_int64(json_object_object_get(ev, "timeNano"));
                if ((o->since && t < o->since) || (o->until && t > o->until) ||
                    !include(&o->filter, ev))
                        continue;
                if (o->tmpl) {
                        _cleanup_free_ char *text = NULL;
                        if (vs_template_exec(o->tmpl, ev, &text, err) < 0)
                                return false;
                        printf("%s\n", text);
                } else {
                        print_text(ev);
                }
                if (fflush(stdout) != 0 || ferror(stdout))
                        return false;
        }
        return true;
}

int cmd_engine_events(int argc, char **argv)
{
        struct ev_opts o = {0};
        _cleanup_strv_ char **filters = NULL;
        const char *since = NULL, *until = NULL;
        const struct vs_option opts[] = {
            {"since", 0, VS_OPT_STRING, &since, "T",
             "events from T on (RFC 3339, Unix seconds, or a duration before now: 10m)"},
            {"until", 0, VS_OPT_STRING, &until, "T",
             "events up to T, then exit (same forms; without it: follow)"},
            {"filter", 'f', VS_OPT_LIST, &filters, "K=V",
             "container, event, image, label, network, type, volume, scope (repeatable)"},
            {"format", 0, VS_OPT_STRING, &o.format, "TEMPLATE",
             "a Go template per event ({{json .}}: the JSON)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"events", "[--since T] [--until T] [--filter K=V] [--format F]",
                                "Print the engine's events (as Docker's): those since --since, "
                                "then each new one\nas it happens, until --until or "
                                "interrupted.",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("events", "unexpected argument '%s'", argv[first]);
        int status = 0;
        for (size_t i = 0; filters && filters[i] && status == 0; i++)
                status = filter_add(&o.filter, filters[i]);
        vs_error *err = NULL;
        /* Docker checks these after the flags: a bad one exits 1. */
        const char *const times[] = {since, until};
        int64_t *const into[] = {&o.since, &o.until};
        for (size_t i = 0; i < 2 && status == 0; i++)
                if (times[i] && vs_cmd_parse_time(times[i], into[i]) < 0) {
                        vs_fail(&err, "--%s: failed to parse value as time or duration: \"%s\"",
                                i ? "until" : "since", times[i]);
                        status = vs_report_error(&err);
                }
        if (status == 0 && o.format) {
                const char *fmt = strcmp(o.format, "json") == 0 ? "{{json .}}" : o.format;
                if (vs_template_parse(fmt, &o.tmpl, &err) < 0)
                        status = vs_report_error(&err);
        }
        _cleanup_engine_ struct vs_engine *e = NULL;
        struct vs_events_reader r = {.fd = -1, .inotify_fd = -1};
        if (status == 0 && (vs_cmd_open_engine(&e, &err) < 0 ||
                            vs_events_open(&r, e->data_root, o.since || o.until, &err) < 0))
                status = vs_report_error(&err);
        while (status == 0) {
                /* Taken before the drain: the events up to it are read. */
                int64_t now = now_ns();
                if (!drain(&r, &o, &err)) {
                        if (err)
                                status = vs_report_error(&err);
                        break;
                }
                if (o.until && now > o.until)
                        break;
                int64_t wait_ms = o.until ? (o.until - now) / 1000000 + 1 : 1000;
                vs_events_wait(&r, (int) (wait_ms > 1000 ? 1000 : wait_ms));
        }
        vs_events_close(&r);
        if (o.tmpl)
                vs_template_free(o.tmpl);
        strv_free(o.filter.keys);
        strv_free(o.filter.values);
        return status;
}
