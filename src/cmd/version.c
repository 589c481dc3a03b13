/* vessel version: Docker's shape (Client and Server; here one binary is
 * both), as text or through --format ({{.Server.Version}}, {{json .}}). */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"
#include "version.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static const char *go_arch(const char *machine)
{
        if (strcmp(machine, "x86_64") == 0)
                return "amd64";
        if (strcmp(machine, "aarch64") == 0)
                return "arm64";
        return machine;
}

static json_object *side(const struct utsname *u, bool server)
{
        json_object *o = json_object_new_object();
        json_object *platform = json_object_new_object();
        json_object_object_add(platform, "Name", json_object_new_string("vessel"));
        json_object_object_add(o, "Platform", platform);
        json_object_object_add(o, "Version", json_object_new_string(VESSEL_VERSION));
        json_object_object_add(o, "ApiVersion", json_object_new_string("1.41"));
        if (server)
                json_object_object_add(o, "MinAPIVersion", json_object_new_string("1.12"));
        else
                json_object_object_add(o, "DefaultAPIVersion", json_object_new_string("1.41"));
        json_object_object_add(o, "GitCommit", json_object_new_string(""));
        json_object_object_add(o, "GoVersion", json_object_new_string(""));
        json_object_object_add(o, "Os", json_object_new_string("linux"));
        json_object_object_add(o, "Arch", json_object_new_string(go_arch(u->machine)));
        json_object_object_add(o, "BuildTime", json_object_new_string(__DATE__ " " __TIME__));
        if (server) {
                json_object_object_add(o, "KernelVersion", json_object_new_string(u->release));
                json_object *comp = json_object_new_array();
                json_object *c = json_object_new_object();
                json_object_object_add(c, "Name", json_object_new_string("Engine"));
                json_object_object_add(c, "Version", json_object_new_string(VESSEL_VERSION));
                json_object_array_add(comp, c);
                json_object *r = json_object_new_object();
                json_object_object_add(r, "Name", json_object_new_string("runtime"));
                json_object_object_add(r, "Version", json_object_new_string(VESSEL_OCI_VERSION));
                json_object_array_add(comp, r);
                json_object_object_add(o, "Components", comp);
        } else {
                json_object_object_add(o, "Context", json_object_new_string("default"));
                json_object_object_add(o, "Experimental", json_object_new_boolean(1));
        }
        return o;
}

int cmd_engine_version(int argc, char **argv)
{
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "T",
             "Go template ({{.Server.Version}}, {{json .}})"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"version", "[-f FORMAT]",
                                "Show the version (Docker's Client/Server shape).", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("version", "unexpected argument '%s'", argv[first]);
        struct utsname u;
        uname(&u);
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object_object_add(o, "Client", side(&u, false));
        json_object_object_add(o, "Server", side(&u, true));
        if (format) {
                vs_error *err = NULL;
                if (vs_cmd_format_object(format, o, &err) < 0)
                        return vs_report_error(&err);
                return 0;
        }
        const char *arch = go_arch(u.machine);
        printf("Client:\n"
               " Version:           %s\n"
               " API version:       1.41\n"
               " OS/Arch:           linux/%s\n"
               " Context:           default\n"
               " Experimental:      true\n\n"
               "Server:\n"
               " Engine:\n"
               "  Version:          %s\n"
               "  API version:      1.41 (minimum version 1.12)\n"
               "  OS/Arch:          linux/%s\n"
               "  Kernel version:   %s\n"
               " runtime:\n"
               "  Version:          %s (OCI runtime spec)\n",
               VESSEL_VERSION, arch, VESSEL_VERSION, arch, u.release, VESSEL_OCI_VERSION);
        return 0;
}
