/* The microVM backend (docs/vm.md): a container whose record asks for
 * isolation "vm" runs as a QEMU `microvm` guest booting vessel's own kernel
 * (guest/kernel.config) with the static guest agent (guest/agent.c) as
 * /init; the container's prepared rootfs is shared over virtio-9p and one
 * virtio-serial port carries the control channel (guest/proto.h).
 *
 * Files:
 *   <data-root>/vm/kernel/<key>/bzImage   the guest kernel, <key> hashing the
 *                                         fragment, the build script and the
 *                                         linux-source version
 *   $VESSEL_KERNEL_CACHE/<key>/bzImage    a shared copy outside any data root
 *                                         (default /var/cache/vessel/kernel)
 *   <data-root>/vm/initramfs-<hash>.cpio  /init = the agent vessel embeds
 *   <container dir>/vm.json               accelerator, kernel, QEMU of the run
 *   <container dir>/vm-console.log        the guest's serial console
 *   <container dir>/vm-qemu.log           QEMU's own stderr
 *   <container dir>/vm.sock               the launcher's exec socket
 *   <container dir>/vm-root.img           --vm-rootfs=block: the root disk
 *   <container dir>/checkpoint/           the last checkpoint (checkpoint.c) */
#ifndef VESSEL_VM_H
#define VESSEL_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct vs_engine;
struct vs_ctr;
struct oci_config;
struct oci_process;
struct json_object;
struct vs_vm_overlay;

/* Guest RAM: below this the guest kernel and agent do not fit with room
 * for a process (measured: the agent runs from 40 MiB). */
#define VS_VM_MIN_MEMORY     (64LL << 20)
#define VS_VM_DEFAULT_MEMORY (256LL << 20)
#define VS_VM_EXEC_SOCK      "vm.sock"
/* The OCI annotation that selects VM isolation for a bundle. */
#define VS_VM_ANNOTATION "run.vessel.isolation"
/* What the host cgroup of an OCI VM container gets above its guest RAM
 * (QEMU and the launcher). */
#define VS_VM_HOST_OVERHEAD (128LL << 20)
/* ... and above the container's pids limit, which the guest applies to
 * the container's processes in a cgroup of its own: QEMU's threads (its
 * vCPUs, RCU, the 9p and block I/O worker pools, up to 64 each) and the
 * launcher. */
#define VS_VM_HOST_PIDS 256

/* The cache key of the guest kernel this vessel builds: hex sha256 of the
 * fragment, the build script and the linux-source package version. */
int vs_vm_kernel_key(char **key, vs_error **err);
/* The guest kernel's path. Looks in the data root, then the shared cache;
 * when neither has it and build is true, builds it (minutes; progress on
 * stderr when progress) into the data root and copies it to the shared
 * cache. When build is false, a missing kernel is an error that says how
 * to build it. */
int vs_vm_kernel_get(const char *data_root, bool build, bool progress, char **path, vs_error **err);
/* The embedded fragment (for `vessel vm kernel --config`). */
const char *vs_vm_kernel_fragment(size_t *len);

/* The initramfs holding the agent as /init (generated once per agent). */
int vs_vm_initramfs(const char *data_root, char **path, vs_error **err);

/* "kvm" when the CPU has vmx/svm and /dev/kvm answers, else "tcg"; *why
 * (static) says what decided. */
const char *vs_vm_accel_detect(const char **why);
/* qemu-system-x86_64 from $VESSEL_QEMU or PATH. */
int vs_vm_qemu_path(char **path, vs_error **err);

