/* OCI runtime-spec (1.x, Linux) config.json model. Parsing validates types
 * and values and names the offending field in its errors. */
#ifndef VESSEL_OCI_CONFIG_H
#define VESSEL_OCI_CONFIG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct oci_kv {
        char *key;
        char *value;
};

struct oci_rlimit {
        char *type; /* "RLIMIT_NOFILE" */
        int resource;
        uint64_t soft, hard;
};

struct oci_user {
        uint32_t uid, gid;
        bool has_umask;
        uint32_t umask;
        uint32_t *additional_gids;
        size_t n_additional_gids;
};

struct oci_capabilities {
        /* NULL-terminated name lists ("CAP_CHOWN"); NULL when absent. */
        char **bounding, **effective, **permitted, **inheritable, **ambient;
};

struct oci_process {
        bool terminal;
        bool has_console_size;
        uint32_t console_height, console_width;
        char **args;
        char **env;
        char *cwd;
        struct oci_user user;
        struct oci_capabilities *caps; /* NULL: no capability changes requested */
        bool no_new_privileges;
        bool has_oom_score_adj;
        int oom_score_adj;
        struct oci_rlimit *rlimits;
        size_t n_rlimits;
        char *apparmor_profile;
        char *selinux_label;
};

struct oci_mount {
        char *destination;
        char *type;   /* may be NULL (bind) */
        char *source; /* may be NULL */
        char **options;
        /* Derived from options by oci_mount_parse_options(). */
        unsigned long flags;       /* MS_* set */
        unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, ...) */
        unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (+MS_REC) */
        bool bind, recursive;
        char *data; /* fs-specific options joined by ',' */
        /* An idmapped bind mount (MOUNT_ATTR_IDMAP): the ids of the source's
         * files (containerID) are seen as hostID. Both or neither. */
        struct oci_id_mapping *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
};

struct oci_hook {
        char *path;
        char **args;
        char **env;
        bool has_timeout;
        int timeout; /* seconds, > 0 */
};

struct oci_hooks {
        struct oci_hook *prestart, *create_runtime, *create_container, *start_container, *poststart,
            *poststop;
        size_t n_prestart, n_create_runtime, n_create_container, n_start_container, n_poststart,
            n_poststop;
};

enum oci_ns_type {
        OCI_NS_PID,
        OCI_NS_NETWORK,
        OCI_NS_MOUNT,
        OCI_NS_IPC,
        OCI_NS_UTS,
        OCI_NS_USER,
        OCI_NS_CGROUP,
        OCI_NS_TIME,
        OCI_NS_COUNT
};

struct oci_namespace {
        enum oci_ns_type type;
        char *path; /* NULL: create a new one */
};

struct oci_id_mapping {
        uint32_t container_id, host_id, size;
};

struct oci_device {
        char *path;
        char type; /* 'c', 'b', 'u', 'p' */
        int64_t major, minor;
        bool has_file_mode;
        uint32_t file_mode;
        bool has_uid, has_gid;
        uint32_t uid, gid;
};

struct oci_device_cgroup {
        bool allow;
        char type;            /* 'a', 'c', 'b' */
        int64_t major, minor; /* -1: wildcard */
        char *access;         /* "rwm" subset */
};

struct oci_weight_device {
        int64_t major, minor;
        bool has_weight, has_leaf_weight;
        uint16_t weight, leaf_weight;
};

struct oci_throttle_device {
        int64_t major, minor;
        uint64_t rate;
};

struct oci_hugepage_limit {
        char *page_size; /* "2MB" */
        uint64_t limit;
};

struct oci_net_priority {
        char *name;
        uint32_t priority;
};

/* Every numeric field has a has_ flag: absent fields are left alone. */
struct oci_resources {
        struct oci_device_cgroup *devices;
        size_t n_devices;

        bool has_memory;
        struct {
                bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp,
                    has_swappiness, has_disable_oom_killer, has_use_hierarchy,
                    has_check_before_update;
                int64_t limit, reservation, swap, kernel, kernel_tcp;
                uint64_t swappiness;
                bool disable_oom_killer, use_hierarchy, check_before_update;
        } memory;

        bool has_cpu;
        struct {
                bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime,
                    has_realtime_period, has_idle;
                uint64_t shares, period, realtime_period, burst;
                int64_t quota, realtime_runtime, idle;
                char *cpus, *mems;
        } cpu;

        bool has_pids;
        int64_t pids_limit;

        bool has_block_io;
        struct {
                bool has_weight, has_leaf_weight;
                uint16_t weight, leaf_weight;
                struct oci_weight_device *weight_device;
                size_t n_weight_device;
                struct oci_throttle_device *throttle_read_bps, *throttle_write_bps,
                    *throttle_read_iops, *throttle_write_iops;
                size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops,
                    n_throttle_write_iops;
        } block_io;

        struct oci_hugepage_limit *hugepage_limits;
        size_t n_hugepage_limits;

        bool has_network;
        struct {
                bool has_class_id;
                uint32_t class_id;
                struct oci_net_priority *priorities;
                size_t n_priorities;
        } network;

        struct oci_kv *unified;
        size_t n_unified;
};

struct oci_seccomp_arg {
        uint32_t index;
        uint64_t value, value_two;
        char *op; /* "SCMP_CMP_EQ" ... */
};

