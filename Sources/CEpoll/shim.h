#ifndef MINDALPHA_CEPOLL_SHIM_H
#define MINDALPHA_CEPOLL_SHIM_H
/* epoll and eventfd for the reference server's direct engine (Linux only). epoll_event is a packed struct with a
   union inside; these helpers keep both out of Swift: events and their 64-bit tags go in and out as plain arrays. */
#ifdef __linux__
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/prctl.h>

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
