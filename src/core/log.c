/*
 * log.c: log lines for humans on a terminal ("2026-11-22 04:10:11 INFO  message k=v") or as
 * JSON lines ({"ts":..,"level":..,"msg":..,k:v}) with --log-format json, always on stderr so
 * stdout stays the command's data. A progress line is drawn on a TTY only. Threads may log:
 * one mutex keeps each line (and the progress line's erase) whole.
 */
#include "core/core.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static DipLogFormat g_format = DIP_LOG_HUMAN;
static DipLogLevel g_min = DIP_LOG_INFO;
static bool g_progress_active = false; /* under g_mu */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

void dip_log_init(DipLogFormat format, DipLogLevel min_level)
{
    g_format = format;
    g_min = min_level;
}

DipLogFormat dip_log_format(void)
{
    return g_format;
}

bool dip_log_parse_format(const char *s, DipLogFormat *out)
{
    if (strcmp(s, "json") == 0) {
        *out = DIP_LOG_JSON;
        return true;
    }
    if (strcmp(s, "human") == 0 || strcmp(s, "text") == 0) {
        *out = DIP_LOG_HUMAN;
        return true;
    }
    return false;
}

static const char *level_name(DipLogLevel l)
{
    switch (l) {
    case DIP_LOG_DEBUG:
        return "debug";
    case DIP_LOG_INFO:
        return "info";
    case DIP_LOG_WARN:
        return "warn";
    case DIP_LOG_ERROR:
        return "error";
    }
    return "info";
}

static void log_emit(DipLogLevel level, const char *const *kv, const char *fmt, va_list ap)
{
    if (level < g_min) return;
    Buf msg;
    buf_init(&msg);
    buf_vprintf(&msg, fmt, ap);
    Buf line;
    buf_init(&line);
    char ts[40];
    dip_format_ts_us(dip_wall_us(), ts);
    if (g_format == DIP_LOG_JSON) {
        JsonWriter w;
        jw_init(&w, &line);
        jw_obj_begin(&w);
        jw_key(&w, "ts");
        jw_str(&w, ts);
        jw_key(&w, "level");
        jw_str(&w, level_name(level));
        jw_key(&w, "msg");
        jw_str_n(&w, buf_cstr(&msg), msg.len);
        for (int i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
            jw_key(&w, kv[i]);
            jw_str(&w, kv[i + 1]);
        }
        jw_obj_end(&w);
    } else {
        /* "2026-11-22T04:10:11.123456Z" -> "2026-11-22 04:10:11" */
        char shortts[20];
        memcpy(shortts, ts, 19);
        shortts[10] = ' ';
        shortts[19] = '\0';
        char lvl[8];
        dip_snprintf(lvl, sizeof lvl, "%s", level_name(level));
        for (char *p = lvl; *p; p++)
            *p = (char)(*p - 32 * (*p >= 'a' && *p <= 'z'));
        buf_printf(&line, "%s %-5s %s", shortts, lvl, buf_cstr(&msg));
        for (int i = 0; kv && kv[i] && kv[i + 1]; i += 2)
            buf_printf(&line, " %s=%s", kv[i], kv[i + 1]);
    }
    buf_append_byte(&line, '\n');
    pthread_mutex_lock(&g_mu);
    if (g_progress_active) fputs("\r\033[K", stderr);
    fwrite(line.data, 1, line.len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&g_mu);
    buf_free(&line);
    buf_free(&msg);
}

void dip_log_kv(DipLogLevel level, const char *const *kv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(level, kv, fmt, ap);
    va_end(ap);
}

void dip_log(DipLogLevel level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(level, NULL, fmt, ap);
    va_end(ap);
}

void dip_progress(const char *fmt, ...)
{
    if (g_format == DIP_LOG_JSON || !isatty(STDERR_FILENO)) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_mu);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    g_progress_active = true;
    pthread_mutex_unlock(&g_mu);
}

void dip_progress_done(void)
{
    pthread_mutex_lock(&g_mu);
    if (g_progress_active) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        g_progress_active = false;
    }
    pthread_mutex_unlock(&g_mu);
}