struct oci_seccomp_syscall {
        char **names;
        char *action; /* "SCMP_ACT_ERRNO" ... */
        bool has_errno_ret;
        uint32_t errno_ret;
        struct oci_seccomp_arg *args;
        size_t n_args;
};

struct oci_seccomp {
        char *default_action;
        bool has_default_errno_ret;
        uint32_t default_errno_ret;
        char **architectures; /* "SCMP_ARCH_X86_64" ... */
        char **flags;         /* "SECCOMP_FILTER_FLAG_LOG" ... */
        char *listener_path;
        char *listener_metadata;
        struct oci_seccomp_syscall *syscalls;
        size_t n_syscalls;
};

struct oci_linux {
        struct oci_namespace *namespaces;
        size_t n_namespaces;
        struct oci_id_mapping *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        struct oci_kv *time_offsets; /* key "monotonic"/"boottime", value "secs nanosecs" */
        size_t n_time_offsets;
        struct oci_device *devices;
        size_t n_devices;
        char *cgroups_path;
        struct oci_resources *resources; /* NULL when absent */
        char *rootfs_propagation;
        unsigned long rootfs_propagation_flags; /* MS_* | MS_REC; 0 when unset */
        char **masked_paths;
        char **readonly_paths;
        char *mount_label;
        struct oci_kv *sysctl;
        size_t n_sysctl;
        struct oci_seccomp *seccomp; /* NULL when absent */
        char *intel_rdt_clos_id;
        bool has_personality;
        char *personality_domain;
};

struct oci_config {
        char *oci_version;
        char *root_path; /* absolute, resolved against the bundle */
        bool root_readonly;
        char *hostname;
        char *domainname;
        struct oci_process *process; /* NULL allowed for create only when absent? no: required */
        struct oci_mount *mounts;
        size_t n_mounts;
        struct oci_hooks hooks;
        struct oci_kv *annotations;
        size_t n_annotations;
        struct oci_linux linux_;
        json_object *raw; /* the parsed document (owned) */
};

/* Parses <bundle>/config.json. bundle must be an absolute path. Every error
 * names the file and the field: "config.json: process.args: must not be
 * empty". */
int oci_config_load(const char *bundle, struct oci_config **out, vs_error **err);
int oci_config_parse(json_object *doc, const char *bundle, struct oci_config **out, vs_error **err);
/* Parses a runtime-spec "process" object (also used by exec --process). */
int oci_process_parse(json_object *obj, const char *ctx, struct oci_process **out, vs_error **err);
int oci_resources_parse(json_object *obj, const char *ctx, struct oci_resources **out,
                        vs_error **err);
/* linux.seccomp (src/oci/config_seccomp.c). */
/* The comparison operators and the architectures the runtime-spec names
 * (whether or not the installed libseccomp knows them), NULL-terminated:
 * what a config may say; src/runtime/seccomp.c decides what it honours. */
#define OCI_SECCOMP_N_OPERATORS 7
#define OCI_SECCOMP_N_ARCHS     23
extern const char *const oci_seccomp_operators[OCI_SECCOMP_N_OPERATORS + 1];
extern const char *const oci_seccomp_architectures[OCI_SECCOMP_N_ARCHS + 1];
int oci_seccomp_parse(json_object *obj, const char *ctx, struct oci_seccomp **out, vs_error **err);
void oci_seccomp_free(struct oci_seccomp *s);

/* (uid_t)-1 and (gid_t)-1: "leave unchanged" to setresuid/setresgid/chown,
 * so a process asking for them would keep the runtime's own root. Linux
 * never gives them to anyone; vessel refuses them wherever an id enters. */
#define OCI_ID_INVALID UINT32_MAX
/* Refuses OCI_ID_INVALID as id; what names the field ("process.user.uid"). */
int oci_id_check(uint32_t id, const char *what, vs_error **err);
/* Checks uid, gid and every additional gid of a process user (ctx: the
 * JSON path of the process, "process"). */
int oci_user_check(const struct oci_user *u, const char *ctx, vs_error **err);
void oci_config_free(struct oci_config *cfg);
void oci_process_free(struct oci_process *p);
void oci_resources_free(struct oci_resources *r);

const char *oci_ns_type_name(enum oci_ns_type t);
/* "pid" -> OCI_NS_PID; -1 when unknown. */
int oci_ns_type_from_name(const char *name);
/* CLONE_NEW* flag for a namespace type. */
int oci_ns_clone_flag(enum oci_ns_type t);
/* The namespace entry of type t, or NULL. */
const struct oci_namespace *oci_config_namespace(const struct oci_config *cfg, enum oci_ns_type t);
/* The value of annotation key, or NULL. */
const char *oci_config_annotation(const struct oci_config *cfg, const char *key);

/* Mount options -> flags/propagation/data. Unknown options are passed to the
 * filesystem as data (as runc does); returns -1 only for malformed input. */
int oci_mount_parse_options(struct oci_mount *m, const char *ctx, vs_error **err);

/* "rslave" -> MS_SLAVE|MS_REC; -1 when unknown. */
int oci_propagation_from_name(const char *name, unsigned long *out);
/* NULL-terminated list of every mount option name the parser knows. */
const char *const *oci_mount_option_names(void);

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE, -1 when unknown. */
int oci_rlimit_from_name(const char *name);

static inline void oci_config_freep(struct oci_config **c)
{
        if (*c)
                oci_config_free(*c);
}
#define _cleanup_config_ __attribute__((cleanup(oci_config_freep)))

#endif
