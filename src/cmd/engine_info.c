/* vessel ps / inspect / logs / top / stats / diff. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "engine/engine.h"
#include "vm/vm.h"
#include "image/image.h"
#include "image/store.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

static void print_json(json_object *o)
{
        printf("%s\n",
               json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- tables (top) ---- */

struct row {
        char *cols[7];
};

static void print_table(const char *const *headers, struct row *rows, size_t n, size_t ncols)
{
        size_t w[7] = {0};
        for (size_t k = 0; k < ncols; k++)
                w[k] = strlen(headers[k]);
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < ncols; k++) {
                        /* display width: count UTF-8 lead bytes */
                        size_t len = 0;
                        for (const char *p = rows[i].cols[k]; *p; p++)
                                len += ((unsigned char) *p & 0xc0) != 0x80;
                        if (len > w[k])
                                w[k] = len;
                }
        for (size_t k = 0; k < ncols; k++) {
                if (k + 1 < ncols)
                        printf("%-*s   ", (int) w[k], headers[k]);
                else
                        printf("%s\n", headers[k]);
        }
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < ncols; k++) {
                        const char *v = rows[i].cols[k];
                        size_t len = 0, bytes = strlen(v);
                        for (const char *p = v; *p; p++)
                                len += ((unsigned char) *p & 0xc0) != 0x80;
                        if (k + 1 < ncols)
                                printf("%-*s   ", (int) (w[k] + bytes - len), v);
                        else
                                printf("%s\n", v);
                }
}

/* ---- inspect ---- */

/* Docker's image inspect shape (the same object as `image inspect`). */
static json_object *image_inspect(struct vs_engine *e, const char *ref)
{
        struct vs_store *store;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_engine_store(e, &store, &err) < 0)
                return NULL;
        struct vs_image *img = NULL;
        if (vs_image_lookup(store, ref, &img, &err) < 0)
                return NULL;
        json_object *o = vs_image_inspect_json(img);
        vs_image_free(img);
        return o;
}

static int inspect_type(const struct vs_option *o, const char *v, vs_error **err)
{
        if (strcmp(v, "container") != 0 && strcmp(v, "image") != 0)
                return vs_fail(err, "--type: container or image");
        *(const char **) o->target = v;
        return 0;
}

int cmd_engine_inspect(int argc, char **argv)
{
        const char *format = NULL, *type = NULL;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "T",
             "per object: a Go template ({{.State.Pid}}, {{json .Config}}, {{range .Mounts}}...)"},
            {"type", 0, VS_OPT_CALLBACK, &type, "container|image", "what NAME is", inspect_type},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"inspect", "[-f FORMAT] [--type container|image] NAME...",
                                "Print containers (or images) as a JSON array, Docker-shaped.",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("inspect", "missing NAME");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *arr = json_object_new_array();
        int status = 0;
        for (int i = first; i < argc; i++) {
                json_object *o = NULL;
                _cleanup_ctr_ struct vs_ctr *ct = NULL;
                if ((type == NULL || strcmp(type, "container") == 0) &&
                    vs_ctr_resolve(e, argv[i], &ct, &err) == 0) {
                        vs_ctr_refresh(e, ct);
                        o = vs_ctr_inspect(e, ct);
                } else if (type == NULL || strcmp(type, "image") == 0) {
                        o = image_inspect(e, argv[i]);
                }
                if (o == NULL) {
                        vs_error_free(&err);
                        vs_error_set(&err, ENOENT, "no such object: '%s'", argv[i]);
                        status = vs_report_error(&err);
                        continue;
                }
                vs_error_free(&err);
                if (format) {
                        if (vs_cmd_format_object(format, o, &err) < 0) {
                                json_object_put(o);
                                /* Docker: a template that does not parse is 64 */
                                bool parse = strstr(err->msg, "template parsing error") != NULL;
                                vs_report_error(&err);
                                return parse ? 64 : 1;
                        }
                        json_object_put(o);
                } else {
                        json_object_array_add(arr, o);
                }
        }
        if (!format && json_object_array_length(arr) == 0)
                printf("[]\n"); /* as Docker prints it */
        else if (!format)
                print_json(arr);
        return status;
}

/* ---- logs ---- */

static int set_tail(const struct vs_option *o, const char *v, vs_error **err)
{
        struct vs_log_opts *lo = o->target;
        if (strcmp(v, "all") == 0) {
                lo->tail = -1;
                return 0;
        }
        char *end;
        long n = strtol(v, &end, 10);
        if (*v == '\0' || *end || n < 0)
                return vs_fail(err, "--tail: invalid number '%s'", v);
        lo->tail = n;
        return 0;
}

