/*
 * config.c: environment lookups with defaults. An unset or empty variable yields the
 * default; a set but malformed value is a configuration error naming the variable, never a
 * silent fallback.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *config_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

bool config_env_int(const char *name, int64_t def, int64_t *out, DipError *err)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return true;
    }
    if (!dip_parse_i64(v, out))
        return dip_error_set(err, DIP_ERR_CONFIG, "environment %s=%s: expected an integer", name,
                             v);
    return true;
}

bool config_env_double(const char *name, double def, double *out, DipError *err)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return true;
    }
    if (!dip_parse_double(v, out))
        return dip_error_set(err, DIP_ERR_CONFIG, "environment %s=%s: expected a number", name, v);
    return true;
}

bool config_env_bool(const char *name, bool def, bool *out, DipError *err)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return true;
    }
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on")) {
        *out = true;
        return true;
    }
    if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off")) {
        *out = false;
        return true;
    }
    return dip_error_set(err, DIP_ERR_CONFIG, "environment %s=%s: expected true or false", name, v);
}
