/* Creating containers (src/engine/create.c, config.c parsers, ociconfig.c, seccomp_default.c):
 * `run`/`create` flags, the OCI config of a container. Included by engine/engine.h (see there for
 * the layout of a container's directory). Strings and arrays returned through out-parameters are
 * the caller's to free unless a comment says otherwise. */
#ifndef VESSEL_ENGINE_CREATE_H
#define VESSEL_ENGINE_CREATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/config.h"
#include "util/error.h"

struct vs_engine;
struct vs_ctr;
struct vs_run_flags;

/* Flags of `vessel run`/`create`, as typed (validated by the engine, each
 * error naming its flag). */
struct vs_run_flags {
        const char *image;
        char **cmd; /* NULL: the image's */
        const char *name;
        bool detach, interactive, tty, rm, read_only, privileged;
        char **env, **env_files, **volumes, **tmpfs, **cap_add, **cap_drop, **security_opts,
            **ulimits, **device_read_bps, **device_write_bps, **device_read_iops,
            **device_write_iops;
        const char *workdir, *user, *hostname, *entrypoint; /* entrypoint "" clears it */
        bool has_entrypoint;
        const char *memory, *memory_swap, *cpus, *cpu_shares, *cpuset_cpus, *pids_limit,
            *blkio_weight;
        const char *network, *restart, *stop_signal, *stop_timeout;
        const char *isolation;               /* NULL/"container" or "vm" (src/vm) */
        const char *vm_rootfs;               /* --vm-rootfs: NULL/"9p" or "block" */
        const char *ip;                      /* --ip: on the --network bridge network */
        const char *ip6;                     /* --ip6: on a dual-stack first network */
        char **publish;                      /* -p [HOSTIP:]HOSTPORT:CTRPORT[/PROTO] */
        char **expose;                       /* --expose PORT[-END][/PROTO] */
        unsigned console_rows, console_cols; /* -t from a terminal: its size */

        /* Networks (src/engine/network.c): every --network (network is the
         * first), and the flags of the container's network files; -P. */
        char **networks, **net_aliases, **add_hosts, **dns, **dns_search, **dns_options;
        const char *mac_address;
        bool publish_all;
        const char *userns;           /* --userns auto|host (NULL: configured) */
        char **uidmap, **gidmap;      /* --uidmap/--gidmap C:H:S */
        char **labels, **label_files; /* --label K[=V], --label-file FILE */
        const char *log_driver;       /* --log-driver json-file|local|none */
        char **log_opts;              /* --log-opt max-size=S, max-file=N */
        char **mounts;                /* --mount type=bind|volume|tmpfs,... */
        bool init;                    /* --init: vessel-init as process 1 */
        /* Health checks: --health-cmd (a shell command), durations in ns
         * (0: the image's, else Docker's default), --health-retries (0: the
         * image's), --no-healthcheck. */
        const char *health_cmd;
        int64_t health_interval, health_timeout, health_start_period;
        int64_t health_start_interval; /* --health-start-interval (Docker 25) */
        int health_retries;
        bool no_healthcheck;
        const char *ipc, *pid, *uts; /* --ipc, --pid, --uts (src/engine/nsmode.c) */
        const char *cidfile;         /* --cidfile: HostConfig.ContainerIDFile */
        char **attach;               /* -a stdin|stdout|stderr: Config.AttachStd* */
        /* Kernel and device flags (src/engine/hostopts.c): --shm-size,
         * --sysctl K=V, --group-add, --device HOST[:CTR[:rwm]],
         * --device-cgroup-rule, --oom-score-adj, --oom-kill-disable; and
         * --cpu-period/--cpu-quota (microseconds, with the resources). */
        const char *shm_size, *oom_score_adj, *cpu_period, *cpu_quota;
        char **sysctls, **group_add, **devices, **device_cgroup_rules;
        bool oom_kill_disable;
};

