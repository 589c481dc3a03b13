/* Runtime log: --log FILE --log-format text|json --debug, as runc has them.
 * containerd and podman read errors from the json log file. */
#ifndef VESSEL_UTIL_LOG_H
#define VESSEL_UTIL_LOG_H

#include <stdbool.h>

enum vs_log_level { VS_LOG_ERROR, VS_LOG_WARN, VS_LOG_INFO, VS_LOG_DEBUG };

/* path NULL: stderr. format "text" or "json". Returns -1 on a bad format or
 * an unopenable file (message printed to stderr). */
int vs_log_init(const char *path, const char *format, bool debug);
void vs_log(enum vs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool vs_log_debug_enabled(void);
/* True when a --log file is set (errors also go there, not only stderr). */
bool vs_log_has_file(void);

/* The current UTC time as RFC 3339 with nanoseconds. Caller frees. */
char *vs_now_rfc3339(void);
/* The same for a given time. */
struct timespec;
char *vs_time_rfc3339(const struct timespec *ts);

/* Progress and notices for a person (image pulls, guest kernel builds, the
 * copy mode of the rootfs): with the log, the only output of the layers
 * below src/cmd, which return errors as vs_error and print nothing else. A transient line is
 * replaced by the next one (on a terminal); vs_progress_clear() erases it. The default sink writes
 * to stderr; a command may set its own (NULL: the default). */
typedef void vs_progress_sink(const char *line, bool transient, void *arg);
void vs_progress_set_sink(vs_progress_sink *sink, void *arg);
void vs_progress(bool transient, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vs_progress_clear(void);

#define vs_debug(...) vs_log(VS_LOG_DEBUG, __VA_ARGS__)
#define vs_warn(...)  vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_info(...)  vs_log(VS_LOG_INFO, __VA_ARGS__)

#endif
