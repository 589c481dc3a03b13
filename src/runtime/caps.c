#include "runtime/caps.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

/* Capability sets are 64-bit in every kernel ABI so far. */
#define MAX_CAPS 64

static char cap_names[MAX_CAPS][32];

static void init_cap_names(void)
{
        for (int cap = 0; cap < MAX_CAPS; cap++) {
                char *name = cap_to_name((cap_value_t) cap);
                /* libcap spells caps it has no name for as bare numbers. */
                if (name != NULL && strncasecmp(name, "cap_", 4) == 0 &&
                    strlen(name) < sizeof(cap_names[cap])) {
                        for (size_t i = 0; name[i]; i++)
                                cap_names[cap][i] = (char) toupper((unsigned char) name[i]);
                }
                cap_free(name);
        }
}

static void ensure_cap_names(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, init_cap_names);
}

int vs_cap_from_name(const char *name)
{
        if (name == NULL || strncasecmp(name, "CAP_", 4) != 0)
                return -1;
        ensure_cap_names();
        for (int cap = 0; cap < MAX_CAPS; cap++)
                if (cap_names[cap][0] != '\0' && strcasecmp(cap_names[cap], name) == 0)
                        return cap;
        return -1;
}

const char *vs_cap_name(int cap)
{
        if (cap < 0 || cap >= MAX_CAPS)
                return NULL;
        ensure_cap_names();
        return cap_names[cap][0] != '\0' ? cap_names[cap] : NULL;
}

static int last_cap = -1;

static void init_last_cap(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        int v;
        if (f != NULL && fscanf(f, "%d", &v) == 1 && v >= 0 && v < MAX_CAPS) {
                last_cap = v;
                return;
        }
        /* Without /proc (not yet mounted, or masked): libcap probes the
         * bounding set instead. */
        v = (int) cap_max_bits() - 1;
        last_cap = v >= 0 && v < MAX_CAPS ? v : CAP_LAST_CAP;
}

int vs_cap_last_cap(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, init_last_cap);
        return last_cap;
}

static const char *cap_label(int cap, char *buf, size_t size)
{
        const char *name = vs_cap_name(cap);
        if (name != NULL)
                return name;
        snprintf(buf, size, "capability %d", cap);
        return buf;
}

struct cap_set_ref {
        const char *set;
        char **names;
};

static void list_sets(const struct oci_capabilities *c, struct cap_set_ref sets[5])
{
        sets[0] = (struct cap_set_ref){"bounding", c->bounding};
        sets[1] = (struct cap_set_ref){"effective", c->effective};
        sets[2] = (struct cap_set_ref){"permitted", c->permitted};
        sets[3] = (struct cap_set_ref){"inheritable", c->inheritable};
        sets[4] = (struct cap_set_ref){"ambient", c->ambient};
}

/* Names -> bit mask of the capabilities the running kernel has.
 * warn_unsupported is for validation; the later steps stay quiet about what
 * it already reported. */
static int names_to_mask(const char *set, char *const *names, bool warn_unsupported, uint64_t *mask,
                         vs_error **err)
{
        int last = vs_cap_last_cap();
        *mask = 0;
        for (size_t i = 0; names && names[i]; i++) {
                int cap = vs_cap_from_name(names[i]);
                if (cap < 0)
                        return vs_fail(err, "process.capabilities.%s[%zu]: unknown capability '%s'",
                                       set, i, names[i]);
                if (cap > last) {
                        if (warn_unsupported)
                                vs_warn("process.capabilities.%s[%zu]: %s is not supported by "
                                        "the running kernel (last capability %d), ignoring it",
                                        set, i, names[i], last);
                        continue;
                }
                *mask |= UINT64_C(1) << cap;
        }
        return 0;
}

int vs_caps_validate(const struct oci_capabilities *c, vs_error **err)
{
        if (c == NULL)
                return 0;
        struct cap_set_ref sets[5];
        list_sets(c, sets);
        for (size_t s = 0; s < 5; s++) {
                uint64_t mask;
                if (names_to_mask(sets[s].set, sets[s].names, true, &mask, err) < 0)
                        return -1;
        }
        return 0;
}

int vs_caps_prepare(const struct oci_capabilities *c, vs_error **err)
{
        if (c == NULL)
                return 0;
        uint64_t keep;
        if (names_to_mask("bounding", c->bounding, false, &keep, err) < 0)
                return -1;
        char buf[32];
        for (int cap = 0; cap <= vs_cap_last_cap(); cap++) {
                if (keep & (UINT64_C(1) << cap))
                        continue;
                int in_bounding = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
                /* Re-dropping would need CAP_SETPCAP for nothing. */
                if (in_bounding == 0)
                        continue;
                if (in_bounding < 0)
                        return vs_fail_errno(err, "cannot read the bounding set for %s",
                                             cap_label(cap, buf, sizeof(buf)));
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        return vs_fail_errno(err, "cannot drop %s from the bounding set",
                                             cap_label(cap, buf, sizeof(buf)));
        }
        /* Otherwise setresuid() away from root empties the permitted set and
         * step 2 would have nothing left to keep. */
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return vs_fail_errno(err, "cannot set PR_SET_KEEPCAPS");
        return 0;
}

