/* vessel ps: the processes of a container. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct proc_info {
        char state;
        pid_t ppid;
        unsigned long long utime, stime, start; /* clock ticks */
        uid_t uid;
        char comm[64];
};

/* /proc/<pid>/stat and status: false when the process is gone. */
static bool read_proc(pid_t pid, struct proc_info *pi)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *stat = NULL;
        if (vs_read_file(path, &stat, NULL, NULL) < 0)
                return false;
        /* comm may hold spaces and parentheses: fields resume after the last ')'. */
        char *open = strchr(stat, '('), *close = strrchr(stat, ')');
        if (!open || !close || close < open)
                return false;
        snprintf(pi->comm, sizeof(pi->comm), "%.*s", (int) (close - open - 1), open + 1);
        int ppid;
        if (sscanf(close + 2,
                   "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                   "%llu",
                   &pi->state, &ppid, &pi->utime, &pi->stime, &pi->start) != 5)
                return false;
        pi->ppid = ppid;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        _cleanup_free_ char *status = NULL;
        pi->uid = 0;
        if (vs_read_file(path, &status, NULL, NULL) == 0) {
                const char *u = strstr(status, "\nUid:");
                if (u)
                        pi->uid = (uid_t) strtoul(u + 5, NULL, 10);
        }
        return true;
}

/* The command line with NULs turned to spaces; "[comm]" for kernel-side
 * or exiting processes whose cmdline is empty, as ps shows them. */
static char *proc_cmd(pid_t pid, const char *comm)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        char *text = NULL;
        size_t len = 0;
        if (vs_read_file(path, &text, &len, NULL) < 0 || len == 0) {
                free(text);
                return xasprintf("[%s]", comm);
        }
        while (len > 0 && text[len - 1] == '\0')
                len--;
        for (size_t i = 0; i < len; i++)
                if (text[i] == '\0' || !isprint((unsigned char) text[i]))
                        text[i] = text[i] == '\0' ? ' ' : '?';
        text[len] = '\0';
        return text;
}

static long long boot_time(void)
{
        _cleanup_free_ char *stat = NULL;
        if (vs_read_file("/proc/stat", &stat, NULL, NULL) < 0)
                return 0;
        const char *b = strstr(stat, "\nbtime ");
        return b ? atoll(b + 7) : 0;
}

/* ps -ef's columns, read from /proc (no dependency on a host ps). */
static void print_table(const pid_t *pids, size_t n)
{
        long hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0)
                hz = 100;
        long long btime = boot_time();
        time_t now = time(NULL);
        printf("%-8s %7s %7s %-5s %-5s %8s %s\n", "UID", "PID", "PPID", "STAT", "STIME", "TIME",
               "CMD");
        for (size_t i = 0; i < n; i++) {
                struct proc_info pi;
                if (!read_proc(pids[i], &pi))
                        continue; /* exited meanwhile */
                char user[32];
                struct passwd *pw = getpwuid(pi.uid);
                if (pw && strlen(pw->pw_name) <= 8)
                        snprintf(user, sizeof(user), "%s", pw->pw_name);
                else
                        snprintf(user, sizeof(user), "%u", (unsigned) pi.uid);
                time_t started = (time_t) (btime + (long long) (pi.start / (unsigned long) hz));
                struct tm tm;
                localtime_r(&started, &tm);
                char stime[16];
                strftime(stime, sizeof(stime), now - started < 24 * 3600 ? "%H:%M" : "%b%d", &tm);
                unsigned long long cpu = (pi.utime + pi.stime) / (unsigned long) hz;
                char cputime[32];
                snprintf(cputime, sizeof(cputime), "%02llu:%02llu:%02llu", cpu / 3600,
                         cpu / 60 % 60, cpu % 60);
                _cleanup_free_ char *cmd = proc_cmd(pids[i], pi.comm);
                printf("%-8s %7d %7d %-5c %-5s %8s %s\n", user, (int) pids[i], (int) pi.ppid,
                       pi.state, stime, cputime, cmd);
        }
}

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

