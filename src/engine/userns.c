/* User namespaces of engine containers (docs/userns.md).
 *
 * HostConfig.UsernsMode is "" (no user namespace, the host's ids), "auto"
 * (a range of VS_USERNS_AUTO_SIZE host ids allocated from the /etc/subuid
 * and /etc/subgid entries of user "vessel") or "private" (--uidmap/--gidmap
 * given). HostConfig.IDMappings {UidMap, GidMap} holds the mappings as
 * "CONTAINER:HOST:SIZE" strings, podman's syntax.
 *
 * Allocations are recorded as <data-root>/userns/<container id>, written
 * and removed under the names lock, the lock that also guards the creation
 * and removal of container records. An allocation whose container has no
 * record.json (a create or rm killed between its steps) is stale and
 * reclaimed by the next allocation, so a kill -9 at any point neither
 * leaks a range for ever nor lets two containers share one. */
#include "engine/rootless.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "vm/vm.h"
#include "runtime/idmap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUBUID_FILE "/etc/subuid"
#define SUBGID_FILE "/etc/subgid"
#define SUBID_USER  "vessel"

/* "C:H:S" -> mapping; the flag names the option in errors. */
static int parse_map(const char *flag, const char *s, struct oci_id_mapping *m, vs_error **err)
{
        unsigned long long v[3];
        const char *p = s;
        for (int i = 0; i < 3; i++) {
                char *end;
                if (*p < '0' || *p > '9')
                        goto bad;
                errno = 0;
                v[i] = strtoull(p, &end, 10);
                if (errno || v[i] > UINT32_MAX || (i < 2 && *end != ':') || (i == 2 && *end))
                        goto bad;
                p = end + 1;
        }
        if (v[2] == 0 || v[0] + v[2] > (1ULL << 32) - 1 || v[1] + v[2] > (1ULL << 32) - 1)
                return vs_fail(err, "%s %s: the range is empty or passes id 4294967294", flag, s);
        *m = (struct oci_id_mapping){(uint32_t) v[0], (uint32_t) v[1], (uint32_t) v[2]};
        return 0;
bad:
        return vs_fail(err, "%s: invalid mapping '%s' (CONTAINER_ID:HOST_ID:SIZE)", flag, s);
}

static bool overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
        return a < b + bn && b < a + an;
}

/* The kernel refuses overlapping lines; say which, and demand a root. */
static int check_maps(const char *flag, const struct oci_id_mapping *m, size_t n, vs_error **err)
{
        bool root = false;
        for (size_t i = 0; i < n; i++) {
                root |= m[i].container_id == 0;
                for (size_t j = 0; j < i; j++) {
                        if (overlaps(m[i].container_id, m[i].size, m[j].container_id, m[j].size))
                                return vs_fail(err,
                                               "%s: container ids of %u:%u:%u and %u:%u:%u "
                                               "overlap",
                                               flag, m[j].container_id, m[j].host_id, m[j].size,
                                               m[i].container_id, m[i].host_id, m[i].size);
                        if (overlaps(m[i].host_id, m[i].size, m[j].host_id, m[j].size))
                                return vs_fail(err, "%s: host ids of %u:%u:%u and %u:%u:%u overlap",
                                               flag, m[j].container_id, m[j].host_id, m[j].size,
                                               m[i].container_id, m[i].host_id, m[i].size);
                }
        }
        if (n > 340)
                return vs_fail(err, "%s: %zu mappings, the kernel takes at most 340", flag, n);
        if (!root)
                return vs_fail(err, "%s: container id 0 (root) must be mapped", flag);
        return 0;
}

static json_object *maps_json(const struct oci_id_mapping *m, size_t n)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                char s[48];
                snprintf(s, sizeof(s), "%u:%u:%u", m[i].container_id, m[i].host_id, m[i].size);
                json_object_array_add(a, json_object_new_string(s));
        }
        return a;
}

