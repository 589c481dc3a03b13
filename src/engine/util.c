/* Small helpers shared by the engine: times, process identity, ids. */
#include "engine/engine.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* "2024-05-01T10:11:12.123456789Z" -> ns since the epoch; 0 when unparsable
 * or the zero time. */
int64_t vs_rfc3339_to_ns(const char *s)
{
        if (s == NULL)
                return 0;
        struct tm tm = {0};
        const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (rest == NULL || tm.tm_year < 70)
                return 0;
        int64_t ns = (int64_t) timegm(&tm) * 1000000000;
        if (*rest == '.') {
                int64_t frac = 0, scale = 100000000;
                for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
                        frac += (*rest - '0') * scale;
                ns += frac;
        }
        return ns;
}

char *vs_human_since(const char *rfc3339)
{
        int64_t then = vs_rfc3339_to_ns(rfc3339);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
        double s = then ? (double) (now - then) / 1e9 : 0;
        if (s < 1)
                return xstrdup("Less than a second");
        if (s < 60)
                return xasprintf("%d second%s", (int) s, (int) s == 1 ? "" : "s");
        double m = s / 60;
        if (m < 2)
                return xstrdup("About a minute");
        if (m < 60)
                return xasprintf("%d minutes", (int) m);
        double h = m / 60;
        if (h < 2)
                return xstrdup("About an hour");
        if (h < 48)
                return xasprintf("%d hours", (int) h);
        double d = h / 24;
        if (d < 14)
                return xasprintf("%d days", (int) d);
        if (d < 60)
                return xasprintf("%d weeks", (int) (d / 7));
        if (d < 730)
                return xasprintf("%d months", (int) (d / 30));
        return xasprintf("%d years", (int) (d / 365));
}

char *vs_boot_id(void)
{
        char buf[64] = "";
        _cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                buf[n > 0 ? n : 0] = '\0';
        }
        buf[strcspn(buf, "\n")] = '\0';
        return xstrdup(buf);
}

/* True when pid is alive and is the process that started at start (pid
 * reuse guard). Zombies count as dead. */
bool vs_pid_is(pid_t pid, unsigned long long start)
{
        if (pid <= 0)
                return false;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X')
                return false;
        return start == 0 || vs_proc_start_time(pid) == start;
}

char *vs_random_hex(size_t bytes)
{
        unsigned char b[64];
        if (bytes > sizeof(b))
                bytes = sizeof(b);
        size_t got = 0;
        while (got < bytes) {
                ssize_t n = getrandom(b + got, bytes - got, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        abort();
                got += (size_t) n;
        }
        char *s = xmalloc(bytes * 2 + 1);
        for (size_t i = 0; i < bytes; i++)
                snprintf(s + 2 * i, 3, "%02x", b[i]);
        return s;
}

static bool needs_quotes(const char *s)
{
        if (*s == '\0')
                return true;
        for (; *s; s++)
                if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
                      ('0' <= *s && *s <= '9') || strchr("-_./=:,+%@", *s)))
                        return true;
        return false;
}

static char *append_word(char *out, const char *w)
{
        char *q;
        if (!needs_quotes(w)) {
                q = xasprintf("%s%s%s", out, *out ? " " : "", w);
        } else {
                /* 'it'\''s' quoting */
                size_t n = 3;
                for (const char *p = w; *p; p++)
                        n += *p == '\'' ? 4 : 1;
                char *quoted = xmalloc(n), *d = quoted;
                *d++ = '\'';
                for (const char *p = w; *p; p++) {
                        if (*p == '\'') {
                                memcpy(d, "'\\''", 4);
                                d += 4;
                        } else {
                                *d++ = *p;
                        }
                }
                *d++ = '\'';
                *d = '\0';
                q = xasprintf("%s%s%s", out, *out ? " " : "", quoted);
                free(quoted);
        }
        free(out);
        return q;
}

char *vs_command_string(const char *path, char *const *args)
{
        char *out = xstrdup("");
        if (path)
                out = append_word(out, path);
        for (size_t i = 0; args && args[i]; i++)
                out = append_word(out, args[i]);
        return out;
}

static int read_own_oom_score_adj(void)
{
        _cleanup_free_ char *text = NULL;
        if (vs_read_file("/proc/self/oom_score_adj", &text, NULL, NULL) < 0)
                return 0;
        return atoi(text);
}

void vs_monitor_oom_protect(void)
{
        if (read_own_oom_score_adj() <= -500)
                return;
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, "-500", 4) < 0)
                vs_log(VS_LOG_DEBUG,
                       "monitor: cannot lower its oom_score_adj (%s); its "
                       "containers get a higher one instead",
                       strerror(errno));
}

int vs_engine_oom_score_adj(void)
{
        int adj = read_own_oom_score_adj() + 500;
        return adj > 1000 ? 1000 : adj;
}
