/* The userland proxy for the IPv6 loopback address (Docker's docker-proxy
 * behaviour): the kernel never routes a packet with source ::1 out of an
 * interface, and IPv6 has no route_localnet, so no DNAT can take [::1]:PORT
 * to a container. A TCP port published on every address (-p 8080:80,
 * -p 80, -P) also answers on [::1] through a small relay process, as
 * does one published on [::1] alone (-p [::1]:8080:80): it accepts there
 * and connects to the container's IPv4 address.
 *
 * The relay is a child of the monitor (PR_SET_PDEATHSIG: it dies with the
 * monitor, kill -9 included) that also watches the container's init (a
 * pidfd: it ends when the init does, so a restart starts a fresh one).
 * Its listeners are bound by the caller, so a port already taken on [::1]
 * is the start's error.
 *
 * UDP ports are relayed too, as docker-proxy does: every client address
 * seen on a [::1] socket gets a flow, a UDP socket connected to the
 * container's port; datagrams go through it, replies come back to that
 * client from the [::1] socket. A flow ends after UDP_IDLE_SECONDS without
 * traffic (docker-proxy's conntrack timeout is 90 s) or, when all
 * MAX_FLOW are taken, the one idle longest gives way. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define MAX_LISTEN       64
#define MAX_CONN         128
#define MAX_FLOW         128
#define BUF_SIZE         65536
#define UDP_IDLE_SECONDS 60

struct target {
        struct sockaddr_in to;
        bool udp;
};

struct flow {     /* one UDP client of one [::1] socket */
        int fd;   /* connected to the container's port; -1: free */
        size_t l; /* the listener it came through */
        struct sockaddr_in6 client;
        time_t last;
};

struct half { /* bytes read from one side, waiting to be written to the other */
        char *buf;
        size_t len, off;
        bool eof;
};

struct conn {
        int fd[2]; /* client, container */
        bool connected;
        struct half h[2]; /* h[0]: client -> container, h[1]: back */
};

struct collect {
        const char *ip; /* the endpoint's IPv4 address */
        struct target t[MAX_LISTEN];
        long port[MAX_LISTEN];
        size_t n;
};

static int collect_one(void *ud, const char *proto, const char *ip, long hp, long cp)
{
        struct collect *c = ud;
        bool udp = strcmp(proto, "udp") == 0;
        if ((!udp && strcmp(proto, "tcp") != 0) || (*ip && strcmp(ip, "::1") != 0) ||
            c->n == MAX_LISTEN)
                return 0;
        struct target *t = &c->t[c->n];
        t->to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t) cp)};
        t->udp = udp;
        inet_pton(AF_INET, c->ip, &t->to.sin_addr);
        c->port[c->n++] = hp;
        return 0;
}

static void conn_close(struct conn *c)
{
        for (int i = 0; i < 2; i++) {
                if (c->fd[i] >= 0)
                        close(c->fd[i]);
                free(c->h[i].buf);
        }
        memset(c, 0, sizeof(*c));
        c->fd[0] = c->fd[1] = -1;
}

/* Moves bytes along one direction: read from src into h when h is empty,
 * write h to dst. Returns false when the connection is over. */
