/* NAT for published ports and outbound traffic, in nftables table
 * `ip vessel` through libnftables (loaded with dlopen() on first use, so a
 * container without ports or networks never maps it and its dependencies).
 *
 *   table ip vessel {
 *     chain prerouting  { type nat hook prerouting priority dstnat;
 *                         fib daddr type local jump ports }
 *     chain output      { type nat hook output priority -100;
 *                         fib daddr type local jump ports }
 *     chain ports       { tcp dport 8080 dnat to 10.89.0.2:80 comment "vessel:<ctr id>" ... }
 *     chain forward     { type filter hook forward priority filter;
 *                         iifname "<bridge>" oifname != "<bridge>" tcp flags & (syn | rst)
 *                             == syn tcp option maxseg size set rt mtu
 *                         iifname "<bridge>" oifgroup 0x7e55e1 oifname != "<bridge>"
 *                             ct status & dnat == 0 drop ...
 *                         (internal: iifname "<bridge>" oifname != "<bridge>" drop, and back) }
 *     chain postrouting { type nat hook postrouting priority srcnat;
 *                         ip saddr <subnet> oifname != "<bridge>" masquerade
 *                             comment "vessel-net:<net id>"
 *                         oifname "<bridge>" ip saddr 127.0.0.0/8 masquerade comment ... }
 *   }
 *
 * Every rule carries the tag of its owner in its comment; replacing an
 * owner's rules (deleting them by handle, adding the new ones) is one nft
 * transaction, made under the network database's lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/dynlib.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define NFT_FUNCS(X)                                                                               \
        X(nft_ctx_new)                                                                             \
        X(nft_ctx_free)                                                                            \
        X(nft_ctx_output_set_flags)                                                                \
        X(nft_ctx_buffer_output)                                                                   \
        X(nft_ctx_get_output_buffer)                                                               \
        X(nft_ctx_buffer_error)                                                                    \
        X(nft_ctx_get_error_buffer)                                                                \
        X(nft_run_cmd_from_buffer)

#define NFT_SLOT(f) __typeof__(f) *f;
static struct nft_table {
        NFT_FUNCS(NFT_SLOT)
} nft_table;
#undef NFT_SLOT
#define NFT_NAME(f) #f,
static const char *const nft_names[] = {NFT_FUNCS(NFT_NAME) NULL};
#undef NFT_NAME

static struct vs_dynlib nft_lib = {
    .soname = "libnftables.so.1",
    .package = "libnftables1",
    .names = nft_names,
    .table = &nft_table,
};

static const char SETUP[] =
    "add table ip vessel\n"
    "add chain ip vessel prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
    "add chain ip vessel output { type nat hook output priority -100; policy accept; }\n"
    "add chain ip vessel postrouting { type nat hook postrouting priority srcnat; policy accept; "
    "}\n"
    "add chain ip vessel ports\n"
    "add chain ip vessel forward { type filter hook forward priority filter; policy accept; }\n"
    "flush chain ip vessel prerouting\n"
    "flush chain ip vessel output\n"
    "add rule ip vessel prerouting fib daddr type local jump ports\n"
    "add rule ip vessel output fib daddr type local jump ports\n";

/* IPv6 (dual-stack networks only): isolation and outbound masquerade. */
static const char SETUP6[] =
    "add table ip6 vessel\n"
    "add chain ip6 vessel prerouting { type nat hook prerouting priority dstnat; policy accept; "
    "}\n"
    "add chain ip6 vessel output { type nat hook output priority -100; policy accept; }\n"
    "add chain ip6 vessel forward { type filter hook forward priority filter; policy accept; }\n"
    "add chain ip6 vessel postrouting { type nat hook postrouting priority srcnat; policy "
    "accept; }\n"
    "add chain ip6 vessel ports\n"
    "flush chain ip6 vessel prerouting\n"
    "flush chain ip6 vessel output\n"
    "add rule ip6 vessel prerouting fib daddr type local jump ports\n"
    "add rule ip6 vessel output fib daddr type local jump ports\n";

static void write_sysctl(const char *path, const char *value)
{
        _cleanup_error_ vs_error *err = NULL;
        if (vs_write_file_at(AT_FDCWD, path, value, strlen(value), &err) < 0)
                vs_warn("%s", err->msg);
}

