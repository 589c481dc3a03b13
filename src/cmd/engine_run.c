/* vessel run / create / start / attach / monitor. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "cmd/image_cmd.h"
#include "engine/engine.h"
#include "vm/vm.h"
#include "util/cleanup.h"
#include "util/exitcode.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

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
                           &f->networks,
                           &f->net_aliases,
                           &f->add_hosts,
                           &f->dns,
                           &f->dns_search,
                           &f->dns_options,
                           &f->ulimits,
                           &f->device_read_bps,
                           &f->device_write_bps,
                           &f->device_read_iops,
                           &f->device_write_iops,
                           &f->uidmap,
                           &f->gidmap,
                           &f->labels,
                           &f->mounts,
                           &f->log_opts,
                           &f->label_files,
                           &f->attach,
                           &f->sysctls,
                           &f->group_add,
                           &f->devices,
                           &f->device_cgroup_rules,
                           &f->cmd};
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
                strv_free(*lists[i]);
                *lists[i] = NULL;
        }
}

static int set_entrypoint(const struct vs_option *o, const char *v, vs_error **err)
{
        struct vs_run_flags *f = o->target;
        f->entrypoint = v;
        f->has_entrypoint = true;
        return 0;
}

/* --pull (registry.c does the pulling), -q: without its output. */
static const char *pull_policy;
static bool pull_quiet;

static int set_pull(const struct vs_option *o, const char *v, vs_error **err)
{
        (void) o;
        if (strcmp(v, "missing") && strcmp(v, "always") && strcmp(v, "never"))
                return vs_fail(err, "invalid value '%s' for --pull: missing, always or never", v);
        pull_policy = v;
        return 0;
}

/* IMAGE [COMMAND [ARG...]] from argv[i]; the terminal's size for -t.
 * Returns 0 to go on, else exit status + 1. */
static int run_operands(const char *cmd, int argc, char **argv, int i, struct vs_run_flags *f)
{
        f->network = f->networks ? f->networks[0] : NULL;
        if (i >= argc)
                return 1 + vs_usage_error(cmd, "missing IMAGE");
        f->image = argv[i++];
        if (i < argc)
                f->cmd = strv_copy(argv + i);
        if (f->tty && isatty(STDIN_FILENO)) {
                struct winsize ws;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
                        f->console_rows = ws.ws_row;
                        f->console_cols = ws.ws_col;
                }
        }
        return 0;
}

