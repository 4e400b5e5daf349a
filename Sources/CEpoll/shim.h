#ifndef MINDALPHA_CEPOLL_SHIM_H
#define MINDALPHA_CEPOLL_SHIM_H
/* epoll, eventfd and non-blocking connects for the direct engines of the reference server and the pool (Linux only). epoll_event is a packed struct with a
   union inside; these helpers keep both out of Swift: events and their 64-bit tags go in and out as plain arrays. */
#ifdef __linux__
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <time.h>

/* Names the calling thread (what top -H and perf show), at most 15 bytes. */
static inline void mp_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/* accept4 is declared only under _GNU_SOURCE, which the system module was built without. */
extern int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);

/* A new connection, non-blocking and close-on-exec; -1 and errno as accept4. */
static inline int mp_accept(int listener) { return accept4(listener, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC); }

static inline int mp_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int mp_epoll_ctl(int ep, int op, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = tag;
    return epoll_ctl(ep, op, fd, &ev);
}

/* Waits for at most `max` (≤ 512) events; writes each one's tag and events. */
static inline int mp_epoll_wait(int ep, uint64_t *tags, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[512];
    if (max > 512) max = 512;
    int n = epoll_wait(ep, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) { tags[i] = evs[i].data.u64; events[i] = evs[i].events; }
    return n;
}

/* As mp_epoll_wait, with the timeout in nanoseconds (negative: none): epoll_pwait2 (Linux 5.11) waits that long,
   where epoll_wait's milliseconds would round a 50 µs timer up to 1 ms; a kernel without it gets the rounded wait. */
static inline int mp_epoll_wait_ns(int ep, uint64_t *tags, uint32_t *events, int max, int64_t timeout_ns) {
    struct epoll_event evs[512];
    if (max > 512) max = 512;
    int n = -1;
    int done = 0;
#ifdef SYS_epoll_pwait2
    static int unsupported = 0;
    if (timeout_ns >= 0 && !__atomic_load_n(&unsupported, __ATOMIC_RELAXED)) {
        struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
        n = (int)syscall(SYS_epoll_pwait2, ep, evs, max, &ts, NULL, 0);
        if (n < 0 && errno == ENOSYS) __atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED); else done = 1;
    }
#endif
    if (!done) n = epoll_wait(ep, evs, max, timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000));
    for (int i = 0; i < n; i++) { tags[i] = evs[i].data.u64; events[i] = evs[i].events; }
    return n;
}

/* One resolved stream address. */
typedef struct { struct sockaddr_storage address; socklen_t length; } mp_address;

/* Resolves host:port into at most `max` stream addresses, in getaddrinfo's order of preference. With `numeric_only`
   only an IPv4 or IPv6 address is taken (nothing is asked of DNS, so it never blocks). Returns how many were
   written, or a negative getaddrinfo error code (gai_strerror names it). */
static inline int mp_resolve(const char *host, int port, int numeric_only, mp_address *out, int max) {
    struct addrinfo hints, *res = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) return rc < 0 ? rc : -rc;
    int n = 0;
    for (struct addrinfo *a = res; a && n < max; a = a->ai_next) {
        if (a->ai_addrlen > sizeof out[n].address) continue;
        memcpy(&out[n].address, a->ai_addr, a->ai_addrlen);
        out[n].length = a->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    return n == 0 ? EAI_NONAME : n;
}

/* Why a resolution failed, from mp_resolve's negative code. */
static inline const char *mp_resolve_error(int code) { return gai_strerror(code); }

/* Starts a non-blocking connect (TCP_NODELAY, close-on-exec) to a resolved address. Returns the socket, the connect
   in progress or done; -1 with errno set when the socket or the connect failed at once. */
static inline int mp_connect(const mp_address *to) {
    int fd = socket(to->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(fd, (const struct sockaddr *)&to->address, to->length);
    int e = errno;
    if (rc < 0 && e != EINPROGRESS) { close(fd); errno = e; return -1; }
    return fd;
}

/* The outcome of a non-blocking connect once the socket is writable: 0, or the errno it failed with. */
static inline int mp_connect_result(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

static inline int mp_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static const int mp_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int mp_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int mp_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
static const uint32_t mp_EPOLLIN = EPOLLIN;
static const uint32_t mp_EPOLLOUT = EPOLLOUT;
static const uint32_t mp_EPOLLERR = EPOLLERR;
static const uint32_t mp_EPOLLHUP = EPOLLHUP;
static const uint32_t mp_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t mp_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;
#endif
#endif