static uint64_t proc_mask(cap_t caps, cap_flag_t flag)
{
        uint64_t mask = 0;
        for (int cap = 0; cap <= vs_cap_last_cap(); cap++) {
                cap_flag_value_t v = CAP_CLEAR;
                if (cap_get_flag(caps, (cap_value_t) cap, flag, &v) == 0 && v == CAP_SET)
                        mask |= UINT64_C(1) << cap;
        }
        return mask;
}

static int first_cap(uint64_t mask)
{
        return mask ? __builtin_ctzll(mask) : -1;
}

/* cap_set_proc() is one capset(2): when it fails, replay the kernel's rules
 * to name the set and capability at fault. */
static int explain_capset_failure(int saved_errno, uint64_t eff, uint64_t perm, uint64_t inh,
                                  uint64_t cur_eff, uint64_t cur_perm, uint64_t cur_inh,
                                  vs_error **err)
{
        char buf[32];
        uint64_t bounding = 0;
        for (int cap = 0; cap <= vs_cap_last_cap(); cap++)
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
                        bounding |= UINT64_C(1) << cap;
        int cap;
        if ((cap = first_cap(perm & ~cur_perm)) >= 0)
                return vs_error_set(err, saved_errno,
                                    "cannot set permitted capability %s: the process does not "
                                    "hold it any more",
                                    cap_label(cap, buf, sizeof(buf)));
        if ((cap = first_cap(eff & ~perm)) >= 0)
                return vs_error_set(err, saved_errno,
                                    "cannot set effective capability %s: it is not in the "
                                    "permitted set",
                                    cap_label(cap, buf, sizeof(buf)));
        if ((cap = first_cap(inh & ~(cur_inh | bounding))) >= 0)
                return vs_error_set(err, saved_errno,
                                    "cannot set inheritable capability %s: it is not in the "
                                    "bounding set",
                                    cap_label(cap, buf, sizeof(buf)));
        bool has_setpcap = cur_eff & (UINT64_C(1) << CAP_SETPCAP);
        if (!has_setpcap && (cap = first_cap(inh & ~(cur_inh | cur_perm))) >= 0)
                return vs_error_set(err, saved_errno,
                                    "cannot set inheritable capability %s: it is not permitted "
                                    "and CAP_SETPCAP is not effective",
                                    cap_label(cap, buf, sizeof(buf)));
        return vs_error_set(err, saved_errno,
                            "cannot set the effective, permitted and inheritable capabilities");
}

static int set_caps(uint64_t eff, uint64_t perm, uint64_t inh, vs_error **err)
{
        cap_t cur = cap_get_proc();
        if (cur == NULL)
                return vs_fail_errno(err, "cannot read the process capabilities");
        uint64_t cur_perm = proc_mask(cur, CAP_PERMITTED);
        uint64_t cur_inh = proc_mask(cur, CAP_INHERITABLE);
        uint64_t cur_eff = proc_mask(cur, CAP_EFFECTIVE);
        cap_free(cur);

        cap_t want = cap_init();
        if (want == NULL)
                return vs_fail_errno(err, "cannot allocate a capability set");
        const struct {
                cap_flag_t flag;
                uint64_t mask;
        } flags[] = {{CAP_EFFECTIVE, eff}, {CAP_PERMITTED, perm}, {CAP_INHERITABLE, inh}};
        int rc = 0;
        for (size_t f = 0; f < 3; f++)
                for (int cap = 0; cap <= vs_cap_last_cap(); cap++)
                        if (flags[f].mask & (UINT64_C(1) << cap)) {
                                cap_value_t v = cap;
                                rc |= cap_set_flag(want, flags[f].flag, 1, &v, CAP_SET);
                        }
        if (rc == 0)
                rc = cap_set_proc(want);
        int saved = errno;
        cap_free(want);
        if (rc != 0)
                return explain_capset_failure(saved, eff, perm, inh, cur_eff, cur_perm, cur_inh,
                                              err);
        return 0;
}

static int set_ambient(uint64_t amb, uint64_t perm, uint64_t inh, vs_error **err)
{
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
                /* Kernels before 4.3 have no ambient set: nothing to clear. */
                if (errno == EINVAL && amb == 0)
                        return 0;
                return vs_fail_errno(err, "cannot clear the ambient capabilities");
        }
        char buf[32];
        for (int cap = 0; cap <= vs_cap_last_cap(); cap++) {
                uint64_t bit = UINT64_C(1) << cap;
                if (!(amb & bit))
                        continue;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                        return vs_fail_errno(err, "cannot raise ambient capability %s%s",
                                             cap_label(cap, buf, sizeof(buf)),
                                             (perm & inh & bit) ? ""
                                                                : " (an ambient capability must "
                                                                  "also be permitted and "
                                                                  "inheritable)");
        }
        return 0;
}

int vs_caps_apply(const struct oci_capabilities *c, vs_error **err)
{
        if (c == NULL)
                return 0;
        uint64_t eff, perm, inh, amb;
        if (names_to_mask("effective", c->effective, false, &eff, err) < 0 ||
            names_to_mask("permitted", c->permitted, false, &perm, err) < 0 ||
            names_to_mask("inheritable", c->inheritable, false, &inh, err) < 0 ||
            names_to_mask("ambient", c->ambient, false, &amb, err) < 0)
                return -1;

        if (set_caps(eff, perm, inh, err) < 0)
                return -1;
        /* The uid change is done: later ones (there should be none) must not
         * keep anything. */
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return vs_fail_errno(err, "cannot clear PR_SET_KEEPCAPS");
        return set_ambient(amb, perm, inh, err);
}