static int parse_list(const char *flag, char *const *list, struct oci_id_mapping **out, size_t *n,
                      vs_error **err)
{
        *n = 0;
        for (size_t i = 0; list && list[i]; i++) {
                *out = xrealloc(*out, (*n + 1) * sizeof(**out));
                if (parse_map(flag, list[i], &(*out)[*n], err) < 0)
                        return -1;
                (*n)++;
        }
        return *n ? check_maps(flag, *out, *n, err) : 0;
}

static void set_mappings(json_object *hc, const char *key, const struct oci_id_mapping *u,
                         size_t nu, const struct oci_id_mapping *g, size_t ng)
{
        json_object *idm = json_object_new_object();
        json_object_object_add(idm, "UidMap", maps_json(u, nu));
        json_object_object_add(idm, "GidMap", maps_json(g, ng));
        json_object_object_add(hc, key, idm);
}

/* podman's keep-id in the rootless engine: container id U (the user's
 * host uid) is the engine's 0 (which is U on the host), container ids
 * 0..U-1 are the engine's 1..U, and the ids above U the engine's own
 * (n: the engine's ids 0..n-1). */
static size_t keep_id_map(uint32_t u, uint32_t n, struct oci_id_mapping m[3])
{
        uint32_t subids = n > 0 ? n - 1 : 0;
        size_t k = 0;
        uint32_t below = u < subids ? u : subids;
        if (below)
                m[k++] = (struct oci_id_mapping){0, 1, below};
        m[k++] = (struct oci_id_mapping){u, 0, 1};
        if (subids > u)
                m[k++] = (struct oci_id_mapping){u + 1, u + 1, subids - u};
        return k;
}

/* --userns=keep-id: the rootless engine's only (root's containers have
 * the host's ids to keep: podman's rootful keep-id is not offered). */
static int parse_keep_id(const char *mode, bool maps, json_object *hc, vs_error **err)
{
        if (strcmp(mode, "keep-id") != 0)
                return vs_fail(err, "--userns=%s: keep-id takes no options here", mode);
        if (maps)
                return vs_fail(err, "--userns=keep-id conflicts with --uidmap/--gidmap");
        uint32_t uid, gid, nu, ng;
        if (vs_rootless_ids(&uid, &gid, &nu, &ng, err) < 0)
                return -1;
        struct oci_id_mapping u[3], g[3];
        size_t ku = keep_id_map(uid, nu, u), kg = keep_id_map(gid, ng, g);
        if (u[0].container_id != 0 || g[0].container_id != 0)
                return vs_fail(err, "--userns=keep-id: you have no subordinate ids to give "
                                    "the container's root (add a range to /etc/subuid and "
                                    "/etc/subgid)");
        set_mappings(hc, "IDMappings", u, ku, g, kg);
        json_object_object_add(hc, "UsernsMode", json_object_new_string("keep-id"));
        return 0;
}

/* In the rootless engine --uidmap's host ids are the engine namespace's
 * (podman's rule): 0 is you, 1.. your subordinate ids. */
static int check_engine_ids(const char *flag, const struct oci_id_mapping *m, size_t n, bool uid,
                            vs_error **err)
{
        uint32_t ru, rg, nu, ng;
        if (n == 0 || vs_rootless_ids(&ru, &rg, &nu, &ng, err) < 0)
                return n == 0 ? 0 : -1;
        uint32_t have = uid ? nu : ng;
        for (size_t i = 0; i < n; i++)
                if ((uint64_t) m[i].host_id + m[i].size > have)
                        return vs_fail(err,
                                       "%s %u:%u:%u: the rootless engine has ids 0-%u only "
                                       "(0 is you, 1-%u your subordinate ids)",
                                       flag, m[i].container_id, m[i].host_id, m[i].size, have - 1,
                                       have - 1);
        return 0;
}

