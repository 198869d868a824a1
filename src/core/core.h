/*
 * core.h: the public face of dip's core module.
 *
 * Errors with context, logging (human or JSON lines), arenas and growable buffers,
 * retry with exponential backoff and full jitter, configuration from flags and the
 * environment, hashing, and a JSON writer. Everything else in dip stands on this.
 *
 * Error contract (STYLE.md): a function that can fail returns bool, marked DIP_MUST_CHECK,
 * records the error once where it happened into the DipError the caller passed, and callers
 * propagate without logging again. dip_error_set() returns false so a failure site reads
 * `return dip_error_set(err, DIP_ERR_DATA, "%s: offset %llu: ...", ...);`.
 */
#ifndef DIP_CORE_H
#define DIP_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIP_MUST_CHECK __attribute__((warn_unused_result))
#define DIP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DIP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- errors (error.c) */

typedef enum {
    DIP_ERR_NONE = 0,
    DIP_ERR_DATA,        /* bad input: corrupt file, broken log, wrong schema; never retried */
    DIP_ERR_TRANSIENT,   /* connection lost, 5xx, 429, timeout: retry with backoff */
    DIP_ERR_IO,          /* local I/O failure (open, read, write) */
    DIP_ERR_CONFIG,      /* bad flag, environment value or model file */
    DIP_ERR_UNSUPPORTED, /* a valid input using a feature dip refuses (e.g. a Delta feature) */
    DIP_ERR_NOT_FOUND,   /* a table, object or file that does not exist */
    DIP_ERR_INTERNAL,    /* our own bug or resource exhaustion */
    DIP_ERR_INTERRUPTED, /* SIGINT / SIGTERM asked us to stop */
} DipErrorKind;

typedef struct DipError {
    DipErrorKind kind;
    char msg[2048]; /* "where: what", NUL-terminated; context prefixes are prepended */
} DipError;

/* Records an error (first one wins unless the error was cleared) and returns false. */
bool dip_error_set(DipError *err, DipErrorKind kind, const char *fmt, ...) DIP_PRINTF(3, 4);
/* Prepends "context: " to an already recorded message (adds where, keeps what). */
void dip_error_prefix(DipError *err, const char *fmt, ...) DIP_PRINTF(2, 3);
void dip_error_clear(DipError *err);
const char *dip_error_kind_name(DipErrorKind kind);
/* Exit code for an error kind (documented in README): data 3, config 2, transient 4, ... */
int dip_error_exit_code(const DipError *err);
/* The kind of a failed local file operation's errno, so that the exit code tells a scheduler
 * whether retrying can help: a missing path is not found (5); a directory, a non-regular file,
 * a permission or a name problem is the caller's to fix (config, 2); only what the system may
 * heal by itself (EIO, ENOSPC, EMFILE, EAGAIN, ...) is I/O (4). */
DipErrorKind dip_errno_kind(int e);

/* ---------------------------------------------------------------- allocation (mem.c) */

/* Allocation that aborts on out-of-memory (our own invariant, not input-driven: sizes from
 * input are checked against limits before they reach these). */
void *dip_malloc(size_t n);
void *dip_calloc(size_t n, size_t m);
void *dip_realloc(void *p, size_t n);
char *dip_strdup(const char *s);
char *dip_strndup(const char *s, size_t n);
/* Overflow-checked arithmetic on sizes derived from input. */
static inline bool dip_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool dip_add_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
/* ---------------------------------------------------------------- strings (str.c) */

/* Bounded string formatting into a fixed buffer; always NUL-terminates; returns false when
 * truncated. The project bans sprintf/strcpy/strcat: use these. */
bool dip_snprintf(char *dst, size_t cap, const char *fmt, ...) DIP_PRINTF(3, 4);
bool dip_strlcpy(char *dst, const char *src, size_t cap);
/* Strict integer parsing: whole string, range-checked. */
bool dip_parse_i64(const char *s, int64_t *out);
bool dip_parse_double(const char *s, double *out);

/* ---------------------------------------------------------------- logging (log.c) */

typedef enum { DIP_LOG_DEBUG = 0, DIP_LOG_INFO, DIP_LOG_WARN, DIP_LOG_ERROR } DipLogLevel;
typedef enum { DIP_LOG_HUMAN = 0, DIP_LOG_JSON } DipLogFormat;

void dip_log_init(DipLogFormat format, DipLogLevel min_level);
bool dip_log_parse_format(const char *s, DipLogFormat *out);
DipLogFormat dip_log_format(void);
/* A log line with optional structured fields: kv is NULL or a NULL-terminated list of
 * alternating key, value strings (values are emitted as JSON strings). */
