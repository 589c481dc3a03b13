#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "version.h"

#include <ctype.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define HAVE_SCMP_WAITKILL (SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6))

static const char *const supported_actions[] = {
    "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",        "SCMP_ACT_TRAP",        NULL,
};

static const struct {
        const char *name;
        enum scmp_compare op;
} operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

enum flag_kind { FLAG_ATTR, FLAG_NEEDS_LISTENER };

static const struct {
        const char *name;
        enum flag_kind kind;
        enum scmp_filter_attr attr;
        unsigned int min_api; /* seccomp_api_get() level that brought the attribute */
} filter_flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", FLAG_ATTR, SCMP_FLTATR_CTL_TSYNC, 2},
    {"SECCOMP_FILTER_FLAG_LOG", FLAG_ATTR, SCMP_FLTATR_CTL_LOG, 3},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", FLAG_ATTR, SCMP_FLTATR_CTL_SSB, 4},
#if HAVE_SCMP_WAITKILL
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", FLAG_ATTR, SCMP_FLTATR_CTL_WAITKILL, 7},
#else
    /* Only meaningful together with a notify listener, which vessel does
     * not offer; older libseccomp cannot express it at all. */
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", FLAG_NEEDS_LISTENER, 0, 0},
#endif
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64's token; 0 when this libseccomp
 * does not know it. */
