/* vessel run / create / start / attach / monitor. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "vm/vm.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char run_usage[] =
    "Usage: vessel %s [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
    "%s\n\n"
    "  -d, --detach               run in the background; print the container id\n"
    "  -i, --interactive          keep stdin open (forwarded to the container)\n"
    "  -t, --tty                  allocate a pseudo-terminal\n"
    "      --rm                   remove the container when it exits\n"
    "      --name NAME            name ([a-zA-Z0-9][a-zA-Z0-9_.-]*; default generated)\n"
    "  -e, --env KEY[=VALUE]      set an environment variable (KEY alone: from ours)\n"
    "      --env-file FILE        read KEY=VALUE lines\n"
    "  -w, --workdir DIR          working directory in the container\n"
    "  -u, --user USER[:GROUP]    user (name or uid) and group\n"
    "  -v, --volume SPEC          HOST:CTR[:ro], NAME:CTR[:ro] or CTR (anonymous)\n"
    "      --tmpfs CTR[:OPTS]     mount a tmpfs\n"
    "      --read-only            read-only root filesystem\n"
    "      --hostname NAME        hostname (default: the short id)\n"
    "      --entrypoint CMD       override the image's entrypoint (\"\" clears it)\n"
    "  -m, --memory SIZE          memory limit (e.g. 64m)\n"
    "      --memory-swap SIZE     memory + swap limit (-1: unlimited)\n"
    "      --cpus N               CPU quota (N * 100000 us per 100000 us)\n"
    "  -c, --cpu-shares N         relative CPU weight\n"
    "      --cpuset-cpus LIST     CPUs allowed (0-2,4)\n"
    "      --pids-limit N         maximum number of processes (-1: unlimited)\n"
    "      --blkio-weight N       block IO weight (10-1000)\n"
    "      --device-read-bps DEV:RATE, --device-write-bps DEV:RATE\n"
    "      --device-read-iops DEV:N, --device-write-iops DEV:N\n"
    "      --ulimit NAME=SOFT[:HARD]\n"
    "      --cap-add CAP, --cap-drop CAP   (ALL for all)\n"
    "      --privileged           all capabilities and devices, no seccomp\n"
    "      --security-opt OPT     seccomp=PROFILE|unconfined, no-new-privileges\n"
    "      --network MODE         none, host, bridge or a network's name (default: a\n"
    "                             network namespace with only loopback)\n"
    "      --ip ADDR              the container's IPv4 address on its network\n"
    "  -p, --publish SPEC         [HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp] (bridge networks)\n"
    "      --restart POLICY       no, on-failure[:N], always, unless-stopped\n"
    "      --stop-signal SIG      signal for stop (default SIGTERM)\n"
    "      --stop-timeout N       seconds before stop kills (default 10)\n"
    "      --isolation MODE       container (default) or vm: a microVM with its own\n"
    "                             kernel (docs/vm.md); --memory is its RAM, --cpus\n"
    "                             its vCPUs\n"
    "  -h, --help                 print this help\n";

enum {
        OPT_RM = 256,
        OPT_NAME,
        OPT_ENV_FILE,
        OPT_TMPFS,
        OPT_READ_ONLY,
        OPT_HOSTNAME,
        OPT_ENTRYPOINT,
        OPT_MEMORY_SWAP,
        OPT_CPUS,
        OPT_CPUSET,
        OPT_PIDS,
        OPT_BLKIO,
        OPT_DRBPS,
        OPT_DWBPS,
        OPT_DRIOPS,
        OPT_DWIOPS,
        OPT_ULIMIT,
        OPT_CAP_ADD,
        OPT_CAP_DROP,
        OPT_PRIVILEGED,
        OPT_SECURITY,
        OPT_NETWORK,
        OPT_IP,
        OPT_RESTART,
        OPT_STOP_SIGNAL,
        OPT_STOP_TIMEOUT,
        OPT_ISOLATION,
};

static void free_flags(struct vs_run_flags *f)
{
        char ***lists[] = {&f->env,
                           &f->env_files,
                           &f->volumes,
                           &f->tmpfs,
                           &f->cap_add,
                           &f->cap_drop,
                           &f->security_opts,
                           &f->publish,
                           &f->ulimits,
                           &f->device_read_bps,
                           &f->device_write_bps,
                           &f->device_read_iops,
                           &f->device_write_iops,
                           &f->cmd};
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
                strv_free(*lists[i]);
                *lists[i] = NULL;
        }
}

/* Returns 0 to go on, else exit status + 1. */
static int parse_run(const char *cmd, const char *summary, int argc, char **argv,
                     struct vs_run_flags *f)
{
        static const struct option opts[] = {
            {"detach", no_argument, NULL, 'd'},
            {"interactive", no_argument, NULL, 'i'},
            {"tty", no_argument, NULL, 't'},
            {"rm", no_argument, NULL, OPT_RM},
            {"name", required_argument, NULL, OPT_NAME},
            {"env", required_argument, NULL, 'e'},
            {"env-file", required_argument, NULL, OPT_ENV_FILE},
            {"workdir", required_argument, NULL, 'w'},
            {"user", required_argument, NULL, 'u'},
            {"volume", required_argument, NULL, 'v'},
            {"tmpfs", required_argument, NULL, OPT_TMPFS},
            {"read-only", no_argument, NULL, OPT_READ_ONLY},
            {"hostname", required_argument, NULL, OPT_HOSTNAME},
            {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
            {"memory", required_argument, NULL, 'm'},
            {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
            {"cpus", required_argument, NULL, OPT_CPUS},
            {"cpu-shares", required_argument, NULL, 'c'},
            {"cpuset-cpus", required_argument, NULL, OPT_CPUSET},
            {"pids-limit", required_argument, NULL, OPT_PIDS},
            {"blkio-weight", required_argument, NULL, OPT_BLKIO},
            {"device-read-bps", required_argument, NULL, OPT_DRBPS},
            {"device-write-bps", required_argument, NULL, OPT_DWBPS},
            {"device-read-iops", required_argument, NULL, OPT_DRIOPS},
            {"device-write-iops", required_argument, NULL, OPT_DWIOPS},
            {"ulimit", required_argument, NULL, OPT_ULIMIT},
            {"cap-add", required_argument, NULL, OPT_CAP_ADD},
            {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
            {"privileged", no_argument, NULL, OPT_PRIVILEGED},
            {"security-opt", required_argument, NULL, OPT_SECURITY},
            {"network", required_argument, NULL, OPT_NETWORK},
            {"net", required_argument, NULL, OPT_NETWORK},
            {"ip", required_argument, NULL, OPT_IP},
            {"publish", required_argument, NULL, 'p'},
            {"restart", required_argument, NULL, OPT_RESTART},
            {"stop-signal", required_argument, NULL, OPT_STOP_SIGNAL},
            {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
            {"isolation", required_argument, NULL, OPT_ISOLATION},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:dite:w:u:v:m:c:p:h", opts, NULL)) != -1) {
                switch (c) {
                case 'd':
                        f->detach = true;
                        break;
                case 'i':
                        f->interactive = true;
                        break;
                case 't':
                        f->tty = true;
                        break;
                case OPT_RM:
                        f->rm = true;
                        break;
                case OPT_NAME:
                        f->name = optarg;
                        break;
                case 'e':
                        strv_push(&f->env, optarg);
                        break;
                case OPT_ENV_FILE:
                        strv_push(&f->env_files, optarg);
                        break;
                case 'w':
                        f->workdir = optarg;
                        break;
                case 'u':
                        f->user = optarg;
                        break;
                case 'v':
                        strv_push(&f->volumes, optarg);
                        break;
                case OPT_TMPFS:
                        strv_push(&f->tmpfs, optarg);
                        break;
                case OPT_READ_ONLY:
                        f->read_only = true;
                        break;
                case OPT_HOSTNAME:
                        f->hostname = optarg;
                        break;
                case OPT_ENTRYPOINT:
                        f->entrypoint = optarg;
                        f->has_entrypoint = true;
                        break;
                case 'm':
                        f->memory = optarg;
                        break;
                case OPT_MEMORY_SWAP:
                        f->memory_swap = optarg;
                        break;
                case OPT_CPUS:
                        f->cpus = optarg;
                        break;
                case 'c':
                        f->cpu_shares = optarg;
                        break;
                case OPT_CPUSET:
                        f->cpuset_cpus = optarg;
                        break;
                case OPT_PIDS:
                        f->pids_limit = optarg;
                        break;
                case OPT_BLKIO:
                        f->blkio_weight = optarg;
                        break;
                case OPT_DRBPS:
                        strv_push(&f->device_read_bps, optarg);
                        break;
                case OPT_DWBPS:
                        strv_push(&f->device_write_bps, optarg);
                        break;
                case OPT_DRIOPS:
                        strv_push(&f->device_read_iops, optarg);
                        break;
                case OPT_DWIOPS:
                        strv_push(&f->device_write_iops, optarg);
                        break;
                case OPT_ULIMIT:
                        strv_push(&f->ulimits, optarg);
                        break;
                case OPT_CAP_ADD:
                        strv_push(&f->cap_add, optarg);
                        break;
                case OPT_CAP_DROP:
                        strv_push(&f->cap_drop, optarg);
                        break;
                case OPT_PRIVILEGED:
                        f->privileged = true;
                        break;
                case OPT_SECURITY:
                        strv_push(&f->security_opts, optarg);
                        break;
                case OPT_NETWORK:
                        f->network = optarg;
                        break;
                case OPT_IP:
                        f->ip = optarg;
                        break;
                case 'p':
                        strv_push(&f->publish, optarg);
                        break;
                case OPT_RESTART:
                        f->restart = optarg;
                        break;
                case OPT_STOP_SIGNAL:
                        f->stop_signal = optarg;
                        break;
                case OPT_STOP_TIMEOUT:
                        f->stop_timeout = optarg;
                        break;
                case OPT_ISOLATION:
                        f->isolation = optarg;
                        break;
                case 'h':
                        printf(run_usage, cmd, summary);
                        return 1;
                default:
                        return 1 + vs_option_error(cmd, argv, c == ':');
                }
        }
        if (optind >= argc)
                return 1 + vs_usage_error(cmd, "missing IMAGE");
        f->image = argv[optind++];
        if (optind < argc)
                f->cmd = strv_copy(argv + optind);
        if (f->tty && isatty(STDIN_FILENO)) {
                struct winsize ws;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
                        f->console_rows = ws.ws_row;
                        f->console_cols = ws.ws_col;
                }
        }
        return 0;
}

/* Docker's exit codes for a run that failed: 125 the engine, 126 the
 * command cannot be executed, 127 the command was not found. */
static int run_error(vs_error **err)
{
        int code = 125;
        if (*err && (*err)->errno_ == ENOENT && strstr((*err)->msg, "no such container") == NULL &&
            strstr((*err)->msg, "image") == NULL)
                code = 127;
        else if (*err && ((*err)->errno_ == EACCES || (*err)->errno_ == ENOEXEC))
                code = 126;
        vs_report_error(err);
        return code;
}

/* Attaches through a fresh socket pair given to the monitor at start. */
static int start_attached(struct vs_engine *e, struct vs_ctr *c, bool forward_stdin, vs_error **err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                vs_fail_errno(err, "cannot create a socket pair");
                return -1;
        }
        int r = vs_engine_start(e, c, sv[1], err);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return -1;
        }
        bool tty = json_object_get_boolean(json_object_object_get(c->config, "Tty"));
        int code = -1;
        r = vs_attach_session(e, c, sv[0], tty, forward_stdin, &code, err);
        close(sv[0]);
        if (r < 0)
                return -1;
        if (code == VS_ATTACH_DETACHED) {
                fprintf(stderr, "read escape sequence\n");
                return 0;
        }
        if (code < 0) {
                /* The monitor went away without saying: ask the record. */
                if (vs_engine_wait(e, c, &code, err) < 0)
                        return -1;
        }
        return code;
}

static int run_or_create(const char *cmd, bool run, int argc, char **argv)
{
        struct vs_run_flags f = {0};
        int r = parse_run(cmd,
                          run ? "Run a command in a new container."
                              : "Create a new container (start it with `vessel start`).",
                          argc, argv, &f);
        if (r) {
                free_flags(&f);
                return r - 1;
        }
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *c = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_engine_create(e, &f, &c, &err) < 0) {
                free_flags(&f);
                return run_error(&err);
        }
        bool detach = f.detach, interactive = f.interactive, rm = f.rm;
        free_flags(&f);
        /* A VM needs QEMU and the guest kernel (built now if missing, with
         * progress): checked before anything starts, the record removed
         * on failure. */
        if (vs_ctr_is_vm(c) && vs_vm_host_check(e, &err) < 0) {
                _cleanup_error_ vs_error *rerr = NULL;
                vs_engine_rm(e, c, true, true, &rerr);
                return run_error(&err);
        }
        if (!run) {
                printf("%s\n", c->id);
                return 0;
        }
        if (detach) {
                if (vs_engine_start(e, c, -1, &err) < 0) {
                        if (rm) {
                                _cleanup_error_ vs_error *rerr = NULL;
                                vs_engine_rm(e, c, true, true, &rerr);
                        }
                        return run_error(&err);
                }
                printf("%s\n", c->id);
                return 0;
        }
        int code = start_attached(e, c, interactive, &err);
        if (code < 0) {
                if (rm) {
                        _cleanup_error_ vs_error *rerr = NULL;
                        vs_engine_rm(e, c, true, true, &rerr);
                }
                return run_error(&err);
        }
        return code;
}

