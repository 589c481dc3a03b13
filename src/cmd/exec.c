/* vessel exec: runc-compatible. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_u32(const char *s, uint32_t *out)
{
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (*s == '\0' || *end != '\0' || v > UINT32_MAX)
                return -1;
        *out = (uint32_t) v;
        return 0;
}

static int set_preserve_fds(const struct vs_option *o, const char *v, vs_error **err)
{
        char *end;
        long n = strtol(v, &end, 10);
        if (*v == '\0' || *end || n < 0 || n > 1024)
                return vs_fail(err, "invalid value '%s' for --%s: not a count (0-1024)", v,
                               o->name);
        *(int *) o->target = (int) n;
        return 0;
}

/* The user's flags, applied to the process after it is read. */
struct exec_flags {
        const char *process_file, *cwd, *user;
        bool tty, nnp;
        char **envs, **caps, **gids;
};

/* Applies the flags to the process: 0, or a usage error's status. */
static int apply_flags(struct oci_process *p, const struct exec_flags *x)
{
        for (size_t i = 0; x->envs && x->envs[i]; i++)
                strv_env_set(&p->env, x->envs[i]);
        if (x->cwd) {
                if (x->cwd[0] != '/')
                        return vs_usage_error("exec", "--cwd: '%s' is not an absolute path",
                                              x->cwd);
                free(p->cwd);
                p->cwd = xstrdup(x->cwd);
        }
        if (x->user) {
                _cleanup_free_ char *u = xstrdup(x->user);
                char *colon = strchr(u, ':');
                if (colon)
                        *colon = '\0';
                if (parse_u32(u, &p->user.uid) < 0 ||
                    (colon && parse_u32(colon + 1, &p->user.gid) < 0))
                        return vs_usage_error("exec", "--user: '%s' is not UID[:GID]", x->user);
                if (!colon)
                        p->user.gid = 0;
                free(p->user.additional_gids);
                p->user.additional_gids = NULL;
                p->user.n_additional_gids = 0;
        }
        for (size_t i = 0; x->gids && x->gids[i]; i++) {
                uint32_t g;
                if (parse_u32(x->gids[i], &g) < 0)
                        return vs_usage_error("exec", "--additional-gids: '%s' is not a gid",
                                              x->gids[i]);
                p->user.additional_gids = xrealloc(
                    p->user.additional_gids, (p->user.n_additional_gids + 1) * sizeof(uint32_t));
                p->user.additional_gids[p->user.n_additional_gids++] = g;
        }
        if (x->caps) {
                if (p->caps == NULL)
                        p->caps = xzalloc(sizeof(*p->caps));
                for (size_t i = 0; x->caps[i]; i++) {
                        strv_push(&p->caps->bounding, x->caps[i]);
                        strv_push(&p->caps->effective, x->caps[i]);
                        strv_push(&p->caps->permitted, x->caps[i]);
                }
        }
        if (x->nnp)
                p->no_new_privileges = true;
        return 0;
}

/* ID [COMMAND [ARG...]] */
static int run_exec(struct vs_exec_opts *o, const struct exec_flags *x, int argc, char **argv)
{
        if (argc < 1)
                return vs_usage_error("exec", "missing container ID");
        o->id = argv[0];
        if (x->process_file == NULL && argc < 2)
                return vs_usage_error("exec", "missing COMMAND (or --process FILE)");
        if (x->process_file && argc > 1)
                return vs_usage_error("exec", "give either --process or COMMAND, not both");
        vs_error *err = NULL;
        struct oci_process *p = NULL;
        if (x->process_file) {
                const char *f = x->process_file;
                _cleanup_json_ json_object *doc = NULL;
                if (vs_json_parse_file(strcmp(f, "-") ? f : "/dev/stdin", &doc, &err) < 0 ||
                    oci_process_parse(doc, f, &p, &err) < 0) {
                        oci_process_free(p);
                        return vs_report_error(&err);
                }
        } else {
                if (vs_container_process(o->root, o->id, &p, &err) < 0)
                        return vs_report_error(&err);
                strv_free(p->args);
                p->args = strv_copy(argv + 1);
                p->terminal = x->tty;
                p->has_console_size = false;
        }
        o->process = p;
        int rc = apply_flags(p, x), status = 0;
        if (rc == 0)
                rc = vs_container_exec(o, &status, &err) < 0 ? vs_report_error(&err) : status;
        oci_process_free(p);
        return rc;
}

int cmd_exec(int argc, char **argv)
{
        struct vs_exec_opts o = {.root = vs_globals.root};
        struct exec_flags x = {0};
        const struct vs_option opts[] = {
            {"process", 'p', VS_OPT_STRING, &x.process_file, "FILE",
             "the whole process as runtime-spec JSON"},
            {"tty", 't', VS_OPT_BOOL, &x.tty, NULL, "allocate a pseudo-terminal"},
            {"console-socket", 0, VS_OPT_STRING, &o.console_socket, "SOCK",
             "send the pty master to this AF_UNIX socket"},
            {"detach", 'd', VS_OPT_BOOL, &o.detach, NULL, "do not wait for the process"},
            {"pid-file", 0, VS_OPT_STRING, &o.pid_file, "FILE", "write the process's pid to FILE"},
            {"cwd", 0, VS_OPT_STRING, &x.cwd, "DIR", "working directory inside the container"},
            {"env", 'e', VS_OPT_KV, &x.envs, "KEY=VALUE",
             "add or override an environment variable"},
            {"user", 'u', VS_OPT_STRING, &x.user, "UID[:GID]", "run as this user"},
            {"additional-gids", 'g', VS_OPT_LIST, &x.gids, "G",
             "add a supplementary group (repeatable)"},
            {"cap", 'c', VS_OPT_LIST, &x.caps, "CAP", "add a capability (repeatable)"},
            {"no-new-privs", 0, VS_OPT_BOOL, &x.nnp, NULL, "set no_new_privs for the process"},
            {"preserve-fds", 0, VS_OPT_CALLBACK, &o.preserve_fds, "N",
             "pass N extra fds (3..3+N-1)", set_preserve_fds},
            {"apparmor", 0, VS_OPT_STRING, NULL, "PROFILE", NULL},
            {"process-label", 0, VS_OPT_STRING, NULL, "LABEL", NULL},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "exec", "[OPTIONS] ID [COMMAND [ARG...]]",
            "Run a process in every namespace and the cgroup of a running container,\n"
            "with its seccomp profile and capabilities. The command defaults to nothing:\n"
            "give COMMAND or --process.",
            opts, VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        int rc = first < 0 ? cl.status : run_exec(&o, &x, argc - first, argv + first);
        strv_free(x.envs);
        strv_free(x.caps);
        strv_free(x.gids);
        return rc;
}
