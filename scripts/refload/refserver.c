/* refserver: the speed reference for a MindAlpha-Serving server (docs/protocol.md), in plain C on one epoll thread.
 *
 * Answers every request frame with a BODY-byte body, echoing its request ID: header (meta_size 8, data_size BODY,
 * the response class ID, the ID), 8 zero meta bytes, BODY bytes. It reads what is there, answers every frame
 * complete in it with one write, and keeps only what it must per connection: the start of a header, the rest of
 * a body to skip (a body is never stored, so a 64 MiB request costs nothing), answers the peer has not read yet.
 * A frame with the wrong class ID or announcing more than 64 MiB closes its connection.
 *
 *   refserver -p PORT [-b BODY] [-a ADDR]     (-p 0: a free port; the first line of stdout says which)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUEST_CLASS 0xE683C4F853870912ULL
#define RESPONSE_CLASS 0x8BAA59D693539253ULL
#define MAX_FRAME (64ULL << 20)
#define HEADER 32

struct conn {
    int fd;
    unsigned char head[HEADER]; /* a header being read */
    size_t head_len;
    uint64_t skip;              /* bytes of the current frame's meta and body still to pass over */
    int pending;                /* a header was read: answer once `skip` reaches 0 */
    uint64_t pending_id;
    unsigned char *out;         /* answers not yet written */
    size_t out_len, out_cap, out_off;
    int want_write;
};

static size_t body_size = 64;
static unsigned char *answer_body;

static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) { p[i] = (unsigned char)v; v >>= 8; }
}

static void die(const char *what) { perror(what); exit(1); }

static void append_answer(struct conn *c, uint64_t id) {
    size_t need = HEADER + 8 + body_size;
    if (c->out_len + need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + need) cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out) die("realloc");
        c->out_cap = cap;
    }
    unsigned char *p = c->out + c->out_len;
    put64(p, 8);
    put64(p + 8, body_size);
    put64(p + 16, RESPONSE_CLASS);
    put64(p + 24, id);
    memset(p + HEADER, 0, 8);
    memcpy(p + HEADER + 8, answer_body, body_size);
    c->out_len += need;
}

/* Consumes `n` bytes; returns -1 when the stream is not this protocol's. */
static int consume(struct conn *c, const unsigned char *data, size_t n) {
    while (n > 0) {
        if (c->pending) {
            uint64_t take = c->skip < n ? c->skip : n;
            c->skip -= take;
            data += take;
            n -= take;
            if (c->skip == 0) {
                append_answer(c, c->pending_id);
                c->pending = 0;
            }
            continue;
        }
        size_t take = HEADER - c->head_len < n ? HEADER - c->head_len : n;
        memcpy(c->head + c->head_len, data, take);
        c->head_len += take;
        data += take;
        n -= take;
        if (c->head_len < HEADER) break;
        uint64_t meta = get64(c->head), size = get64(c->head + 8), class = get64(c->head + 16);
        if (class != REQUEST_CLASS || meta > MAX_FRAME || size > MAX_FRAME || meta + size > MAX_FRAME) return -1;
        c->pending = 1;
        c->pending_id = get64(c->head + 24);
        c->skip = meta + size;
        c->head_len = 0;
        if (c->skip == 0) {
            append_answer(c, c->pending_id);
            c->pending = 0;
        }
    }
    return 0;
}

/* Writes what it can; returns -1 when the connection failed. */
static int flush(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            if (errno == EINTR) continue;
            return -1;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

static void close_conn(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

static void watch_writes(int ep, struct conn *c, int on) {
    if (c->want_write == on) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_write = on;
}

int main(int argc, char **argv) {
    int port = -1, opt;
    const char *addr = "127.0.0.1";
    while ((opt = getopt(argc, argv, "p:b:a:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'b': body_size = (size_t)strtoull(optarg, NULL, 10); break;
        case 'a': addr = optarg; break;
        default: fprintf(stderr, "usage: refserver -p PORT [-b BODY] [-a ADDR]\n"); return 64;
        }
    }
    if (port < 0 || port > 65535 || body_size == 0) {
        fprintf(stderr, "usage: refserver -p PORT [-b BODY >= 1] [-a ADDR]\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, SIG_DFL); /* a parent that ignores them must not make this server unstoppable */
    signal(SIGINT, SIG_DFL);
    answer_body = calloc(body_size, 1);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (listener < 0) die("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) { fprintf(stderr, "refserver: bad address %s\n", addr); return 64; }
    if (bind(listener, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    if (listen(listener, 1024) < 0) die("listen");
    socklen_t len = sizeof sa;
    getsockname(listener, (struct sockaddr *)&sa, &len);
    printf("listening on %s:%d\n", addr, ntohs(sa.sin_port)); /* -p 0: the port the system chose */
    fflush(stdout);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev);
    static unsigned char buffer[1 << 16];
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            int dead = 0;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = read(c->fd, buffer, sizeof buffer);
                    if (r > 0) {
                        if (consume(c, buffer, (size_t)r) < 0) { dead = 1; break; }
                        if ((size_t)r < sizeof buffer) break;
                        continue;
                    }
                    if (r == 0) { dead = 1; break; }
                    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                    if (errno == EINTR) continue;
                    dead = 1;
                    break;
                }
            }
            if (!dead && flush(c) < 0) dead = 1;
            if (dead) { close_conn(ep, c); continue; }
            watch_writes(ep, c, c->out_len > 0);
        }
    }
}