int cmd_engine_run(int argc, char **argv)
{
        return run_or_create("run", true, argc, argv);
}

int cmd_engine_create(int argc, char **argv)
{
        return run_or_create("create", false, argc, argv);
}

int cmd_engine_start(int argc, char **argv)
{
        static const struct option opts[] = {
            {"attach", no_argument, NULL, 'a'},
            {"interactive", no_argument, NULL, 'i'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool attach = false, interactive = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:aih", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        attach = true;
                        break;
                case 'i':
                        interactive = true;
                        break;
                case 'h':
                        printf("Usage: vessel start [-a] [-i] CONTAINER...\n\n"
                               "Start created or stopped containers.\n\n"
                               "  -a, --attach        attach to its output; exit with its code\n"
                               "  -i, --interactive   forward stdin (with -a)\n");
                        return 0;
                default:
                        return vs_option_error("start", argv, c == ':');
                }
        }
        if (optind >= argc)
                return vs_usage_error("start", "missing CONTAINER");
        if ((attach || interactive) && argc - optind > 1)
                return vs_usage_error("start", "--attach takes one container");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_ctr_ struct vs_ctr *ctr = NULL;
                if (vs_ctr_resolve(e, argv[i], &ctr, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                if (attach || interactive) {
                        int code = start_attached(e, ctr, interactive, &err);
                        return code < 0 ? vs_report_error(&err) : code;
                }
                if (vs_engine_start(e, ctr, -1, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}

int cmd_engine_attach(int argc, char **argv)
{
        static const struct option opts[] = {
            {"no-stdin", no_argument, NULL, 'n'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool no_stdin = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                if (c == 'n') {
                        no_stdin = true;
                } else if (c == 'h') {
                        printf("Usage: vessel attach [--no-stdin] CONTAINER\n\n"
                               "Attach to a running container's output (and stdin when it was\n"
                               "started with -i); exit with its exit code.\n");
                        return 0;
                } else {
                        return vs_option_error("attach", argv, c == ':');
                }
        }
        if (argc - optind != 1)
                return vs_usage_error("attach", "expected one CONTAINER");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ctr = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[optind], &ctr, &err) < 0)
                return vs_report_error(&err);
        vs_ctr_refresh(e, ctr);
        if (!vs_ctr_monitor_alive(ctr) || !ctr->state.running) {
                vs_fail(&err, "container %s is not running", ctr->name);
                return vs_report_error(&err);
        }
        int fd = vs_attach_connect(ctr, &err);
        if (fd < 0)
                return vs_report_error(&err);
        bool tty = json_object_get_boolean(json_object_object_get(ctr->config, "Tty"));
        bool open_stdin = json_object_get_boolean(json_object_object_get(ctr->config, "OpenStdin"));
        int code = -1;
        int r = vs_attach_session(e, ctr, fd, tty, open_stdin && !no_stdin, &code, &err);
        close(fd);
        if (r < 0)
                return vs_report_error(&err);
        if (code == VS_ATTACH_DETACHED) {
                fprintf(stderr, "read escape sequence\n");
                return 0;
        }
        if (code < 0 && vs_engine_wait(e, ctr, &code, &err) < 0)
                return vs_report_error(&err);
        return code;
}

int cmd_engine_monitor(int argc, char **argv)
{
        static const struct option opts[] = {
            {"runtime-root", required_argument, NULL, 'r'},
            {"status-fd", required_argument, NULL, 's'},
            {"attach-fd", required_argument, NULL, 'a'},
            {"restart-delay", required_argument, NULL, 'd'},
            {"last-exit", required_argument, NULL, 'x'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *runtime_root = vs_engine_runtime_root();
        int status_fd = -1, attach_fd = -1, last_exit = 0;
        long restart_delay = -1;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        runtime_root = optarg;
                        break;
                case 's':
                        status_fd = atoi(optarg);
                        break;
                case 'a':
                        attach_fd = atoi(optarg);
                        break;
                case 'd':
                        restart_delay = atol(optarg);
                        break;
                case 'x':
                        last_exit = atoi(optarg);
                        break;
                case 'h':
                        printf("Usage: vessel monitor [--runtime-root DIR] [--status-fd N] "
                               "[--attach-fd N] ID\n\n"
                               "Internal: supervises one container (started by run/start).\n");
                        return 0;
                default:
                        return vs_option_error("monitor", argv, c == ':');
                }
        }
        if (argc - optind != 1)
                return vs_usage_error("monitor", "expected one container ID");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_engine_open(vs_globals.data_root, runtime_root, vs_globals.debug, &e, &err) < 0) {
                if (status_fd >= 0)
                        dprintf(status_fd, "%d %s", err->errno_ ? err->errno_ : EINVAL, err->msg);
                return vs_report_error(&err);
        }
        struct vs_monitor_opts o = {.id = argv[optind],
                                    .status_fd = status_fd,
                                    .attach_fd = attach_fd,
                                    .restart_delay_ms = restart_delay,
                                    .last_exit = last_exit};
        return vs_monitor_main(e, &o);
}
