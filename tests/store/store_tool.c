/*
 * store_tool.c: a test driver for the store module (not part of dip). It runs one store
 * operation against a URI so shell tests can compare what the store returns with local
 * copies of the same bytes:
 *
 *   store_tool list URI PREFIX            name<TAB>size<TAB>mtime_ms per object
 *   store_tool stat URI NAME              "size N" or "absent"
 *   store_tool cat URI NAME [OFF LEN]     the bytes (whole object, or the range) on stdout
 *   store_tool chunked URI NAME CHUNK     the whole object read in CHUNK-sized ranges
 *   store_tool threads URI NAME N         N threads, each with a store_clone, read the object;
 *                                         prints the SHA-256 once if all agree
 *
 * Output is written only after the read succeeded, so a failed read prints nothing on
 * stdout (the shell tests check that no partial data escapes). Exit code: 0 on success,
 * dip_error_exit_code() of the error otherwise, with the error on stderr.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const DipError *err)
{
    fprintf(stderr, "store_tool: %s error: %s\n", dip_error_kind_name(err->kind), err->msg);
    int rc = dip_error_exit_code(err);
    return rc ? rc : 1;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    int64_t v;
    if (!dip_parse_i64(s, &v) || v < 0) return false;
    *out = (uint64_t)v;
    return true;
}

static bool write_all(const void *p, size_t n)
{
    return fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0;
}

typedef struct ThreadJob {
    Store *st;
    const char *name;
    uint8_t digest[32];
    DipError err;
    bool ok;
} ThreadJob;

static void *thread_read(void *arg)
{
    ThreadJob *j = arg;
    Buf b;
    buf_init(&b);
    j->ok = store_read_all(j->st, j->name, &b, &j->err);
    if (j->ok) dip_sha256(b.data, b.len, j->digest);
    buf_free(&b);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: store_tool list|stat|cat|chunked|threads URI ARG [..]\n");
        return 2;
    }
    dip_log_init(DIP_LOG_HUMAN, getenv("STORE_TOOL_DEBUG") ? DIP_LOG_DEBUG : DIP_LOG_INFO);
    dip_install_signal_handlers(); /* SIGINT/SIGTERM stop a transfer, as in dip */
    const char *cmd = argv[1], *uri = argv[2], *arg = argv[3];
    DipError err;
    dip_error_clear(&err);
    Store *st;
    if (!store_open(&st, uri, &err)) return fail(&err);
    int rc = 0;
    if (strcmp(cmd, "list") == 0) {
        StoreList l;
        if (!store_list(st, arg, &l, &err)) {
            rc = fail(&err);
        } else {
            for (size_t i = 0; i < l.n; i++)
                printf("%s\t%llu\t%lld\n", l.entries[i].name, (unsigned long long)l.entries[i].size,
                       (long long)l.entries[i].mtime_ms);
            store_list_free(&l);
        }
    } else if (strcmp(cmd, "stat") == 0) {
        StoreEntry e;
        bool exists = false;
        if (!store_stat(st, arg, &e, &exists, &err)) {
            rc = fail(&err);
        } else if (exists) {
            printf("size %llu\n", (unsigned long long)e.size);
            store_entry_free(&e);
        } else {
            printf("absent\n");
        }
    } else if (strcmp(cmd, "cat") == 0 && argc == 4) {
        Buf b;
        buf_init(&b);
        if (!store_read_all(st, arg, &b, &err))
            rc = fail(&err);
        else if (!write_all(b.data, b.len))
            rc = 1;
        buf_free(&b);
    } else if (strcmp(cmd, "cat") == 0 && argc == 6) {
        uint64_t off, len;
        if (!parse_u64(argv[4], &off) || !parse_u64(argv[5], &len) || len > (1u << 30)) {
            fprintf(stderr, "store_tool: bad OFF/LEN\n");
            rc = 2;
        } else {
            uint8_t *p = dip_malloc(len ? len : 1);
            if (!store_read_range(st, arg, off, len, p, &err))
                rc = fail(&err);
            else if (!write_all(p, len))
                rc = 1;
            free(p);
        }
    } else if (strcmp(cmd, "chunked") == 0 && argc == 5) {
        uint64_t chunk;
        StoreEntry e;
        bool exists = false;
        if (!parse_u64(argv[4], &chunk) || chunk == 0) {
            fprintf(stderr, "store_tool: bad CHUNK\n");
            rc = 2;
        } else if (!store_stat(st, arg, &e, &exists, &err)) {
            rc = fail(&err);
        } else if (!exists) {
            fprintf(stderr, "store_tool: %s: absent\n", arg);
            rc = 5;
        } else {
            uint8_t *p = dip_malloc(e.size ? e.size : 1);
            for (uint64_t off = 0; off < e.size && rc == 0; off += chunk) {
                uint64_t n = e.size - off < chunk ? e.size - off : chunk;
                if (!store_read_range(st, arg, off, n, p + off, &err)) rc = fail(&err);
            }
            if (rc == 0 && !write_all(p, e.size)) rc = 1;
            free(p);
            store_entry_free(&e);
        }
    } else if (strcmp(cmd, "threads") == 0 && argc == 5) {
        uint64_t n;
        if (!parse_u64(argv[4], &n) || n == 0 || n > 16) {
            fprintf(stderr, "store_tool: bad N (1..16)\n");
            rc = 2;
        } else {
            ThreadJob jobs[16];
            pthread_t th[16];
            memset(jobs, 0, sizeof jobs);
            size_t started = 0;
            for (size_t i = 0; i < n && rc == 0; i++) {
                dip_error_clear(&jobs[i].err);
                jobs[i].name = arg;
                if (!store_clone(st, &jobs[i].st, &err)) {
                    rc = fail(&err);
                    break;
                }
                started++;
            }
            for (size_t i = 0; i < started; i++)
                pthread_create(&th[i], NULL, thread_read, &jobs[i]);
            for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
            for (size_t i = 0; i < started; i++) {
                if (rc == 0 && !jobs[i].ok)
                    rc = fail(&jobs[i].err);
                else if (rc == 0 && memcmp(jobs[i].digest, jobs[0].digest, 32) != 0) {
                    fprintf(stderr, "store_tool: thread %zu read different bytes\n", i);
                    rc = 1;
                }
                store_close(jobs[i].st);
            }
            if (rc == 0) {
                char hex[65];
                dip_hex(jobs[0].digest, 32, hex);
                printf("%s\n", hex);
            }
        }
    } else {
        fprintf(stderr, "store_tool: unknown command or arguments\n");
        rc = 2;
    }
    store_close(st);
    return rc;
}
