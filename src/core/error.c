/*
 * error.c: DipError recording and the small safe-string helpers that replace the banned
 * libc calls (sprintf, strcpy, strcat, atoi).
 */
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dip_error_set(DipError *err, DipErrorKind kind, const char *fmt, ...)
{
    if (err == NULL || err->kind != DIP_ERR_NONE)
        return false; /* the first error, recorded where it happened, wins */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->kind = kind == DIP_ERR_NONE ? DIP_ERR_INTERNAL : kind;
    return false;
}

void dip_error_prefix(DipError *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t pl = strlen(prefix), ml = strlen(err->msg);
    if (pl + 2 >= sizeof(err->msg))
        pl = sizeof(err->msg) - 3;
    if (pl + 2 + ml >= sizeof(err->msg))
        ml = sizeof(err->msg) - pl - 3;
    memmove(err->msg + pl + 2, err->msg, ml);
    memcpy(err->msg, prefix, pl);
    err->msg[pl] = ':';
    err->msg[pl + 1] = ' ';
    err->msg[pl + 2 + ml] = '\0';
}

void dip_error_clear(DipError *err)
{
    err->kind = DIP_ERR_NONE;
    err->msg[0] = '\0';
}

const char *dip_error_kind_name(DipErrorKind kind)
{
    switch (kind) {
    case DIP_ERR_NONE: return "none";
    case DIP_ERR_DATA: return "data";
    case DIP_ERR_TRANSIENT: return "transient";
    case DIP_ERR_IO: return "io";
    case DIP_ERR_CONFIG: return "config";
    case DIP_ERR_UNSUPPORTED: return "unsupported";
    case DIP_ERR_NOT_FOUND: return "not_found";
    case DIP_ERR_INTERNAL: return "internal";
    case DIP_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown";
}

int dip_error_exit_code(const DipError *err)
{
    switch (err->kind) {
    case DIP_ERR_NONE: return 0;
    case DIP_ERR_CONFIG: return 2;
    case DIP_ERR_DATA: return 3;
    case DIP_ERR_UNSUPPORTED: return 3;
    case DIP_ERR_NOT_FOUND: return 5;
    case DIP_ERR_TRANSIENT: return 4;
    case DIP_ERR_IO: return 4;
    case DIP_ERR_INTERRUPTED: return 130;
    case DIP_ERR_INTERNAL: return 1;
    }
    return 1;
}

static void oom(size_t n)
{
    fprintf(stderr, "dip: out of memory allocating %zu bytes\n", n);
    abort();
}

void *dip_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *dip_calloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom(n * m);
    return p;
}

void *dip_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
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

bool dip_snprintf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

bool dip_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);
    if (cap == 0)
        return false;
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

bool dip_parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = (int64_t)v;
    return true;
}

bool dip_parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}
