/* vessel events: a container's statistics and OOM kills as JSON lines, in
 * runc's shape ({"type":"stats"|"oom","id":ID[,"data":{...}]}). */
#include "cmd/cmd.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/json.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
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

/* A Go duration (what runc's --interval takes): "5s", "500ms", "1m30s",
 * "1.5s", "100us". Returns false when malformed or not positive. */
bool vs_parse_go_duration(const char *s, int64_t *ns_out)
{
        static const struct {
                const char *unit;
                double ns;
        } units[] = {
            {"ns", 1},  {"us", 1e3}, {"µs", 1e3},   {"ms", 1e6},
            {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
        };
        double total = 0;
        const char *p = s;
        if (*p == '\0')
                return false;
        while (*p) {
                if (!isdigit((unsigned char) *p) && *p != '.')
                        return false;
                /* Digits and one dot only: strtod alone would take
                 * exponents and hex. */
                size_t nlen = strspn(p, "0123456789.");
                char num[64];
                if (nlen == 0 || nlen >= sizeof(num) ||
                    memchr(p, '.', nlen) != memrchr(p, '.', nlen))
                        return false;
                memcpy(num, p, nlen);
                num[nlen] = '\0';
                char *end;
                double v = strtod(num, &end);
                if (*end != '\0')
                        return false;
                p += nlen;
                size_t best = 0;
                double mult = 0;
                /* Longest unit first, so "ms" is not read as "m" + "s". */
                for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                        size_t len = strlen(units[i].unit);
                        if (strncmp(p, units[i].unit, len) == 0 && len > best) {
                                best = len;
                                mult = units[i].ns;
                        }
                }
                if (best == 0)
                        return false; /* Go requires a unit on every number but "0" */
                p += best;
                total += v * mult;
        }
        if (!isfinite(total) || total < 1 || total > 9e18)
                return false;
        *ns_out = (int64_t) total;
        return true;
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
        static const struct option opts[] = {
            {"stats", no_argument, NULL, 's'},
            {"interval", required_argument, NULL, 'i'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool stats_once = false;
        int64_t interval_ns = 5000000000LL;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":si:h", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        stats_once = true;
                        break;
                case 'i':
                        if (!vs_parse_go_duration(optarg, &interval_ns))
                                return vs_usage_error("events",
                                                      "--interval: '%s' is not a positive "
                                                      "duration (like 5s, 500ms, 1m)",
                                                      optarg);
                        break;
                case 'h':
                        printf("Usage: vessel events [--stats] [--interval DURATION] ID\n\n"
                               "Print a container's events as JSON lines until it stops: its "
                               "statistics\n"
                               "({\"type\":\"stats\",\"id\":ID,\"data\":{...}}) every interval, "
                               "and {\"type\":\"oom\",\"id\":ID}\n"
                               "whenever the kernel OOM-kills one of its processes.\n\n"
                               "  -s, --stats              print the statistics once and exit\n"
                               "  -i, --interval DURATION  time between statistics (default "
                               "5s; 1s, 500ms, 1m30s)\n");
                        return 0;
                case ':':
                        return vs_option_error("events", argv, true);
                default:
                        return vs_option_error("events", argv, false);
                }
        }
        if (optind >= argc)
                return vs_usage_error("events", "missing container ID");
        if (argc - optind > 1)
                return vs_usage_error("events", "unexpected argument '%s'", argv[optind + 1]);
        const char *id = argv[optind];
        if (!stats_once)
                return follow(id, interval_ns);
        vs_error *err = NULL;
        _cleanup_json_ json_object *ev = NULL;
        if (vs_container_stats(vs_globals.root, id, &ev, &err) < 0)
                return vs_report_error(&err);
        emit(ev);
        return 0;
}