static uint32_t arch_token(const char *name)
{
        const char *prefix = "SCMP_ARCH_";
        if (strncmp(name, prefix, strlen(prefix)) != 0)
                return 0;
        _cleanup_free_ char *lower = xstrdup(name + strlen(prefix));
        for (char *p = lower; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return seccomp_arch_resolve_name(lower);
}

static int action_value(const char *name, bool has_ret, uint32_t ret, const char *where,
                        uint32_t *out, vs_error **err)
{
        /* runc's default when errnoRet is absent. */
        uint32_t data = has_ret ? ret : EPERM;

        if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
                *out = SCMP_ACT_ALLOW;
        else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
                *out = SCMP_ACT_ERRNO(data);
        else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
                *out = SCMP_ACT_TRACE(data);
        else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
                *out = SCMP_ACT_KILL_THREAD;
        else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
                *out = SCMP_ACT_KILL_PROCESS;
        else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
                *out = SCMP_ACT_TRAP;
        else if (strcmp(name, "SCMP_ACT_LOG") == 0)
                *out = SCMP_ACT_LOG;
        else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
                return vs_fail(err, "seccomp %s: SCMP_ACT_NOTIFY is not supported by vessel",
                               where);
        else
                return vs_fail(err, "seccomp %s: unknown action '%s'", where, name);
        return 0;
}

static int operator_value(const char *name, const char *where, enum scmp_compare *out,
                          vs_error **err)
{
        for (size_t i = 0; i < ARRAY_SIZE(operators); i++) {
                if (strcmp(operators[i].name, name) == 0) {
                        *out = operators[i].op;
                        return 0;
                }
        }
        return vs_fail(err, "seccomp %s: unknown operator '%s'", where, name ? name : "(null)");
}

static int add_architectures(scmp_filter_ctx ctx, char *const *archs, vs_error **err)
{
        for (size_t i = 0; archs && archs[i]; i++) {
                uint32_t token = arch_token(archs[i]);
                if (token == 0) {
                        /* Leaving an ABI out only makes the filter stricter:
                         * its syscalls hit the bad-architecture action. */
                        vs_warn("seccomp: architecture %s is not supported by libseccomp "
                                "%u.%u.%u, ignoring it",
                                archs[i], SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
                        continue;
                }
                int rc = seccomp_arch_add(ctx, token);
                if (rc < 0 && rc != -EEXIST)
                        return vs_error_set(err, -rc,
                                            "cannot add architecture %s to the seccomp "
                                            "filter",
                                            archs[i]);
        }
        return 0;
}

static int apply_flags(scmp_filter_ctx ctx, char *const *flags, vs_error **err)
{
        for (size_t i = 0; flags && flags[i]; i++) {
                size_t f = 0;
                while (f < ARRAY_SIZE(filter_flags) && strcmp(filter_flags[f].name, flags[i]) != 0)
                        f++;
                if (f == ARRAY_SIZE(filter_flags))
                        return vs_fail(err, "seccomp flags[%zu]: unknown flag '%s'", i, flags[i]);
                if (filter_flags[f].kind == FLAG_NEEDS_LISTENER) {
                        vs_debug("seccomp: %s has no effect without a notify listener, ignoring "
                                 "it",
                                 flags[i]);
                        continue;
                }
                int rc = seccomp_attr_set(ctx, filter_flags[f].attr, 1);
                if (rc < 0)
                        return vs_error_set(err, -rc,
                                            "cannot set seccomp flag %s (kernel or libseccomp "
                                            "%u.%u.%u lacks it)",
                                            flags[i], SCMP_VER_MAJOR, SCMP_VER_MINOR,
                                            SCMP_VER_MICRO);
        }
        return 0;
}

/* A set of fixed-size keys (open addressing over FNV-1a hashes): the
 * rules already given to libseccomp, whose rule database walks a syscall's
 * whole rule tree on every add (quadratic in the rules of one syscall), and
 * the argument constants a filter must hold. */
struct key_set {
        size_t key_size, n, cap; /* cap: slots, a power of two */
        size_t *slots;           /* 1 + index into keys; 0: empty */
        unsigned char *keys;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
        uint64_t h = 1469598103934665603ULL;
        for (const unsigned char *c = p; n--; c++)
                h = (h ^ *c) * 1099511628211ULL;
        return h;
}

/* True when key was not in the set (and now is). */
static bool key_set_add(struct key_set *s, const void *key)
{
        if (2 * (s->n + 1) > s->cap) {
                size_t cap = s->cap ? 2 * s->cap : 64;
                size_t *slots = xcalloc(cap, sizeof(*slots));
                for (size_t i = 0; i < s->n; i++) {
                        size_t j = hash_bytes(s->keys + i * s->key_size, s->key_size) & (cap - 1);
                        while (slots[j])
                                j = (j + 1) & (cap - 1);
                        slots[j] = i + 1;
                }
                free(s->slots);
                s->slots = slots;
                s->cap = cap;
                s->keys = xrealloc(s->keys, cap / 2 * s->key_size);
        }
        size_t j = hash_bytes(key, s->key_size) & (s->cap - 1);
        for (; s->slots[j]; j = (j + 1) & (s->cap - 1))
                if (memcmp(s->keys + (s->slots[j] - 1) * s->key_size, key, s->key_size) == 0)
                        return false;
        memcpy(s->keys + s->n * s->key_size, key, s->key_size);
        s->slots[j] = ++s->n;
        return true;
}

static void key_set_release(struct key_set *s)
{
        free(s->slots);
        free(s->keys);
}

struct rule_key {
        int nr;
        uint32_t action;
        unsigned int n_conds;
        struct scmp_arg_cmp conds[6];
};

/* The profile's rules, resolved and without repeats, before any reaches
 * libseccomp. */
struct rule_list {
        struct key_set rules; /* struct rule_key */
        size_t *origin;       /* per rule: its syscalls[] index */
};

static void collect_rule(struct rule_list *l, size_t idx, uint32_t action, int nr,
                         unsigned int n_conds, const struct scmp_arg_cmp *conds)
{
        struct rule_key k;
        memset(&k, 0, sizeof(k)); /* padding too: keys compare as bytes */
        k.nr = nr;
        k.action = action;
        k.n_conds = n_conds;
        for (unsigned int i = 0; i < n_conds; i++) {
                k.conds[i].arg = conds[i].arg;
                k.conds[i].op = conds[i].op;
                k.conds[i].datum_a = conds[i].datum_a;
                k.conds[i].datum_b = conds[i].datum_b;
        }
        if (!key_set_add(&l->rules, &k))
                return;
        l->origin = xrealloc(l->origin, l->rules.n * sizeof(*l->origin));
        l->origin[l->rules.n - 1] = idx;
}

static int cmp_rule_nr(const void *a, const void *b)
{
        const struct rule_key *x = a, *y = b;
        return (x->nr > y->nr) - (x->nr < y->nr);
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return (x > y) - (x < y);
}

/* How many comparison instructions the filter needs, per architecture:
 * every comparison needs an instruction holding the low word of its value
 * (and of a mask) in the chain of its syscall, and syscalls with identical
 * rules share one chain (libseccomp also shares identical tails of
 * different chains, which profiles hardly have: not counted). libseccomp
 * 2.5's code generator is cubic in a large program's size (20,000 rules
 * took it minutes, only to make a program the kernel refuses), so a
 * profile is measured before it gets there. */
static size_t min_program_size(const struct rule_list *l)
{
        size_t n = l->rules.n, total = 0;
        struct rule_key *keys = xmalloc((n ? n : 1) * sizeof(*keys));
        memcpy(keys, l->rules.keys, n * sizeof(*keys));
        qsort(keys, n, sizeof(*keys), cmp_rule_nr);
        struct key_set chains = {.key_size = sizeof(uint64_t)};
        uint32_t *words = xmalloc((n ? n : 1) * 12 * sizeof(*words));
        for (size_t i = 0, j; i < n; i = j) {
                uint64_t chain = 1469598103934665603ULL;
                size_t nw = 0;
                for (j = i; j < n && keys[j].nr == keys[i].nr; j++) {
                        struct rule_key k = keys[j];
                        k.nr = 0;
                        chain ^= hash_bytes(&k, sizeof(k)); /* order-independent */
                        for (unsigned int c = 0; c < k.n_conds; c++) {
                                words[nw++] = (uint32_t) k.conds[c].datum_a;
                                if (k.conds[c].op == SCMP_CMP_MASKED_EQ)
                                        words[nw++] = (uint32_t) k.conds[c].datum_b;
                        }
                }
                if (!key_set_add(&chains, &chain))
                        continue;
                qsort(words, nw, sizeof(*words), cmp_u32);
                for (size_t w = 0; w < nw; w++)
                        total += w == 0 || words[w] != words[w - 1];
        }
        key_set_release(&chains);
        free(words);
        free(keys);
        return total;
}

static int collect_syscall_rules(struct rule_list *l, const struct oci_seccomp_syscall *sc,
                                 size_t idx, uint32_t default_action, vs_error **err)
{
        _cleanup_free_ char *where = xasprintf("syscalls[%zu]", idx);
        uint32_t action;
        if (action_value(sc->action ? sc->action : "(null)", sc->has_errno_ret, sc->errno_ret,
                         where, &action, err) < 0)
                return -1;
        /* libseccomp refuses such rules (EACCES); they are no-ops anyway. */
        if (action == default_action) {
                vs_debug("seccomp: %s has the default action, skipping it", where);
                return 0;
        }

        struct scmp_arg_cmp conds[6];
        if (sc->n_args > ARRAY_SIZE(conds))
                return vs_fail(err,
                               "seccomp %s: %zu argument conditions, at most %zu are "
                               "supported",
                               where, sc->n_args, ARRAY_SIZE(conds));
        bool repeated_index = false;
        unsigned int seen = 0;
        for (size_t i = 0; i < sc->n_args; i++) {
                const struct oci_seccomp_arg *a = &sc->args[i];
                if (a->index >= 6)
                        return vs_fail(err, "seccomp %s.args[%zu]: index %u is out of range", where,
                                       i, a->index);
                enum scmp_compare op = SCMP_CMP_EQ;
                if (operator_value(a->op, where, &op, err) < 0)
                        return -1;
                conds[i] = (struct scmp_arg_cmp){
                    .arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two};
                if (seen & (1u << a->index))
                        repeated_index = true;
                seen |= 1u << a->index;
        }

        for (size_t n = 0; sc->names && sc->names[n]; n++) {
                const char *name = sc->names[n];
                int nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR) {
                        /* runc: profiles list syscalls of newer kernels and
                         * other architectures. */
                        vs_debug("seccomp: syscall %s is unknown on this architecture, skipping "
                                 "it",
                                 name);
                        continue;
                }
                /* Conditions on one rule are ANDed; several conditions on the
                 * same argument are meant as alternatives (runc's reading), so
                 * they become one rule each. */
                size_t n_rules = repeated_index ? sc->n_args : 1;
                for (size_t r = 0; r < n_rules; r++) {
                        if (repeated_index)
                                collect_rule(l, idx, action, nr, 1, &conds[r]);
                        else
                                collect_rule(l, idx, action, nr, (unsigned int) sc->n_args, conds);
                }
        }
        return 0;
}

int vs_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out, vs_error **err)
{
        if (s->default_action == NULL)
                return vs_fail(err, "seccomp: defaultAction is required");
        if (s->listener_path != NULL)
                return vs_fail(err, "seccomp: listenerPath is set but seccomp notify is not "
                                    "supported by vessel");

        uint32_t default_action;
        if (action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
                         "defaultAction", &default_action, err) < 0)
                return -1;

        _cleanup_seccomp_ scmp_filter_ctx ctx = seccomp_init(default_action);
        if (ctx == NULL)
                return vs_fail(err, "cannot create a seccomp filter with default action %s",
                               s->default_action);

        /* no_new_privs is the container init's decision (process.noNewPrivileges),
         * not a side effect of loading the filter. */
        int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (rc < 0)
                return vs_error_set(err, -rc, "cannot clear the seccomp no_new_privs attribute");
        /* Real kernel errnos (EACCES, EINVAL) instead of libseccomp's ECANCELED;
         * best effort because only libseccomp >= 2.5 has it. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);

        if (add_architectures(ctx, s->architectures, err) < 0)
                return -1;
        if (apply_flags(ctx, s->flags, err) < 0)
                return -1;
        struct rule_list l = {.rules = {.key_size = sizeof(struct rule_key)}};
        int ret = 0;
        for (size_t i = 0; i < s->n_syscalls && ret == 0; i++)
                ret = collect_syscall_rules(&l, &s->syscalls[i], i, default_action, err);
        size_t size = ret == 0 ? min_program_size(&l) : 0;
        if (size > BPF_MAXINSNS)
                ret = vs_fail(err,
                              "seccomp: the profile's argument rules need about %zu "
                              "instructions, more than a seccomp filter holds (%d)",
                              size, BPF_MAXINSNS);
        const struct rule_key *keys = (const struct rule_key *) l.rules.keys;
        for (size_t i = 0; i < l.rules.n && ret == 0; i++) {
                const struct rule_key *k = &keys[i];
                int rc = seccomp_rule_add_array(ctx, k->action, k->nr, k->n_conds,
                                                k->n_conds ? k->conds : NULL);
                if (rc < 0) {
                        _cleanup_free_ char *name =
                            seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, k->nr);
                        ret = vs_error_set(err, -rc,
                                           "cannot add seccomp rule for syscall %s (syscalls[%zu])",
                                           name ? name : "?", l.origin[i]);
                }
        }
        key_set_release(&l.rules);
        free(l.origin);
        if (ret < 0)
                return -1;
        *out = steal_ptr(ctx);
        return 0;
}

int vs_seccomp_load(const struct oci_seccomp *s, vs_error **err)
{
        struct vs_seccomp_prog *p = NULL;
        if (vs_seccomp_compile(s, "", NULL, &p, err) < 0)
                return -1;
        int r = vs_seccomp_install(p, err);
        vs_seccomp_prog_free(p);
        return r;
}

static const char *supported_archs[OCI_SECCOMP_N_ARCHS + 1];
static const char *supported_flags[ARRAY_SIZE(filter_flags) + 1];

static void init_features(void)
{
        size_t n = 0;
        /* The runtime-spec's architectures that this libseccomp resolves. */
        for (size_t i = 0; oci_seccomp_architectures[i]; i++)
                if (arch_token(oci_seccomp_architectures[i]) != 0)
                        supported_archs[n++] = oci_seccomp_architectures[i];
        supported_archs[n] = NULL;

        /* The API level reflects what both libseccomp and the kernel offer. */
        unsigned int api = (unsigned int) seccomp_api_get();
        n = 0;
        for (size_t i = 0; i < ARRAY_SIZE(filter_flags); i++)
                if (filter_flags[i].kind == FLAG_ATTR && api >= filter_flags[i].min_api)
                        supported_flags[n++] = filter_flags[i].name;
        supported_flags[n] = NULL;
}

