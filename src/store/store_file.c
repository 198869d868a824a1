/*
 * store_file.c: the local-file backend (plain paths and file:// URIs). Ranged reads use
 * pread on a small cache of open descriptors so a Parquet scan does not reopen per chunk.
 */
#include "store/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct FileStore {
    char *root;
    char *cached_name; /* the one open descriptor we keep */
    int cached_fd;
} FileStore;

static char *join(const FileStore *fs, const char *name)
{
    if (name[0] == '/') return dip_strdup(name);
    if (strncmp(name, "file://", 7) == 0) return dip_strdup(name + 7);
    Buf b;
    buf_init(&b);
    buf_append_str(&b, fs->root);
    if (b.len && b.data[b.len - 1] != '/' && name[0]) buf_append_byte(&b, '/');
    buf_append_str(&b, name);
    return (char *)b.data;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const StoreEntry *)a)->name, ((const StoreEntry *)b)->name);
}

static bool file_list(Store *st, const char *prefix, StoreList *out, DipError *err)
{
    FileStore *fs = st->impl;
    /* directory part of the prefix and the name-start filter after the last '/' */
    const char *slash = strrchr(prefix, '/');
    char *dirrel = slash ? dip_strndup(prefix, (size_t)(slash - prefix + 1)) : dip_strdup("");
    const char *start = slash ? slash + 1 : prefix;
    char *dir = join(fs, dirrel);
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d) {
        int e = errno;
        bool ok = true;
        if (e != ENOENT && e != ENOTDIR)
            ok = dip_error_set(err, dip_errno_kind(e), "%s: cannot list: %s", dir, strerror(e));
        free(dir);
        free(dirrel);
        return ok;
    }
    struct dirent *de;
    size_t startlen = strlen(start);
    Buf path;
    buf_init(&path);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' &&
            (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        if (strncmp(de->d_name, start, startlen) != 0) continue;
        buf_clear(&path);
        buf_printf(&path, "%s%s%s", dir, (dir[0] && dir[strlen(dir) - 1] != '/') ? "/" : "",
                   de->d_name);
        struct stat sb;
        if (stat(buf_cstr(&path), &sb) != 0 || S_ISDIR(sb.st_mode)) continue;
        Buf rel;
        buf_init(&rel);
        buf_printf(&rel, "%s%s", dirrel, de->d_name);
        store_list_push(out, buf_cstr(&rel), (uint64_t)sb.st_size,
                        (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000);
        buf_free(&rel);
    }
    closedir(d);
    buf_free(&path);
    free(dir);
    free(dirrel);
    if (out->n > 1) qsort(out->entries, out->n, sizeof(StoreEntry), cmp_entry);
    return true;
}

static bool file_stat(Store *st, const char *name, StoreEntry *out, bool *exists, DipError *err)
{
    FileStore *fs = st->impl;
    char *p = join(fs, name);
    struct stat sb;
    if (stat(p, &sb) != 0) {
        int e = errno;
        free(p);
        if (e == ENOENT || e == ENOTDIR) {
            *exists = false;
            return true;
        }
        return dip_error_set(err, dip_errno_kind(e), "%s/%s: cannot stat: %s", fs->root, name,
                             strerror(e));
    }
    if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        bool r = dip_error_set(err, DIP_ERR_CONFIG,
                               "%s: is not a regular file (a FIFO, socket or device cannot be read "
                               "at offsets)",
                               p);
        free(p);
        return r;
    }
    free(p);
    *exists = true;
    out->name = dip_strdup(name);
    out->size = (uint64_t)sb.st_size;
    out->mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    return true;
}

static bool file_read_range(Store *st, const char *name, uint64_t off, uint64_t len, void *dst,
                            DipError *err)
{
    FileStore *fs = st->impl;
    if (!fs->cached_name || strcmp(fs->cached_name, name) != 0) {
        if (fs->cached_fd >= 0) close(fs->cached_fd);
        free(fs->cached_name);
        fs->cached_name = NULL;
        char *p = join(fs, name);
        fs->cached_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fs->cached_fd < 0) {
            int e = errno;
            bool r = dip_error_set(err, dip_errno_kind(e), "%s: cannot open: %s%s", p, strerror(e),
                                   e == ENOENT ? " (no such path)" : "");
            free(p);
            return r;
        }
        /* a directory or a FIFO opens fine and fails later on the first read: say what it is */
        struct stat sb;
        const char *what = NULL;
        if (fstat(fs->cached_fd, &sb) != 0)
            what = "cannot stat";
        else if (S_ISDIR(sb.st_mode))
            what = "is a directory, not a file";
        else if (!S_ISREG(sb.st_mode))
            what = "is not a regular file (a FIFO, socket or device cannot be read at offsets)";
        if (what) {
            bool r = dip_error_set(err, DIP_ERR_CONFIG, "%s: %s", p, what);
            close(fs->cached_fd);
            fs->cached_fd = -1;
            free(p);
            return r;
        }
        free(p);
        fs->cached_name = dip_strdup(name);
    }
    uint8_t *d = dst;
    uint64_t done = 0;
    while (done < len) {
        ssize_t n = pread(fs->cached_fd, d + done, (size_t)(len - done), (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return dip_error_set(err, dip_errno_kind(errno), "%s: read at offset %llu: %s", name,
                                 (unsigned long long)(off + done), strerror(errno));
        }
        if (n == 0)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "%s: unexpected end of file at offset %llu (wanted %llu bytes "
                                 "at %llu)",
                                 name, (unsigned long long)(off + done), (unsigned long long)len,
                                 (unsigned long long)off);
        done += (uint64_t)n;
    }
    return true;
}

static void file_close(Store *st)
{
    FileStore *fs = st->impl;
    if (fs->cached_fd >= 0) close(fs->cached_fd);
    free(fs->cached_name);
    free(fs->root);
    free(fs);
}

static const StoreOps FILE_OPS = {file_list, file_stat, file_read_range, file_close, NULL};

bool store_file_open(Store *st, const char *root, DipError *err)
{
    (void)err;
    FileStore *fs = dip_calloc(1, sizeof *fs);
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    fs->root = dip_strndup(root, n);
    fs->cached_fd = -1;
    st->impl = fs;
    st->ops = &FILE_OPS;
    return true;
}