struct vs_vm_spec {
        const char *qemu, *kernel, *initrd, *rootfs, *accel;
        const char *console_log, *qemu_log; /* files (truncated) */
        unsigned mem_mib, cpus;
        /* Extra 9p shares: pairs tag, host directory, NULL-terminated;
         * a tag starting with "ro:" exports read-only (the prefix is not
         * part of the tag). */
        char **shares;
        const char *config; /* CONFIG payload (guest/proto.h) */
        /* Where the launcher listens for exec requests once the guest is
         * up (<sock_dir>/vm.sock); NULL: none. */
        const char *sock_dir;
        bool tty;             /* stdin is a pty slave: its size goes to the guest */
        int started_fd;       /* closed once QEMU runs (the OCI exec fifo); -1: none */
        const char *jail_dir; /* an empty directory for QEMU's jail's root */
        /* QEMU -netdev value: "user,..." (user-mode, QEMU in the host's
         * network namespace) or "tap,..." (a tap on a vessel network's
         * bridge, tap_fd: QEMU in an empty network namespace); NULL: no
         * NIC (an empty network namespace too). */
        const char *netdev;
        int tap_fd;      /* > 0: the tap's queue, QEMU's fd VS_VM_TAP_FD */
        const char *mac; /* the NIC's hardware address; NULL: QEMU's default */
        size_t config_len;
        int boot_timeout_ms;
        /* --vm-rootfs=block: the root is this ext4 image on virtio-blk
         * instead of rootfs over 9p. */
        const char *root_image;
        /* Restore (docs/vm.md, Checkpoint): QEMU loads this migration
         * stream (-incoming) instead of booting; no CONFIG is sent (the
         * guest is past it). Once the state is loaded "ok" is written to
         * ready_fd (then closed); a failure is the run's error. */
        const char *restore_state;
        int ready_fd;
        /* QEMU's own user namespace (src/vm/jail.c): ids 0-65535 there are
         * host ids jail_uid.. and jail_gid..; QEMU runs as its root, an
         * unprivileged host uid. jail_uid 0: QEMU stays host root. */
        uint32_t jail_uid, jail_gid;
        /* The rootfs shows the jail's ids already (the engine's overlay of
         * idmapped layers: an overlay cannot itself be idmapped), so it is
         * bound as it is; anything else QEMU opens is an idmapped bind. */
        bool rootfs_mapped;
        /* The OCI path with jail_uid: the rootfs is the caller's overlay,
         * mounted again in the jail over idmapped layers (oci_root.c). */
        const struct vs_vm_overlay *root_overlay;
};
/* Boots the VM and relays until the process ends: stdin from in_fd (-1:
 * none), its stdout/stderr to out_fd/err_fd; SIGTERM, SIGINT, SIGHUP,
 * SIGQUIT, SIGUSR1, SIGUSR2 sent to this process are forwarded to it. QEMU
 * dies with this process (PR_SET_PDEATHSIG). Returns 0 with the exit code,
 * or -1: QEMU failed, the boot timed out, the guest died. */
int vs_vm_run(const struct vs_vm_spec *s, int in_fd, int out_fd, int err_fd, int *exit_code,
              vs_error **err);

/* QEMU's jail (src/vm/jail.c): the paths QEMU sees there. */
#define VS_VM_JAIL_IDS     65536 /* ids QEMU's user namespace maps */
#define VS_VM_JAIL_QEMU    "/vm/qemu"
#define VS_VM_JAIL_KERNEL  "/vm/kernel"
#define VS_VM_JAIL_INITRD  "/vm/initrd"
#define VS_VM_JAIL_CONSOLE "/vm/console.log"
#define VS_VM_JAIL_ROOTFS  "/vm/rootfs"
#define VS_VM_JAIL_ROOTIMG "/vm/root.img"
/* HostConfig key of --vm-rootfs ("block"; absent: 9p). */
#define VS_VM_HC_ROOTFS "VmRootfs"
/* In a VM container's directory: the block root's image, the last
 * checkpoint (docs/vm.md) and the marker that makes the next start a
 * restore from it. */
#define VS_VM_ROOT_IMAGE   "vm-root.img"
#define VS_VM_CKPT_DIR     "checkpoint"
#define VS_VM_CKPT_STATE   "vm.state"
#define VS_VM_RESTORE_MARK "vm-restore"
/* The jail's ids (jail_uid set): a user namespace holding them, for the
 * idmapped binds (made by the launcher, before QEMU's own). */