int vs_userns_parse_flags(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        _cleanup_free_ struct oci_id_mapping *u = NULL, *g = NULL;
        size_t nu = 0, ng = 0;
        if (parse_list("--uidmap", f->uidmap, &u, &nu, err) < 0 ||
            parse_list("--gidmap", f->gidmap, &g, &ng, err) < 0)
                return -1;
        const char *mode = f->userns;
        bool vm = f->isolation && strcmp(f->isolation, "vm") == 0;
        bool keep_id = mode && strncmp(mode, "keep-id", 7) == 0 && (!mode[7] || mode[7] == ':');
        if (vm && ((mode && (strcmp(mode, "auto") == 0 || keep_id)) || nu || ng))
                return vs_fail(err, "--userns/--uidmap are not supported with --isolation=vm "
                                    "(the guest kernel is the boundary)");
        if (vs_rootless() && keep_id)
                return parse_keep_id(mode, nu || ng, hc, err);
        if (vs_rootless() && mode && strcmp(mode, "auto") == 0)
                return vs_fail(err, "--userns=auto: the rootless engine has one range of ids "
                                    "(yours, from /etc/subuid) to give containers, not a pool; "
                                    "use --userns=keep-id or --uidmap");
        if (vs_rootless() && (check_engine_ids("--uidmap", u, nu, true, err) < 0 ||
                              check_engine_ids("--gidmap", g, ng, false, err) < 0))
                return -1;
        if (mode && strcmp(mode, "auto") != 0 && strcmp(mode, "host") != 0 && *mode)
                return vs_fail(err, "--userns: unsupported mode '%s' (auto, host)", mode);
        if (mode && *mode && (nu || ng))
                return vs_fail(err, "--userns=%s conflicts with --uidmap/--gidmap", mode);
        if (nu || ng) {
                /* podman: one of the two given stands for both */
                if (vs_rootless() && !(nu && ng) &&
                    check_engine_ids(nu ? "--uidmap" : "--gidmap", nu ? u : g, nu ? nu : ng, !nu,
                                     err) < 0)
                        return -1;
                set_mappings(hc, "IDMappings", nu ? u : g, nu ? nu : ng, ng ? g : u, ng ? ng : nu);
                json_object_object_add(hc, "UsernsMode", json_object_new_string("private"));
                return 0;
        }
        if (mode == NULL) {
                /* The configured default; a privileged container keeps the
                 * host's ids unless --userns=auto is explicit (Docker's
                 * userns-remap rule). */
                const char *def = vs_config_get()->userns;
                mode = def && strcmp(def, "auto") == 0 && !f->privileged && !vm && !vs_rootless()
                           ? "auto"
                           : "";
        }
        json_object_object_add(hc, "UsernsMode",
                               json_object_new_string(strcmp(mode, "auto") == 0 ? "auto" : ""));
        return 0;
}

/* ---- HostConfig -> mappings ---- */

static int maps_from_json(json_object *a, struct oci_id_mapping **out, size_t *n, vs_error **err)
{
        size_t len = a ? json_object_array_length(a) : 0;
        *out = len ? xcalloc(len, sizeof(**out)) : NULL;
        *n = len;
        for (size_t i = 0; i < len; i++)
                if (parse_map("HostConfig.IDMappings",
                              json_object_get_string(json_object_array_get_idx(a, i)), &(*out)[i],
                              err) < 0)
                        return -1;
        return 0;
}

static int mappings_at(json_object *hc, const char *key, struct vs_idmaps *out, vs_error **err)
{
        *out = (struct vs_idmaps){0};
        json_object *idm = json_object_object_get(hc, key);
        if (idm == NULL)
                return 0;
        if (maps_from_json(json_object_object_get(idm, "UidMap"), &out->uid, &out->n_uid, err) <
                0 ||
            maps_from_json(json_object_object_get(idm, "GidMap"), &out->gid, &out->n_gid, err) < 0)
                return -1;
        return out->n_uid > 0 ? 1 : 0;
}

