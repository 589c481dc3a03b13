/* The guest's configuration (guest/proto.h: NUL-separated key=value
 * strings) built from an OCI config, shared by the engine's VM containers
 * (ctr.c, exec.c) and the OCI runtime's (oci.c). Internal to src/vm. */
#ifndef VESSEL_VM_PAYLOAD_H
#define VESSEL_VM_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct oci_config;
struct oci_process;

struct vs_vm_payload {
        char *buf;
        size_t len;
};

void vs_vm_payload_add(struct vs_vm_payload *p, const char *key, const char *value);
/* Arguments, environment, working directory, user, terminal and its size. */
void vs_vm_payload_process(const struct oci_process *proc, struct vs_vm_payload *p);
/* The process's isolation, as the runtime applies it on the host:
 * capabilities (masks), rlimits (the caller's open-file limit when proc
 * sets none, as a container inherits it), no_new_privs, and cfg's seccomp
 * program compiled here (cached under cache_dir). */
int vs_vm_payload_security(const char *cache_dir, const struct oci_config *cfg,
                           const struct oci_process *proc, struct vs_vm_payload *p, vs_error **err);
/* An EXEC request's payload: the process with its isolation, and
 * "stdin=1" when its stdin is forwarded. */
/* The rest of the container's isolation, for the agent to apply in the
 * guest as the runtime does on the host: a read-only root ("readonly=1"),
 * the config's tmpfs mounts other than /dev and /dev/shm (which the agent
 * makes itself) as "tmpfs=<MS_ flags>:<options>:<destination>", masked
 * and read-only paths ("mask=", "ropath="), and a pid namespace of its own
 * ("ns=pid") when the config asks for a new one. */
void vs_vm_payload_isolation(const struct oci_config *cfg, struct vs_vm_payload *p);

/* The container's pids limit ("pids=<n>", when n > 0): the agent puts the
 * container's processes, exec'd ones too, in a cgroup of the guest with
 * that pids.max. */
void vs_vm_payload_pids(struct vs_vm_payload *p, int64_t limit);
/* A bind or volume as a 9p share: tag "vol<index>" ("ro:vol<index>" when
 * read-only) and src pushed onto *shares (QEMU's jail binds src at
 * /vm/vol<index>, a regular file at /vm/vol<index>/f), and the agent's
 * "mount=<tag>:<ro|rw>[-file]:<dst>" added to p. */
void vs_vm_payload_share(struct vs_vm_payload *p, char ***shares, size_t index, const char *src,
                         const char *dst, bool ro, bool file);

int vs_vm_payload_exec(const char *cache_dir, const struct oci_config *cfg,
                       const struct oci_process *proc, bool open_stdin, char **buf, size_t *len,
                       vs_error **err);
/* The boot timeout: $VESSEL_VM_BOOT_TIMEOUT seconds, default 60. */
int vs_vm_boot_timeout_ms(void);

#endif