void dip_log_kv(DipLogLevel level, const char *const *kv, const char *fmt, ...) DIP_PRINTF(3, 4);
void dip_log(DipLogLevel level, const char *fmt, ...) DIP_PRINTF(2, 3);
#define dip_debug(...) dip_log(DIP_LOG_DEBUG, __VA_ARGS__)
#define dip_info(...) dip_log(DIP_LOG_INFO, __VA_ARGS__)
#define dip_warn(...) dip_log(DIP_LOG_WARN, __VA_ARGS__)
#define dip_errorf(...) dip_log(DIP_LOG_ERROR, __VA_ARGS__)
/* Progress line on a TTY (stderr), overwritten in place; a no-op when stderr is not a TTY
 * or logs are JSON. dip_progress_done() ends the line. */
void dip_progress(const char *fmt, ...) DIP_PRINTF(1, 2);
void dip_progress_done(void);

/* ---------------------------------------------------------------- arenas, buffers (mem.c) */

/* An arena: allocations freed together, like a PostgreSQL memory context. Per unit of work
 * (a row group, a batch, a transaction). */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;
    size_t block_size; /* default size of a new block */
    size_t total;      /* bytes held in blocks */
} Arena;

void arena_init(Arena *a, size_t block_size);
void *arena_alloc(Arena *a, size_t n);            /* 16-byte aligned, uninitialised */
void *arena_calloc(Arena *a, size_t n, size_t m); /* zeroed, overflow-checked */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
void arena_reset(Arena *a); /* frees all but keeps the first block for reuse */
void arena_free(Arena *a);
/* Moves every block of `from` into `a` (which then frees them); `from` is left empty. */
void arena_adopt(Arena *a, Arena *from);

/* A growable byte buffer with explicit length (the sds idea); data is always NUL-terminated
 * one past len so text can be used as a C string. */
typedef struct Buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} Buf;

void buf_init(Buf *b);
void buf_free(Buf *b);
/* Grows the buffer to hold extra more bytes and the NUL (aborts on size overflow). */
void buf_grow(Buf *b, size_t extra);
/* The appends below sit on the per-value path of the COPY encoder: inline, with the
 * capacity check in line and the growth out of line. */
static inline void buf_reserve(Buf *b, size_t extra)
{
    if (extra >= b->cap || b->len + extra >= b->cap) buf_grow(b, extra);
}
static inline void buf_append(Buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n) __builtin_memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void buf_append_byte(Buf *b, uint8_t c)
{
    buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
void buf_append_str(Buf *b, const char *s);
void buf_printf(Buf *b, const char *fmt, ...) DIP_PRINTF(2, 3);
void buf_vprintf(Buf *b, const char *fmt, va_list ap);
void buf_clear(Buf *b);
static inline const char *buf_cstr(const Buf *b)
{
    return b->data ? (const char *)b->data : "";
}
/* Big-endian appends (PostgreSQL binary COPY). */
static inline void buf_append_be16(Buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, x, 2);
}
static inline void buf_append_be32(Buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, x, 4);
}
static inline void buf_append_be64(Buf *b, uint64_t v)
{
    uint8_t x[8] = {(uint8_t)(v >> 56), (uint8_t)(v >> 48), (uint8_t)(v >> 40), (uint8_t)(v >> 32),
                    (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),  (uint8_t)v};
    buf_append(b, x, 8);
}

/* ---------------------------------------------------------------- retry (retry.c) */

typedef struct RetryPolicy {
    int max_retries;     /* retries after the first attempt; 0 = try once */
    double base_delay_s; /* first backoff ceiling */
    double max_delay_s;  /* cap on one wait */
} RetryPolicy;

/* Delay before retry number `attempt` (1-based): full jitter, uniform in
 * [0, min(max, base * 2^(attempt-1))], never below base/10 so a retry is never instant. */
double retry_delay_s(const RetryPolicy *p, int attempt, uint64_t *rng_state);
/* One attempt of a retried operation (attempt is 1-based). Returns true on success; on
 * failure records the error in err: a DIP_ERR_TRANSIENT error is retried under the policy,
 * any other kind stops the loop at once. */
typedef bool (*RetryFn)(void *ctx, int attempt, DipError *err);
/* The one retry loop of dip: runs fn until it succeeds, fails with a non-transient error, or
 * p->max_retries retries are spent (then err keeps the last transient error as
 * "what: <error> (giving up after N attempts)"). Each retry is logged as a warning counting
 * up to the limit ("what: <error>; retry 2 of 5 in 1.30s (3 left after it)"), and the waits sleep
 * interruptibly: a stop request ends the loop with DIP_ERR_INTERRUPTED. A non-transient
 * error is returned as fn recorded it (fn names its own context). */
