/* The control channel between vessel (host) and its guest agent: one
 * virtio-serial port named "vessel.ctl", carrying frames of an 8-byte header
 * (type, 3 zero bytes, big-endian payload length) and the payload, the same
 * framing as the engine's attach protocol, plus a session number in the
 * header's second byte: 0 is the container's main process, 1-255 the
 * processes `vessel exec` started (EXEC opens one; its STDIN, STDIN_EOF,
 * RESIZE, SIGNAL, STDOUT, STDERR and EXIT frames carry its number). Shared by guest/agent.c
 * (static, no vessel code) and src/vm/. Everything the guest sends is hostile input to the host:
 * lengths are bounded, types checked.
 *
 * host -> guest: CONFIG (once, first), STDIN, STDIN_EOF, SIGNAL, RESIZE,
 *                EXEC, ACK
 * guest -> host: READY (rootfs mounted, about to exec), STDOUT, STDERR,
 *                EXIT (the process ended; its code), ERROR (setup failed)
 *
 * CONFIG payload: NUL-terminated "key=value" strings (unknown keys ignored):
 *   arg=  (each argv element)   env=  (each KEY=VALUE)   cwd=/path
 *   uid=N  gid=N  group=N (each additional gid)  hostname=NAME
 *   mount=TAG:ro|rw:DEST (a 9p share)  etc.hostname= etc.hosts= etc.resolv.conf=
 *   (the contents of those files)  tty=1 (a pty; rows=N cols=N its size)
 *   stdin=1 (exec: stdin forwarded; otherwise it is closed at once)
 *   root=block (the rootfs is the ext4 disk /dev/vda, not the 9p share)
 *   readonly=1 (the rootfs read-only)  tmpfs=FLAGS:OPTIONS:DEST (MS_ flags)
 *   mask=PATH  ropath=PATH (masked and read-only paths)  ns=pid (a pid
 *   namespace of its own for the process and its execs)
 * SIGNAL, EXIT payload: a decimal number. */
#ifndef VESSEL_GUEST_PROTO_H
#define VESSEL_GUEST_PROTO_H

#include <stddef.h>

#define VS_VM_PORT_NAME    "vessel.ctl"
#define VS_VM_ROOTFS_TAG   "rootfs"
#define VS_VM_FRAME_HEADER 8
#define VS_VM_FRAME_MAX    (1u << 20)

enum vs_vm_frame {
        VS_VM_STDIN = 0,
        VS_VM_STDOUT = 1,
        VS_VM_STDERR = 2,
        VS_VM_EXIT = 3,
        VS_VM_STDIN_EOF = 4,
        VS_VM_RESIZE = 5, /* payload: "rows cols" */
        VS_VM_CONFIG = 16,
        VS_VM_SIGNAL = 17,
        VS_VM_READY = 18,
        VS_VM_ERROR = 19,
        VS_VM_ACK = 20,
        VS_VM_EXEC = 21, /* payload: as CONFIG, for a new process (session) */
        /* Requests on the launcher's vm.sock (not sent to the guest): */
        VS_VM_PAUSE = 22,  /* QMP stop; answered with EXIT 0, or STDERR + EXIT 1 */
        VS_VM_RESUME = 23, /* QMP cont; likewise */
        /* host -> guest on a session of its own, and the guest's answer:
         * "<MemTotal kB> <MemAvailable kB> <processes>" */
        VS_VM_STATS = 24,
        /* On vm.sock: save the VM (docs/vm.md, Checkpoint). The request
         * carries the stream's file as SCM_RIGHTS on a 1-byte message after
         * the frame; the launcher stops the VM, migrates it into the file
         * and answers EXIT 0 (or STDERR + EXIT 1). The client's next frame,
         * CHECKPOINT with "end" (the VM ends, the launcher exits 0) or
         * anything else (or EOF: the VM continues), finishes it, answered
         * with EXIT 0. */
        VS_VM_CHECKPOINT = 25,
        /* host -> guest on a session of its own, and the guest's answer: one
         * line a process, "PID PPID UID UTIME+STIME STARTTIME TTY CMD" (times
         * in the guest's clock ticks since its boot; TTY 0 or the tty's
         * number), then "uptime-ticks HZ" as the first line. */
        VS_VM_TOP = 26,
};

/* The 8-byte header of a frame (shared by the agent and the launcher). */
static inline void vs_vm_frame_header(unsigned char h[VS_VM_FRAME_HEADER], int type,
                                      unsigned session, size_t len)
{
        h[0] = (unsigned char) type;
        h[1] = (unsigned char) session;
        h[2] = h[3] = 0;
        h[4] = (unsigned char) (len >> 24);
        h[5] = (unsigned char) (len >> 16);
        h[6] = (unsigned char) (len >> 8);
        h[7] = (unsigned char) len;
}

/* Its payload length (callers bound it by VS_VM_FRAME_MAX). */
static inline size_t vs_vm_frame_len(const unsigned char h[VS_VM_FRAME_HEADER])
{
        return (size_t) h[4] << 24 | (size_t) h[5] << 16 | (size_t) h[6] << 8 | h[7];
}

#endif