/* Returns 0 to go on, else exit status + 1. */
static int parse_run(const char *cmd, const char *summary, int argc, char **argv,
                     struct vs_run_flags *f)
{
        const struct vs_option opts[] = {
            {"detach", 'd', VS_OPT_BOOL, &f->detach, NULL,
             "run in the background; print the container id"},
            {"interactive", 'i', VS_OPT_BOOL, &f->interactive, NULL,
             "keep stdin open (forwarded to the container)"},
            {"tty", 't', VS_OPT_BOOL, &f->tty, NULL, "allocate a pseudo-terminal"},
            {"rm", 0, VS_OPT_BOOL, &f->rm, NULL, "remove the container when it exits"},
            {"attach", 'a', VS_OPT_LIST, &f->attach, "STREAM",
             "attach only these streams: stdin, stdout, stderr (repeatable; default: stdout and "
             "stderr, stdin with -i)"},
            {"cidfile", 0, VS_OPT_STRING, &f->cidfile, "FILE",
             "write the container's id to FILE (which must not exist)"},
            {"name", 0, VS_OPT_STRING, &f->name, "NAME",
             "name ([a-zA-Z0-9][a-zA-Z0-9_.-]*; default generated)"},
            {"env", 'e', VS_OPT_LIST, &f->env, "KEY[=VALUE]",
             "set an environment variable (KEY alone: from ours)"},
            {"env-file", 0, VS_OPT_LIST, &f->env_files, "FILE", "read KEY=VALUE lines"},
            {"workdir", 'w', VS_OPT_STRING, &f->workdir, "DIR",
             "working directory in the container"},
            {"user", 'u', VS_OPT_STRING, &f->user, "USER[:GROUP]", "user (name or uid) and group"},
            {"volume", 'v', VS_OPT_LIST, &f->volumes, "SPEC",
             "HOST:CTR[:ro], NAME:CTR[:ro] or CTR (anonymous)"},
            {"tmpfs", 0, VS_OPT_LIST, &f->tmpfs, "CTR[:OPTS]", "mount a tmpfs"},
            {"mount", 0, VS_OPT_LIST, &f->mounts, "SPEC",
             "type=bind|volume|tmpfs,source=S,target=T[,readonly][,bind-propagation=P]"
             "[,tmpfs-size=N][,tmpfs-mode=M]"},
            {"read-only", 0, VS_OPT_BOOL, &f->read_only, NULL, "read-only root filesystem"},
            {"init", 0, VS_OPT_BOOL, &f->init, NULL,
             "run vessel's init as process 1: it reaps zombies and forwards signals"},
            {"hostname", 'h', VS_OPT_STRING, &f->hostname, "NAME",
             "hostname (default: the short id)"},
            {"ipc", 0, VS_OPT_STRING, &f->ipc, "MODE",
             "IPC namespace: private (default), shareable, none (no /dev/shm), host or "
             "container:NAME (a shareable one)"},
            {"pid", 0, VS_OPT_STRING, &f->pid, "MODE",
             "PID namespace: host or container:NAME (default: its own)"},
            {"uts", 0, VS_OPT_STRING, &f->uts, "MODE",
             "UTS namespace: host (the host's hostname; default: its own)"},
            {"entrypoint", 0, VS_OPT_CALLBACK, f, "CMD",
             "override the image's entrypoint (\"\" clears it)", set_entrypoint},
            {"memory", 'm', VS_OPT_STRING, &f->memory, "SIZE", "memory limit (e.g. 64m)"},
            {"memory-swap", 0, VS_OPT_STRING, &f->memory_swap, "SIZE",
             "memory + swap limit (-1: unlimited)"},
            {"cpus", 0, VS_OPT_STRING, &f->cpus, "N", "CPU quota (N * 100000 us per 100000 us)"},
            {"cpu-shares", 'c', VS_OPT_STRING, &f->cpu_shares, "N", "relative CPU weight"},
            {"cpuset-cpus", 0, VS_OPT_STRING, &f->cpuset_cpus, "LIST", "CPUs allowed (0-2,4)"},
            {"pids-limit", 0, VS_OPT_STRING, &f->pids_limit, "N",
             "maximum number of processes (-1: unlimited)"},
            {"blkio-weight", 0, VS_OPT_STRING, &f->blkio_weight, "N", "block IO weight (10-1000)"},
            {"device-read-bps", 0, VS_OPT_LIST, &f->device_read_bps, "DEV:RATE",
             "read rate limit of a device (bytes/s)"},
            {"device-write-bps", 0, VS_OPT_LIST, &f->device_write_bps, "DEV:RATE",
             "write rate limit of a device (bytes/s)"},
            {"device-read-iops", 0, VS_OPT_LIST, &f->device_read_iops, "DEV:N",
             "read rate limit of a device (IO/s)"},
            {"device-write-iops", 0, VS_OPT_LIST, &f->device_write_iops, "DEV:N",
             "write rate limit of a device (IO/s)"},
            {"ulimit", 0, VS_OPT_LIST, &f->ulimits, "NAME=SOFT[:HARD]", "set a resource limit"},
            {"cap-add", 0, VS_OPT_LIST, &f->cap_add, "CAP", "add a capability (ALL for all)"},
            {"cap-drop", 0, VS_OPT_LIST, &f->cap_drop, "CAP", "drop a capability (ALL for all)"},
            {"privileged", 0, VS_OPT_BOOL, &f->privileged, NULL,
             "all capabilities and devices, no seccomp"},
            {"security-opt", 0, VS_OPT_LIST, &f->security_opts, "OPT",
             "seccomp=PROFILE|unconfined, no-new-privileges"},
            {"network", 0, VS_OPT_LIST, &f->networks, "MODE",
             "none, host, container:ID, bridge or a network's name (repeatable; default: a "
             "network namespace with only loopback)"},
            {"net", 0, VS_OPT_LIST, &f->networks, "MODE", NULL},
            {"ip", 0, VS_OPT_STRING, &f->ip, "ADDR",
             "the container's IPv4 address on its (first) network"},
            {"ip6", 0, VS_OPT_STRING, &f->ip6, "ADDR",
             "the container's IPv6 address on its (first, dual-stack) network"},
            {"network-alias", 0, VS_OPT_LIST, &f->net_aliases, "NAME",
             "another name peers resolve it by (repeatable)"},
            {"mac-address", 0, VS_OPT_STRING, &f->mac_address, "MAC", "eth0's hardware address"},
            {"add-host", 0, VS_OPT_LIST, &f->add_hosts, "NAME:IP", "a line of /etc/hosts"},
            {"dns", 0, VS_OPT_LIST, &f->dns, "IP", "a nameserver of resolv.conf"},
            {"dns-search", 0, VS_OPT_LIST, &f->dns_search, "DOMAIN", "a search domain"},
            {"dns-option", 0, VS_OPT_LIST, &f->dns_options, "OPT", "a resolv.conf option"},
            {"publish", 'p', VS_OPT_LIST, &f->publish, "SPEC",
             "[[HOSTIP:][HOSTPORT[-END]]:]CTRPORT[-END][/tcp|udp] (bridge networks; no HOSTPORT: "
             "a free one)"},
            {"publish-all", 'P', VS_OPT_BOOL, &f->publish_all, NULL,
             "publish every exposed port (the image's EXPOSE, --expose) on free host ports"},
            {"expose", 0, VS_OPT_LIST, &f->expose, "PORT",
             "expose a port or a range, PORT[-END][/tcp|udp|sctp] (Config.ExposedPorts)"},
            {"restart", 0, VS_OPT_STRING, &f->restart, "POLICY",
             "no, on-failure[:N], always, unless-stopped"},
            {"stop-signal", 0, VS_OPT_STRING, &f->stop_signal, "SIG",
             "signal for stop (default SIGTERM)"},
            {"stop-timeout", 0, VS_OPT_STRING, &f->stop_timeout, "N",
             "seconds before stop kills (default 10)"},
            {"health-cmd", 0, VS_OPT_STRING, &f->health_cmd, "CMD",
             "command (run with /bin/sh -c) that checks the container's health"},
            {"health-interval", 0, VS_OPT_DURATION, &f->health_interval, "DURATION",
             "time between health checks (default 30s)"},
            {"health-timeout", 0, VS_OPT_DURATION, &f->health_timeout, "DURATION",
             "time a health check may run before it is killed (default 30s)"},
            {"health-start-interval", 0, VS_OPT_DURATION, &f->health_start_interval, "DURATION",
             "time between health checks during the start period (default: --health-interval)"},
            {"health-start-period", 0, VS_OPT_DURATION, &f->health_start_period, "DURATION",
             "time before failures count against --health-retries (default 0s)"},
            {"health-retries", 0, VS_OPT_INT, &f->health_retries, "N",
             "consecutive failures that make the container unhealthy (default 3)"},
            {"no-healthcheck", 0, VS_OPT_BOOL, &f->no_healthcheck, NULL,
             "disable the image's HEALTHCHECK"},
            {"pull", 0, VS_OPT_CALLBACK, NULL, "POLICY",
             "missing (default: pull the image when the store lacks it), always, or never",
             set_pull},
            {"quiet", 'q', VS_OPT_BOOL, &pull_quiet, NULL, "suppress the pull output"},
            {"userns", 0, VS_OPT_STRING, &f->userns, "MODE",
             "auto: root inside is an unprivileged range of host ids (/etc/subuid of 'vessel'); "
             "host: the host's ids; keep-id (rootless): you are yourself inside"},
            {"uidmap", 0, VS_OPT_LIST, &f->uidmap, "C:H:S", "explicit user namespace mapping"},
            {"gidmap", 0, VS_OPT_LIST, &f->gidmap, "C:H:S", "explicit user namespace mapping"},
            {"label", 'l', VS_OPT_LIST, &f->labels, "K[=V]", "set a label (repeatable)"},
            {"label-file", 0, VS_OPT_LIST, &f->label_files, "FILE",
             "read K=V label lines (# comments)"},
            VS_DETACH_KEYS_OPTION,
            {"log-driver", 0, VS_OPT_STRING, &f->log_driver, "DRIVER",
             "json-file (default), local (json-file rotated 20m x 5) or none (no logs)"},
            {"log-opt", 0, VS_OPT_LIST, &f->log_opts, "K=V",
             "max-size=SIZE, max-file=N: rotation of the container's log"},
            {"isolation", 0, VS_OPT_STRING, &f->isolation, "MODE",
             "container (default) or vm: a microVM with its own kernel (docs/vm.md); --memory is "
             "its RAM, --cpus its vCPUs"},
            {"vm-rootfs", 0, VS_OPT_STRING, &f->vm_rootfs, "TYPE",
             "with --isolation=vm: 9p (default: the container's directory shared) or block (an "
             "ext4 disk image, which `checkpoint` can save)"},
            /* kernel and device settings (src/engine/hostopts.c) */
            {"shm-size", 0, VS_OPT_STRING, &f->shm_size, "SIZE",
             "size of /dev/shm (default 64m, daemon.json default-shm-size)"},
            {"sysctl", 0, VS_OPT_LIST, &f->sysctls, "KEY=VALUE",
             "a namespaced sysctl: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.* "
             "(not with --network host)"},
            {"group-add", 0, VS_OPT_LIST, &f->group_add, "GROUP",
             "another supplementary group (a name of the image's /etc/group, or a gid)"},
            {"device", 0, VS_OPT_LIST, &f->devices, "HOST[:CTR][:rwm]",
             "a host device node in the container, with its cgroup permissions (a directory: "
             "every node beneath it)"},
            {"device-cgroup-rule", 0, VS_OPT_LIST, &f->device_cgroup_rules, "RULE",
             "a devices cgroup allow rule: 'c|b|a MAJOR|*:MINOR|* rwm'"},
            {"oom-score-adj", 0, VS_OPT_STRING, &f->oom_score_adj, "N",
             "the container's oom_score_adj (-1000 to 1000; lowering it needs "
             "CAP_SYS_RESOURCE)"},
            {"oom-kill-disable", 0, VS_OPT_BOOL, &f->oom_kill_disable, NULL,
             "disable the OOM killer for the container (cgroup v1 memory.oom_control)"},
            {"cpu-period", 0, VS_OPT_STRING, &f->cpu_period, "US",
             "CFS period in microseconds (1000 to 1000000; not with --cpus)"},
            {"cpu-quota", 0, VS_OPT_STRING, &f->cpu_quota, "US",
             "CFS quota in microseconds per period (-1: none; not with --cpus)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {cmd, "[OPTIONS] IMAGE [COMMAND [ARG...]]", summary, opts};
        int i = vs_parse_options(&cl, argc, argv);
        if (i < 0)
                return 1 + cl.status;
        return run_operands(cmd, argc, argv, i, f);
}

/* Docker's exit codes for a run that failed: 125 the engine (everything
 * before the container's start: flags, files, image, name); at the start,
 * by the failure's errno, 126 the command cannot be invoked, 127 it was not
 * found (vs_exec_failure_code()). */
static int run_error(vs_error **err, bool starting)
{
        int code = starting && *err ? vs_exec_failure_code((*err)->errno_) : 125;
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
        vs_ctr_event(e, c, "attach", NULL, NULL);
        int r = vs_engine_start(e, c, sv[1], err);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return -1;
        }
        bool tty = c->cfg.tty;
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

/* vs_engine_create, pulling the image first (--pull=always) or when the
 * store lacks it (missing, the default; the lookup is the engine's first
 * step, so nothing was made before the pull). */
static int create_pulling(struct vs_engine *e, struct vs_run_flags *f, struct vs_ctr **c,
                          vs_error **err)
{
        const char *policy = pull_policy ? pull_policy : "missing";
        struct vs_store *store = NULL;
        if (strcmp(policy, "always") == 0 &&
            (vs_engine_store(e, &store, err) < 0 ||
             vs_cmd_pull_for_create(store, f->image, false, pull_quiet, err) < 0))
                return -1;
        if (vs_engine_create(e, f, c, err) == 0)
                return 0;
        if (strcmp(policy, "missing") != 0 || !vs_cmd_image_missing(*err))
                return -1;
        vs_error_free(err);
        if (vs_engine_store(e, &store, err) < 0 ||
            vs_cmd_pull_for_create(store, f->image, true, pull_quiet, err) < 0)
                return -1;
        return vs_engine_create(e, f, c, err);
}

/* --cidfile: made before the container (Docker refuses a file that
 * exists: another container may be using it), written after. */
static int open_cidfile(const char *path, vs_error **err)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST)
                return vs_fail(err,
                               "--cidfile: container ID file %s exists: make sure the other "
                               "container isn't running or delete it",
                               path);
        if (fd < 0)
                return vs_fail_errno(err, "--cidfile: cannot create %s", path);
        return fd;
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
        if (!run && vs_cmd_detach_keys_given()) {
                free_flags(&f);
                return vs_usage_error(cmd, "unrecognized option '--detach-keys' (a flag of run, "
                                           "start, attach and exec)");
        }
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *c = NULL;
        _cleanup_close_ int cidfd = -1;
        unsigned streams = 0;
        if (vs_engine_attach_streams(&f, &streams, &err) < 0 ||
            (f.cidfile && (cidfd = open_cidfile(f.cidfile, &err)) < 0) ||
            vs_cmd_open_engine(&e, &err) < 0 || create_pulling(e, &f, &c, &err) < 0) {
                if (cidfd >= 0)
                        unlink(f.cidfile);
                free_flags(&f);
                return run_error(&err, false);
        }
        if (cidfd >= 0 && (vs_write_all(cidfd, c->id, strlen(c->id)) < 0 || fsync(cidfd) < 0))
                vs_warn("--cidfile %s: cannot write the id: %m", f.cidfile);
        vs_cmd_use_detach_keys(e);
        e->attach_streams = streams & (VS_ATTACH_STDOUT | VS_ATTACH_STDERR);
        if (e->attach_streams == 0)
                e->attach_streams = VS_ATTACH_NONE;
        bool detach = f.detach, interactive = f.interactive, rm = f.rm;
        free_flags(&f);
        /* A VM needs QEMU and the guest kernel (built now if missing, with
         * progress): checked before anything starts, the record removed
         * on failure. */
        if (vs_ctr_is_vm(c) && vs_vm_host_check(e, &err) < 0) {
                _cleanup_error_ vs_error *rerr = NULL;
                vs_engine_rm(e, c, true, true, &rerr);
                return run_error(&err, false);
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
                        return run_error(&err, true);
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
                return run_error(&err, true);
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
        bool attach = false, interactive = false;
        const struct vs_option opts[] = {
            {"attach", 'a', VS_OPT_BOOL, &attach, NULL, "attach to its output; exit with its code"},
            {"interactive", 'i', VS_OPT_BOOL, &interactive, NULL, "forward stdin (with -a)"},
            VS_DETACH_KEYS_OPTION,
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"start", "[-a] [-i] CONTAINER...",
                                "Start created or stopped containers.", opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("start", "missing CONTAINER");
        if ((attach || interactive) && argc - first > 1)
                return vs_usage_error("start", "--attach takes one container");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        vs_cmd_use_detach_keys(e);
        int status = 0;
        for (int i = first; i < argc; i++) {
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
        bool no_stdin = false;
        const struct vs_option opts[] = {
            {"no-stdin", 0, VS_OPT_BOOL, &no_stdin, NULL, "do not forward stdin"},
            VS_DETACH_KEYS_OPTION,
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"attach", "[--no-stdin] [--detach-keys KEYS] CONTAINER",
                                "Attach to a running container's output (and stdin when it was\n"
                                "started with -i); exit with its exit code.",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("attach", "expected one CONTAINER");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ctr = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[first], &ctr, &err) < 0)
                return vs_report_error(&err);
        vs_cmd_use_detach_keys(e);
        vs_ctr_refresh(e, ctr);
        if (!vs_ctr_monitor_alive(ctr) || !ctr->state.running) {
                vs_fail(&err, "container %s is not running", ctr->name);
                return vs_report_error(&err);
        }
        int fd = vs_attach_connect(ctr, &err);
        if (fd < 0)
                return vs_report_error(&err);
        vs_ctr_event(e, ctr, "attach", NULL, NULL);
        bool tty = ctr->cfg.tty;
        bool open_stdin = ctr->cfg.open_stdin;
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
        const char *runtime_root = vs_engine_runtime_root();
        int status_fd = -1, attach_fd = -1, last_exit = 0, restart_delay = -1;
        const struct vs_option opts[] = {
            {"runtime-root", 0, VS_OPT_STRING, &runtime_root, "DIR", "runtime state root"},
            {"status-fd", 0, VS_OPT_INT, &status_fd, "N", "report the first start's result here"},
            {"attach-fd", 0, VS_OPT_INT, &attach_fd, "N", "an attach session's socket"},
            {"restart-delay", 0, VS_OPT_INT, &restart_delay, "MS", "wait before the start"},
            {"last-exit", 0, VS_OPT_INT, &last_exit, "CODE", "the previous run's exit code"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"monitor", "[OPTIONS] ID",
                                "Internal: supervises one container (started by run/start).", opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("monitor", "expected one container ID");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_engine_open(vs_globals.data_root, runtime_root, vs_globals.debug, &e, &err) < 0) {
                if (status_fd >= 0)
                        dprintf(status_fd, "%d %s", err->errno_ ? err->errno_ : EINVAL, err->msg);
                return vs_report_error(&err);
        }
        struct vs_monitor_opts o = {.id = argv[first],
                                    .status_fd = status_fd,
                                    .attach_fd = attach_fd,
                                    .restart_delay_ms = restart_delay,
                                    .last_exit = last_exit};
        return vs_monitor_main(e, &o);
}