/* -a (and -i, -d): the streams a foreground run attaches, VS_ATTACH_* bits
 * (Docker's default: stdout and stderr; stdin with -i; none with -d). */
#define VS_ATTACH_STDIN  1u
#define VS_ATTACH_STDOUT 2u
#define VS_ATTACH_STDERR 4u
#define VS_ATTACH_NONE   8u /* vs_engine.attach_streams: neither output */
int vs_engine_attach_streams(const struct vs_run_flags *f, unsigned *mask, vs_error **err);

/* Validates the flags, merges the image config, claims the name and writes
 * the record (state "created"). */
int vs_engine_create(struct vs_engine *e, const struct vs_run_flags *f, struct vs_ctr **out,
                     vs_error **err);

/* The resource flags of f (--memory, --cpus, ...) into HostConfig keys
 * of hc, validated (errors name the flag). */
int vs_engine_parse_resources(const struct vs_run_flags *f, json_object *hc, vs_error **err);
/* The OCI linux.resources object for a (typed) HostConfig; the caller puts it. */
struct vs_ctr_host_config;
int vs_engine_resources(const struct vs_ctr_host_config *hc, json_object **out, vs_error **err);
/* `update`: the given resource flags (and restart policy when not NULL)
 * merged into the record's HostConfig under its lock, saved, and applied to
 * the running container's cgroup; inspect, restarts and rm see them. */
struct vs_update {
        struct vs_run_flags f;          /* memory, memory_swap, cpus, ... */
        const char *memory_reservation; /* not a run flag yet */
};
int vs_engine_update(struct vs_engine *e, struct vs_ctr *c, const struct vs_update *u,
                     vs_error **err);

/* Parsers shared with exec/commit (errors name flag). */
int vs_parse_size(const char *flag, const char *s, int64_t *out, vs_error **err);
int vs_parse_restart(const char *s, char **name, int *max_retries, vs_error **err);
int vs_parse_signal(const char *flag, const char *s, int *out, vs_error **err);

/* OCI config for a container (src/engine/ociconfig.c). rootfd: the mounted
 * root, for user/group names; writes hostname/hosts/resolv.conf into the
 * container dir. */
int vs_engine_oci_config(struct vs_engine *e, const struct vs_ctr *c, int rootfd, json_object **out,
                         vs_error **err);
/* Docker-style default seccomp profile for the given capability set
 * ("CAP_SYS_ADMIN" ...), as a linux.seccomp object. */
json_object *vs_engine_seccomp_default(char *const *caps); /* caller puts */
/* User namespaces (src/engine/userns.c, docs/userns.md). */
#define VS_USERNS_AUTO_SIZE 65536
struct vs_idmaps {
        struct oci_id_mapping *uid, *gid;
        size_t n_uid, n_gid;
};
/* --userns/--uidmap/--gidmap (or the configured default) -> HostConfig
 * UsernsMode and, for explicit maps, IDMappings. */
int vs_userns_parse_flags(const struct vs_run_flags *f, json_object *hc, vs_error **err);
/* For UsernsMode "auto": allocates a range of host ids for container id and
 * records it in hc.IDMappings; for a VM (Isolation "vm"), the range QEMU's
 * user namespace maps 0-65535 to (docs/vm.md, "QEMU's jail"), recorded in
 * hc.VmIDMappings, from the same entries or, without any, a block of its
 * own. Call with the names lock held. */
#define VS_USERNS_HC_VM "VmIDMappings"
int vs_userns_allocate(struct vs_engine *e, const char *id, json_object *hc, vs_error **err);
/* Gives the top directory of c's volumes still owned by host root to the
 * mapped root (podman's rule). */
