/* The configuration file parser (src/engine/config.c): every key, every
 * kind of bad value, the line and key path of errors, layering and the
 * file lookup (system, user, --config/VESSEL_CONFIG). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/config.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

static const char *all_keys =
    "{\n"
    "  \"data-root\": \"/srv/vessel\",\n"
    "  \"exec-root\": \"/run/vx\",\n"
    "  \"default-ulimits\": {\"nproc\": {\"Name\": \"nproc\", \"Soft\": 100, \"Hard\": 200},\n"
    "                      \"core\": {\"Soft\": 0, \"Hard\": -1}},\n"
    "  \"log-driver\": \"local\",\n"
    "  \"log-opts\": {\"max-size\": \"10m\", \"max-file\": \"3\"},\n"
    "  \"default-runtime\": \"crun\",\n"
    "  \"runtimes\": {\"crun\": {\"path\": \"/usr/bin/crun\", \"runtimeArgs\": [\"--debug\"]}},\n"
    "  \"registry-mirrors\": [\"https://mirror.example\"],\n"
    "  \"insecure-registries\": [\"reg.local:5000\", \"10.0.0.0/8\"],\n"
    "  \"default-address-pools\": [{\"base\": \"10.10.0.0/16\", \"size\": 24}],\n"
    "  \"bip\": \"172.30.0.1/16\",\n"
    "  \"dns\": [\"1.1.1.1\", \"2001:db8::1\"],\n"
    "  \"dns-search\": [\"example.com\"],\n"
    "  \"default-shm-size\": \"128M\",\n"
    "  \"userns-remap\": \"default\",\n"
    "  \"default-cgroupns-mode\": \"host\",\n"
    "  \"default-ipc-mode\": \"shareable\",\n"
    "  \"seccomp-profile\": \"unconfined\",\n"
    "  \"no-new-privileges\": true,\n"
    "  \"default-isolation\": \"vm\",\n"
    "  \"default-pids-limit\": 500,\n"
    "  \"vm-kernel\": \"/boot/vmlinuz\",\n"
    "  \"vm-memory\": \"1g\",\n"
    "  \"vm-vcpus\": 2,\n"
    "  \"cni-plugin-dirs\": [\"/opt/cni/bin\"],\n"
    "  \"cni-config-dir\": \"/etc/cni/x\",\n"
    "  \"userns\": \"auto\",\n"
    "  \"ipv6\": true,\n"
    "  \"fixed-cidr-v6\": \"fd00:30::/64\",\n"
    "  \"mtu\": 1450\n"
    "}\n";

static void every_key_is_parsed(void **state)
{
        struct vs_config c;
        vs_config_init(&c);
        _cleanup_error_ vs_error *err = NULL;
        int r = vs_config_apply(&c, all_keys, "all.json", &err);
        if (r < 0)
                fail_msg("%s", err->msg);
        assert_string_equal(c.data_root, "/srv/vessel");
        assert_string_equal(c.exec_root, "/run/vx");
        assert_int_equal(c.n_ulimits, 2);
        for (size_t i = 0; i < c.n_ulimits; i++) {
                if (strcmp(c.ulimits[i].name, "nproc") == 0) {
                        assert_int_equal(c.ulimits[i].soft, 100);
                        assert_int_equal(c.ulimits[i].hard, 200);
                } else {
                        assert_string_equal(c.ulimits[i].name, "core");
                        assert_int_equal(c.ulimits[i].hard, -1);
                }
        }
        assert_string_equal(c.log_driver, "local");
        assert_int_equal(c.log_max_size, 10 << 20);
        assert_int_equal(c.log_max_file, 3);
        assert_string_equal(c.default_runtime, "crun");
        assert_int_equal(c.n_runtimes, 1);
        assert_string_equal(c.runtimes[0].path, "/usr/bin/crun");
        assert_string_equal(c.runtimes[0].args[0], "--debug");
        assert_string_equal(c.registry_mirrors[0], "https://mirror.example");
        assert_string_equal(c.insecure_registries[1], "10.0.0.0/8");
        assert_int_equal(c.n_pools, 1);
        assert_string_equal(c.pools[0].base, "10.10.0.0/16");
        assert_int_equal(c.pools[0].size, 24);
        assert_string_equal(c.bip, "172.30.0.1/16");
        assert_string_equal(c.dns[1], "2001:db8::1");
        assert_string_equal(c.dns_search[0], "example.com");
        assert_int_equal(c.shm_size, 128 << 20);
        assert_string_equal(c.userns_remap, "default");
        assert_string_equal(c.cgroupns_mode, "host");
        assert_string_equal(c.ipc_mode, "shareable");
        assert_string_equal(c.seccomp_profile, "unconfined");
        assert_true(c.no_new_privileges);
        assert_string_equal(c.isolation, "vm");
        assert_int_equal(c.pids_limit, 500);
        assert_string_equal(c.vm_kernel, "/boot/vmlinuz");
        assert_int_equal(c.vm_memory, 1LL << 30);
        assert_int_equal(c.vm_vcpus, 2);
        assert_string_equal(c.cni_plugin_dirs[0], "/opt/cni/bin");
        assert_null(c.cni_plugin_dirs[1]);
        assert_string_equal(c.cni_config_dir, "/etc/cni/x");
        assert_string_equal(c.userns, "auto");
        assert_true(c.ipv6);
        assert_string_equal(c.fixed_cidr_v6, "fd00:30::/64");
        assert_int_equal(c.mtu, 1450);
        for (int k = 0; k < VS_CK_COUNT; k++)
                assert_non_null(c.origin[k]), assert_string_equal(c.origin[k], "all.json");
        vs_config_clear(&c);
}

static void defaults_protect_the_host(void **state)
{
        struct vs_config c;
        vs_config_init(&c);
        assert_int_equal(c.pids_limit, 2048);
        assert_int_equal(c.log_max_size, 20 << 20);
        assert_int_equal(c.log_max_file, 5);
        assert_int_equal(c.n_ulimits, 1);
        assert_string_equal(c.ulimits[0].name, "nofile");
        assert_int_equal(c.ulimits[0].soft, 1024);
        assert_int_equal(c.ulimits[0].hard, 524288);
        assert_null(c.data_root);
        assert_int_equal(c.n_files, 0);
        for (int k = 0; k < VS_CK_COUNT; k++)
                assert_null(c.origin[k]);
        vs_config_clear(&c);
}

/* The effective values are themselves a valid file that gives them back. */
static void to_json_round_trips(void **state)
{
        struct vs_config a, b;
        vs_config_init(&a);
        vs_config_init(&b);
        _cleanup_error_ vs_error *err = NULL;
        assert_int_equal(vs_config_apply(&a, all_keys, "all.json", &err), 0);
        _cleanup_json_ json_object *ja = vs_config_to_json(&a);
        _cleanup_free_ char *text = vs_json_to_string(ja, true);
        if (vs_config_apply(&b, text, "round.json", &err) < 0)
                fail_msg("%s", err->msg);
        _cleanup_json_ json_object *jb = vs_config_to_json(&b);
        _cleanup_free_ char *text2 = vs_json_to_string(jb, true);
        assert_string_equal(text, text2);
        vs_config_clear(&a);
        vs_config_clear(&b);
}

