/* Lifecycle (src/engine/lifecycle.c, network.c, monitor.c): start, stop, kill, rm, the rootfs
 * mount, networks, the monitor. Included by engine/engine.h (see there for the layout of a
 * container's directory). Strings and arrays returned through out-parameters
 * are the caller's to free unless a comment says otherwise. */
#ifndef VESSEL_ENGINE_LIFECYCLE_H
#define VESSEL_ENGINE_LIFECYCLE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_engine;
struct vs_ctr;
struct vs_run_flags;

/* Lifecycle (src/engine/lifecycle.c). */
/* Spawns the monitor (double fork + exec of /proc/self/exe) and waits until
 * the container runs or failed to. attach_fd >= 0: a socket end the
 * monitor treats as an attached client from the very start (foreground
 * run, start -a), so no early output is missed. */
int vs_engine_start(struct vs_engine *e, struct vs_ctr *c, int attach_fd, vs_error **err);
/* Marks a stop as the user's (no restart policy applies); *out: the
 * record, fresh from disk. */
int vs_engine_mark_stopped(struct vs_engine *e, const struct vs_ctr *c, struct vs_ctr **out,
                           vs_error **err);
int vs_engine_stop(struct vs_engine *e, struct vs_ctr *c, int timeout, vs_error **err);
int vs_engine_restart(struct vs_engine *e, struct vs_ctr *c, int timeout, vs_error **err);
int vs_engine_kill(struct vs_engine *e, struct vs_ctr *c, int sig, vs_error **err);
int vs_engine_pause(struct vs_engine *e, struct vs_ctr *c, bool pause, vs_error **err);
int vs_engine_rm(struct vs_engine *e, struct vs_ctr *c, bool force, bool volumes, vs_error **err);
/* Blocks until the container is not running (nor restarting); its exit
 * code. */
int vs_engine_wait(struct vs_engine *e, struct vs_ctr *c, int *exit_code, vs_error **err);
int vs_engine_rename(struct vs_engine *e, struct vs_ctr *c, const char *name, vs_error **err);
/* Removes the anonymous volumes (-v /path) of a container record. */
void vs_engine_remove_anonymous_volumes(struct vs_engine *e, const struct vs_ctr *c);
/* Unmounts the rootfs, deletes leftover runtime state: after a monitor died. */
int vs_engine_cleanup_runtime(struct vs_engine *e, struct vs_ctr *c, vs_error **err);
/* Mounts the rootfs for cp/commit of a container that is not running;
 * *mounted says whether the caller must vs_engine_umount_rootfs(). */
int vs_engine_mount_rootfs(struct vs_engine *e, struct vs_ctr *c, bool *mounted, vs_error **err);
int vs_engine_umount_rootfs(struct vs_ctr *c, vs_error **err);
bool vs_is_mountpoint(const char *path);

/* Networks (src/engine/network.c, over src/net). NetworkMode none, host,
 * default (a namespace with only loopback) or the name of a bridge
 * network, whose lease the container holds from its first start to rm. */
/* Validates the network flags and records them into the HostConfig. */
int vs_engine_net_check(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                        vs_error **err);
/* -P: the container's exposed ports (Config.ExposedPorts: the image's
 * EXPOSE, --expose, -p) into PortBindings (host ports chosen at start). */
void vs_engine_net_publish_all(json_object *cfg, json_object *hc);
/* The first network of c, or NULL (none, host, default, container:). */
const char *vs_engine_net_name(const struct vs_ctr *c);
/* Whether c is on the network named name: its NetworkMode (host, none,
 * default, a network), one of its Networks or of its CNI networks. */
bool vs_engine_net_on(const struct vs_ctr *c, const char *name);
/* ps's Networks: every network of c in the order given (vessel's, then
 * CNI ones), comma-separated; else its NetworkMode ("default" unset). */
char *vs_engine_net_names(const struct vs_ctr *c);
/* Takes (or keeps) c's addresses; *hosts: the hosts-file lines for them (caller frees). */
int vs_engine_net_lease(struct vs_engine *e, const struct vs_ctr *c, const char *hostname,
                        char **hosts, vs_error **err);
/* Wires c (created, not yet started: init pid) into its networks. */
int vs_engine_net_attach(struct vs_engine *e, const struct vs_ctr *c, pid_t pid, vs_error **err);
/* Docker's NetworkSettings for inspect (from the leases, or the cached
 * CNI result), or NULL when c has none. The caller puts it. */
