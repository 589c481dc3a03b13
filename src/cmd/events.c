/* vessel events: a container's statistics and OOM kills as JSON lines, in
 * runc's shape ({"type":"stats"|"oom","id":ID[,"data":{...}]}). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the OOM counter is looked at between stats: an OOM kill is
 * reported within this delay, whatever the --interval. */
#define OOM_POLL_MS 100

/* A Go duration ("5s", "500ms", "1m30s"), as the option parser reads
 * --interval (vs_opt_parse_duration). False when malformed or not positive. */
bool vs_parse_go_duration(const char *s, int64_t *ns_out)
{
        vs_error *err = NULL;
        int r = vs_opt_parse_duration("duration", s, ns_out, &err);
        vs_error_free(&err);
        return r == 0;
}

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void emit(json_object *ev)
{
        printf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
}

static json_object *event_new(const char *type, const char *id)
{
        json_object *ev = json_object_new_object();
        json_object_object_add(ev, "type", json_object_new_string(type));
        json_object_object_add(ev, "id", json_object_new_string(id));
        return ev;
}

/* Prints events until the container's init exits. */
static int follow(const char *id, int64_t interval_ns)
{
        vs_error *err = NULL;
        _cleanup_state_ struct vs_state *st = NULL;
        if (vs_state_load(vs_globals.root, id, &st, &err) < 0)
                return vs_report_error(&err);
        _cleanup_close_ int pidfd = vs_state_pidfd(st);
        if (pidfd < 0) {
                vs_fail(&err, "container '%s' is not running", id);
                return vs_report_error(&err);
        }
        if (st->cgroup == NULL) {
                vs_fail(&err, "container '%s' has no cgroup: no statistics or OOM events", id);
                return vs_report_error(&err);
        }
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (vs_cgroup_from_json(st->cgroup, &cg, &err) < 0)
                return vs_report_error(&err);

        long ooms = vs_cgroup_oom_kills(cg);
        int64_t next_stats = now_ns() + interval_ns;
        bool stopped = false;
        while (!stopped) {
                int64_t wait_ns = next_stats - now_ns();
                if (wait_ns < 0)
                        wait_ns = 0;
                int timeout = (int) ((wait_ns + 999999) / 1000000);
                if (timeout > OOM_POLL_MS)
                        timeout = OOM_POLL_MS;
                struct pollfd p = {.fd = pidfd, .events = POLLIN};
                int r = poll(&p, 1, timeout);
                if (r < 0 && errno != EINTR) {
                        vs_fail_errno(&err, "cannot wait for container '%s'", id);
                        return vs_report_error(&err);
                }
                stopped = r > 0;
                /* Looked at once more after the init exited: the OOM kill
                 * may be what stopped it. */
                long now_ooms = vs_cgroup_oom_kills(cg);
                for (; ooms < now_ooms; ooms++) {
                        _cleanup_json_ json_object *ev = event_new("oom", id);
                        emit(ev);
                }
                if (stopped || now_ns() < next_stats)
                        continue;
                next_stats += interval_ns;
                json_object *data = NULL;
                if (vs_cgroup_stats(cg, &data, &err) < 0) {
                        /* Deleted under us: the container is gone, which
                         * ends the stream like its exit does. */
                        if (err->errno_ == ENOENT) {
                                vs_error_free(&err);
                                break;
                        }
                        return vs_report_error(&err);
                }
                _cleanup_json_ json_object *ev = event_new("stats", id);
                json_object_object_add(ev, "data", data);
                emit(ev);
        }
        return 0;
}

int cmd_events(int argc, char **argv)
{
        bool stats_once = false;
        int64_t interval_ns = 5000000000LL;
        const struct vs_option opts[] = {
            {"stats", 's', VS_OPT_BOOL, &stats_once, NULL, "print the statistics once and exit"},
            {"interval", 'i', VS_OPT_DURATION, &interval_ns, "DURATION",
             "time between statistics (default 5s; 1s, 500ms, 1m30s)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "events", "[--stats] [--interval DURATION] ID",
            "Print a container's events as JSON lines until it stops: its statistics\n"
            "({\"type\":\"stats\",\"id\":ID,\"data\":{...}}) every interval, and "
            "{\"type\":\"oom\",\"id\":ID}\nwhenever the kernel OOM-kills one of its processes.",
            opts, VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("events", "missing container ID");
        if (argc - first > 1)
                return vs_usage_error("events", "unexpected argument '%s'", argv[first + 1]);
        const char *id = argv[first];
        if (!stats_once)
                return follow(id, interval_ns);
        vs_error *err = NULL;
        _cleanup_json_ json_object *ev = NULL;
        if (vs_container_stats(vs_globals.root, id, &ev, &err) < 0)
                return vs_report_error(&err);
        emit(ev);
        return 0;
}