int vs_userns_mappings(json_object *hc, struct vs_idmaps *out, vs_error **err)
{
        return mappings_at(hc, "IDMappings", out, err);
}

int vs_userns_vm_mappings(json_object *hc, struct vs_idmaps *out, vs_error **err)
{
        return mappings_at(hc, VS_USERNS_HC_VM, out, err);
}

int vs_userns_rootfs_mappings(const struct vs_ctr *c, struct vs_idmaps *out, vs_error **err)
{
        int r = vs_userns_mappings(c->host_config, out, err);
        /* A VM's QEMU sees the overlay through its own user namespace
         * (docs/vm.md, "QEMU's jail"): its layers are idmapped with that
         * range (a block root is read by mkfs on the host instead: the
         * container's own ids). */
        if (r == 0 && vs_ctr_is_vm(c) && !vs_vm_block_root(c))
                r = vs_userns_vm_mappings(c->host_config, out, err);
        return r;
}

int vs_userns_unshift_maps(const struct vs_ctr *c, struct vs_idmaps *back, vs_error **err)
{
        *back = (struct vs_idmaps){0};
        int r = vs_rootless() ? vs_userns_mappings(c->host_config, back, err) : 0;
        if (r <= 0)
                return r;
        for (size_t i = 0; i < back->n_uid + back->n_gid; i++) {
                struct oci_id_mapping *x =
                    i < back->n_uid ? &back->uid[i] : &back->gid[i - back->n_uid];
                uint32_t t = x->container_id;
                x->container_id = x->host_id;
                x->host_id = t;
        }
        return 1;
}

void vs_idmaps_clear(struct vs_idmaps *m)
{
        free(m->uid);
        free(m->gid);
        *m = (struct vs_idmaps){0};
}

uint32_t vs_idmaps_host(const struct oci_id_mapping *m, size_t n, uint32_t id)
{
        for (size_t i = 0; i < n; i++)
                if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
                        return m[i].host_id + (id - m[i].container_id);
        return 65534;
}

/* ---- /etc/subuid ---- */

struct range {
        uint64_t start, size;
};

/* The ranges of user "vessel" (by name, or by its uid when it exists).
 * With none (not NULL), a missing file or entry is not an error: *none
 * says so and *n is 0. */
static int read_subids(const char *path, struct range **out, size_t *n, bool *none, vs_error **err)
{
        *n = 0;
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *rerr = NULL;
        if (none)
                *none = false;
        if (vs_read_file(path, &text, NULL, &rerr) < 0) {
                if (rerr->errno_ == ENOENT && none) {
                        *none = true;
                        return 0;
                }
                if (rerr->errno_ == ENOENT)
                        return vs_fail(err,
                                       "--userns=auto: %s does not exist (add a line "
                                       "'" SUBID_USER ":START:COUNT', COUNT >= %d)",
                                       path, VS_USERNS_AUTO_SIZE);
                *err = steal_ptr(rerr);
                return -1;
        }
        char uidname[16] = "";
        struct passwd *pw = getpwnam(SUBID_USER);
        if (pw)
                snprintf(uidname, sizeof(uidname), "%u", (unsigned) pw->pw_uid);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL)
                        continue;
                *c1 = '\0';
                if (strcmp(line, SUBID_USER) != 0 && (!*uidname || strcmp(line, uidname) != 0))
                        continue;
                char *e1, *e2;
                errno = 0;
                unsigned long long s = strtoull(c1 + 1, &e1, 10);
                unsigned long long z = strtoull(c2 + 1, &e2, 10);
                if (errno || e1 != c2 || (*e2 && *e2 != ' ' && *e2 != '\r') || s + z > UINT32_MAX)
                        continue;
                *out = xrealloc(*out, (*n + 1) * sizeof(**out));
                (*out)[(*n)++] = (struct range){s, z};
        }
        if (*n == 0 && none) {
                *none = true;
                return 0;
        }
        if (*n == 0)
                return vs_fail(err,
                               "--userns=auto: %s has no entry for user '" SUBID_USER
                               "' (add a line '" SUBID_USER ":START:COUNT', COUNT >= %d)",
                               path, VS_USERNS_AUTO_SIZE);
        return 0;
}