/* Docker's --since/--until: an RFC 3339 time, a Unix time (seconds with
 * an optional fraction) or a Go duration before now ("10m"), which Docker
 * (GetTimestamp) turns into whole Unix seconds. -1 when s is none. */
int vs_cmd_parse_time(const char *s, int64_t *ns)
{
        int64_t d;
        char *end;
        /* "0s" (Go's zero duration): now. */
        size_t zeros = strspn(s, "0");
        bool zero = zeros > 0 && s[zeros] && strspn(s + zeros, "numsh") == strlen(s + zeros) &&
                    strlen(s + zeros) <= 2;
        if (zero || vs_parse_go_duration(s, &d)) {
                if (zero)
                        d = 0;
                struct timespec now;
                clock_gettime(CLOCK_REALTIME, &now);
                int64_t t = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec - d;
                *ns = t - t % 1000000000;
                return 0;
        }
        errno = 0;
        double secs = strtod(s, &end);
        if (*s && !*end && errno == 0 && secs >= 0 && secs < 1e11 &&
            strspn(s, "0123456789.") == strlen(s)) {
                *ns = (int64_t) (secs * 1e9);
                return 0;
        }
        int64_t t = vs_rfc3339_to_ns(s);
        if (t > 0 && strchr(s, 'T')) {
                *ns = t;
                return 0;
        }
        return -1;
}

int vs_cmd_opt_time(const struct vs_option *o, const char *s, vs_error **err)
{
        if (vs_cmd_parse_time(s, o->target) == 0)
                return 0;
        return vs_fail(err,
                       "invalid value '%s' for --%s: RFC 3339, Unix seconds or a duration such "
                       "as 10m",
                       s, o->name);
}

