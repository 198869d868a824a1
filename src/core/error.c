/*
 * error.c: DipError recording (the first error, where it happened, wins; context is
 * prepended on the way up), error kind names and the documented exit code of each kind.
 */
#include "core/core.h"

#include <errno.h>

#include <stdio.h>
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
    if (err == NULL) return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t pl = strlen(prefix), ml = strlen(err->msg);
    if (pl + 2 >= sizeof(err->msg)) pl = sizeof(err->msg) - 3;
    if (pl + 2 + ml >= sizeof(err->msg)) ml = sizeof(err->msg) - pl - 3;
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
    case DIP_ERR_NONE:
        return "none";
    case DIP_ERR_DATA:
        return "data";
    case DIP_ERR_TRANSIENT:
        return "transient";
    case DIP_ERR_IO:
        return "io";
    case DIP_ERR_CONFIG:
        return "config";
    case DIP_ERR_UNSUPPORTED:
        return "unsupported";
    case DIP_ERR_NOT_FOUND:
        return "not_found";
    case DIP_ERR_INTERNAL:
        return "internal";
    case DIP_ERR_INTERRUPTED:
        return "interrupted";
    }
    return "unknown";
}

DipErrorKind dip_errno_kind(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return DIP_ERR_NOT_FOUND;
    case EISDIR:
    case EACCES:
    case EPERM:
    case ELOOP:
    case ENAMETOOLONG:
    case ENXIO:
    case ESPIPE:
    case EINVAL:
    case EROFS:
    case ENODEV:
        return DIP_ERR_CONFIG;
    default:
        return DIP_ERR_IO;
    }
}

int dip_error_exit_code(const DipError *err)
{
    switch (err->kind) {
    case DIP_ERR_NONE:
        return 0;
    case DIP_ERR_CONFIG:
        return 2;
    case DIP_ERR_DATA:
        return 3;
    case DIP_ERR_UNSUPPORTED:
        return 3;
    case DIP_ERR_NOT_FOUND:
        return 5;
    case DIP_ERR_TRANSIENT:
        return 4;
    case DIP_ERR_IO:
        return 4;
    case DIP_ERR_INTERRUPTED:
        return 130;
    case DIP_ERR_INTERNAL:
        return 1;
    }
    return 1;
}