/* Lowest start of a free block of `size` ids inside `avail`, clear of
 * every `used` range. */
static int first_fit(const struct range *avail, size_t na, const struct range *used, size_t nu,
                     uint64_t size, uint64_t *out)
{
        bool found = false;
        uint64_t best = 0;
        for (size_t a = 0; a < na; a++) {
                /* Candidates: the range start and the end of each used one. */
                for (size_t k = 0; k <= nu; k++) {
                        uint64_t s = k == nu ? avail[a].start : used[k].start + used[k].size;
                        if (s < avail[a].start || s + size > avail[a].start + avail[a].size)
                                continue;
                        bool clash = false;
                        for (size_t j = 0; j < nu && !clash; j++)
                                clash = overlaps(s, size, used[j].start, used[j].size);
                        if (!clash && (!found || s < best)) {
                                best = s;
                                found = true;
                        }
                }
        }
        *out = best;
        return found ? 0 : -1;
}

/* ---- allocation records ---- */

static char *alloc_dir(const struct vs_engine *e)
{
        return xasprintf("%s/userns", e->data_root);
}

/* Reads the live allocations, removing stale ones (no record.json). */
static int live_allocations(struct vs_engine *e, struct range **uids, struct range **gids,
                            size_t *n, vs_error **err)
{
        *n = 0;
        _cleanup_free_ char *dir = alloc_dir(e);
        DIR *d = opendir(dir);
        if (d == NULL)
                return errno == ENOENT ? 0 : vs_fail_errno(err, "cannot read %s", dir);
        struct dirent *de;
        int ret = 0;
        while ((de = readdir(d)) != NULL && ret == 0) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
                _cleanup_free_ char *rec = xasprintf("%s/%s/record.json", e->ctr_root, de->d_name);
                if (!vs_path_exists(rec)) {
                        if (unlink(path) < 0 && errno != ENOENT)
                                ret = vs_fail_errno(err, "cannot remove stale allocation %s", path);
                        continue;
                }
                _cleanup_free_ char *text = NULL;
                if (vs_read_file(path, &text, NULL, err) < 0) {
                        ret = -1;
                        break;
                }
                unsigned long long us, un, gs, gn;
                if (sscanf(text, "uid %llu %llu gid %llu %llu", &us, &un, &gs, &gn) != 4) {
                        ret = vs_fail(err, "%s: malformed allocation record", path);
                        break;
                }
                *uids = xrealloc(*uids, (*n + 1) * sizeof(**uids));
                *gids = xrealloc(*gids, (*n + 1) * sizeof(**gids));
                (*uids)[*n] = (struct range){us, un};
                (*gids)[*n] = (struct range){gs, gn};
                (*n)++;
        }
        closedir(d);
        return ret;
}

/* A VM's jail (docs/vm.md, "QEMU's jail") without 'vessel' entries in
 * /etc/subuid or /etc/subgid takes its range from here: systemd's unused
 * block 0x70000000-0x7fffffff (its UIDS-GIDS.md), 1024 ranges. */
#define VM_JAIL_IDS_START 1879048192ULL
#define VM_JAIL_IDS_COUNT (1024ULL * VS_USERNS_AUTO_SIZE)

/* The available ranges: the 'vessel' entries; for a VM's jail, the block
 * above when there are none. */
static int available(const char *path, bool vm, struct range **out, size_t *n, vs_error **err)
{
        bool none = false;
        if (read_subids(path, out, n, vm ? &none : NULL, err) < 0)
                return -1;
        if (none) {
                *out = xrealloc(*out, sizeof(**out));
                (*out)[0] = (struct range){VM_JAIL_IDS_START, VM_JAIL_IDS_COUNT};
                *n = 1;
        }
        return 0;
}