int vs_vm_jail_idmap_fd(const struct vs_vm_spec *s, vs_error **err);
/* In the child that becomes QEMU, already in its new namespaces: builds the
 * jail's root on dir (an empty host directory; idmap_fd: the namespace
 * above, or -1), pivots into it; with jail_uid, enters a user namespace of
 * its own, says so on sync and waits there for vs_vm_jail_map (alive: a
 * pipe end that hangs up when the launcher dies); drops capabilities,
 * sets no_new_privs. Ends the process on failure. */
void vs_vm_jail_enter(const struct vs_vm_spec *s, const char *dir, int idmap_fd, int sync,
                      int alive);
/* In the launcher, for the child pid: waits until it has its user
 * namespace, writes its uid_map and gid_map, lets it go on. */
int vs_vm_jail_map(const struct vs_vm_spec *s, pid_t pid, int sync, vs_error **err);

/* QMP (src/vm/qmp.c): the launcher's end of QEMU's control socket. */
struct vs_qmp {
        int fd;
        bool ready; /* greeting read, capabilities negotiated */
        char buf[8192];
        size_t len;
};
/* Runs a QMP command without arguments ("stop", "cont"); errors carry
 * QEMU's description. */
int vs_qmp_execute(struct vs_qmp *q, const char *name, vs_error **err);
/* Any command: args is a JSON object's text (or NULL); fd (>= 0) goes
 * along as SCM_RIGHTS (for getfd); *ret (when not NULL) gets the answer's
 * "return" value (the caller puts it). */
int vs_qmp_call(struct vs_qmp *q, const char *name, const char *args, int fd,
                struct json_object **ret, vs_error **err);

/* Engine side (src/vm/ctr.c). */
bool vs_ctr_is_vm(const struct vs_ctr *c);
/* Everything a VM run needs on this host (QEMU, the kernel: built when
 * missing, with progress on a terminal), checked before the container is
 * created so that a failure leaves nothing behind. */
int vs_vm_host_check(struct vs_engine *e, vs_error **err);
/* Called by the monitor instead of the runtime's create+start: forks the
 * launcher (which runs vs_vm_run and exits with the process's code) and
 * writes <dir>/vm.json. */
int vs_vm_ctr_spawn(struct vs_engine *e, struct vs_ctr *c, int in_fd, int out_fd, int err_fd,
                    pid_t *pid, vs_error **err);

/* Removes the cgroup vs_vm_ctr_spawn made for c (killing what is left in
 * it), if any: when the launcher has exited, and at rm (after a kill -9 of
 * the monitor). */
int vs_vm_ctr_cgroup_release(const struct vs_ctr *c, vs_error **err);
/* The same for a container directory without a record (what a killed
 * create or rm left: vs_engine_prune_leftovers). */
int vs_vm_cgroup_release_dir(const char *dir, vs_error **err);

/* A host pty for a VM container's -t (the monitor holds the master, the
 * launcher gets the slave, in raw mode: the guest's pty does the line
 * discipline). */
int vs_vm_open_pty(int *master, int *slave, vs_error **err);
/* The EXEC payload (guest/proto.h) for running proc in c's guest, with the
 * container's capabilities, rlimits and seccomp from cfg. */
int vs_vm_exec_payload(const struct vs_ctr *c, const struct oci_config *cfg,
                       const struct oci_process *proc, bool open_stdin, char **buf, size_t *len,
                       vs_error **err);
/* `vessel exec` into a running VM container: sends the request to its
 * launcher and relays the session as `exec` does for a container; *status
 * is the process's exit code (0 with detach, once the request is sent:
 * then a waiter of its own, detached from the caller, keeps the session,
 * drops its output and writes exec_die for exec_id when it ends). */
int vs_vm_exec(struct vs_engine *e, const struct vs_ctr *c, const struct oci_config *cfg,
               const struct oci_process *proc, bool interactive, bool detach, const char *exec_id,
               int *status, vs_error **err);

/* Connects to the launcher's socket in dir (name: for errors). */
int vs_vm_connect(const char *dir, const char *name, vs_error **err);
/* pause/unpause of a running VM container (QMP stop/cont through its
 * launcher). */