int vs_userns_prepare_volumes(const struct vs_ctr *c, const struct vs_idmaps *m, vs_error **err);
/* Frees the allocation of container id (after its record is gone). */
void vs_userns_release(struct vs_engine *e, const char *id);
/* 1 and the mappings (the caller clears them) when hc has a user namespace, 0 when not. */
int vs_userns_mappings(json_object *hc, struct vs_idmaps *out, vs_error **err);
/* The same for a VM's QEMU (hc.VmIDMappings); 0: QEMU stays host root. */
int vs_userns_vm_mappings(json_object *hc, struct vs_idmaps *out, vs_error **err);
/* The mappings c's rootfs overlay is mounted with (idmapped layers): its
 * user namespace's, or a VM's QEMU's (not for a block root); 0: none. */
int vs_userns_rootfs_mappings(const struct vs_ctr *c, struct vs_idmaps *out, vs_error **err);
void vs_idmaps_clear(struct vs_idmaps *m);
/* A rootless container with maps of its own stores the engine's ids for
 * the container's (its layers are shifted copies, src/image/shift.c): 1
 * and the maps that turn them back (engine id -> container id; the caller
 * clears them), 0 for any other container. For commit and export. */
int vs_userns_unshift_maps(const struct vs_ctr *c, struct vs_idmaps *back, vs_error **err);
/* The host id of container id `id` (65534, the overflow id, if unmapped). */
uint32_t vs_idmaps_host(const struct oci_id_mapping *m, size_t n, uint32_t id);
/* --userns=keep-id (the rootless engine): writes c->dir/passwd and
 * c->dir/group, the container's files with the user's entries added when
 * its ids have none, to bind over /etc/passwd and /etc/group; *uid is the
 * user's, *home its home (to free). 0 (nothing written) for another mode. */
int vs_userns_keep_id_files(const struct vs_ctr *c, int rootfd, uint32_t *uid, char **home,
                            vs_error **err);
/* An fd on a new user namespace with these mappings (for MOUNT_ATTR_IDMAP). */
int vs_userns_fd(const struct vs_idmaps *m, vs_error **err);

/* The kernel and device flags of f (src/engine/hostopts.c) into HostConfig
 * keys of hc (ShmSize, Sysctls, GroupAdd, Devices, DeviceCgroupRules,
 * OomScoreAdj, OomKillDisable), validated as Docker does; hc already holds
 * NetworkMode, UsernsMode and Isolation. */
int vs_engine_parse_host_opts(const struct vs_run_flags *f, json_object *hc, vs_error **err);
/* Their OCI side: the /dev/shm size, linux.sysctl, linux.devices with their
 * cgroup rules and process.oomScoreAdj, into spec. */
int vs_engine_oci_host_opts(const struct vs_ctr *c, json_object *spec, vs_error **err);

/* --init (src/engine/init.c): the path of the init binary under the data
 * root, written there on first use. Caller frees. */
#define VS_ENGINE_INIT_PATH "/sbin/docker-init"
int vs_engine_init_binary(struct vs_engine *e, char **path, vs_error **err);

/* The paths a container (not --privileged) gets masked and read-only,
 * NULL-terminated (ociconfig.c). */
void vs_engine_default_paths(const char *const **masked, const char *const **readonly);

/* Docker's 14 default capabilities ("CAP_CHOWN", ...), NULL-terminated. */
char *const *vs_engine_default_caps(void);
/* User spec "name|uid[:group|gid]" resolved through the root's /etc/passwd
 * and /etc/group; fills uid, gid, additional gids and home. */
struct vs_user {
        uint32_t uid, gid;
        uint32_t *gids;
        size_t n_gids;
        char *home;
};
int vs_resolve_user(int rootfd, const char *spec, struct vs_user *out, vs_error **err);
void vs_user_clear(struct vs_user *u);
/* --group-add: each name (the root's /etc/group) or gid appended to u's
 * supplementary groups, once. */
int vs_user_add_groups(int rootfd, char *const *groups, struct vs_user *u, vs_error **err);

/* A container made from another host's record (restore --import): a new
 * id and paths here, stopped; its image must be here. name: NULL keeps
 * the record's (which must be free). */
int vs_engine_adopt(struct vs_engine *e, json_object *record, const char *name, struct vs_ctr **out,
                    vs_error **err);

#endif