int vs_userns_allocate(struct vs_engine *e, const char *id, json_object *hc, vs_error **err)
{
        json_object *mode = json_object_object_get(hc, "UsernsMode");
        json_object *iso = json_object_object_get(hc, "Isolation");
        bool vm = iso && strcmp(json_object_get_string(iso), "vm") == 0;
        if (!vm && (mode == NULL || strcmp(json_object_get_string(mode), "auto") != 0))
                return 0;
        const char *what = vm ? "--isolation=vm (QEMU's own ids)" : "--userns=auto";
        _cleanup_free_ struct range *su = NULL, *sg = NULL, *uu = NULL, *ug = NULL;
        size_t nsu = 0, nsg = 0, nused = 0;
        if (available(SUBUID_FILE, vm, &su, &nsu, err) < 0 ||
            available(SUBGID_FILE, vm, &sg, &nsg, err) < 0 ||
            live_allocations(e, &uu, &ug, &nused, err) < 0)
                return -1;
        uint64_t ustart, gstart;
        if (first_fit(su, nsu, uu, nused, VS_USERNS_AUTO_SIZE, &ustart) < 0)
                return vs_fail(err,
                               "%s: no free range of %d ids left in the '" SUBID_USER
                               "' entries of " SUBUID_FILE " (%zu containers hold one)",
                               what, VS_USERNS_AUTO_SIZE, nused);
        if (first_fit(sg, nsg, ug, nused, VS_USERNS_AUTO_SIZE, &gstart) < 0)
                return vs_fail(err,
                               "%s: no free range of %d ids left in the '" SUBID_USER
                               "' entries of " SUBGID_FILE " (%zu containers hold one)",
                               what, VS_USERNS_AUTO_SIZE, nused);
        _cleanup_free_ char *dir = alloc_dir(e);
        if (vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, id);
        _cleanup_free_ char *text = xasprintf("uid %" PRIu64 " %d gid %" PRIu64 " %d\n", ustart,
                                              VS_USERNS_AUTO_SIZE, gstart, VS_USERNS_AUTO_SIZE);
        if (vs_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
                return -1;
        struct oci_id_mapping um = {0, (uint32_t) ustart, VS_USERNS_AUTO_SIZE};
        struct oci_id_mapping gm = {0, (uint32_t) gstart, VS_USERNS_AUTO_SIZE};
        set_mappings(hc, vm ? VS_USERNS_HC_VM : "IDMappings", &um, 1, &gm, 1);
        return 0;
}

void vs_userns_release(struct vs_engine *e, const char *id)
{
        _cleanup_free_ char *dir = alloc_dir(e);
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, id);
        unlink(path);
}

int vs_userns_fd(const struct vs_idmaps *m, vs_error **err)
{
        return vs_idmap_userns_fd(m->uid, m->n_uid, m->gid, m->n_gid, err);
}

/* ---- volumes ---- */

int vs_userns_prepare_volumes(const struct vs_ctr *c, const struct vs_idmaps *m, vs_error **err)
{
        const char *mode =
            json_object_get_string(json_object_object_get(c->host_config, "UsernsMode"));
        if (mode && strcmp(mode, "keep-id") == 0)
                return 0; /* the engine's root is you: a new volume is already yours */
        uid_t uid = vs_idmaps_host(m->uid, m->n_uid, 0);
        gid_t gid = vs_idmaps_host(m->gid, m->n_gid, 0);
        struct stat st;
        size_t n = c->mounts ? json_object_array_length(c->mounts) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *mt = json_object_array_get_idx(c->mounts, i);
                const char *type = json_object_get_string(json_object_object_get(mt, "Type"));
                const char *src = json_object_get_string(json_object_object_get(mt, "Source"));
                if (type == NULL || src == NULL || strcmp(type, "volume") != 0)
                        continue;
                if (lstat(src, &st) < 0)
                        return vs_fail_errno(err, "volume %s", src);
                if (S_ISDIR(st.st_mode) && st.st_uid == 0 && st.st_gid == 0 &&
                    lchown(src, uid, gid) < 0)
                        return vs_fail_errno(err, "cannot give volume %s to host uid %u", src,
                                             (unsigned) uid);
        }
        return 0;
}