struct bad {
        const char *text;
        const char *error; /* the whole message */
};

static const struct bad bad_values[] = {
    /* syntax, with the line */
    {"{\n  \"dns\": [\"1.1.1.1\",\n", "f.json:3: invalid JSON: unexpected end of input"},
    {"{\n \"bip\": \"1.2.3.4/8\",,\n}", "f.json:2: invalid JSON: "},
    {"{} x", "f.json:1: invalid JSON: trailing data"},
    {"[1]", "f.json:1: expected a JSON object of settings"},
    /* unknown keys, at every level */
    {"{\n\n  \"no-such\": 1}", "f.json:3: no-such: unknown key"},
    {"{\"log-opts\": {\n \"compress\": \"true\"}}", "f.json:2: log-opts.compress: unknown key"},
    {"{\"runtimes\": {\"x\": {\"path\": \"/x\",\n \"extra\": 1}}}",
     "f.json:2: runtimes.x.extra: unknown key"},
    {"{\"default-address-pools\": [{\"base\": \"10.0.0.0/8\", \"size\": 16,\n \"gw\": 1}]}",
     "f.json:2: default-address-pools[0].gw: unknown key"},
    /* wrong types */
    {"{\"data-root\": 5}", "f.json:1: data-root: expected a string, got an integer"},
    {"{\"data-root\": \"rel/dir\"}", "f.json:1: data-root: 'rel/dir' is not an absolute path"},
    {"{\"exec-root\": \"\"}", "f.json:1: exec-root: must not be empty"},
    {"{\"no-new-privileges\": \"yes\"}",
     "f.json:1: no-new-privileges: expected a boolean, got a string"},
    {"{\"dns\": \"1.1.1.1\"}", "f.json:1: dns: expected an array of strings, got a string"},
    {"{\"dns\": [\"1.1.1.1\",\n 5]}", "f.json:2: dns[1]: expected a string, got an integer"},
    {"{\"dns\": [\"1.1.1.1\",\n \"one\"]}", "f.json:2: dns[1]: 'one' is not an IP address"},
    {"{\"dns-search\": [\"a b\"]}", "f.json:1: dns-search[0]: 'a b' is not a domain name"},
    {"{\"registry-mirrors\": [\"ftp://m\"]}",
     "f.json:1: registry-mirrors[0]: 'ftp://m' is not an http:// or https:// URL"},
    {"{\"insecure-registries\": [\"https://r\"]}",
     "f.json:1: insecure-registries[0]: 'https://r' is not a registry host[:port] or CIDR"},
    {"{\"bip\": \"172.17.0.1\"}",
     "f.json:1: bip: '172.17.0.1' is not an address with a prefix length (CIDR, e.g. "
     "10.0.0.0/8)"},
    /* enums */
    {"{\"log-driver\": \"syslog\"}",
     "f.json:1: log-driver: invalid value 'syslog' (json-file, local)"},
    {"{\"default-cgroupns-mode\": \"x\"}",
     "f.json:1: default-cgroupns-mode: invalid value 'x' (private, host)"},
    {"{\"default-ipc-mode\": \"x\"}",
     "f.json:1: default-ipc-mode: invalid value 'x' (private, shareable, host, none)"},
    {"{\"default-isolation\": \"jail\"}",
     "f.json:1: default-isolation: invalid value 'jail' (container, vm)"},
    {"{\"userns\": \"keep-id\"}", "f.json:1: userns: invalid value 'keep-id' (host, auto)"},
    {"{\"seccomp-profile\": \"p.json\"}",
     "f.json:1: seccomp-profile: 'p.json' is not builtin, unconfined or an absolute path"},
    /* sizes and numbers */
    {"{\"log-opts\": {\"max-size\": \"10q\"}}",
     "f.json:1: log-opts.max-size: invalid size '10q' (a number with k, m, g or t)"},
    {"{\"log-opts\": {\"max-size\": 100}}",
     "f.json:1: log-opts.max-size: expected a string (\"20m\", or \"-1\" for no limit), got an "
     "integer"},
    {"{\"log-opts\": {\"max-size\": \"1k\"}}",
     "f.json:1: log-opts.max-size: '1k' is below the minimum of 4k"},
    {"{\"log-opts\": {\"max-file\": \"0\"}}",
     "f.json:1: log-opts.max-file: invalid file count '0' (1 to 100)"},
    {"{\"log-opts\": {\"max-file\": 3}}",
     "f.json:1: log-opts.max-file: expected a string (\"5\"), got an integer"},
    {"{\"default-shm-size\": \"-1m\"}",
     "f.json:1: default-shm-size: invalid size '-1m' (a number with k, m, g or t)"},
    {"{\"default-shm-size\": 0}", "f.json:1: default-shm-size: must be greater than 0"},
    {"{\"default-shm-size\": true}",
     "f.json:1: default-shm-size: expected a size (\"64m\" or bytes), got a boolean"},
    {"{\"mtu\": 67}", "f.json:1: mtu: 67 is out of range (68 to 65535)"},
    {"{\"mtu\": \"1500\"}", "f.json:1: mtu: expected an integer, got a string"},
    {"{\"default-pids-limit\": -2}",
     "f.json:1: default-pids-limit: -2 is out of range (-1 to 9223372036854775807)"},
    {"{\"default-pids-limit\": 1.5}",
     "f.json:1: default-pids-limit: expected an integer, got a number"},
    {"{\"vm-memory\": \"1m\"}", "f.json:1: vm-memory: is below the minimum of 16m"},
    {"{\"vm-vcpus\": 0}", "f.json:1: vm-vcpus: 0 is out of range (1 to 256)"},
    {"{\"vm-kernel\": \"vmlinuz\"}", "f.json:1: vm-kernel: 'vmlinuz' is not an absolute path"},
    {"{\"cni-plugin-dirs\": [\"/a\", \"b\"]}",
     "f.json:1: cni-plugin-dirs[1]: 'b' is not an absolute path"},
    {"{\"cni-config-dir\": null}", "f.json:1: cni-config-dir: expected a string, got null"},
    /* ulimits */
    {"{\"default-ulimits\": {\"files\": {\"Soft\": 1, \"Hard\": 1}}}",
     "f.json:1: default-ulimits.files: unknown limit (nofile, nproc, core, stack, memlock, ...)"},
    {"{\"default-ulimits\": {\"nofile\": {\n\"Soft\": 10, \"Hard\": 5}}}",
     "f.json:2: default-ulimits.nofile.Soft: soft limit 10 exceeds hard limit 5"},
    {"{\"default-ulimits\": {\"nofile\": {\"Name\": \"nproc\", \"Soft\": 1, \"Hard\": 1}}}",
     "f.json:1: default-ulimits.nofile.Name: 'nproc' differs from its key 'nofile'"},
    {"{\"default-ulimits\": {\"nofile\": {\"Soft\": 1}}}",
     "f.json:1: default-ulimits.nofile: Hard is missing"},
    {"{\"default-ulimits\": {\"nofile\": {\"Soft\": \"1\", \"Hard\": 2}}}",
     "f.json:1: default-ulimits.nofile.Soft: expected an integer, got a string"},
    {"{\"default-ulimits\": {\"nofile\": 5}}",
     "f.json:1: default-ulimits.nofile: expected an object {\"Name\", \"Soft\", \"Hard\"}, got an "
     "integer"},
    /* runtimes */
    {"{\"runtimes\": {\"vessel\": {\"path\": \"/x\"}}}",
     "f.json:1: runtimes.vessel: 'vessel' is the built-in runtime's name"},
    {"{\"runtimes\": {\"r\": {\"runtimeArgs\": []}}}", "f.json:1: runtimes.r: path is missing"},
    {"{\"runtimes\": {\"r\": {\"path\": \"/r\", \"runtimeArgs\": [1]}}}",
     "f.json:1: runtimes.r.runtimeArgs[0]: expected a string, got an integer"},
    {"{\"default-runtime\": \"runc\"}",
     "f.json:1: default-runtime: 'runc' is not vessel nor one of runtimes"},
    /* address pools */
    {"{\"default-address-pools\": [{\"base\": \"10.0.0.0\", \"size\": 24}]}",
     "f.json:1: default-address-pools[0].base: '10.0.0.0' is not a CIDR (e.g. 10.10.0.0/16)"},
    {"{\"default-address-pools\": [\n{\"base\": \"10.0.0.0/8\", \"size\": 24},\n"
     "{\"base\": \"10.0.0.0/16\", \"size\": 8}]}",
     "f.json:3: default-address-pools[1].size: 8 is out of range (16 to 32)"},
    {"{\"default-address-pools\": [{\"base\": \"10.0.0.0/8\"}]}",
     "f.json:1: default-address-pools[0]: needs both base and size"},
};

