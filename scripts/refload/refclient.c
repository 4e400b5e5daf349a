/* refclient: the speed reference for a MindAlpha-Serving client (docs/protocol.md), in plain C on one epoll thread.
 *
 * A closed loop: each of CONNS connections keeps exactly one request in flight (a PAYLOAD-byte body, its ID
 * rewritten each time), and each answer sends the next. After WARMUP seconds it counts answers and their
 * latencies for SECONDS, then prints one line:  rps=… requests=… errors=… p50_us=… p99_us=… p999_us=…
 *
 *   refclient -p PORT [-a ADDR] [-c CONNS] [-d SECONDS] [-w WARMUP] [-P PAYLOAD]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_CLASS 0xE683C4F853870912ULL
#define RESPONSE_CLASS 0x8BAA59D693539253ULL
#define HEADER 32
#define MAX_FRAME (64ULL << 20)
/* Latencies in microseconds: one bucket per µs up to 100 ms, one per ms above, up to 100 s. */
#define FINE 100000
#define COARSE 100000

struct conn {
    int fd;
    unsigned char *request;     /* header, meta, payload: only the ID changes */
    size_t request_len;
    uint64_t id;
    uint64_t sent_ns;
    unsigned char head[HEADER + 8];
    size_t head_len;
    int in_body;
    uint64_t body_left;
};

static uint64_t fine[FINE], coarse[COARSE];
static uint64_t counted, errors, next_id = 1;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) { p[i] = (unsigned char)v; v >>= 8; }
}

static void die(const char *what) { perror(what); exit(1); }

static void record(uint64_t ns) {
    uint64_t us = ns / 1000;
    if (us < FINE) fine[us]++;
    else if (us / 1000 < COARSE) coarse[us / 1000]++;
    else coarse[COARSE - 1]++;
}

static double percentile(double p) {
    uint64_t want = (uint64_t)(p / 100.0 * (double)counted + 0.5), seen = 0;
    if (want == 0) want = 1;
    for (uint64_t i = 0; i < FINE; i++) if ((seen += fine[i]) >= want) return (double)i;
    for (uint64_t i = 0; i < COARSE; i++) if ((seen += coarse[i]) >= want) return (double)i * 1000.0;
    return 0;
}

/* Writes the request with a new ID; returns -1 when the connection failed. */
static int send_request(struct conn *c) {
    c->id = ++next_id;
    put64(c->request + 24, c->id);
    c->sent_ns = now_ns();
    size_t off = 0;
    while (off < c->request_len) {
        ssize_t w = write(c->fd, c->request + off, c->request_len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { /* a large payload: wait for room, the loop is blocking here by design */
                struct timespec pause = {0, 10000};
                nanosleep(&pause, NULL);
                continue;
            }
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    int port = -1, conns = 30, opt;
    double seconds = 5, warmup = 0.5;
    size_t payload = 64;
    const char *addr = "127.0.0.1";
    while ((opt = getopt(argc, argv, "p:a:c:d:w:P:t:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'a': addr = optarg; break;
        case 'c': conns = atoi(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'P': payload = (size_t)strtoull(optarg, NULL, 10); break;
        case 't': break; /* one thread: accepted for compatibility with the scripts' -t */
        default:
            fprintf(stderr, "usage: refclient -p PORT [-a ADDR] [-c CONNS] [-d SECONDS] [-w WARMUP] [-P PAYLOAD]\n");
            return 64;
        }
    }
    if (port < 0 || port > 65535 || conns < 1 || seconds <= 0 || payload + 8 > MAX_FRAME) {
        fprintf(stderr, "usage: refclient -p PORT [-a ADDR] [-c CONNS >= 1] [-d SECONDS > 0] [-w WARMUP] [-P PAYLOAD]\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct conn *all = calloc((size_t)conns, sizeof *all);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) { fprintf(stderr, "refclient: bad address %s\n", addr); return 64; }
    int one = 1;
    for (int i = 0; i < conns; i++) {
        struct conn *c = &all[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0) die("socket");
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->request_len = HEADER + 8 + payload;
        c->request = calloc(c->request_len, 1);
        put64(c->request, 8);
        put64(c->request + 8, payload);
        put64(c->request + 16, REQUEST_CLASS);
        put64(c->request + HEADER, REQUEST_CLASS); /* the meta slot holds the class ID again, as the Go client does */
        memset(c->request + HEADER + 8, 'a', payload);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    uint64_t start = now_ns(), from = start + (uint64_t)(warmup * 1e9), until = from + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < conns; i++)
        if (send_request(&all[i]) < 0) die("write");
    static unsigned char buffer[1 << 16];
    struct epoll_event events[256];
    int open_conns = conns;
    while (open_conns > 0) {
        uint64_t now = now_ns();
        if (now >= until) break;
        int timeout_ms = (int)((until - now) / 1000000) + 1;
        int n = epoll_wait(ep, events, 256, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int e = 0; e < n; e++) {
            struct conn *c = events[e].data.ptr;
            ssize_t r = read(c->fd, buffer, sizeof buffer);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                open_conns--;
                continue;
            }
            size_t off = 0;
            int failed = 0;
            while (off < (size_t)r && !failed) {
                if (!c->in_body) {
                    size_t take = HEADER + 8 - c->head_len;
                    if (take > (size_t)r - off) take = (size_t)r - off;
                    memcpy(c->head + c->head_len, buffer + off, take);
                    c->head_len += take;
                    off += take;
                    if (c->head_len < HEADER + 8) break;
                    c->head_len = 0;
                    uint64_t size = get64(c->head + 8);
                    if (get64(c->head + 16) != RESPONSE_CLASS || size == 0 || size > MAX_FRAME || get64(c->head + 24) != c->id) {
                        failed = 1;
                        break;
                    }
                    c->body_left = size;
                    c->in_body = 1;
                }
                uint64_t take = c->body_left < (uint64_t)r - off ? c->body_left : (uint64_t)r - off;
                c->body_left -= take;
                off += take;
                if (c->body_left > 0) break;
                c->in_body = 0;
                uint64_t done = now_ns();
                if (c->sent_ns >= from && done <= until) {
                    counted++;
                    record(done - c->sent_ns);
                }
                if (send_request(c) < 0) failed = 1;
            }
            if (failed) {
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                open_conns--;
            }
        }
    }
    printf("rps=%.1f requests=%llu errors=%llu p50_us=%.1f p99_us=%.1f p999_us=%.1f\n", (double)counted / seconds,
           (unsigned long long)counted, (unsigned long long)errors, percentile(50), percentile(99), percentile(99.9));
    return errors > 0 ? 1 : 0;
}