bool retry_run(const RetryPolicy *p, RetryFn fn, void *ctx, const char *what,
               DipError *err) DIP_MUST_CHECK;
uint64_t dip_rng_seed(void);
uint64_t dip_rng_next(uint64_t *state);

/* ---------------------------------------------------------------- stop requests (signal.c) */

/* SIGINT/SIGTERM handlers set a flag; long loops, retry waits and HTTP transfers poll it. */
void dip_install_signal_handlers(void);
bool dip_stop_requested(void);
int dip_stop_signal(void);
void dip_request_stop(int sig);

/* ---------------------------------------------------------------- config (config.c) */

/* Environment lookups with defaults; a set but malformed value is a config error. */
bool config_env_int(const char *name, int64_t def, int64_t *out, DipError *err) DIP_MUST_CHECK;
bool config_env_double(const char *name, double def, double *out, DipError *err) DIP_MUST_CHECK;
bool config_env_bool(const char *name, bool def, bool *out, DipError *err) DIP_MUST_CHECK;
const char *config_env_str(const char *name, const char *def);

/* ---------------------------------------------------------------- clocks (clock.c) */

double dip_now_s(void);    /* monotonic seconds */
int64_t dip_wall_us(void); /* wall clock, microseconds since the Unix epoch */
/* Sleeps for `seconds`, waking early (returning false) when a stop was requested. */
bool dip_sleep_interruptible(double seconds);
/* Formats microseconds since epoch as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (column.c, beside the
 * other timestamp formatters). */
void dip_format_ts_us(int64_t us, char out[40]);

/* ---------------------------------------------------------------- this process (proc.c) */

/* Peak resident set size of this process itself, bytes (VmHWM; not inherited across exec). */
uint64_t dip_peak_rss_bytes(void);

/* ---------------------------------------------------------------- byte reader */

/* A bounds-checked cursor over bytes from outside (PostgreSQL COPY and replication
 * messages, Delta deletion vectors): every read checks the bytes are there first, and past
 * the end it returns false, sets `failed`, yields 0 / NULL and never moves, so a decoder can
 * chain reads and test once. Big-endian (network order: PostgreSQL) and little-endian
 * (RoaringBitmap) integers. */
typedef struct ByteReader {
    const uint8_t *p;
    size_t n;    /* bytes in p */
    size_t pos;  /* next byte to read */
    bool failed; /* a read went past the end */
} ByteReader;

static inline void br_init(ByteReader *r, const void *p, size_t n)
{
    r->p = (const uint8_t *)p;
    r->n = n;
    r->pos = 0;
    r->failed = false;
}
static inline size_t br_remaining(const ByteReader *r)
{
    return r->n - r->pos;
}
/* Claims the next k bytes; NULL (and failed) when fewer remain. */
static inline const uint8_t *br_take(ByteReader *r, size_t k)
{
    if (r->n - r->pos < k) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *b = r->p + r->pos;
    r->pos += k;
    return b;
}
static inline bool br_read_u8(ByteReader *r, uint8_t *v)
{
    const uint8_t *b = br_take(r, 1);
    *v = b ? b[0] : 0;
    return b != NULL;
}
static inline bool br_read_be16(ByteReader *r, uint16_t *v)
{
    const uint8_t *b = br_take(r, 2);
    *v = b ? (uint16_t)((unsigned)b[0] << 8 | b[1]) : 0;
    return b != NULL;
}
static inline bool br_read_be32(ByteReader *r, uint32_t *v)
{
    const uint8_t *b = br_take(r, 4);
    *v = b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
    return b != NULL;
}
static inline bool br_read_be64(ByteReader *r, uint64_t *v)
{
    uint32_t hi = 0, lo = 0;
    bool ok = br_read_be32(r, &hi) && br_read_be32(r, &lo);
    *v = ok ? (uint64_t)hi << 32 | lo : 0;
    return ok;
}
static inline bool br_read_le16(ByteReader *r, uint16_t *v)
{
    const uint8_t *b = br_take(r, 2);
    *v = b ? (uint16_t)(b[0] | (unsigned)b[1] << 8) : 0;
    return b != NULL;
}
static inline bool br_read_le32(ByteReader *r, uint32_t *v)
{
    const uint8_t *b = br_take(r, 4);
    *v = b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0;
    return b != NULL;
}
static inline bool br_read_le64(ByteReader *r, uint64_t *v)
{
    uint32_t lo = 0, hi = 0;
    bool ok = br_read_le32(r, &lo) && br_read_le32(r, &hi);
    *v = ok ? (uint64_t)hi << 32 | lo : 0;
    return ok;
}
/* A view of the next k bytes (no copy). */
static inline bool br_read_bytes(ByteReader *r, size_t k, const uint8_t **out)
{
    *out = br_take(r, k);
    return *out != NULL;
}
/* A NUL-terminated string inside the bytes (PostgreSQL protocol String): *out points at it,
 * *len is its length without the NUL; false when no NUL comes before the end. */
