/* vessel network create|ls|inspect|rm|prune (Docker's), over src/net. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/options.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char *data_root(void)
{
        return vs_globals.data_root;
}

int cmd_network_create(int argc, char **argv)
{
        struct vs_net_create_opts o = {0};
        _cleanup_strv_ char **labels = NULL;
        const char *driver = "bridge";
        const struct vs_option opts[] = {
            {"driver", 'd', VS_OPT_STRING, &driver, "bridge", "the only driver"},
            {"subnet", 0, VS_OPT_STRING, &o.subnet, "CIDR",
             "e.g. 10.5.0.0/24 (default: the first free /24 of 10.89.0.0/16)"},
            {"gateway", 0, VS_OPT_STRING, &o.gateway, "IP",
             "the bridge's address (default: the subnet's first)"},
            {"internal", 0, VS_OPT_BOOL, &o.internal, NULL,
             "no outbound traffic, no default route"},
            {"label", 0, VS_OPT_LIST, &labels, "K=V", "a label (repeatable)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network create", "[OPTIONS] NAME", "Create a bridge network.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (strcmp(driver, "bridge") != 0) {
                _cleanup_error_ vs_error *err = NULL;
                vs_fail(&err, "--driver: unsupported driver '%s' (bridge)", driver);
                return vs_report_error(&err);
        }
        if (first + 1 != argc)
                return vs_usage_error("network create", "expects exactly one NAME");
        o.name = argv[first];
        o.labels = labels;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_free_ char *id = NULL;
        if (vs_net_create(data_root(), &o, &id, &err) < 0)
                return vs_report_error(&err);
        printf("%s\n", id);
        return 0;
}

int cmd_network_ls(int argc, char **argv)
{
        bool quiet = false, no_trunc = false;
        const struct vs_option opts[] = {
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "names' ids only"},
            {"no-trunc", 0, VS_OPT_BOOL, &no_trunc, NULL, "full ids"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network ls", "[-q] [--no-trunc]", "List networks.", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("network ls", "unexpected argument '%s'", argv[first]);
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

int cmd_network_inspect(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"network inspect", "NETWORK...",
                                "Print networks as JSON (Docker's shape).", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("network inspect", "expects at least one NETWORK");
        _cleanup_json_ json_object *arr = json_object_new_array();
        int status = 0;
        for (int i = first; i < argc; i++) {
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

int cmd_network_rm(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"network rm", "NETWORK...", "Remove networks no container uses.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("network rm", "expects at least one NETWORK");
        int status = 0;
        for (int i = first; i < argc; i++) {
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

int cmd_network_prune(int argc, char **argv)
{
        bool force = false;
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &force, NULL, "do not ask (nothing asks)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network prune", "[-f]",
                                "Remove the user-defined networks no container uses, and the "
                                "addresses, veths and port rules of containers that are gone.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("network prune", "unexpected argument '%s'", argv[first]);
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