static void bad_values_are_refused_naming_file_line_and_key(void **state)
{
        for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
                struct vs_config c;
                vs_config_init(&c);
                _cleanup_json_ json_object *before = vs_config_to_json(&c);
                _cleanup_free_ char *before_s = vs_json_to_string(before, false);
                vs_error *err = NULL;
                int r = vs_config_apply(&c, bad_values[i].text, "f.json", &err);
                if (r == 0)
                        fail_msg("accepted: %s", bad_values[i].text);
                if (strncmp(err->msg, bad_values[i].error, strlen(bad_values[i].error)) != 0 ||
                    (strstr(bad_values[i].error, "invalid JSON: ") == NULL &&
                     strcmp(err->msg, bad_values[i].error) != 0))
                        fail_msg("for %s\n got: %s\nwant: %s", bad_values[i].text, err->msg,
                                 bad_values[i].error);
                assert_null(strchr(err->msg, '\n'));
                vs_error_free(&err);
                /* Refused whole: nothing of the bad layer is in force. */
                _cleanup_json_ json_object *after = vs_config_to_json(&c);
                _cleanup_free_ char *after_s = vs_json_to_string(after, false);
                assert_string_equal(before_s, after_s);
                assert_int_equal(c.n_files, 0);
                vs_config_clear(&c);
        }
}