static void ctx_freep(struct nft_ctx **c)
{
        if (*c)
                nft_table.nft_ctx_free(*c);
}

/* Runs cmds; on failure the error names what and nft's own message. */
static int run(struct nft_ctx *ctx, const char *cmds, const char *what, vs_error **err)
{
        if (nft_table.nft_run_cmd_from_buffer(ctx, cmds) == 0)
                return 0;
        _cleanup_free_ char *msg = xstrdup(nft_table.nft_ctx_get_error_buffer(ctx));
        char *nl = strchr(msg, '\n');
        if (nl)
                *nl = '\0';
        return vs_fail(err, "nftables: cannot %s: %s", what, *msg ? msg : "failed");
}

/* "delete rule ..." for every rule of table FAMILY vessel whose comment is
 * tag, and whether the table is as its setup leaves it: the five chains,
 * and in prerouting and output the one rule of their own (the jump to
 * ports; rules of ours elsewhere carry a comment). */
static int deletes_for(struct nft_ctx *ctx, const char *family, const char *tag, char **out,
                       bool *ready, vs_error **err)
{
        *ready = false;
        nft_table.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
        _cleanup_free_ char *list = xasprintf("list table %s vessel", family);
        int r = run(ctx, list, list, err);
        nft_table.nft_ctx_output_set_flags(ctx, 0);
        if (r < 0)
                return -1;
        _cleanup_json_ json_object *listed = NULL;
        if (vs_json_parse(nft_table.nft_ctx_get_output_buffer(ctx), "nft list output", &listed,
                          err) < 0)
                return -1;
        static const char *const chains[] = {"prerouting", "output", "postrouting", "ports",
                                             "forward"};
        unsigned have = 0, jumps[2] = {0, 0};
        json_object *items = json_object_object_get(listed, "nftables");
        char *cmds = xstrdup("");
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *item = json_object_array_get_idx(items, i);
                json_object *chain = json_object_object_get(item, "chain");
                for (unsigned k = 0; chain && k < 5; k++)
                        if (strcmp(vs_net_str(chain, "name"), chains[k]) == 0)
                                have |= 1U << k;
                json_object *rule = json_object_object_get(item, "rule");
                if (rule == NULL)
                        continue;
                if (json_object_object_get(rule, "comment") == NULL) {
                        for (unsigned k = 0; k < 2; k++)
                                if (strcmp(vs_net_str(rule, "chain"), chains[k]) == 0)
                                        jumps[k]++;
                        continue;
                }
                if (strcmp(vs_net_str(rule, "comment"), tag) != 0)
                        continue;
                char *t = xasprintf(
                    "%sdelete rule %s vessel %s handle %lld\n", cmds, family,
                    vs_net_str(rule, "chain"),
                    (long long) json_object_get_int64(json_object_object_get(rule, "handle")));
                free(cmds);
                cmds = t;
        }
        *ready = have == 0x1f && jumps[0] == 1 && jumps[1] == 1;
        *out = cmds;
        return 0;
}

/* Tag's rules replaced by adds, in one transaction. The setup (a
 * transaction of its own, and a cache fetch of libnftables before it)
 * runs only when the listing shows the table is not as it leaves it:
 * the first use, or after someone flushed or deleted it. */
static int replace_with(struct nft_ctx *ctx, const char *family, const char *setup, const char *tag,
                        const char *adds, vs_error **err)
{
        nft_table.nft_ctx_buffer_output(ctx);
        nft_table.nft_ctx_buffer_error(ctx);
        _cleanup_free_ char *dels = NULL;
        bool ready = false;
        vs_error *lerr = NULL;
        if (deletes_for(ctx, family, tag, &dels, &ready, &lerr) < 0) {
                vs_error_free(&lerr); /* no table yet: the setup makes it */
                dels = xstrdup("");
        }
        /* A removal deletes what is there, and sets up nothing: a table
         * someone else broke does not keep a container from going. */
        if (!ready && *adds) {
                _cleanup_free_ char *what = xasprintf("set up table %s vessel", family);
                if (run(ctx, setup, what, err) < 0)
                        return -1;
                free(dels);
                dels = NULL;
                if (deletes_for(ctx, family, tag, &dels, &ready, err) < 0)
                        return -1;
        }
        if (!*dels && !*adds)
                return 0;
        _cleanup_free_ char *batch = xasprintf("%s%s", dels, adds);
        return run(ctx, batch, "update the rules of table vessel", err);
}