int vs_vm_pause(const struct vs_ctr *c, bool pause, vs_error **err);
/* Reads the launcher's answer on fd (its vm.sock): STDERR frames are kept
 * as the message, the first other frame's type and text go to *answer and
 * *data; an EXIT other than "0" that came with a message is that error. */
int vs_vm_launcher_answer(int fd, const struct vs_ctr *c, int *answer, char **data, vs_error **err);
/* What `stats` shows of a VM container: the host CPU time of its QEMU and
 * launcher, and from the guest (when it answers within a second) its
 * memory in use, its RAM, and its process count. */
struct vs_vm_stats {
        uint64_t cpu_ns, mem_used, mem_total, pids;
        bool guest; /* the guest answered */
};
int vs_vm_stats(const struct vs_ctr *c, struct vs_vm_stats *st, vs_error **err);
/* The guest's process table for `top` (guest/proto.h, VS_VM_TOP: text
 * from the guest, hostile: parse with bounds). */
int vs_vm_top(const struct vs_ctr *c, char **table, vs_error **err);

/* Checkpoint/restore (src/vm/checkpoint.c, docs/vm.md). */
/* --vm-rootfs=block: the guest's root is <dir>/vm-root.img. */
bool vs_vm_block_root(const struct vs_ctr *c);
/* The block root's image: made from <dir>/rootfs when missing; with
 * restore, the checkpoint's disk copied into place. */
int vs_vm_root_image(const struct vs_ctr *c, bool restore, char **path, vs_error **err);
/* Saves running VM container c into <dir>/checkpoint (and, with
 * export_file, an archive of it and the container's record); the VM ends
 * (a user's stop) unless leave_running. */
int vs_vm_checkpoint(struct vs_engine *e, struct vs_ctr *c, bool leave_running,
                     const char *export_file, vs_error **err);
int vs_vm_checkpoint_export(const struct vs_ctr *c, const char *file, vs_error **err);
/* Consumes c's restore marker: true when a `restore` wrote it and still
 * waits for this start. */
bool vs_vm_restore_requested(const struct vs_ctr *c);
/* In the monitor a restore started: the addresses the guest held on its
 * vessel network when checkpointed ({"Network", "IPAddress",
 * "GlobalIPv6Address", "MacAddress"}), which its lease must get again; NULL
 * otherwise. Does not consume the restore's marker. */
struct json_object *vs_vm_restore_network(const struct vs_ctr *c);
/* restore --import: a new container (named name, or as exported) from an
 * archive vs_vm_checkpoint_export wrote, its checkpoint in place. */
int vs_vm_import(struct vs_engine *e, const char *file, const char *name, struct vs_ctr **out,
                 vs_error **err);
/* Starts stopped VM container c from its checkpoint. */
int vs_vm_restore(struct vs_engine *e, struct vs_ctr *c, vs_error **err);

/* Networking (src/vm/net.c): podman's name for user-mode networking. */
#define VS_VM_NET_USER "slirp4netns"
/* libslirp's DNS forwarder, the guest's nameserver on that network. */
#define VS_VM_SLIRP_DNS "10.0.2.3"
/* True for the modes a VM's network check handles itself (none, default,
 * host: refused, slirp4netns); vessel networks go through the engine's. */
bool vs_vm_net_own(const char *network);
/* --network/--ip/-p for a VM container, into the host config. */
int vs_vm_net_check(const char *network, const char *ip, char **publish, struct json_object *hc,
                    vs_error **err);
/* QEMU's -netdev value for user-mode networking with bindings' -p. */
char *vs_vm_net_netdev(struct json_object *bindings);
/* --network bridge|NAME: the tap (*fd) on the network's bridge for c's
 * lease, the guest's address, mask and gateway into p, the NIC's hardware
 * address (*mac, the caller frees). */
struct vs_vm_payload;
int vs_vm_net_tap(struct vs_engine *e, const struct vs_ctr *c, struct vs_vm_payload *p, int *fd,
                  char **mac, vs_error **err);
/* The fd QEMU gets a vessel network's tap on. */
#define VS_VM_TAP_FD 6

