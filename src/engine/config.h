/* vessel's configuration file (docs/configuration.md): JSON, keys named as
 * in Docker's daemon.json where Docker has the setting. Layers, lowest
 * first: built-in defaults, the system file (/etc/vessel/config.json, or
 * $VESSEL_SYSTEM_CONFIG), the user file ($XDG_CONFIG_HOME/vessel/config.json,
 * or the file named by --config / $VESSEL_CONFIG instead); a key set in a
 * later layer replaces the earlier value whole. Flags and environment
 * variables override the result where the command reads them. */
#ifndef VESSEL_ENGINE_CONFIG_H
#define VESSEL_ENGINE_CONFIG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define VS_CONFIG_SYSTEM_PATH "/etc/vessel/config.json"

/* Built-in defaults that protect the host (docs/configuration.md). */
#define VS_DEFAULT_PIDS_LIMIT   2048
#define VS_DEFAULT_LOG_MAX_SIZE (20LL << 20)
#define VS_DEFAULT_LOG_MAX_FILE 5
#define VS_DEFAULT_NOFILE_SOFT  1024
#define VS_DEFAULT_NOFILE_HARD  524288

struct vs_config_ulimit {
        char *name;
        int64_t soft, hard;
};

struct vs_config_runtime {
        char *name, *path;
        char **args;
};

struct vs_config_pool {
        char *base; /* CIDR */
        int64_t size;
};

enum vs_config_key {
        VS_CK_DATA_ROOT,
        VS_CK_EXEC_ROOT,
        VS_CK_DEFAULT_ULIMITS,
        VS_CK_LOG_DRIVER,
        VS_CK_LOG_OPTS,
        VS_CK_DEFAULT_RUNTIME,
        VS_CK_RUNTIMES,
        VS_CK_REGISTRY_MIRRORS,
        VS_CK_INSECURE_REGISTRIES,
        VS_CK_ADDRESS_POOLS,
        VS_CK_BIP,
        VS_CK_DNS,
        VS_CK_DNS_SEARCH,
        VS_CK_SHM_SIZE,
        VS_CK_USERNS_REMAP,
        VS_CK_CGROUPNS_MODE,
        VS_CK_IPC_MODE,
        VS_CK_SECCOMP_PROFILE,
        VS_CK_NO_NEW_PRIVILEGES,
        VS_CK_ISOLATION,
        VS_CK_PIDS_LIMIT,
        VS_CK_VM_KERNEL,
        VS_CK_VM_MEMORY,
        VS_CK_VM_VCPUS,
        VS_CK_CNI_PLUGIN_DIRS,
        VS_CK_CNI_CONFIG_DIR,
        VS_CK_USERNS,
        VS_CK_IPV6,
        VS_CK_FIXED_CIDR_V6,
        VS_CK_MTU,
        VS_CK_COUNT,
};

struct vs_config {
        char *data_root, *exec_root; /* NULL: not set (the command's default) */
        struct vs_config_ulimit *ulimits;
        size_t n_ulimits;
        char *log_driver;
        int64_t log_max_size; /* bytes; 0: no rotation */
        int64_t log_max_file;
        char *default_runtime;
        struct vs_config_runtime *runtimes;
        size_t n_runtimes;
        char **registry_mirrors, **insecure_registries;
        struct vs_config_pool *pools;
        size_t n_pools;
        char *bip;
        bool ipv6;           /* the default bridge network is dual-stack */
        char *fixed_cidr_v6; /* its IPv6 subnet */
        int64_t mtu;         /* its MTU; 0: not set (VS_NET_DEFAULT_MTU) */
        char **dns, **dns_search;
        int64_t shm_size;
        char *userns_remap, *cgroupns_mode, *ipc_mode, *seccomp_profile;
        bool no_new_privileges;
        char *isolation;
        int64_t pids_limit; /* -1: none */
        char *vm_kernel;
        int64_t vm_memory, vm_vcpus;
        char **cni_plugin_dirs;
        char *cni_config_dir;
        char *userns; /* "host" or "auto": --userns of new containers */
        /* The files read, lowest layer first, and which one set each key
         * (NULL: built-in default). */
        char *files[2];
        size_t n_files;
        const char *origin[VS_CK_COUNT];
};

/* Built-in defaults. */
void vs_config_init(struct vs_config *c);
void vs_config_clear(struct vs_config *c);
/* Applies one layer given as text; `file` names it in errors, which read
 * "FILE:LINE: KEY.PATH: reason" (one line). On error c is unchanged. */
int vs_config_apply(struct vs_config *c, const char *text, const char *file, vs_error **err);
/* Reads and applies a file; a missing file is skipped unless must_exist. */
int vs_config_apply_file(struct vs_config *c, const char *path, bool must_exist, vs_error **err);
/* The whole stack: defaults, system file, then `chosen` (--config; else
 * $VESSEL_CONFIG; else the user file). */
int vs_config_load(struct vs_config *c, const char *chosen, vs_error **err);
/* Effective values in the file's own shape (a valid config file). */
json_object *vs_config_to_json(const struct vs_config *c);
const char *vs_config_key_name(enum vs_config_key k);
/* Whether vessel acts on the key yet (docs/configuration.md lists them). */
bool vs_config_key_in_effect(enum vs_config_key k);

/* A container's log rotation from its HostConfig.LogConfig.Config max-size
 * and max-file strings (Docker's shape: "-1" for no limit, "20m", "3"); NULL
 * (records without one) gets the built-in bound. */
void vs_config_log_rotation(const char *max_size_opt, const char *max_file_opt, long long *max_size,
                            int *max_file);

/* The process's configuration: what main() loaded, else built-in defaults. */
const struct vs_config *vs_config_get(void);
/* Takes ownership of c's contents. */
void vs_config_set(struct vs_config *c);

#endif
