/* Shared between src/runtime/cgroup*.c and tests/unit/test_cgroup.c: the
 * detected layout of cgroup hierarchies, the per-hierarchy directories of a
 * container, file helpers, and the pure conversions runc uses between the
 * v1 and v2 interfaces. Not part of the runtime's public API. */
#ifndef VESSEL_RUNTIME_CGROUP_INTERNAL_H
#define VESSEL_RUNTIME_CGROUP_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/config.h"
#include "util/error.h"

/* Files read instead of /proc/self/mountinfo and /proc/self/cgroup, and
 * the controller list used instead of <cgroup2 mount>/cgroup.controllers
 * (space separated), so tests can describe any host. */
#define VS_CGROUP_ENV_MOUNTINFO      "VESSEL_CGROUP_MOUNTINFO"
#define VS_CGROUP_ENV_PROC_CGROUP    "VESSEL_CGROUP_PROC_CGROUP"
#define VS_CGROUP_ENV_V2_CONTROLLERS "VESSEL_CGROUP_V2_CONTROLLERS"

/* One mounted hierarchy. */
struct cg_hier {
        bool v2;
        /* v1: the hierarchy's controllers as /proc/self/cgroup names them
         * ("cpu", "cpuacct", "name=systemd"); v2: controllers available
         * on cgroup2 (its root cgroup.controllers). NULL-terminated. */
        char **controllers;
        char *mountpoint; /* "/sys/fs/cgroup/memory" */
        char *root;       /* mountinfo root: the hierarchy path mounted there */
        char *own;        /* this process's cgroup in the hierarchy */
};

struct cg_layout {
        struct cg_hier *h;
        size_t n;
        const char *mode; /* "v1", "hybrid" or "v2" */
};

/* Parses the texts of mountinfo and /proc/self/cgroup. v2_controllers:
 * space-separated list, or NULL to read <cgroup2 mount>/cgroup.controllers
 * (absent file: none). Fails when no cgroup hierarchy is mounted. */
int cg_layout_parse(const char *mountinfo, const char *proc_cgroup, const char *v2_controllers,
                    struct cg_layout **out, vs_error **err);
void cg_layout_free(struct cg_layout *l);
/* The layout of this host (cached; honours the VESSEL_CGROUP_* variables). */
const struct cg_layout *cg_layout_get(vs_error **err);

/* Directory on disk of cgroup path cgpath (from the hierarchy's root). */
char *cg_hier_dir(const struct cg_hier *h, const char *cgpath);
/* The container's cgroup path in h: linux.cgroupsPath absolute (used as
 * is), relative (beneath h->own) or NULL (<own>/vessel-<id>). The result
 * is normalised ("//" and "." removed); ".." is refused. */
int cg_container_path(const struct cg_hier *h, const char *id, const char *cgroups_path, char **out,
                      vs_error **err);

/* The container's directory in one hierarchy. */
struct cg_dir {
        bool v2;
        char *mountpoint;   /* of the hierarchy, as detected at creation */
        char **controllers; /* as in struct cg_hier */
        char *path;         /* the container's cgroup directory */
        /* Shallowest directory vessel created for path (path itself or an
         * ancestor); NULL when path existed before. Removed up to here. */
        char *created;
};

struct vs_cgroup {
        char *mode;
        struct cg_dir *dirs;
        size_t n;
};

/* The directory that serves controller ("memory", "cpu", ...): a v1
 * hierarchy that has it, else the cgroup2 directory when cgroup2 offers
 * it. "devices" and "freezer" fall back to cgroup2 whenever it is there
 * (BPF device programs and cgroup.freeze are core cgroup2 features). */
const struct cg_dir *cg_find(const struct vs_cgroup *cg, const char *controller);
const struct cg_dir *cg_find_v2(const struct vs_cgroup *cg);
bool cg_strv_has(char *const *v, const char *s);

/* File helpers. cg_write's error: "<field>: cannot set <file> to <value>
 * in <dir>: <strerror>" (no "<field>: " when field is NULL). */
/* cg_write in two steps, for several writes through one open file: the
 * open (with cg_write's errors for a missing file), then one write. */
int cg_open_write(const char *dir, const char *file, const char *value, const char *field,
                  vs_error **err);
int cg_write_fd(int fd, const char *dir, const char *file, const char *value, const char *field,
                vs_error **err);
int cg_write(const char *dir, const char *file, const char *value, const char *field,
             vs_error **err);
