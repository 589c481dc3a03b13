/* vessel network create|ls|inspect|rm|prune (Docker's), over src/net. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

int cmd_network(int argc, char **argv);

static const char *data_root(void)
{
        return vs_globals.data_root;
}

static int net_create(int argc, char **argv)
{
        static const struct option opts[] = {
            {"subnet", required_argument, NULL, 's'}, {"gateway", required_argument, NULL, 'g'},
            {"internal", no_argument, NULL, 'i'},     {"ipv6", no_argument, NULL, '6'},
            {"label", required_argument, NULL, 'l'},  {"driver", required_argument, NULL, 'd'},
            {"help", no_argument, NULL, 'h'},         {0}};
        struct vs_net_create_opts o = {0};
        _cleanup_strv_ char **labels = NULL;
        int c;
        while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        /* Twice for a dual-stack network: one IPv4, one IPv6. */
                        if (strchr(optarg, ':') ? o.subnet6 != NULL : o.subnet != NULL) {
                                _cleanup_error_ vs_error *err = NULL;
                                vs_fail(&err, "--subnet: one IPv4 and one IPv6 subnet at most");
                                return vs_report_error(&err);
                        }
                        if (strchr(optarg, ':'))
                                o.subnet6 = optarg;
                        else
                                o.subnet = optarg;
                        break;
                case '6':
                        o.ipv6 = true;
                        break;
                case 'g':
                        o.gateway = optarg;
                        break;
                case 'i':
                        o.internal = true;
                        break;
                case 'l':
                        strv_push(&labels, optarg);
                        break;
                case 'd':
                        if (strcmp(optarg, "bridge") != 0) {
                                _cleanup_error_ vs_error *err = NULL;
                                vs_fail(&err, "--driver: unsupported driver '%s' (bridge)", optarg);
                                return vs_report_error(&err);
                        }
                        break;
                case 'h':
                        printf("Usage: vessel network create [OPTIONS] NAME\n\n"
                               "Create a bridge network.\n\n"
                               "  -d, --driver bridge     the only driver\n"
                               "      --subnet CIDR       e.g. 10.5.0.0/24 (default: the first "
                               "free /24 of 10.89.0.0/16)\n"
                               "      --gateway IP        the bridge's address (default: the "
                               "subnet's first)\n"
                               "      --internal          no outbound traffic, no default route\n"
                               "      --ipv6              dual-stack: give an IPv6 --subnet too\n"
                               "      --label K=V         a label (repeatable)\n");
                        return 0;
                default:
                        return vs_option_error("network create", argv, c == ':');
                }
        }
        if (optind + 1 != argc)
                return vs_usage_error("network create", "expects exactly one NAME");
        o.name = argv[optind];
        o.labels = labels;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_free_ char *id = NULL;
        if (vs_net_create(data_root(), &o, &id, &err) < 0)
                return vs_report_error(&err);
        printf("%s\n", id);
        return 0;
}

static int net_ls(int argc, char **argv)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        bool quiet = false, no_trunc = false;
        int c;
        while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'T':
                        no_trunc = true;
                        break;
                case 'h':
                        printf("Usage: vessel network ls [-q] [--no-trunc]\n\nList networks.\n");
                        return 0;
                default:
                        return vs_option_error("network ls", argv, c == ':');
                }
        }
        if (optind < argc)
                return vs_usage_error("network ls", "unexpected argument '%s'", argv[optind]);
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_json_ json_object *all = NULL;
        if (vs_net_list(data_root(), &all, &err) < 0)
                return vs_report_error(&err);
        int w = no_trunc ? 64 : 12;
        if (!quiet)
                printf("%-*s   %-20s %-8s %s\n", w, "NETWORK ID", "NAME", "DRIVER", "SCOPE");
        for (size_t i = 0; i < json_object_array_length(all); i++) {
                json_object *n = json_object_array_get_idx(all, i);
                const char *id = json_object_get_string(json_object_object_get(n, "Id"));
                if (quiet)
                        printf("%.*s\n", w, id);
                else
                        printf("%.*s   %-20s %-8s %s\n", w, id,
                               json_object_get_string(json_object_object_get(n, "Name")), "bridge",
                               "local");
        }
        return 0;
}

static int net_inspect(int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: vessel network inspect NETWORK...\n\n"
                               "Print networks as JSON (Docker's shape).\n");
                        return 0;
                }
                return vs_option_error("network inspect", argv, c == ':');
        }
        if (optind >= argc)
                return vs_usage_error("network inspect", "expects at least one NETWORK");
        _cleanup_json_ json_object *arr = json_object_new_array();
        int status = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_error_ vs_error *err = NULL;
                json_object *o = NULL;
                if (vs_net_inspect(data_root(), argv[i], &o, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                json_object_array_add(arr, o);
        }
        _cleanup_free_ char *text = vs_json_to_string(arr, true);
        printf("%s\n", text);
        return status;
}

static int net_rm(int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: vessel network rm NETWORK...\n\nRemove networks no "
                               "container uses.\n");
                        return 0;
                }
                return vs_option_error("network rm", argv, c == ':');
        }
        if (optind >= argc)
                return vs_usage_error("network rm", "expects at least one NETWORK");
        int status = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_error_ vs_error *err = NULL;
                _cleanup_free_ char *name = NULL;
                if (vs_net_rm(data_root(), argv[i], &name, &err) < 0)
                        status = vs_report_error(&err);
                else
                        printf("%s\n", argv[i]);
        }
        return status;
}