static void special_values(void **state)
{
        struct vs_config c;
        vs_config_init(&c);
        _cleanup_error_ vs_error *err = NULL;
        assert_int_equal(vs_config_apply(&c,
                                         "{\"default-pids-limit\": 0, \"log-opts\": {\"max-size\": "
                                         "\"-1\"}, \"default-shm-size\": 1048576}",
                                         "s.json", &err),
                         0);
        assert_int_equal(c.pids_limit, -1); /* Docker: 0 means no limit */
        assert_int_equal(c.log_max_size, 0);
        assert_int_equal(c.log_max_file, 5);
        assert_int_equal(c.shm_size, 1 << 20);
        vs_config_clear(&c);
}

/* A later layer replaces the keys it sets and keeps the others, with
 * where each came from. */
static void layers_override_key_by_key(void **state)
{
        struct vs_config c;
        vs_config_init(&c);
        _cleanup_error_ vs_error *err = NULL;
        assert_int_equal(vs_config_apply(&c,
                                         "{\"default-pids-limit\": 100, \"dns\": [\"1.1.1.1\"], "
                                         "\"data-root\": \"/sys-root\"}",
                                         "/etc/vessel/config.json", &err),
                         0);
        assert_int_equal(
            vs_config_apply(&c, "{\"default-pids-limit\": 50}", "/home/u/c.json", &err), 0);
        assert_int_equal(c.pids_limit, 50);
        assert_string_equal(c.dns[0], "1.1.1.1");
        assert_string_equal(c.data_root, "/sys-root");
        assert_int_equal(c.n_files, 2);
        assert_string_equal(c.origin[VS_CK_PIDS_LIMIT], "/home/u/c.json");
        assert_string_equal(c.origin[VS_CK_DNS], "/etc/vessel/config.json");
        assert_null(c.origin[VS_CK_LOG_OPTS]);
        /* A bad upper layer changes nothing. */
        vs_error *e2 = NULL;
        assert_int_equal(vs_config_apply(&c, "{\"default-pids-limit\": \"x\"}", "bad", &e2), -1);
        vs_error_free(&e2);
        assert_int_equal(c.pids_limit, 50);
        assert_string_equal(c.origin[VS_CK_PIDS_LIMIT], "/home/u/c.json");
        vs_config_clear(&c);
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
        char *path = xasprintf("%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return path;
}

/* The lookup: system ($VESSEL_SYSTEM_CONFIG), then --config, else
 * $VESSEL_CONFIG, else $XDG_CONFIG_HOME/vessel/config.json. */
static void load_finds_the_files(void **state)
{
        char tmpl[] = "/tmp/vessel-config-test-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        _cleanup_free_ char *sys = write_tmp(tmpl, "sys.json", "{\"default-pids-limit\": 10}");
        _cleanup_free_ char *xdg = xasprintf("%s/vessel", tmpl);
        assert_int_equal(mkdir(xdg, 0700), 0);
        _cleanup_free_ char *user =
            write_tmp(xdg, "config.json", "{\"default-pids-limit\": 20, \"dns\": [\"8.8.8.8\"]}");
        _cleanup_free_ char *chosen =
            write_tmp(tmpl, "chosen.json", "{\"default-pids-limit\": 30}");
        _cleanup_free_ char *envf = write_tmp(tmpl, "env.json", "{\"default-pids-limit\": 40}");
        setenv("VESSEL_SYSTEM_CONFIG", sys, 1);
        setenv("XDG_CONFIG_HOME", tmpl, 1);
        unsetenv("VESSEL_CONFIG");
        struct vs_config c;
        _cleanup_error_ vs_error *err = NULL;

        assert_int_equal(vs_config_load(&c, NULL, &err), 0);
        assert_int_equal(c.pids_limit, 20);
        assert_int_equal(c.n_files, 2);
        assert_string_equal(c.files[0], sys);
        assert_string_equal(c.files[1], user);
        vs_config_clear(&c);

        setenv("VESSEL_CONFIG", envf, 1);
        assert_int_equal(vs_config_load(&c, NULL, &err), 0);
        assert_int_equal(c.pids_limit, 40);
        assert_null(c.dns[0]); /* the user file is not read */
        vs_config_clear(&c);

        assert_int_equal(vs_config_load(&c, chosen, &err), 0);
        assert_int_equal(c.pids_limit, 30);
        vs_config_clear(&c);

        /* A chosen file must exist; the others may be missing. */
        vs_error *e2 = NULL;
        assert_int_equal(vs_config_load(&c, "/nonexistent/vessel.json", &e2), -1);
        assert_non_null(strstr(e2->msg, "/nonexistent/vessel.json"));
        vs_error_free(&e2);
        vs_config_clear(&c);
        unsetenv("VESSEL_CONFIG");
        setenv("VESSEL_SYSTEM_CONFIG", "/nonexistent/sys.json", 1);
        setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
        assert_int_equal(vs_config_load(&c, NULL, &err), 0);
        assert_int_equal(c.pids_limit, 2048);
        assert_int_equal(c.n_files, 0);
        vs_config_clear(&c);

        unlink(sys), unlink(user), unlink(chosen), unlink(envf);
        rmdir(xdg), rmdir(tmpl);
}

static void log_rotation_from_host_config(void **state)
{
        long long size;
        int files;
        vs_config_log_rotation(NULL, NULL, &size, &files);
        assert_int_equal(size, 20 << 20);
        assert_int_equal(files, 5);
        /* HostConfig.LogConfig.Config as the record holds it (read into
         * vs_ctr.hc by src/engine/record.c: tests/unit/test_ctr_record.c). */
        vs_config_log_rotation("8k", "2", &size, &files);
        assert_int_equal(size, 8192);
        assert_int_equal(files, 2);
        vs_config_log_rotation("-1", "0", &size, &files);
        assert_int_equal(size, 0);
        assert_int_equal(files, 5);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(every_key_is_parsed),
            cmocka_unit_test(defaults_protect_the_host),
            cmocka_unit_test(to_json_round_trips),
            cmocka_unit_test(bad_values_are_refused_naming_file_line_and_key),
            cmocka_unit_test(special_values),
            cmocka_unit_test(layers_override_key_by_key),
            cmocka_unit_test(load_finds_the_files),
            cmocka_unit_test(log_rotation_from_host_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
