/*
 * file.c: atomic file replacement. A reader (a Prometheus textfile collector, the next
 * run) sees the old file or the new one, never half of one: write a temporary file in the
 * same directory, fsync it, rename it over the target.
 */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool dip_write_file_atomic(const char *path, const void *data, size_t n, DipError *err)
{
    Buf tmp;
    buf_init(&tmp);
    buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    const char *t = buf_cstr(&tmp);
    int fd = open(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        dip_error_set(err, DIP_ERR_CONFIG, "%s: cannot create: %s", t, strerror(errno));
        buf_free(&tmp);
        return false;
    }
    const uint8_t *p = data;
    size_t left = n;
    bool ok = true;
    while (ok && left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            ok = dip_error_set(err, DIP_ERR_IO, "%s: write: %s", t, strerror(errno));
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (ok && fsync(fd) != 0)
        ok = dip_error_set(err, DIP_ERR_IO, "%s: fsync: %s", t, strerror(errno));
    if (close(fd) != 0 && ok)
        ok = dip_error_set(err, DIP_ERR_IO, "%s: close: %s", t, strerror(errno));
    if (ok && rename(t, path) != 0)
        ok = dip_error_set(err, DIP_ERR_IO, "%s: rename to %s: %s", t, path, strerror(errno));
    if (!ok) unlink(t);
    buf_free(&tmp);
    return ok;
}