void vs_seccomp_features(const char *const **actions, const char *const **ops,
                         const char *const **archs, const char *const **flags)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, init_features);
        if (actions)
                *actions = supported_actions;
        if (ops)
                *ops = oci_seccomp_operators;
        if (archs)
                *archs = supported_archs;
        if (flags)
                *flags = supported_flags;
}

/* ---- compiled programs and their cache ---- */

#define CACHE_MAGIC "vessel-seccomp-bpf 1\n"

static unsigned int filter_syscall_flags(const struct oci_seccomp *s)
{
        unsigned int flags = 0;
        for (size_t i = 0; s->flags && s->flags[i]; i++) {
                if (strcmp(s->flags[i], "SECCOMP_FILTER_FLAG_TSYNC") == 0)
                        flags |= SECCOMP_FILTER_FLAG_TSYNC;
                else if (strcmp(s->flags[i], "SECCOMP_FILTER_FLAG_LOG") == 0)
                        flags |= SECCOMP_FILTER_FLAG_LOG;
                else if (strcmp(s->flags[i], "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
                        flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        }
        return flags;
}

static char *cache_key(const char *profile_json)
{
        const struct scmp_version *v = seccomp_version();
        return xasprintf("libseccomp %u.%u.%u; vessel %s; %s", v->major, v->minor, v->micro,
                         VESSEL_VERSION, profile_json);
}

static int cache_read(const char *path, const char *key, struct vs_seccomp_prog *p)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        _cleanup_error_ vs_error *e = NULL;
        if (vs_read_file(path, &data, &len, &e) < 0)
                return -1;
        size_t ml = strlen(CACHE_MAGIC), kl = strlen(key) + 1;
        if (len < ml + kl || memcmp(data, CACHE_MAGIC, ml) != 0 || memcmp(data + ml, key, kl) != 0)
                return -1;
        size_t n = len - ml - kl;
        if (n == 0 || n % sizeof(struct sock_filter) != 0 ||
            n / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -1;
        p->insns = xmalloc(n);
        memcpy(p->insns, data + ml + kl, n);
        p->len = (unsigned short) (n / sizeof(struct sock_filter));
        return 0;
}

static void cache_write(const char *dir, const char *path, const char *key,
                        const struct vs_seccomp_prog *p)
{
        _cleanup_error_ vs_error *e = NULL;
        if (vs_mkdir_p(dir, 0700, &e) < 0) {
                vs_debug("seccomp cache: %s", e->msg);
                return;
        }
        size_t ml = strlen(CACHE_MAGIC), kl = strlen(key) + 1;
        size_t n = (size_t) p->len * sizeof(struct sock_filter);
        _cleanup_free_ char *buf = xmalloc(ml + kl + n);
        memcpy(buf, CACHE_MAGIC, ml);
        memcpy(buf + ml, key, kl);
        memcpy(buf + ml + kl, p->insns, n);
        if (vs_write_file_replace(path, buf, ml + kl + n, 0600, &e) < 0)
                vs_debug("seccomp cache: %s", e->msg);
}

int vs_seccomp_compile(const struct oci_seccomp *s, const char *profile_json, const char *cache_dir,
                       struct vs_seccomp_prog **out, vs_error **err)
{
        struct vs_seccomp_prog *p = xzalloc(sizeof(*p));
        p->flags = filter_syscall_flags(s);
        _cleanup_free_ char *key = cache_key(profile_json);
        _cleanup_free_ char *path =
            cache_dir ? xasprintf("%s/%016llx.bpf", cache_dir, (unsigned long long) vs_fnv1a(key))
                      : NULL;
        if (path && cache_read(path, key, p) == 0) {
                p->from_cache = true;
                *out = p;
                return 0;
        }
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        if (vs_seccomp_build(s, &ctx, err) < 0) {
                vs_seccomp_prog_free(p);
                return -1;
        }
        _cleanup_close_ int mfd = memfd_create("vessel-seccomp", MFD_CLOEXEC);
        int rc = mfd < 0 ? -errno : seccomp_export_bpf(ctx, mfd);
        struct stat st = {0};
        if (rc == 0 && fstat(mfd, &st) < 0)
                rc = -errno;
        size_t n = (size_t) st.st_size;
        _cleanup_free_ char *bpf = xmalloc(n ? n : 1);
        if (rc == 0 && pread(mfd, bpf, n, 0) != (ssize_t) n)
                rc = -EIO;
        if (rc < 0 || n == 0 || n % sizeof(struct sock_filter) != 0 ||
            n / sizeof(struct sock_filter) > BPF_MAXINSNS) {
                vs_seccomp_prog_free(p);
                return vs_error_set(err, rc < 0 ? -rc : EINVAL,
                                    "linux.seccomp: cannot compile the filter");
        }
        p->insns = xmalloc(n);
        memcpy(p->insns, bpf, n);
        p->len = (unsigned short) (n / sizeof(struct sock_filter));
        if (path)
                cache_write(cache_dir, path, key, p);
        *out = p;
        return 0;
}

int vs_seccomp_install(const struct vs_seccomp_prog *p, vs_error **err)
{
        struct sock_fprog prog = {.len = p->len, .filter = p->insns};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &prog) < 0) {
                if (errno == EACCES)
                        return vs_fail_errno(err, "linux.seccomp: cannot load the filter (it "
                                                  "needs no_new_privs or CAP_SYS_ADMIN)");
                return vs_fail_errno(err, "linux.seccomp: cannot load the filter");
        }
        return 0;
}

void vs_seccomp_prog_free(struct vs_seccomp_prog *p)
{
        if (!p)
                return;
        free(p->insns);
        free(p);
}

int vs_seccomp_compile_config(const struct oci_config *cfg, const char *root,
                              struct vs_seccomp_prog **out, vs_error **err)
{
        *out = NULL;
        json_object *lx, *sc;
        if (cfg->linux_.seccomp == NULL || !json_object_object_get_ex(cfg->raw, "linux", &lx) ||
            !json_object_object_get_ex(lx, "seccomp", &sc))
                return 0;
        _cleanup_free_ char *text = vs_json_to_string(sc, false);
        _cleanup_free_ char *dir = xasprintf("%s/.seccomp", root);
        return vs_seccomp_compile(cfg->linux_.seccomp, text, dir, out, err);
}