int cmd_engine_logs(int argc, char **argv)
{
        struct vs_log_opts o = {.tail = -1};
        const struct vs_option opts[] = {
            {"follow", 'f', VS_OPT_BOOL, &o.follow, NULL, "keep printing new output while it runs"},
            {"tail", 'n', VS_OPT_CALLBACK, &o, "N", "only the last N lines (or all)", set_tail},
            {"timestamps", 't', VS_OPT_BOOL, &o.timestamps, NULL, "prefix each line with its time"},
            {"since", 0, VS_OPT_CALLBACK, &o.since_ns, "T",
             "lines from T on (RFC 3339, Unix seconds, or a duration before now: 10m, 1h30m)",
             vs_cmd_opt_time},
            {"until", 0, VS_OPT_CALLBACK, &o.until_ns, "T", "lines up to T (same forms)",
             vs_cmd_opt_time},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"logs", "[-f] [--tail N] [-t] [--since T] [--until T] CONTAINER",
                                "Print a container's output (stdout to stdout, stderr to stderr).",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("logs", "expected one CONTAINER");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[first], &ct, &err) < 0 ||
            vs_logs_print(e, ct, &o, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

/* ---- top ---- */

static bool read_proc(pid_t pid, const char *file, char *buf, size_t size)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return false;
        buf[n] = '\0';
        return true;
}

static void format_cputime(unsigned long long ticks, char *out, size_t size)
{
        unsigned long long s = ticks / (unsigned long long) sysconf(_SC_CLK_TCK);
        snprintf(out, size, "%02llu:%02llu:%02llu", s / 3600, (s / 60) % 60, s % 60);
}

static void fill_row(struct row *r, unsigned uid, int pid, int ppid, time_t started,
                     unsigned long long cpu_ticks, const char *cmd)
{
        struct passwd *pw = getpwuid(uid);
        char cpu[32], stime[16];
        format_cputime(cpu_ticks, cpu, sizeof(cpu));
        struct tm tm;
        localtime_r(&started, &tm);
        strftime(stime, sizeof(stime), "%H:%M", &tm);
        r->cols[0] = pw ? xstrdup(pw->pw_name) : xasprintf("%u", uid);
        r->cols[1] = xasprintf("%d", pid);
        r->cols[2] = xasprintf("%d", ppid);
        r->cols[3] = xstrdup(stime);
        r->cols[4] = xstrdup(cpu);
        r->cols[5] = xstrdup(cmd);
}

static const char *const top_headers[] = {"UID", "PID", "PPID", "STIME", "TIME", "CMD"};

static void print_top(struct row *rows, size_t nr)
{
        print_table(top_headers, rows, nr, 6);
        for (size_t i = 0; i < nr; i++)
                for (size_t k = 0; k < 6; k++)
                        free(rows[i].cols[k]);
        free(rows);
}

/* A VM container's processes, as the guest agent lists them (pids are the
 * guest's; the table is the guest's text: parsed with bounds). Times are
 * in the guest's ticks (its HZ), start times relative to its boot. */
static int top_vm(const struct vs_ctr *ct)
{
        vs_error *err = NULL;
        _cleanup_free_ char *table = NULL;
        if (vs_vm_top(ct, &table, &err) < 0)
                return vs_report_error(&err);
        char *save = NULL, *line = strtok_r(table, "\n", &save);
        unsigned long long uptime = 0;
        long hz = 0;
        if (line == NULL || sscanf(line, "%llu %ld", &uptime, &hz) != 2 || hz <= 0 || hz > 100000) {
                vs_fail(&err, "container %s: its guest sent a bad process table", ct->name);
                return vs_report_error(&err);
        }
        size_t cap = 16, nr = 0;
        struct row *rows = xcalloc(cap, sizeof(*rows));
        time_t now = time(NULL);
        while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
                int pid, ppid, tty, off = 0;
                unsigned uid;
                unsigned long long cpu, start;
                if (sscanf(line, "%d %d %u %llu %llu %d %n", &pid, &ppid, &uid, &cpu, &start, &tty,
                           &off) != 6 ||
                    off == 0 || start > uptime)
                        continue;
                for (char *p = line + off; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                *p = '?'; /* the guest's text: printable only */
                if (nr == cap)
                        rows = xrealloc(rows, (cap *= 2) * sizeof(*rows));
                time_t started = now - (time_t) ((uptime - start) / (unsigned long long) hz);
                /* Our ticks for format_cputime. */
                unsigned long long ticks =
                    cpu * (unsigned long long) sysconf(_SC_CLK_TCK) / (unsigned long long) hz;
                fill_row(&rows[nr++], uid, pid, ppid, started, ticks, line + off);
        }
        print_top(rows, nr);
        return 0;
}

int cmd_engine_top(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"top", "CONTAINER [ps OPTIONS]",
                                "List a container's processes (host pids); with ps options, the "
                                "host's ps\noutput for them (it needs a PID column), as Docker's "
                                "top.",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first < 1)
                return vs_usage_error("top", "expected CONTAINER [ps OPTIONS]");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_running_ctr(argv[first], &e, &ct, &err) < 0)
                return vs_report_error(&err);
        if (vs_ctr_is_vm(ct)) {
                if (argc - first > 1) {
                        vs_fail(&err,
                                "container %s runs in a VM (--isolation=vm): top takes no ps "
                                "options for it (the host's ps cannot see the guest)",
                                ct->name);
                        return vs_report_error(&err);
                }
                return top_vm(ct);
        }
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        if (vs_container_pids(ct->runtime_root, ct->id, &pids, &n, &err) < 0)
                return vs_report_error(&err);
        if (argc - first > 1)
                return vs_cmd_host_ps(argv + first + 1, argc - first - 1, pids, n);
        struct sysinfo si;
        sysinfo(&si);
        time_t boot = time(NULL) - si.uptime;
        struct row *rows = xcalloc(n ? n : 1, sizeof(*rows));
        size_t nr = 0;
        for (size_t i = 0; i < n; i++) {
                char stat[1024], status[4096], cmdline[4096];
                if (!read_proc(pids[i], "stat", stat, sizeof(stat)) ||
                    !read_proc(pids[i], "status", status, sizeof(status)))
                        continue;
                char *rp = strrchr(stat, ')');
                if (rp == NULL)
                        continue;
                int ppid = 0;
                unsigned long long ut = 0, st = 0, start = 0;
                /* fields from 3: state ppid ... utime(14) stime(15) ... starttime(22) */
                sscanf(rp + 2,
                       "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                       "%*d %*d %*d %llu",
                       &ppid, &ut, &st, &start);
                unsigned uid = 0;
                char *u = strstr(status, "\nUid:");
                if (u)
                        sscanf(u + 5, "%u", &uid);
                size_t cl = 0;
                {
                        char path[64];
                        snprintf(path, sizeof(path), "/proc/%d/cmdline", pids[i]);
                        int fd = open(path, O_RDONLY | O_CLOEXEC);
                        ssize_t r = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : 0;
                        if (fd >= 0)
                                close(fd);
                        cl = r > 0 ? (size_t) r : 0;
                        for (size_t k = 0; k + 1 < cl; k++)
                                if (cmdline[k] == '\0')
                                        cmdline[k] = ' ';
                        cmdline[cl] = '\0';
                }
                if (cl == 0) {
                        char *name = strstr(status, "Name:\t");
                        snprintf(cmdline, sizeof(cmdline), "[%.*s]",
                                 name ? (int) strcspn(name + 6, "\n") : 0, name ? name + 6 : "");
                }
                time_t started =
                    boot + (time_t) (start / (unsigned long long) sysconf(_SC_CLK_TCK));
                fill_row(&rows[nr++], uid, pids[i], ppid, started, ut + st, cmdline);
        }
        print_top(rows, nr);
        return 0;
}