/* QEMU's own ids on the OCI path (src/vm/oci_root.c). */
/* Where the runtime records which state directory holds which slot of
 * its block of host ids (VESSEL_VM_IDS_DIR overrides it). */
#define VS_VM_OCI_IDS_DIR "/run/vessel-vm-ids"
/* Takes a free slot for state_dir: QEMU's ids 0-65535 are host ids
 * *start.. (uids and gids alike). A slot whose state directory is gone is
 * free. */
int vs_vm_oci_ids_allocate(const char *state_dir, uint32_t *start, vs_error **err);
/* Frees the slots held for state_dir (delete). */
void vs_vm_oci_ids_release(const char *state_dir);
/* The caller's overlay under a bundle's root: its layers (absolute, top
 * first), the directory base holding its upper dir and QEMU's overlay's
 * own work dir (names in base; work_path: the work dir's whole path; base
 * NULL: a read-only overlay), and the options of the caller's that QEMU's
 * overlay must repeat (",key=value..."). */
struct vs_vm_overlay {
        char **lowers;
        char *base, *upper, *work, *work_path;
        char *opts;
};
/* The overlay mounted on root (*out), or *out NULL when root is not an
 * overlay mount; -1 when it is one this runtime cannot mount again (a
 * directory inside it, relative layer paths, data-only layers). */
int vs_vm_overlay_of(const char *root, struct vs_vm_overlay **out, vs_error **err);
void vs_vm_overlay_free(struct vs_vm_overlay *ov);
/* In QEMU's jail (host root, a mount namespace of its own): mounts ov on
 * target with every layer an idmapped mount through idmap_fd, as the
 * mapped root uid/gid; flags: MS_NOSUID and the like. */
int vs_vm_overlay_mount(const struct vs_vm_overlay *ov, const char *target, int idmap_fd, uid_t uid,
                        gid_t gid, unsigned long flags, vs_error **err);
/* Makes QEMU's overlay's work dir afresh (before each boot), and removes
 * it (after). */
int vs_vm_overlay_prepare_work(const struct vs_vm_overlay *ov, vs_error **err);
void vs_vm_overlay_remove_work(const struct vs_vm_overlay *ov);
/* 0 when path's filesystem takes an idmapped mount through idmap_fd. */
int vs_vm_oci_idmappable(const char *path, int idmap_fd, vs_error **err);

/* OCI runtime side (src/vm/oci.c). */
/* True when the bundle asks for a VM (annotation run.vessel.isolation=vm)
 * or vessel was invoked as vessel-vm. */
bool vs_vm_oci_wanted(const struct oci_config *cfg, bool invoked_as_vm);
/* Raises the config's memory limit by VS_VM_HOST_OVERHEAD and its pids
 * limit by VS_VM_HOST_PIDS (before the cgroup is made): the limits are the
 * guest's RAM and the guest's processes. */
void vs_vm_oci_adjust_resources(struct oci_config *cfg);
/* A runtime state's annotations say VM isolation. */
bool vs_vm_oci_state_is_vm(struct json_object *annotations);
/* The OCI runtime's exec into a VM container (state_dir holds the
 * launcher's socket): forks a relay that stands for the exec'd process
 * (the pid file's pid; it exits with the process's code) and relays the
 * caller's stdio (or, with process.terminal, a pty whose master goes to the
 * console socket) to a session in the guest. Without detach, waits for it
 * and returns its status. */
int vs_vm_oci_exec(const char *root, const char *state_dir, const char *id,
                   const struct oci_config *cfg, const struct oci_process *proc,
                   const char *console_socket, const char *pid_file, bool detach, int *exit_status,
                   vs_error **err);
/* Forks the launcher that stands in for the container's init: it waits on
 * the exec fifo (fifo_fd, an O_PATH fd) for `start`, then boots the
 * guest. With process.terminal the console socket gets a pty master. */
/* root: where the initramfs is cached (and a kernel looked for, before the
 * shared cache). */
pid_t vs_vm_oci_spawn(const struct oci_config *cfg, const char *root, const char *state_dir,
                      int fifo_fd, const char *console_socket, vs_error **err);

#endif