/* The transaction runs in a helper process, which reports its outcome and
 * then exits on its own. The kernel frees the rules a transaction deleted
 * after an RCU grace period, and the close of the netlink socket waits for
 * that (8-30 ms here: `strace -T` on the close, nft's own CLI alike), so
 * `rm` and `run --rm` of a container with -p waited for it. The rules left
 * the ruleset when the transaction committed: nothing of ours needs that
 * wait. The helper (a grandchild: reparented, nobody's zombie) keeps no fd
 * of the caller's but its report pipe, so no lock of the caller's outlives
 * the caller's own release of it. Without a fork, the same in-process. */
static int replace_in(const char *family, const char *setup, const char *tag, const char *adds,
                      vs_error **err)
{
        if (vs_dynlib_load(&nft_lib, err) < 0)
                return -1;
        int p[2] = {-1, -1};
        pid_t mid = pipe2(p, O_CLOEXEC) == 0 ? fork() : -1;
        if (mid < 0) {
                if (p[0] >= 0) {
                        close(p[0]);
                        close(p[1]);
                }
                __attribute__((cleanup(ctx_freep))) struct nft_ctx *ctx =
                    nft_table.nft_ctx_new(NFT_CTX_DEFAULT);
                if (ctx == NULL)
                        return vs_fail(err, "nftables: cannot create a context");
                return replace_with(ctx, family, setup, tag, adds, err);
        }
        if (mid == 0) {
                if (fork() != 0)
                        _exit(0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
                    dup2(p[1], 3) < 0)
                        _exit(1);
                syscall(SYS_close_range, 4u, ~0u, 0u);
                struct nft_ctx *ctx = nft_table.nft_ctx_new(NFT_CTX_DEFAULT);
                vs_error *e = NULL;
                int r = ctx ? replace_with(ctx, family, setup, tag, adds, &e)
                            : vs_fail(&e, "nftables: cannot create a context");
                char report[PIPE_BUF];
                int n = snprintf(report, sizeof(report), "%c%s", r == 0 ? '0' : '1',
                                 r == 0 ? "" : e->msg);
                if (write(3, report,
                          (size_t) (n < (int) sizeof(report) ? n : (int) sizeof(report) - 1)) < 0)
                        _exit(1);
                close(3);
                _exit(0); /* the socket's release waits here, on nobody's time */
        }
        close(p[1]);
        while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
                ;
        char report[PIPE_BUF + 1];
        size_t got = 0;
        ssize_t k;
        while (got < PIPE_BUF &&
               ((k = read(p[0], report + got, PIPE_BUF - got)) > 0 || (k < 0 && errno == EINTR)))
                if (k > 0)
                        got += (size_t) k;
        close(p[0]);
        report[got] = '\0';
        if (got > 0 && report[0] == '0')
                return 0;
        if (got > 1 && report[0] == '1')
                return vs_fail(err, "%s", report + 1);
        return vs_fail(err, "nftables: the helper process ended without an answer");
}

int vs_nft_replace(const char *tag, const char *adds, vs_error **err)
{
        return replace_in("ip", SETUP, tag, adds, err);
}

int vs_nft_replace6(const char *tag, const char *adds, vs_error **err)
{
        return replace_in("ip6", SETUP6, tag, adds, err);
}

/* A bridge's MTU is loopback-sized by default (VS_NET_DEFAULT_MTU): a TCP
 * connection that a container opens or answers through another interface
 * (the host's uplink) gets the MSS of that route, lowered in its SYN or
 * SYN-ACK as it is forwarded (the kernel never raises it), as Docker
 * users do by hand with `--clamp-mss-to-pmtu`. UDP and the rest learn the
 * path MTU from the host's own ICMP "fragmentation needed". */
#define MSS_CLAMP "tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu"

/* The IPv6 side of a dual-stack network: isolation, hairpin and outbound
 * masquerade as for IPv4. */
