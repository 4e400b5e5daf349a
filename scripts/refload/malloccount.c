/* A heap-allocation counter for make perf: LD_PRELOAD it and every malloc, calloc, realloc, posix_memalign,
   aligned_alloc and memalign of the process is counted; at exit the count is appended to the file named by
   MALLOC_COUNT_FILE (one line, "allocations=N"); with MALLOC_COUNT_THREAD, only those of the threads so named.
   Counting only: the calls go on to glibc's own allocator.
   Build: cc -O2 -shared -fPIC -o malloccount.so malloccount.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong count;
/* MALLOC_COUNT_THREAD: count only the calls of threads whose name starts with it (read on each call: a thread is
   named after it starts). */
static const char *only;
static size_t only_len;
static int counted(void) {
    if (!only) return 1;
    char name[16] = {0};
    if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0) return 0;
    return strncmp(name, only, only_len) == 0;
}
__attribute__((constructor)) static void setup(void) {
    only = getenv("MALLOC_COUNT_THREAD");
    if (only) only_len = strlen(only);
}
#define COUNT() do { if (counted()) atomic_fetch_add_explicit(&count, 1, memory_order_relaxed); } while (0)

void *malloc(size_t n) { COUNT(); return __libc_malloc(n); }
void *calloc(size_t k, size_t n) { COUNT(); return __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { COUNT(); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { COUNT(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { COUNT(); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    COUNT();
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "allocations=%lu\n", (unsigned long)atomic_load(&count));
    if (n > 0) { ssize_t w = write(fd, line, (size_t)n); (void)w; }
    close(fd);
}