/* ---- stats ---- */

struct sample {
        uint64_t cpu_ns, mem, mem_limit, pids, blk_read, blk_write;
        bool ok;
};

static uint64_t jget(json_object *o, const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        json_object *cur = o;
        for (char *save = NULL, *f = strtok_r(copy, ".", &save); f && cur;
             f = strtok_r(NULL, ".", &save))
                cur = json_object_object_get(cur, f);
        return cur ? (uint64_t) json_object_get_int64(cur) : 0;
}

static struct sample take_sample(const struct vs_ctr *c)
{
        struct sample s = {0};
        _cleanup_json_ json_object *st = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_ctr_is_vm(c)) {
                /* CPU: what its QEMU costs the host; memory and pids: the
                 * guest's own (none while it is paused). */
                struct vs_vm_stats vst;
                if (vs_vm_stats(c, &vst, &err) < 0)
                        return s;
                s.cpu_ns = vst.cpu_ns;
                s.mem = vst.mem_used;
                s.mem_limit = vst.mem_total;
                s.pids = vst.pids;
                s.ok = true;
                return s;
        }
        if (vs_container_stats(c->runtime_root, c->id, &st, &err) < 0)
                return s;
        json_object *d = json_object_object_get(st, "data");
        s.cpu_ns = jget(d, "cpu.usage.total");
        s.mem = jget(d, "memory.usage.usage");
        /* Docker subtracts the page cache it can drop. */
        uint64_t cache = jget(d, "memory.raw.total_inactive_file");
        if (cache == 0)
                cache = jget(d, "memory.raw.inactive_file");
        if (cache < s.mem)
                s.mem -= cache;
        s.mem_limit = jget(d, "memory.usage.limit");
        struct sysinfo si;
        if (sysinfo(&si) == 0) {
                uint64_t host = (uint64_t) si.totalram * si.mem_unit;
                if (s.mem_limit == 0 || s.mem_limit > host)
                        s.mem_limit = host;
        }
        s.pids = jget(d, "pids.current");
        json_object *blk =
            json_object_object_get(json_object_object_get(d, "blkio"), "ioServiceBytesRecursive");
        for (size_t i = 0; blk && i < json_object_array_length(blk); i++) {
                json_object *x = json_object_array_get_idx(blk, i);
                json_object *op = json_object_object_get(x, "op");
                const char *ops = op ? json_object_get_string(op) : "";
                if (strcasecmp(ops, "read") == 0)
                        s.blk_read += jget(x, "value");
                else if (strcasecmp(ops, "write") == 0)
                        s.blk_write += jget(x, "value");
        }
        s.ok = true;
        return s;
}

