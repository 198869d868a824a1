/*
 * str.c: the small safe-string helpers that replace the banned libc calls (sprintf, strcpy,
 * strcat, atoi; scripts/check-banned.sh): bounded formatting and copying that always
 * terminate and report truncation, and strict whole-string number parsing.
 */
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (cap == 0) return false;
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
    if (s == NULL || *s == '\0') return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') return false;
    *out = (int64_t)v;
    return true;
}

bool dip_parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0') return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0') return false;
    *out = v;
    return true;
}