/* ---- keep-id: the user in the container's /etc/passwd and /etc/group ---- */

/* Does a line of db (passwd or group) have id in its third field? */
static bool db_has_id(const char *db, uint32_t id)
{
        for (const char *l = db; l && *l;) {
                const char *c1 = strchr(l, ':'), *nl = strchr(l, '\n');
                const char *c2 = c1 && (!nl || c1 < nl) ? strchr(c1 + 1, ':') : NULL;
                if (c2 && (!nl || c2 < nl)) {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(c2 + 1, &end, 10);
                        if (!errno && end != c2 + 1 && *end == ':' && v == id)
                                return true;
                }
                l = nl ? nl + 1 : NULL;
        }
        return false;
}

/* Writes dir/name: the container's file with line added when no line has
 * the id. */
static int write_db(int rootfd, const char *path, const char *dir, const char *name, uint32_t id,
                    const char *line, vs_error **err)
{
        _cleanup_free_ char *text = NULL, *what = xasprintf("the container's %s", path);
        _cleanup_error_ vs_error *e = NULL;
        if (vs_read_regular_in_root(rootfd, path, &text, NULL, what, &e) < 0) {
                if (e->errno_ != ENOENT && e->errno_ != ENOTDIR) {
                        *err = steal_ptr(e);
                        return -1;
                }
                text = xstrdup("");
        }
        size_t len = strlen(text);
        _cleanup_free_ char *out =
            db_has_id(text, id)
                ? xstrdup(text)
                : xasprintf("%s%s%s\n", text, len && text[len - 1] != '\n' ? "\n" : "", line);
        _cleanup_free_ char *dst = xasprintf("%s/%s", dir, name);
        return vs_write_file_replace(dst, out, strlen(out), 0644, err);
}

int vs_userns_keep_id_files(const struct vs_ctr *c, int rootfd, uint32_t *uid, char **home,
                            vs_error **err)
{
        *home = NULL;
        const char *mode =
            json_object_get_string(json_object_object_get(c->host_config, "UsernsMode"));
        if (mode == NULL || strcmp(mode, "keep-id") != 0)
                return 0;
        uint32_t gid, nu, ng;
        if (vs_rootless_ids(uid, &gid, &nu, &ng, err) < 0)
                return -1;
        struct passwd *pw = getpwuid(*uid);
        _cleanup_free_ char *name = pw ? xstrdup(pw->pw_name) : xasprintf("%u", *uid);
        _cleanup_free_ char *dir = xstrdup(pw && *pw->pw_dir ? pw->pw_dir : "/");
        _cleanup_free_ char *gecos = xstrdup(pw && pw->pw_gecos ? pw->pw_gecos : "");
        struct group *gr = getgrgid(gid);
        _cleanup_free_ char *gname = gr ? xstrdup(gr->gr_name) : xstrdup(name);
        _cleanup_free_ char *pl =
            xasprintf("%s:*:%u:%u:%s:%s:/bin/sh", name, *uid, gid, gecos, dir);
        _cleanup_free_ char *gl = xasprintf("%s:x:%u:%s", gname, gid, name);
        if (write_db(rootfd, "/etc/passwd", c->dir, "passwd", *uid, pl, err) < 0 ||
            write_db(rootfd, "/etc/group", c->dir, "group", gid, gl, err) < 0)
                return -1;
        *home = steal_ptr(dir);
        return 1;
}