static bool pump(struct conn *c, int dir, short rev_src, short rev_dst)
{
        struct half *h = &c->h[dir];
        int src = c->fd[dir], dst = c->fd[1 - dir];
        if (h->len == h->off && !h->eof && (rev_src & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t n = read(src, h->buf, BUF_SIZE);
                if (n > 0) {
                        h->len = (size_t) n;
                        h->off = 0;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                        h->eof = true;
                        shutdown(dst, SHUT_WR);
                }
        }
        (void) rev_dst; /* a write is tried whenever bytes wait: non-blocking */
        if (h->off < h->len) {
                ssize_t n = write(dst, h->buf + h->off, h->len - h->off);
                if (n > 0)
                        h->off += (size_t) n;
                else if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return false;
        }
        return !(c->h[0].eof && c->h[1].eof && c->h[0].off == c->h[0].len &&
                 c->h[1].off == c->h[1].len);
}

static void accept_one(int lfd, const struct target *t, struct conn *conns)
{
        int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return;
        struct conn *c = NULL;
        for (int i = 0; i < MAX_CONN && c == NULL; i++)
                if (conns[i].fd[0] < 0)
                        c = &conns[i];
        int ufd = c ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
        if (ufd < 0 || (connect(ufd, (const struct sockaddr *) &t->to, sizeof(t->to)) < 0 &&
                        errno != EINPROGRESS)) {
                close(cfd);
                if (ufd >= 0)
                        close(ufd);
                return;
        }
        c->fd[0] = cfd;
        c->fd[1] = ufd;
        c->connected = false;
        for (int i = 0; i < 2; i++)
                c->h[i] = (struct half){.buf = xmalloc(BUF_SIZE)};
}

static time_t now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

static char dgram[BUF_SIZE];

static bool same_client(const struct flow *f, size_t l, const struct sockaddr_in6 *a)
{
        return f->l == l && f->client.sin6_port == a->sin6_port &&
               memcmp(&f->client.sin6_addr, &a->sin6_addr, sizeof(a->sin6_addr)) == 0;
}

/* A datagram from a client on [::1] listener l: on through the client's
 * flow, made on first sight (a free slot, or the one idle longest). */
static void udp_in(int lfd, size_t l, const struct target *t, struct flow *flows)
{
        struct sockaddr_in6 from;
        socklen_t fl = sizeof(from);
        ssize_t n =
            recvfrom(lfd, dgram, sizeof(dgram), MSG_DONTWAIT, (struct sockaddr *) &from, &fl);
        if (n < 0 || fl != sizeof(from))
                return;
        struct flow *f = NULL, *spare = NULL;
        for (int i = 0; i < MAX_FLOW && f == NULL; i++) {
                struct flow *x = &flows[i];
                if (x->fd >= 0 && same_client(x, l, &from))
                        f = x;
                else if (spare == NULL || (spare->fd >= 0 && (x->fd < 0 || x->last < spare->last)))
                        spare = x;
        }
        if (f == NULL) {
                f = spare;
                if (f->fd >= 0)
                        close(f->fd);
                f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (f->fd >= 0 &&
                    connect(f->fd, (const struct sockaddr *) &t->to, sizeof(t->to)) < 0) {
                        close(f->fd);
                        f->fd = -1;
                }
                if (f->fd < 0)
                        return;
                f->l = l;
                f->client = from;
        }
        f->last = now_s();
        (void) send(f->fd, dgram, (size_t) n, MSG_DONTWAIT);
}

/* A reply from the container: back to the flow's client, from [::1]. */
static void udp_back(struct flow *f, const int *lfd)
{
        ssize_t n = recv(f->fd, dgram, sizeof(dgram), MSG_DONTWAIT);
        if (n < 0)
                return; /* ECONNREFUSED (nothing listens yet), EAGAIN */
        f->last = now_s();
        (void) sendto(lfd[f->l], dgram, (size_t) n, MSG_DONTWAIT, (struct sockaddr *) &f->client,
                      sizeof(f->client));
}

/* The relay's loop: until the init ends (pidfd readable). */
static _Noreturn void relay(int *lfd, const struct target *t, size_t nl, int pidfd)
{
        struct conn conns[MAX_CONN];
        for (int i = 0; i < MAX_CONN; i++) {
                memset(&conns[i], 0, sizeof(conns[i]));
                conns[i].fd[0] = conns[i].fd[1] = -1;
        }
        struct flow flows[MAX_FLOW];
        for (int i = 0; i < MAX_FLOW; i++)
                flows[i] = (struct flow){.fd = -1};
        struct pollfd p[1 + MAX_LISTEN + 2 * MAX_CONN + MAX_FLOW];
        for (;;) {
                size_t n = 0;
                p[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
                for (size_t i = 0; i < nl; i++)
                        p[n++] = (struct pollfd){.fd = lfd[i], .events = POLLIN};
                for (int i = 0; i < MAX_CONN; i++) {
                        struct conn *c = &conns[i];
                        for (int d = 0; d < 2; d++) {
                                short ev = 0;
                                if (c->fd[d] >= 0 && c->connected) {
                                        if (c->h[d].len == c->h[d].off && !c->h[d].eof)
                                                ev |= POLLIN;
                                        if (c->h[1 - d].off < c->h[1 - d].len)
                                                ev |= POLLOUT;
                                } else if (c->fd[d] >= 0 && d == 1) {
                                        ev = POLLOUT; /* the connect to finish */
                                }
                                p[n++] = (struct pollfd){.fd = c->fd[d], .events = ev};
                        }
                }
                bool idle = true;
                for (int i = 0; i < MAX_FLOW; i++) {
                        p[n++] = (struct pollfd){.fd = flows[i].fd, .events = POLLIN};
                        idle = idle && flows[i].fd < 0;
                }
                /* Flows age out: a wake-up a second while there are any. */
                if (poll(p, n, idle ? -1 : 1000) < 0 && errno != EINTR)
                        _exit(1);
                if (p[0].revents)
                        _exit(0);
                struct pollfd *pf = &p[1 + nl + 2 * MAX_CONN];
                time_t now = now_s();
                for (int i = 0; i < MAX_FLOW; i++) {
                        struct flow *f = &flows[i];
                        if (f->fd >= 0 && pf[i].fd == f->fd && (pf[i].revents & POLLIN))
                                udp_back(f, lfd);
                        if (f->fd >= 0 && now - f->last > UDP_IDLE_SECONDS) {
                                close(f->fd);
                                f->fd = -1;
                        }
                }
                for (size_t i = 0; i < nl; i++)
                        if ((p[1 + i].revents & POLLIN) && t[i].udp)
                                udp_in(lfd[i], i, &t[i], flows);
                        else if (p[1 + i].revents & POLLIN)
                                accept_one(lfd[i], &t[i], conns);
                for (int i = 0; i < MAX_CONN; i++) {
                        struct conn *c = &conns[i];
                        struct pollfd *pc = &p[1 + nl + 2 * (size_t) i];
                        if (c->fd[0] < 0 || pc[0].fd != c->fd[0])
                                continue; /* accepted in this round: next one */
                        if (!c->connected) {
                                if (!pc[1].revents)
                                        continue;
                                int e = 0;
                                socklen_t l = sizeof(e);
                                getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &l);
                                if (e != 0) {
                                        conn_close(c);
                                        continue;
                                }
                                c->connected = true;
                                continue;
                        }
                        if (!pump(c, 0, pc[0].revents, pc[1].revents) ||
                            !pump(c, 1, pc[1].revents, pc[0].revents))
                                conn_close(c);
                }
        }
}

/* fd moved to a number >= lowest, not close-on-exec. */
static int move_fd(int fd, int lowest)
{
        int n = fcntl(fd, F_DUPFD, lowest);
        close(fd);
        return n;
}

int vs_net_proxy_spawn(const char *data_root, const char *ctr_id, pid_t init, vs_error **err)
{
        struct collect col = {0};
        {
                _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
                if (vs_netdb_open(data_root, &db, err) < 0)
                        return -1;
                size_t nn = json_object_array_length(db.nets);
                for (size_t i = 0; i < nn; i++) {
                        json_object *ep = json_object_object_get(
                            json_object_object_get(json_object_array_get_idx(db.nets, i),
                                                   "Endpoints"),
                            ctr_id);
                        json_object *ports = ep ? json_object_object_get(ep, "Ports") : NULL;
                        if (ports == NULL)
                                continue;
                        _cleanup_free_ char *ip = xstrdup(vs_net_str(ep, "IP"));
                        col.ip = ip;
                        vs_net_ports_each(ports, collect_one, &col);
                        col.ip = NULL;
                }
        }
        if (col.n == 0)
                return 0;
        int lfd[MAX_LISTEN];
        size_t nl = 0;
        for (size_t i = 0; i < col.n; i++) {
                bool udp = col.t[i].udp;
                int fd = socket(AF_INET6,
                                (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                int one = 1;
                struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
                                          .sin6_port = htons((uint16_t) col.port[i]),
                                          .sin6_addr = IN6ADDR_LOOPBACK_INIT};
                /* A host without IPv6 (or without ::1) has nothing to serve. */
                if (fd < 0)
                        break;
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                if (!udp)
                        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                /* The relay of the previous incarnation may still be ending. */
                setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
                if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                        int e = errno;
                        close(fd);
                        if (e == EADDRNOTAVAIL || e == EAFNOSUPPORT)
                                continue;
                        for (size_t k = 0; k < nl; k++)
                                close(lfd[k]);
                        return vs_error_set(err, e, "-p: cannot listen on [::1]:%ld", col.port[i]);
                }
                if (!udp && listen(fd, 128) < 0) {
                        close(fd);
                        continue;
                }
                col.t[nl] = col.t[i];
                lfd[nl++] = fd;
        }
        int pidfd = (int) syscall(SYS_pidfd_open, init, 0);
        if (nl == 0 || pidfd < 0) {
                for (size_t k = 0; k < nl; k++)
                        close(lfd[k]);
                if (pidfd >= 0)
                        close(pidfd);
                return nl == 0 ? 0 : vs_fail_errno(err, "cannot watch process %d", (int) init);
        }
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                for (size_t k = 0; k < nl; k++)
                        close(lfd[k]);
                close(pidfd);
                return vs_error_set(err, e, "cannot start the [::1] port relay");
        }
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(0);
                /* Only its listeners and the pidfd: none of the monitor's
                 * pipes may be held open by the relay. */
                for (size_t k = 0; k < nl; k++)
                        lfd[k] = move_fd(lfd[k], 1000);
                pidfd = move_fd(pidfd, 1000);
                syscall(SYS_close_range, 3u, 999u, 0u);
                signal(SIGPIPE, SIG_IGN);
                relay(lfd, col.t, nl, pidfd);
        }
        for (size_t k = 0; k < nl; k++)
                close(lfd[k]);
        close(pidfd);
        return 0;
}