int cg_writef(const char *dir, const char *file, const char *field, vs_error **err, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));
/* Whole file, trailing newlines removed. */
int cg_read(const char *dir, const char *file, char **out, vs_error **err);
/* A number; "max" and "-1" read as UINT64_MAX. */
int cg_read_u64(const char *dir, const char *file, uint64_t *out, vs_error **err);
/* For stats: a missing or unreadable file counts as 0. */
uint64_t cg_read_or_zero(const char *dir, const char *file);
void cg_set_u64(json_object *o, const char *key, uint64_t v);
/* The value of "key N" in a flat-keyed file (memory.stat, cgroup.events);
 * -1 when the file or the key is missing. */
int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out);
bool cg_has_file(const char *dir, const char *file);

/* Conversions, with runc's formulas (docs/cgroups.md). */
/* cpu.shares [2, 262144] -> cpu.weight [1, 10000]; 0 stays 0 (unset). */
uint64_t vs_cgroup_shares_to_weight(uint64_t shares);
/* blkio.weight [10, 1000] -> io.weight [1, 10000]; 0 stays 0 (unset). */
uint64_t vs_cgroup_blkio_weight_to_io_weight(uint64_t weight);
/* memory.swap (memory+swap, v1 meaning) -> memory.swap.max. swap and limit
 * use the spec's encoding (0: unset, -1: unlimited); *out gets -1 for
 * "max" and 0 for "leave alone". Fails when swap is set without a limit or
 * below it. */
int vs_cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, vs_error **err);
/* cpu.max content for a quota/period update; current: the file's present
 * content (keeps the quota when only the period changes), may be NULL. */
char *vs_cgroup_cpu_max(bool has_quota, int64_t quota, bool has_period, uint64_t period,
                        const char *current);
/* "2048kB" directory suffix of /sys/kernel/mm/hugepages -> "2MB". */
char *vs_cgroup_hugepage_name(unsigned long kb);
/* The huge page sizes of this host, named as hugetlb.<size>.* files name
 * them ("2MB", "1GB"); an empty vector when it has none. Caller frees. */
char **vs_cgroup_hugepage_sizes(void);
/* Parses a cpuset list into a bitmap of nbits; -1 on bad syntax or an id
 * >= nbits. */
int vs_cgroup_parse_id_list(const char *s, unsigned char *bits, size_t nbits);
/* Fails (naming field) unless every id of want is in avail. what: "CPU". */
int vs_cgroup_check_id_subset(const char *want, const char *avail, const char *field,
                              const char *what, vs_error **err);

/* Resource application per interface version. update: an update of a
 * running container rather than a creation. */
int cg_v1_memory(const char *dir, const struct oci_resources *r, bool update, vs_error **err);
int cg_v1_cpu(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v1_blkio(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v1_hugetlb(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v1_devices(const char *dir, const struct oci_resources *r, bool update, vs_error **err);
int cg_v1_net_cls(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v1_net_prio(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v1_stats(const struct vs_cgroup *cg, json_object *stats, vs_error **err);

int cg_v2_memory(const char *dir, const struct oci_resources *r, bool update, vs_error **err);
int cg_v2_cpu(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v2_io(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v2_hugetlb(const char *dir, const struct oci_resources *r, vs_error **err);
int cg_v2_unified(const char *dir, const struct oci_resources *r, vs_error **err);
/* Enables controllers in cgroup.subtree_control of each directory from
 * the cgroup2 mount down to the parent of leaf: those in only, or every
 * available one when only is NULL (what runc does on pure v2). Best
 * effort: a controller that cannot be enabled shows up later as a missing
 * interface file, reported with the field that needed it. */
void cg_v2_enable_controllers(const char *mountpoint, const char *leaf, char *const *only);
int cg_v2_stats(const struct vs_cgroup *cg, json_object *stats, vs_error **err);

/* Device rules -> BPF_PROG_TYPE_CGROUP_DEVICE program (cgroup_devices_bpf.c).
 * Rules are matched last-to-first; the first match decides; nothing
 * matching means deny. */
struct bpf_insn;
struct bpf_insn *vs_cgroup_devices_bpf_build(const struct oci_device_cgroup *rules, size_t n,
                                             size_t *count, vs_error **err);
/* Loads the program and attaches it to dir (BPF_F_ALLOW_MULTI), then
 * detaches any program attached before, so an update replaces the rules. */
int cg_v2_devices(const char *dir, const struct oci_resources *r, vs_error **err);

#endif