bool br_read_cstring(ByteReader *r, const char **out, size_t *len);

/* ---------------------------------------------------------------- hashing (hash.c) */

void dip_sha256(const void *p, size_t n, uint8_t out[32]);
void dip_md5(const void *p, size_t n, uint8_t out[16]);
uint64_t dip_xxh64(const void *p, size_t n, uint64_t seed);
void dip_hex(const uint8_t *p, size_t n, char *out /* 2n+1 */);
uint32_t dip_crc32(uint32_t crc, const void *p, size_t n); /* zlib's CRC-32 */

/* ---------------------------------------------------------------- JSON writer (json.c) */

/* A streaming JSON writer into a Buf. It tracks nesting to place commas. Strings are escaped
 * per RFC 8259 (control characters as \u00XX); invalid UTF-8 is replaced by U+FFFD so the
 * output is always valid JSON. Doubles print as the shortest text that reads back to the same
 * value; NaN and infinities print as the strings "NaN", "Infinity", "-Infinity". */
/* Nesting the writer supports; deeper is a bug of the caller (assert): every input that
 * drives nesting is capped well below (Parquet and Delta schemas at 64 levels, schema.json
 * documents at 32 levels of children, i.e. 64 JSON levels). */
#define JW_MAX_DEPTH 128

typedef struct JsonWriter {
    Buf *out;
    int depth;
    bool need_comma[JW_MAX_DEPTH]; /* per nesting level */
    bool after_key;
} JsonWriter;

void jw_init(JsonWriter *w, Buf *out);
void jw_obj_begin(JsonWriter *w);
void jw_obj_end(JsonWriter *w);
void jw_arr_begin(JsonWriter *w);
void jw_arr_end(JsonWriter *w);
void jw_key(JsonWriter *w, const char *k);
void jw_key_n(JsonWriter *w, const char *k, size_t n);
void jw_str(JsonWriter *w, const char *s);
void jw_str_n(JsonWriter *w, const char *s, size_t n);
void jw_int(JsonWriter *w, int64_t v);
void jw_uint(JsonWriter *w, uint64_t v);
void jw_double(JsonWriter *w, double v);
void jw_float(JsonWriter *w, float v); /* shortest text for the float value */
void jw_bool(JsonWriter *w, bool v);
void jw_null(JsonWriter *w);
/* Inserts already-valid JSON text as one value. */
void jw_raw(JsonWriter *w, const char *s, size_t n);
/* Appends the escaped body of a string (no quotes) to a Buf. */
void jw_escape_into(Buf *b, const char *s, size_t n);
/* Shortest round-trip formatting, used by json_double; returns length written. */
int dip_format_double(double v, char out[32]);
int dip_format_float(float v, char out[32]);

/* ---------------------------------------------------------------- metrics (metrics.c) */

/* Renders {k="v",...} from NULL-terminated key/value pairs into out (cleared first); values
 * are escaped as the text exposition format requires. Empty for kv == NULL. */
void metrics_labels(Buf *out, const char *const *kv);
/* "# HELP" and "# TYPE" lines of one metric family. */
void metrics_family(Buf *out, const char *name, const char *type, const char *help);
/* One sample line: name, rendered labels (may be NULL), value. */
void metrics_sample(Buf *out, const char *name, const char *labels, double v);
/* A gauge family with its one sample. */
void metrics_gauge(Buf *out, const char *name, const char *help, const char *labels, double v);
/* The value of sample name+labels in an exposition file written before; false if absent. */
bool metrics_read_sample(const char *path, const char *name, const char *labels, double *out);
/* ---------------------------------------------------------------- files (file.c) */

/* Replaces path with data atomically: temporary file in the same directory, fsync, rename. */
bool dip_write_file_atomic(const char *path, const void *data, size_t n,
                           DipError *err) DIP_MUST_CHECK;

#endif /* DIP_CORE_H */
