/*
 * metrics.c: Prometheus text exposition format (version 0.0.4, the format node_exporter's
 * textfile collector and every Prometheus server read): `# HELP` and `# TYPE` lines, then
 * `name{label="value",...} number`. Label values escape backslash, double quote and newline
 * (the format's only escapes); numbers are printed so they round-trip, +Inf/-Inf/NaN as the
 * format spells them. Files are written with dip_write_file_atomic (file.c), so a collector
 * never reads half a file.
 */
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The format's escapes: backslash and newline everywhere, double quote inside label values. */
static void escape_into(Buf *out, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            buf_append_str(out, "\\\\");
        else if (*p == '\n')
            buf_append_str(out, "\\n");
        else if (quote && *p == '"')
            buf_append_str(out, "\\\"");
        else
            buf_append_byte(out, (uint8_t)*p);
    }
}

void metrics_labels(Buf *out, const char *const *kv)
{
    buf_clear(out);
    if (kv == NULL || kv[0] == NULL) return;
    buf_append_byte(out, '{');
    for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
        if (i) buf_append_byte(out, ',');
        buf_append_str(out, kv[i]);
        buf_append_str(out, "=\"");
        escape_into(out, kv[i + 1], true);
        buf_append_byte(out, '"');
    }
    buf_append_byte(out, '}');
}

void metrics_family(Buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s ", name);
    escape_into(out, help, false);
    buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

void metrics_sample(Buf *out, const char *name, const char *labels, double v)
{
    buf_append_str(out, name);
    if (labels) buf_append_str(out, labels);
    if (isnan(v))
        buf_append_str(out, " NaN\n");
    else if (isinf(v))
        buf_append_str(out, v > 0 ? " +Inf\n" : " -Inf\n");
    else if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v)
        buf_printf(out, " %lld\n", (long long)v);
    else {
        char t[32];
        dip_format_double(v, t); /* shortest text that reads back to v */
        buf_printf(out, " %s\n", t);
    }
}

void metrics_gauge(Buf *out, const char *name, const char *help, const char *labels, double v)
{
    metrics_family(out, name, "gauge", help);
    metrics_sample(out, name, labels, v);
}

bool metrics_read_sample(const char *path, const char *name, const char *labels, double *out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return false;
    size_t nl = strlen(name), ll = labels ? strlen(labels) : 0;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, name, nl) != 0) continue;
        const char *p = line + nl;
        if (ll && strncmp(p, labels, ll) != 0) continue;
        p += ll;
        if (*p != ' ') continue;
        char *end;
        double v = strtod(p + 1, &end);
        if (end != p + 1 && (*end == '\n' || *end == '\0' || *end == ' ')) {
            *out = v;
            found = true;
        }
    }
    fclose(f);
    return found;
}
