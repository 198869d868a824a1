/*
 * sync_es_env.c: the .env file, read as PGSync reads it (python-dotenv's load_dotenv():
 * override=False, interpolate=True).
 *
 * Grammar (python-dotenv's parser): blank lines and lines starting with '#' are skipped; a
 * line is `[export ]KEY=VALUE` with optional spaces around '='; VALUE is
 * - '...': literal, no escapes, no interpolation;
 * - "...": escapes \\ \" \n \t \r \' and ${VAR} interpolation;
 * - unquoted: up to a " #" comment, trailing spaces trimmed, ${VAR} interpolation.
 * A KEY without '=' is ignored (dotenv sets it to None, which it never exports). ${VAR}
 * takes the environment (set variables win), then the keys read earlier in the file;
 * ${VAR:-default} gives default when VAR is unset or empty.
 */
#include "jobs/sync_es.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOTENV_MAX_BYTES (1u << 20)

static void interpolate(const char *s, size_t n, Buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
            const char *close = memchr(s + i + 2, '}', n - i - 2);
            if (close) {
                size_t len = (size_t)(close - (s + i + 2));
                char name[256];
                const char *def = NULL;
                size_t deflen = 0;
                if (len < sizeof name) {
                    memcpy(name, s + i + 2, len);
                    name[len] = '\0';
                    char *dash = strstr(name, ":-");
                    if (dash) {
                        *dash = '\0';
                        def = s + i + 2 + (dash - name) + 2;
                        deflen = len - (size_t)(dash - name) - 2;
                    }
                    const char *v = getenv(name);
                    if (v && *v)
                        buf_append_str(out, v);
                    else if (def)
                        buf_append(out, def, deflen);
                    i = (size_t)(close - s);
                    continue;
                }
            }
        }
        buf_append_byte(out, (uint8_t)s[i]);
    }
}

/* One line (without its newline); false with a message in why on a malformed line. */
static bool dotenv_line(const char *line, size_t n, char *why, size_t whylen)
{
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == n || line[i] == '#') return true;
    if (n - i > 7 && strncmp(line + i, "export", 6) == 0 &&
        (line[i + 6] == ' ' || line[i + 6] == '\t')) {
        i += 6;
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
    }
    size_t k0 = i;
    while (i < n && (isalnum((unsigned char)line[i]) || line[i] == '_' || line[i] == '.'))
        i++;
    size_t k1 = i;
    if (k1 == k0) {
        dip_snprintf(why, whylen, "expected KEY=VALUE");
        return false;
    }
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == n) return true; /* KEY alone: None in dotenv, never exported */
    if (line[i] != '=') {
        dip_snprintf(why, whylen, "expected '=' after %.*s", (int)(k1 - k0), line + k0);
        return false;
    }
    i++;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    Buf val;
    buf_init(&val);
    if (i < n && (line[i] == '\'' || line[i] == '"')) {
        char q = line[i++];
        Buf raw;
        buf_init(&raw);
        bool closed = false;
        while (i < n) {
            char c = line[i++];
            if (c == q) {
                closed = true;
                break;
            }
            if (q == '"' && c == '\\' && i < n) {
                char e = line[i++];
                switch (e) {
                case 'n':
                    c = '\n';
                    break;
                case 't':
                    c = '\t';
                    break;
                case 'r':
                    c = '\r';
                    break;
                default:
                    c = e;
                    break;
                }
            }
            buf_append_byte(&raw, (uint8_t)c);
        }
        if (!closed) {
            buf_free(&raw);
            buf_free(&val);
            dip_snprintf(why, whylen, "unterminated %c quote", q);
            return false;
        }
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i < n && line[i] != '#') {
            buf_free(&raw);
            buf_free(&val);
            dip_snprintf(why, whylen, "text after the closing quote");
            return false;
        }
        if (q == '"')
            interpolate((const char *)raw.data, raw.len, &val);
        else
            buf_append(&val, raw.data, raw.len);
        buf_free(&raw);
    } else {
        size_t e = i;
        while (e < n && !(line[e] == '#' && e > i && (line[e - 1] == ' ' || line[e - 1] == '\t')))
            e++;
        while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t'))
            e--;
        interpolate(line + i, e - i, &val);
    }
    char *key = dip_strndup(line + k0, k1 - k0);
    if (!getenv(key)) setenv(key, buf_cstr(&val), 0);
    free(key);
    buf_free(&val);
    return true;
}

bool sync_es_load_dotenv(const char *path, DipError *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return true;
        return dip_error_set(err, dip_errno_kind(errno), "%s: %s", path, strerror(errno));
    }
    Buf all;
    buf_init(&all);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (all.len + got > DOTENV_MAX_BYTES) {
            fclose(f);
            buf_free(&all);
            return dip_error_set(err, DIP_ERR_CONFIG, "%s: larger than %u bytes", path,
                                 DOTENV_MAX_BYTES);
        }
        buf_append(&all, chunk, got);
    }
    fclose(f);
    bool ok = true;
    const char *p = buf_cstr(&all), *end = p + all.len;
    for (int lineno = 1; p < end && ok; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n && p[n - 1] == '\r') n--;
        char why[128];
        if (!dotenv_line(p, n, why, sizeof why))
            ok = dip_error_set(err, DIP_ERR_CONFIG, "%s: line %d: %s", path, lineno, why);
        p = nl ? nl + 1 : end;
    }
    buf_free(&all);
    return ok;
}
