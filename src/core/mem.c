/*
 * mem.c: memory: allocation that aborts on out-of-memory (dip_malloc & co), arenas
 * (allocations freed as one, per unit of work) and growable buffers with explicit lengths.
 */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "dip: out of memory allocating %zu bytes\n", n);
    abort();
}

void *dip_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *dip_calloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m);
    return p;
}

void *dip_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *dip_strdup(const char *s)
{
    return dip_strndup(s, strlen(s));
}

char *dip_strndup(const char *s, size_t n)
{
    char *p = dip_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

struct ArenaBlock {
    ArenaBlock *next;
    size_t cap;
    size_t used;
    _Alignas(16) uint8_t data[];
};

void arena_init(Arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->total = 0;
}

void *arena_alloc(Arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n) need = n; /* overflow guard; dip_malloc below will fail loudly */
    ArenaBlock *b = a->head;
    if (b == NULL || b->cap - b->used < need) {
        size_t cap = a->block_size;
        if (need > cap / 4) {
            /* large allocation: its own block, placed after the current one so the
             * current block keeps serving small requests */
            cap = need;
            ArenaBlock *nb = dip_malloc(sizeof(ArenaBlock) + cap);
            nb->cap = cap;
            nb->used = need;
            a->total += cap;
            if (b) {
                nb->next = b->next;
                b->next = nb;
            } else {
                nb->next = NULL;
                a->head = nb;
            }
            return nb->data;
        }
        ArenaBlock *nb = dip_malloc(sizeof(ArenaBlock) + cap);
        nb->cap = cap;
        nb->used = 0;
        nb->next = b;
        a->head = nb;
        a->total += cap;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *arena_calloc(Arena *a, size_t n, size_t m)
{
    size_t t;
    if (!dip_mul_ok(n, m, &t)) {
        fprintf(stderr, "dip: arena_calloc overflow (%zu x %zu)\n", n, m);
        abort();
    }
    void *p = arena_alloc(a, t);
    memset(p, 0, t);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

void arena_reset(Arena *a)
{
    ArenaBlock *b = a->head;
    ArenaBlock *keep = NULL;
    while (b) {
        ArenaBlock *next = b->next;
        if (keep == NULL && b->cap == a->block_size) {
            keep = b;
        } else {
            free(b);
        }
        b = next;
    }
    a->head = keep;
    a->total = 0;
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
        a->total = keep->cap;
    }
}

void arena_adopt(Arena *a, Arena *from)
{
    if (from->head == NULL) return;
    if (a->head == NULL) {
        a->head = from->head;
    } else { /* behind a's current block, which keeps serving small requests */
        ArenaBlock *tail = from->head;
        while (tail->next)
            tail = tail->next;
        tail->next = a->head->next;
        a->head->next = from->head;
    }
    a->total += from->total;
    from->head = NULL;
    from->total = 0;
}

void arena_free(Arena *a)
{
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void buf_init(Buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(Buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_grow(Buf *b, size_t extra)
{
    size_t need;
    if (!dip_add_ok(b->len, extra, &need) || !dip_add_ok(need, 1, &need)) {
        fprintf(stderr, "dip: buffer size overflow\n");
        abort();
    }
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    b->data = dip_realloc(b->data, cap);
    b->cap = cap;
}

void buf_append_str(Buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vprintf(Buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if ((size_t)n < sizeof(small)) {
        buf_append(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_clear(Buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}