/* runc's behaviour with ps options: run the host's ps with them and keep
 * the header and the lines of the container's processes (found through
 * the PID column). */
int vs_cmd_host_ps(char **ps_args, int n_args, const pid_t *pids, size_t n)
{
        int pfd[2];
        if (pipe(pfd) < 0) {
                perror("vessel ps: pipe");
                return 1;
        }
        pid_t child = fork();
        if (child < 0) {
                perror("vessel ps: fork");
                return 1;
        }
        if (child == 0) {
                char **argv = xcalloc((size_t) n_args + 2, sizeof(char *));
                argv[0] = "ps";
                for (int i = 0; i < n_args; i++)
                        argv[i + 1] = ps_args[i];
                dup2(pfd[1], STDOUT_FILENO);
                close(pfd[0]);
                close(pfd[1]);
                execvp("ps", argv);
                fprintf(stderr, "vessel ps: cannot run ps: %s\n", strerror(errno));
                _exit(127);
        }
        close(pfd[1]);
        _cleanup_fclose_ FILE *in = fdopen(pfd[0], "r");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        int pid_col = -1, ret = 0;
        while (getline(&line, &cap, in) > 0) {
                _cleanup_free_ char *copy = xstrdup(line);
                char *save = NULL;
                int col = 0;
                char *field = strtok_r(copy, " \t\n", &save);
                if (pid_col < 0) {
                        for (; field; field = strtok_r(NULL, " \t\n", &save), col++)
                                if (strcmp(field, "PID") == 0)
                                        pid_col = col;
                        if (pid_col < 0) {
                                fprintf(
                                    stderr,
                                    "vessel ps: the ps output has no PID column (add -o pid)\n");
                                ret = 1;
                                break;
                        }
                        fputs(line, stdout);
                        continue;
                }
                for (; field && col < pid_col; col++)
                        field = strtok_r(NULL, " \t\n", &save);
                if (field && has_pid(pids, n, strtol(field, NULL, 10)))
                        fputs(line, stdout);
        }
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                fprintf(stderr, "vessel ps: ps exited with status %d\n",
                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                ret = 1;
        }
        return ret;
}

int cmd_ps(int argc, char **argv)
{
        const char *format = "table";
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "table|json",
             "json: an array of pids; table (default): UID PID PPID STAT STIME TIME CMD, read "
             "from /proc"},
            VS_OPT_TABLE_END,
        };
        /* Not interspersed: options after the ID belong to ps (vessel ps ID
         * -- -o pid,comm). */
        struct vs_cmdline cl = {"ps", "[--format table|json] ID [PS_OPTIONS...]",
                                "List the processes of a container (host pids). PS_OPTIONS "
                                "(after the ID, e.g.\n-- -o pid,comm) run the host's ps with them "
                                "and keep the container's lines,\nlike runc.",
                                opts, VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (strcmp(format, "table") && strcmp(format, "json"))
                return vs_usage_error("ps", "--format: unknown format '%s' (table|json)", format);
        if (first >= argc)
                return vs_usage_error("ps", "missing container ID");
        const char *id = argv[first];
        char **ps_args = argv + first + 1;
        int n_args = argc - first - 1;
        if (n_args > 0 && strcmp(ps_args[0], "--") == 0) {
                ps_args++;
                n_args--;
        }
        if (n_args > 0 && strcmp(format, "json") == 0)
                return vs_usage_error("ps", "ps options cannot be combined with --format json");

        vs_error *err = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        if (vs_container_pids(vs_globals.root, id, &pids, &n, &err) < 0)
                return vs_report_error(&err);
        if (strcmp(format, "json") == 0) {
                _cleanup_json_ json_object *arr = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(arr, json_object_new_int(pids[i]));
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
                return 0;
        }
        if (n_args > 0) {
                fflush(stdout);
                return vs_cmd_host_ps(ps_args, n_args, pids, n);
        }
        print_table(pids, n);
        return 0;
}
