#include "util/log.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static bool log_json;
static bool log_debug;

int vs_log_init(const char *path, const char *format, bool debug)
{
        log_debug = debug;
        if (format != NULL) {
                if (strcmp(format, "json") == 0)
                        log_json = true;
                else if (strcmp(format, "text") != 0) {
                        fprintf(stderr, "vessel: --log-format: unknown format '%s' (text|json)\n",
                                format);
                        return -1;
                }
        }
        if (path != NULL && *path) {
                log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (log_fd < 0) {
                        fprintf(stderr, "vessel: cannot open log file %s: %m\n", path);
                        return -1;
                }
        }
        return 0;
}

bool vs_log_debug_enabled(void)
{
        return log_debug;
}

bool vs_log_has_file(void)
{
        return log_fd >= 0;
}

char *vs_time_rfc3339(const struct timespec *ts)
{
        struct tm tm;
        gmtime_r(&ts->tv_sec, &tm);
        return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec);
}

char *vs_now_rfc3339(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return vs_time_rfc3339(&ts);
}

static const char *level_name(enum vs_log_level l)
{
        switch (l) {
        case VS_LOG_ERROR:
                return "error";
        case VS_LOG_WARN:
                return "warning";
        case VS_LOG_INFO:
                return "info";
        default:
                return "debug";
        }
}

void vs_log(enum vs_log_level level, const char *fmt, ...)
{
        if (level == VS_LOG_DEBUG && !log_debug)
                return;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);

        _cleanup_free_ char *when = vs_now_rfc3339();

        _cleanup_free_ char *line = NULL;
        if (log_json && log_fd >= 0) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "level", json_object_new_string(level_name(level)));
                json_object_object_add(o, "msg", json_object_new_string(msg));
                json_object_object_add(o, "time", json_object_new_string(when));
                line = xasprintf("%s\n",
                                 json_object_to_json_string_ext(
                                     o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else {
                line = xasprintf("%s[%s] %s\n", log_fd >= 0 ? when : "vessel: ", level_name(level),
                                 msg);
        }
        int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
        if (write(fd, line, strlen(line)) < 0) {
                /* Nothing better to do when the log itself fails. */
        }
}

/* ---- progress ---- */

static void stderr_sink(const char *line, bool transient, void *arg)
{
        (void) arg;
        if (line == NULL) {
                fputs("\r\033[K", stderr);
        } else if (transient) {
                fprintf(stderr, "\r\033[K%s", line);
        } else {
                fprintf(stderr, "%s%s\n", isatty(STDERR_FILENO) ? "\r\033[K" : "", line);
        }
        fflush(stderr);
}

static vs_progress_sink *progress_sink = stderr_sink;
static void *progress_arg;

void vs_progress_set_sink(vs_progress_sink *sink, void *arg)
{
        progress_sink = sink ? sink : stderr_sink;
        progress_arg = sink ? arg : NULL;
}

void vs_progress(bool transient, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *line = xvasprintf(fmt, ap);
        va_end(ap);
        progress_sink(line, transient, progress_arg);
}

void vs_progress_clear(void)
{
        progress_sink(NULL, true, progress_arg);
}