static int nat6_setup(json_object *net, const char *tag, bool internal, vs_error **err)
{
        const char *br = vs_net_str(net, "Bridge");
        if (!internal)
                write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
        _cleanup_free_ char *adds =
            internal
                ? xasprintf("add rule ip6 vessel forward iifname \"%s\" oifname != \"%s\" drop "
                            "comment \"%s\"\n"
                            "add rule ip6 vessel forward oifname \"%s\" iifname != \"%s\" drop "
                            "comment \"%s\"\n",
                            br, br, tag, br, br, tag)
                : xasprintf(
                      "add rule ip6 vessel forward iifname \"%s\" oifname != \"%s\" " MSS_CLAMP
                      " comment \"%s\"\n"
                      "add rule ip6 vessel forward iifname \"%s\" oifgroup %u oifname "
                      "!= \"%s\" ct status & dnat == 0 drop comment \"%s\"\n"
                      "add rule ip6 vessel postrouting ip6 saddr %s oifname != \"%s\" "
                      "masquerade comment \"%s\"\n"
                      "add rule ip6 vessel postrouting ip6 saddr %s oifname \"%s\" ct "
                      "status dnat masquerade comment \"%s\"\n",
                      br, br, tag, br, VS_NET_BRIDGE_GROUP, br, tag, vs_net_str(net, "Subnet6"), br,
                      tag, vs_net_str(net, "Subnet6"), br, tag);
        return replace_in("ip6", SETUP6, tag, adds, err);
}

int vs_net_nat_setup(json_object *net, vs_error **err)
{
        const char *br = vs_net_str(net, "Bridge");
        _cleanup_free_ char *tag = xasprintf("vessel-net:%s", vs_net_str(net, "Id"));
        bool internal = json_object_get_boolean(json_object_object_get(net, "Internal"));
        /* Ports published on 127.0.0.1 are DNATed out of the bridge with
         * their loopback source (route_localnet lets them leave), then
         * masqueraded to the bridge's address. */
        _cleanup_free_ char *localnet = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", br);
        write_sysctl(localnet, "1");
        _cleanup_free_ char *out =
            internal ? xstrdup("")
                     : xasprintf("add rule ip vessel postrouting ip saddr %s oifname != \"%s\" "
                                 "masquerade comment \"%s\"\n",
                                 vs_net_str(net, "Subnet"), br, tag);
        if (!internal)
                write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
        /* Isolation: nothing is forwarded from this bridge to another
         * vessel bridge but connections to published ports (DNATed: the
         * host address is everyone's); an internal network forwards
         * nothing in or out. Hairpin: a container reaching a port
         * published on its own bridge through a host address (itself
         * included: the bridge port is in hairpin mode) is masqueraded,
         * so the answer comes back through the host. The match is on the
         * source subnet: iifname is empty in postrouting. */
        _cleanup_free_ char *filter =
            internal
                ? xasprintf("add rule ip vessel forward iifname \"%s\" oifname != \"%s\" drop "
                            "comment \"%s\"\n"
                            "add rule ip vessel forward oifname \"%s\" iifname != \"%s\" drop "
                            "comment \"%s\"\n",
                            br, br, tag, br, br, tag)
                : xasprintf("add rule ip vessel forward iifname \"%s\" oifname != \"%s\" " MSS_CLAMP
                            " comment \"%s\"\n"
                            "add rule ip vessel forward iifname \"%s\" oifgroup %u oifname "
                            "!= \"%s\" ct status & dnat == 0 drop comment \"%s\"\n"
                            "add rule ip vessel postrouting ip saddr %s oifname \"%s\" ct "
                            "status dnat masquerade comment \"%s\"\n",
                            br, br, tag, br, VS_NET_BRIDGE_GROUP, br, tag,
                            vs_net_str(net, "Subnet"), br, tag);
        _cleanup_free_ char *adds =
            xasprintf("%s%sadd rule ip vessel postrouting oifname \"%s\" ip "
                      "saddr 127.0.0.0/8 masquerade comment \"%s\"\n",
                      out, filter, br, tag);
        if (vs_nft_replace(tag, adds, err) < 0)
                return -1;
        return *vs_net_str(net, "Subnet6") ? nat6_setup(net, tag, internal, err) : 0;
}

int vs_net_nat_remove(json_object *net, vs_error **err)
{
        _cleanup_free_ char *tag = xasprintf("vessel-net:%s", vs_net_str(net, "Id"));
        if (*vs_net_str(net, "Subnet6") && replace_in("ip6", SETUP6, tag, "", err) < 0)
                return -1;
        return vs_nft_replace(tag, "", err);
}