static void human_bytes(uint64_t b, char *out, size_t size, bool binary)
{
        const char *units_bin[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        const char *units_dec[] = {"B", "kB", "MB", "GB", "TB"};
        double v = (double) b;
        double base = binary ? 1024 : 1000;
        size_t u = 0;
        while (v >= base && u < 4) {
                v /= base;
                u++;
        }
        snprintf(out, size, u ? "%.2f%s" : "%.0f%s", v, binary ? units_bin[u] : units_dec[u]);
}

static int stats_format(const struct vs_option *o, const char *v, vs_error **err)
{
        if (strcmp(v, "json") != 0)
                return vs_fail(err, "--format: only 'json'");
        *(bool *) o->target = true;
        return 0;
}

int cmd_engine_stats(int argc, char **argv)
{
        bool no_stream = false, all = false, json = false;
        const struct vs_option opts[] = {
            {"no-stream", 0, VS_OPT_BOOL, &no_stream, NULL, "print one sample and exit"},
            {"all", 'a', VS_OPT_BOOL, &all, NULL, "accepted (stopped containers show nothing)"},
            {"format", 0, VS_OPT_CALLBACK, &json, "json", "one JSON object per line", stats_format},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"stats", "[--no-stream] [--format json] [CONTAINER...]",
                                "Show CPU, memory, block IO and pids of running containers.", opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        bool stream = !no_stream;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        struct vs_ctr **v = NULL;
        size_t n = 0;
        if (first < argc) {
                for (int i = first; i < argc; i++) {
                        struct vs_ctr *ct = NULL;
                        if (vs_ctr_resolve(e, argv[i], &ct, &err) < 0) {
                                vs_ctr_list_free(v, n);
                                return vs_report_error(&err);
                        }
                        v = xrealloc(v, (n + 1) * sizeof(*v));
                        v[n++] = ct;
                }
        } else if (vs_ctr_list(e, &v, &n, &err) < 0) {
                return vs_report_error(&err);
        }
        struct sample *prev = xcalloc(n ? n : 1, sizeof(*prev));
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < n; i++) {
                vs_ctr_refresh(e, v[i]);
                if (v[i]->state.running)
                        prev[i] = take_sample(v[i]);
        }
        for (;;) {
                usleep(stream ? 1000000 : 500000);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                double wall =
                    (double) (t1.tv_sec - t0.tv_sec) * 1e9 + (double) (t1.tv_nsec - t0.tv_nsec);
                t0 = t1;
                struct row *rows = xcalloc(n ? n : 1, sizeof(*rows));
                size_t nr = 0;
                for (size_t i = 0; i < n; i++) {
                        if (!prev[i].ok)
                                continue;
                        struct sample s = take_sample(v[i]);
                        if (!s.ok)
                                continue;
                        double cpu =
                            wall > 0 ? (double) (s.cpu_ns - prev[i].cpu_ns) / wall * 100 : 0;
                        double memp = s.mem_limit ? (double) s.mem / (double) s.mem_limit * 100 : 0;
                        prev[i] = s;
                        if (json) {
                                printf("{\"ID\":\"%.12s\",\"Name\":\"%s\",\"CPUPerc\":\"%.2f%%\","
                                       "\"MemUsage\":%llu,\"MemLimit\":%llu,\"MemPerc\":\"%.2f%%\","
                                       "\"BlockRead\":%llu,\"BlockWrite\":%llu,\"PIDs\":%llu}\n",
                                       v[i]->id, v[i]->name, cpu, (unsigned long long) s.mem,
                                       (unsigned long long) s.mem_limit, memp,
                                       (unsigned long long) s.blk_read,
                                       (unsigned long long) s.blk_write,
                                       (unsigned long long) s.pids);
                                continue;
                        }
                        char mu[32], ml[32], br[32], bw[32];
                        human_bytes(s.mem, mu, sizeof(mu), true);
                        human_bytes(s.mem_limit, ml, sizeof(ml), true);
                        human_bytes(s.blk_read, br, sizeof(br), false);
                        human_bytes(s.blk_write, bw, sizeof(bw), false);
                        struct row *r = &rows[nr++];
                        r->cols[0] = xasprintf("%.12s", v[i]->id);
                        r->cols[1] = xstrdup(v[i]->name);
                        r->cols[2] = xasprintf("%.2f%%", cpu);
                        r->cols[3] = xasprintf("%s / %s   %.2f%%", mu, ml, memp);
                        r->cols[4] = xasprintf("%s / %s", br, bw);
                        r->cols[5] = xasprintf("%llu", (unsigned long long) s.pids);
                }
                if (!json) {
                        if (stream)
                                printf("\033[2J\033[H");
                        static const char *const headers[] = {
                            "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT   MEM %",
                            "BLOCK I/O",    "PIDS"};
                        print_table(headers, rows, nr, 6);
                }
                for (size_t i = 0; i < nr; i++)
                        for (size_t k = 0; k < 6; k++)
                                free(rows[i].cols[k]);
                free(rows);
                fflush(stdout);
                if (!stream)
                        break;
        }
        free(prev);
        vs_ctr_list_free(v, n);
        return 0;
}

/* ---- diff ---- */

int cmd_engine_diff(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"diff", "CONTAINER",
                                "List files added (A), changed (C) and deleted (D) in a container.",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("diff", "expected one CONTAINER");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        _cleanup_strv_ char **lines = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[first], &ct, &err) < 0 ||
            vs_engine_diff(e, ct, &lines, &err) < 0)
                return vs_report_error(&err);
        for (size_t i = 0; lines && lines[i]; i++)
                printf("%s\n", lines[i]);
        return 0;
}
