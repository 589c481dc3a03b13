/* The engine's flag-value parsers, reached through their own source files
 * (most are static): the first input byte picks the parser, the rest is the
 * value as typed on the command line.
 *   --memory/--tmpfs size=  vs_parse_size      --restart   vs_parse_restart
 *   --stop-signal           vs_parse_signal    --ulimit    parse_ulimit
 *   --tmpfs                 parse_tmpfs        -v          parse_volume
 *   --cpuset-cpus           parse_cpuset       --env-file  read_env_file
 *   --interval (events)     vs_parse_go_duration  --memory, --cpus...  parse_resources
 * -v with a host path would create that host directory: only volume names
 * and anonymous volumes are fuzzed (created under this process's scratch
 * data root). -p and --mount have no parser yet. */
// fuzz-includes: src/engine/create.c src/cmd/events.c
#include "../../src/engine/create.c"
#include "../../src/cmd/events.c"

#include "fuzz_util.h"

#include <fcntl.h>
#include <signal.h>
#include <strings.h>

static struct vs_engine engine;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        const char *tmp = fuzz_tmp();
        uint8_t which = data[0];
        _cleanup_free_ char *s = fuzz_cstr(data + 1, size - 1);
        vs_error *err = NULL;
        int ret = 0;
        json_object *a = json_object_new_array(), *b = json_object_new_array(),
                    *o = json_object_new_object();
        switch (which % 10) {
        case 0: {
                int64_t v = -1;
                ret = vs_parse_size("--memory", s, &v, &err);
                if (ret == 0 && v < 0)
                        abort();
                break;
        }
        case 1: {
                char *name = NULL;
                int n = -1;
                ret = vs_parse_restart(s, &name, &n, &err);
                if (ret == 0 && (name == NULL || n < 0))
                        abort();
                free(name);
                break;
        }
        case 2: {
                int sig = 0;
                ret = vs_parse_signal("--stop-signal", s, &sig, &err);
                if (ret == 0 && (sig <= 0 || sig >= 65))
                        abort();
                /* RTMIN+N / RTMAX-N must be exactly that signal. */
                const char *rt = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
                if (ret == 0 &&
                    (strncasecmp(rt, "RTMIN", 5) == 0 || strncasecmp(rt, "RTMAX", 5) == 0)) {
                        long long off = rt[5] ? strtoll(rt + 5, NULL, 10) : 0;
                        long long want = (strncasecmp(rt, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX);
                        if (off > 64 || off < -64 || want + off != sig)
                                abort();
                }
                break;
        }
        case 3:
                ret = parse_ulimit(s, a, &err);
                break;
        case 4:
                ret = parse_tmpfs(s, o, a, &err);
                break;
        case 5: {
                if (s[0] == '/' || strncmp(s, "./", 2) == 0)
                        break; /* would make a host directory */
                char dr[4200];
                snprintf(dr, sizeof(dr), "%s/data", tmp);
                engine.data_root = dr;
                ret = parse_volume(&engine, s, a, b, o, &err);
                fuzz_empty_dir(dr);
                break;
        }
        case 6:
                ret = parse_cpuset(s, &err);
                break;
        case 7: {
                char path[4200];
                snprintf(path, sizeof(path), "%s/env", tmp);
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || (size > 1 && write(fd, data + 1, size - 1) != (ssize_t) (size - 1)))
                        abort();
                close(fd);
                char **env = xcalloc(1, sizeof(char *));
                ret = read_env_file(path, &env, &err);
                for (size_t i = 0; env[i]; i++)
                        if (env[i][0] == '=' || strchr(env[i], '=') == NULL)
                                abort();
                strv_free(env);
                break;
        }
        case 8: {
                int64_t ns = 0;
                if (vs_parse_go_duration(s, &ns) && ns < 1)
                        abort();
                break;
        }
        case 9: {
                /* The resource flags: the second byte picks which one. */
                if (s[0] == '\0')
                        break;
                struct vs_run_flags f = {0};
                const char *v = s + 1;
                switch ((unsigned char) s[0] % 7) {
                case 0:
                        f.memory = v;
                        break;
                case 1:
                        f.memory = "1g";
                        f.memory_swap = v;
                        break;
                case 2:
                        f.cpus = v;
                        break;
                case 3:
                        f.cpu_shares = v;
                        break;
                case 4:
                        f.cpuset_cpus = v;
                        break;
                case 5:
                        f.pids_limit = v;
                        break;
                case 6:
                        f.blkio_weight = v;
                        break;
                }
                ret = parse_resources(&f, o, &err);
                json_object *n = json_object_object_get(o, "NanoCpus");
                if (ret == 0 && n && json_object_get_int64(n) <= 0)
                        abort();
                break;
        }
        }
        json_object_put(a);
        json_object_put(b);
        json_object_put(o);
        fuzz_check_result(ret, &err);
        return 0;
}