/* A container exists while its record does. */
static bool ctr_exists(void *ud, const char *id)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/record.json", (const char *) ud, id);
        return vs_path_exists(p);
}

int vs_cmd_network_prune(bool networks, char ***removed, vs_error **err)
{
        _cleanup_free_ char *db = xasprintf("%s/networks/networks.json", data_root());
        if (!vs_path_exists(db)) {
                *removed = xcalloc(1, sizeof(char *));
                return 0;
        }
        return vs_net_prune(data_root(), ctr_exists, (void *) data_root(), networks, removed, err);
}

static int net_prune(int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        int c;
        while ((c = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: vessel network prune [-f]\n\nRemove the user-defined "
                               "networks no container uses, and the addresses, veths and port "
                               "rules of containers that are gone.\n");
                        return 0;
                }
                if (c != 'f')
                        return vs_option_error("network prune", argv, c == ':');
        }
        if (optind < argc)
                return vs_usage_error("network prune", "unexpected argument '%s'", argv[optind]);
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_strv_ char **removed = NULL;
        if (vs_cmd_network_prune(true, &removed, &err) < 0)
                return vs_report_error(&err);
        if (removed[0]) {
                printf("Deleted Networks:\n");
                for (size_t i = 0; removed[i]; i++)
                        printf("%s\n", removed[i]);
        }
        return 0;
}

/* connect/disconnect: the container, by name or id prefix. */
static int with_ctr(const char *ref, struct vs_engine **e, struct vs_ctr **c, vs_error **err)
{
        return vs_cmd_open_engine(e, err) < 0 ? -1 : vs_ctr_resolve(*e, ref, c, err);
}

static int net_connect(int argc, char **argv)
{
        static const struct option opts[] = {{"ip", required_argument, NULL, 'i'},
                                             {"alias", required_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        const char *ip = NULL;
        _cleanup_strv_ char **aliases = NULL;
        int c;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                switch (c) {
                case 'i':
                        ip = optarg;
                        break;
                case 'a':
                        strv_push(&aliases, optarg);
                        break;
                case 'h':
                        printf("Usage: vessel network connect [--ip IP] [--alias NAME] NETWORK "
                               "CONTAINER\n\nConnect a container to a network (a running one "
                               "gets its interface at once).\n");
                        return 0;
                default:
                        return vs_option_error("network connect", argv, c == ':');
                }
        }
        if (optind + 2 != argc)
                return vs_usage_error("network connect", "expects NETWORK CONTAINER");
        _cleanup_error_ vs_error *err = NULL;
        struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        int r = with_ctr(argv[optind + 1], &e, &ct, &err);
        if (r == 0)
                r = vs_engine_net_connect(e, ct, argv[optind], ip, aliases, &err);
        if (e)
                vs_engine_close(e);
        return r < 0 ? vs_report_error(&err) : 0;
}

static int net_disconnect(int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        int c;
        while ((c = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: vessel network disconnect [-f] NETWORK CONTAINER\n\n"
                               "Disconnect a container from a network.\n");
                        return 0;
                }
                if (c != 'f')
                        return vs_option_error("network disconnect", argv, c == ':');
        }
        if (optind + 2 != argc)
                return vs_usage_error("network disconnect", "expects NETWORK CONTAINER");
        _cleanup_error_ vs_error *err = NULL;
        struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        int r = with_ctr(argv[optind + 1], &e, &ct, &err);
        if (r == 0)
                r = vs_engine_net_disconnect(e, ct, argv[optind], &err);
        if (e)
                vs_engine_close(e);
        return r < 0 ? vs_report_error(&err) : 0;
}

static int net_check(int argc, char **argv)
{
        if (argc != 2 || argv[1][0] == '-') {
                if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                        printf("Usage: vessel network check CONTAINER\n\nRun the CNI CHECK of a "
                               "running container on a CNI network.\n");
                        return 0;
                }
                return vs_usage_error("network check", "expects CONTAINER");
        }
        _cleanup_error_ vs_error *err = NULL;
        struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        int r = vs_cmd_running_ctr(argv[1], &e, &ct, &err);
        if (r == 0)
                r = vs_engine_net_cni_check(ct, &err);
        if (e)
                vs_engine_close(e);
        return r < 0 ? vs_report_error(&err) : 0;
}

static const struct vs_command subcommands[] = {
    {"check", net_check, "CNI CHECK of a container's network"},
    {"connect", net_connect, "connect a container to a network"},
    {"disconnect", net_disconnect, "disconnect a container from a network"},
    {"create", net_create, "create a network"},
    {"ls", net_ls, "list networks"},
    {"list", net_ls, NULL},
    {"inspect", net_inspect, "print networks as JSON"},
    {"rm", net_rm, "remove networks"},
    {"remove", net_rm, NULL},
    {"prune", net_prune, "remove unused networks and stale endpoints"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: vessel network COMMAND [OPTIONS]\n\nManage networks.\n\nCommands:\n");
        for (size_t i = 0; subcommands[i].name; i++)
                if (subcommands[i].summary)
                        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
        fprintf(f, "\nRun 'vessel network COMMAND --help' for a command's options.\n");
}

int cmd_network(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage(stdout);
                return 0;
        }
        for (size_t i = 0; subcommands[i].name; i++)
                if (strcmp(subcommands[i].name, argv[1]) == 0)
                        return subcommands[i].fn(argc - 1, argv + 1);
        return vs_usage_error("network", "unknown command '%s'", argv[1]);
}
