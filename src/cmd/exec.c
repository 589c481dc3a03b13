/* vessel exec: runc-compatible. */
#include "cmd/cmd.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: vessel exec [OPTIONS] ID [COMMAND [ARG...]]\n\n"
                "Run a process in every namespace and the cgroup of a running container,\n"
                "with its seccomp profile and capabilities. The command defaults to nothing:\n"
                "give COMMAND or --process.\n\nOptions:\n"
                "  -p, --process FILE        the whole process as runtime-spec JSON\n"
                "  -t, --tty                 allocate a pseudo-terminal\n"
                "      --console-socket SOCK send the pty master to this AF_UNIX socket\n"
                "  -d, --detach              do not wait for the process\n"
                "      --pid-file FILE       write the process's pid to FILE\n"
                "      --cwd DIR             working directory inside the container\n"
                "  -e, --env KEY=VALUE       add or override an environment variable\n"
                "  -u, --user UID[:GID]      run as this user\n"
                "  -g, --additional-gids G   add a supplementary group (repeatable)\n"
                "  -c, --cap CAP             add a capability (repeatable)\n"
                "      --no-new-privs        set no_new_privs for the process\n"
                "      --preserve-fds N      pass N extra fds (3..3+N-1)\n"
                "  -h, --help                print this help\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (*s == '\0' || *end != '\0' || v > UINT32_MAX)
                return -1;
        *out = (uint32_t) v;
        return 0;
}

int cmd_exec(int argc, char **argv)
{
        enum { OPT_CONSOLE = 256, OPT_PID, OPT_CWD, OPT_NNP, OPT_PRESERVE, OPT_IGNORED };
        static const struct option opts[] = {
                {"process", required_argument, NULL, 'p'},
                {"tty", no_argument, NULL, 't'},
                {"console-socket", required_argument, NULL, OPT_CONSOLE},
                {"detach", no_argument, NULL, 'd'},
                {"pid-file", required_argument, NULL, OPT_PID},
                {"cwd", required_argument, NULL, OPT_CWD},
                {"env", required_argument, NULL, 'e'},
                {"user", required_argument, NULL, 'u'},
                {"additional-gids", required_argument, NULL, 'g'},
                {"cap", required_argument, NULL, 'c'},
                {"no-new-privs", no_argument, NULL, OPT_NNP},
                {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
                {"apparmor", required_argument, NULL, OPT_IGNORED},
                {"process-label", required_argument, NULL, OPT_IGNORED},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct vs_exec_opts o = {.root = vs_globals.root};
        const char *process_file = NULL, *cwd = NULL, *user = NULL;
        bool tty = false, nnp = false;
        _cleanup_strv_ char **envs = NULL, **caps = NULL, **gids = NULL;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:p:tde:u:g:c:h", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        process_file = optarg;
                        break;
                case 't':
                        tty = true;
                        break;
                case OPT_CONSOLE:
                        o.console_socket = optarg;
                        break;
                case 'd':
                        o.detach = true;
                        break;
                case OPT_PID:
                        o.pid_file = optarg;
                        break;
                case OPT_CWD:
                        cwd = optarg;
                        break;
                case 'e':
                        if (strchr(optarg, '=') == NULL || optarg[0] == '=')
                                return vs_usage_error("exec", "--env: '%s' is not KEY=VALUE",
                                                      optarg);
                        strv_push(&envs, optarg);
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'g':
                        strv_push(&gids, optarg);
                        break;
                case 'c':
                        strv_push(&caps, optarg);
                        break;
                case OPT_NNP:
                        nnp = true;
                        break;
                case OPT_PRESERVE: {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n < 0 || n > 1024)
                                return vs_usage_error("exec", "--preserve-fds: '%s' is not a count",
                                                      optarg);
                        o.preserve_fds = (int) n;
                        break;
                }
                case OPT_IGNORED:
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case ':':
                        return vs_option_error("exec", argv, true);
                default:
                        return vs_option_error("exec", argv, false);
                }
        }
        if (optind >= argc)
                return vs_usage_error("exec", "missing container ID");
        o.id = argv[optind++];
        if (process_file == NULL && optind >= argc)
                return vs_usage_error("exec", "missing COMMAND (or --process FILE)");
        if (process_file && optind < argc)
                return vs_usage_error("exec", "give either --process or COMMAND, not both");

        vs_error *err = NULL;
        struct oci_process *p = NULL;
        if (process_file) {
                _cleanup_json_ json_object *doc = NULL;
                if (vs_json_parse_file(strcmp(process_file, "-") ? process_file : "/dev/stdin",
                                       &doc, &err) < 0 ||
                    oci_process_parse(doc, process_file, &p, &err) < 0) {
                        oci_process_free(p);
                        return vs_report_error(&err);
                }
        } else {
                if (vs_container_process(o.root, o.id, &p, &err) < 0)
                        return vs_report_error(&err);
                strv_free(p->args);
                p->args = strv_copy(argv + optind);
                p->terminal = tty;
                p->has_console_size = false;
        }
        o.process = p;
        int rc = 0;
        for (size_t i = 0; envs && envs[i]; i++)
                strv_env_set(&p->env, envs[i]);
        if (cwd) {
                if (cwd[0] != '/') {
                        rc = vs_usage_error("exec", "--cwd: '%s' is not an absolute path", cwd);
                        goto out;
                }
                free(p->cwd);
                p->cwd = xstrdup(cwd);
        }
        if (user) {
                _cleanup_free_ char *u = xstrdup(user);
                char *colon = strchr(u, ':');
                if (colon)
                        *colon = '\0';
                if (parse_u32(u, &p->user.uid) < 0 ||
                    (colon && parse_u32(colon + 1, &p->user.gid) < 0)) {
                        rc = vs_usage_error("exec", "--user: '%s' is not UID[:GID]", user);
                        goto out;
                }
                if (!colon)
                        p->user.gid = 0;
                free(p->user.additional_gids);
                p->user.additional_gids = NULL;
                p->user.n_additional_gids = 0;
        }
        for (size_t i = 0; gids && gids[i]; i++) {
                uint32_t g;
                if (parse_u32(gids[i], &g) < 0) {
                        rc = vs_usage_error("exec", "--additional-gids: '%s' is not a gid",
                                            gids[i]);
                        goto out;
                }
                p->user.additional_gids =
                        xrealloc(p->user.additional_gids,
                                 (p->user.n_additional_gids + 1) * sizeof(uint32_t));
                p->user.additional_gids[p->user.n_additional_gids++] = g;
        }
        if (caps) {
                if (p->caps == NULL)
                        p->caps = xzalloc(sizeof(*p->caps));
                for (size_t i = 0; caps[i]; i++) {
                        strv_push(&p->caps->bounding, caps[i]);
                        strv_push(&p->caps->effective, caps[i]);
                        strv_push(&p->caps->permitted, caps[i]);
                }
        }
        if (nnp)
                p->no_new_privileges = true;
        int status = 0;
        if (vs_container_exec(&o, &status, &err) < 0)
                rc = vs_report_error(&err);
        else
                rc = status;
out:
        oci_process_free(p);
        return rc;
}