json_object *vs_engine_net_settings(struct vs_engine *e, const struct vs_ctr *c);
/* Gives back c's veths, addresses and port rules (rm). */
int vs_engine_net_release(struct vs_engine *e, const struct vs_ctr *c, vs_error **err);
/* Docker's network events of c's start and stop: action (connect,
 * disconnect) on each vessel network c holds a lease on (docs/engine.md,
 * "Events"); the built-in modes (default, none, host) have none. */
void vs_engine_net_events(struct vs_engine *e, const struct vs_ctr *c, const char *action);
/* `network connect/disconnect` (running, stopped or created c). */
int vs_engine_net_connect(struct vs_engine *e, struct vs_ctr *c, const char *network,
                          const char *ip, const char *ip6, char **aliases, vs_error **err);
int vs_engine_net_disconnect(struct vs_engine *e, struct vs_ctr *c, const char *network,
                             vs_error **err);
/* /etc/hosts lines of --add-host (host-gateway: the first network's
 * gateway; after the lease); resolv.conf with --dns, --dns-search,
 * --dns-option applied to host_resolv (consumed). Caller frees. */
char *vs_engine_extra_hosts(struct vs_engine *e, const struct vs_ctr *c);
char *vs_engine_resolv_conf(const struct vs_ctr *c, char *host_resolv);
/* CNI CHECK of c's network (a running container on a CNI network). */
int vs_engine_net_cni_check(const struct vs_ctr *c, vs_error **err);
/* c's published ports (host ip "0.0.0.0" for any): fn per binding with
 * "80/tcp", the host ip and port; the number of bindings. */
int vs_engine_ports_each(struct vs_engine *e, const struct vs_ctr *c,
                         void (*fn)(void *, const char *key, const char *ip, const char *port),
                         void *ud);
/* ps's PORTS: "0.0.0.0:8080->80/tcp, ..." ("" when none; caller frees). */
char *vs_engine_ports_text(struct vs_engine *e, const struct vs_ctr *c);
/* --network container:ID: the namespace to join, the directory whose
 * hosts and resolv.conf c shares, the hostname; all NULL otherwise. An
 * error when that container is not running. */
int vs_engine_net_joined(struct vs_engine *e, const struct vs_ctr *c, char **nspath, char **dir,
                         char **hostname, vs_error **err);

/* --ipc, --pid, --uts (src/engine/nsmode.c): validated into HostConfig's
 * IpcMode, PidMode and UTSMode (a container: target must exist and run). */
int vs_engine_ns_check(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                       vs_error **err);
/* Applies c's modes to an OCI spec: host drops the namespace, container:
 * joins the other's init's by path (an error when it does not run), the
 * IPC mode shapes /dev/shm. */
int vs_engine_ns_apply(struct vs_engine *e, const struct vs_ctr *c, json_object *spec,
                       vs_error **err);
/* --uts host: 1 and the host's name in *out (caller frees), else 0. */
/* A shareable container's host-side /dev/shm (src/engine/nsmode.c):
 * mounted at <dir>/shm before each start; unmounted (detached) with the
 * rootfs, or from a directory a killed command left. */
int vs_engine_shm_mount(const struct vs_ctr *c, vs_error **err);
void vs_engine_shm_umount(const char *dir);
int vs_engine_uts_hostname(const struct vs_ctr *c, char **out);

/* The monitor (src/engine/monitor.c): returns the process exit status. */
struct vs_monitor_opts {
        const char *id;
        int status_fd; /* -1: none; gets "0 ok" or "<errno> message" after the first start */
        int attach_fd; /* -1: none */
        /* A restart (the monitor re-executes itself for each): the delay to
         * wait first, and the exit code of the previous run. -1: first start. */
        long restart_delay_ms;
        int last_exit;
};
/* Returns only on an early failure (exit status); otherwise ends the process. */
int vs_monitor_main(struct vs_engine *e, const struct vs_monitor_opts *o);

/* The monitor asks the kernel's OOM killer to spare it (-500, as dockerd;
 * needs CAP_SYS_RESOURCE, else it keeps its score), and its containers'
 * processes get its score + 500 (at most 1000): raising a score needs no
 * privilege, so the container dies before the monitor that reports it. */
void vs_monitor_oom_protect(void);
int vs_engine_oom_score_adj(void);

#endif
