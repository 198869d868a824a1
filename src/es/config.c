/*
 * config.c: EsConfig from PGSync's environment names, and the auth header values.
 *
 * PGSync reads ELASTICSEARCH_URL or ELASTICSEARCH_SCHEME/_HOST/_PORT, the backend switch
 * ELASTICSEARCH / OPENSEARCH (mutually exclusive; Elasticsearch when neither is set), auth
 * from ELASTICSEARCH_USER/_PASSWORD, _BASIC_AUTH, _API_KEY(+_ID), _BEARER_AUTH, AWS-hosted
 * clusters from OPENSEARCH_AWS_HOSTED / ELASTICSEARCH_AWS_HOSTED / OPENSEARCH_AWS_SERVERLESS
 * with ELASTICSEARCH_AWS_REGION, and bulk tuning from ELASTICSEARCH_CHUNK_SIZE and friends.
 * dip keeps the names and meanings so a PGSync .env works unchanged; one deliberate
 * difference: ELASTICSEARCH_MAX_RETRIES defaults to 10 (PGSync: 0), because dip never drops
 * an item and a single 429 should not end a load (docs/es.md).
 *
 * Secrets are copied into the config and only ever leave it through es_auth_header() and
 * the SigV4 signer; every message here names the variable, never its value, for the secret
 * ones.
 */
#include "es/es_internal.h"

#include "core/column.h"

#include <stdlib.h>
#include <string.h>

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? dip_strdup(v) : NULL;
}

/* Splits scheme://[user[:pass]@]host[:port][/prefix] into the config: url without the
 * userinfo (so messages never carry a password), host for messages, userinfo as basic
 * credentials when no other user was given. */
bool es_config_set_url(EsConfig *c, const char *url, DipError *err)
{
    const char *p = strstr(url, "://");
    if (!p || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "Elasticsearch URL: expected http://HOST[:PORT] or https://..., "
                             "got a value without an http(s) scheme");
    const char *auth_start = p + 3;
    const char *path = strchr(auth_start, '/');
    const char *end = path ? path : auth_start + strlen(auth_start);
    const char *at = NULL;
    for (const char *q = auth_start; q < end; q++)
        if (*q == '@') at = q;
    const char *hostport = at ? at + 1 : auth_start;
    if (hostport == end) return dip_error_set(err, DIP_ERR_CONFIG, "Elasticsearch URL: no host");
    Buf u;
    buf_init(&u);
    buf_append(&u, url, (size_t)(auth_start - url));
    buf_append(&u, hostport, (size_t)(end - hostport));
    if (path) {
        /* a path prefix (a proxy's mount point) is kept; a trailing slash is not */
        size_t n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
            n--;
        buf_append(&u, path, n);
    }
    free(c->url);
    c->url = (char *)u.data;
    /* host without the port, for messages ("[::1]:9200" keeps its brackets) */
    const char *hend = end;
    if (*hostport == '[') {
        const char *rb = memchr(hostport, ']', (size_t)(end - hostport));
        if (rb) hend = rb + 1;
    } else {
        const char *colon = memchr(hostport, ':', (size_t)(end - hostport));
        if (colon) hend = colon;
    }
    free(c->host);
    c->host = dip_strndup(hostport, (size_t)(hend - hostport));
    if (at && !c->user && !c->api_key && !c->bearer) {
        const char *colon = memchr(auth_start, ':', (size_t)(at - auth_start));
        const char *uend = colon ? colon : at;
        c->user = dip_strndup(auth_start, (size_t)(uend - auth_start));
        c->password = colon ? dip_strndup(colon + 1, (size_t)(at - colon - 1)) : dip_strdup("");
    }
    return true;
}

static bool env_positive_int(const char *name, int64_t def, int64_t max, int64_t *out,
                             DipError *err)
{
    if (!config_env_int(name, def, out, err)) return false;
    if (*out < 1 || *out > max)
        return dip_error_set(err, DIP_ERR_CONFIG, "environment %s=%lld: expected 1..%lld", name,
                             (long long)*out, (long long)max);
    return true;
}

static bool config_read_backend(EsConfig *c, DipError *err)
{
    const char *es = getenv("ELASTICSEARCH"), *os = getenv("OPENSEARCH");
    bool want_es = true, want_os = false;
    if (!config_env_bool("ELASTICSEARCH", true, &want_es, err) ||
        !config_env_bool("OPENSEARCH", false, &want_os, err))
        return false;
    bool es_set = es && *es, os_set = os && *os;
    /* PGSync: one switch implies the other's opposite */
    if (os_set && !es_set) want_es = !want_os;
    if (es_set && !os_set) want_os = !want_es;
    if (want_es && want_os)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "environment ELASTICSEARCH and OPENSEARCH are both true: "
                             "enable one search backend");
    if (!want_es && !want_os)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "environment ELASTICSEARCH and OPENSEARCH are both false: "
                             "enable one search backend");
    c->want_elasticsearch = want_es;
    c->want_opensearch = want_os;
    c->backend_explicit = es_set || os_set;
    return true;
}

static bool config_read_auth(EsConfig *c, DipError *err)
{
    bool os_hosted = false, es_hosted = false, serverless = false;
    if (!config_env_bool("OPENSEARCH_AWS_HOSTED", false, &os_hosted, err) ||
        !config_env_bool("ELASTICSEARCH_AWS_HOSTED", false, &es_hosted, err) ||
        !config_env_bool("OPENSEARCH_AWS_SERVERLESS", false, &serverless, err))
        return false;
    c->api_key = env_dup("ELASTICSEARCH_API_KEY");
    c->api_key_id = env_dup("ELASTICSEARCH_API_KEY_ID");
    c->bearer = env_dup("ELASTICSEARCH_BEARER_AUTH");
    c->user = env_dup("ELASTICSEARCH_USER");
    c->password = env_dup("ELASTICSEARCH_PASSWORD");
    char *basic = env_dup("ELASTICSEARCH_BASIC_AUTH");
    if (basic && !c->user) {
        char *colon = strchr(basic, ':');
        if (!colon) {
            free(basic);
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "environment ELASTICSEARCH_BASIC_AUTH: expected USER:PASSWORD");
        }
        c->user = dip_strndup(basic, (size_t)(colon - basic));
        c->password = dip_strdup(colon + 1);
    }
    free(basic);
    if (os_hosted || es_hosted || serverless) {
        c->auth = ES_AUTH_SIGV4;
        c->aws_service = dip_strdup(serverless ? "aoss" : "es");
        c->aws_region = env_dup("ELASTICSEARCH_AWS_REGION");
        if (!c->aws_region) c->aws_region = env_dup("AWS_REGION");
        if (!c->aws_region) c->aws_region = env_dup("AWS_DEFAULT_REGION");
        if (!c->aws_region)
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "AWS-hosted OpenSearch needs a region: set "
                                 "ELASTICSEARCH_AWS_REGION (or AWS_REGION)");
        c->aws_access_key = env_dup("AWS_ACCESS_KEY_ID");
        c->aws_secret_key = env_dup("AWS_SECRET_ACCESS_KEY");
        c->aws_session_token = env_dup("AWS_SESSION_TOKEN");
        if (!c->aws_access_key || !c->aws_secret_key)
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "AWS-hosted OpenSearch needs credentials: set "
                                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        if (serverless) {
            c->want_opensearch = true;
            c->want_elasticsearch = false;
        }
    } else if (c->api_key) {
        c->auth = ES_AUTH_APIKEY;
    } else if (c->api_key_id) {
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "environment ELASTICSEARCH_API_KEY_ID is set without "
                             "ELASTICSEARCH_API_KEY");
    } else if (c->bearer) {
        c->auth = ES_AUTH_BEARER;
    } else if (c->user) {
        c->auth = ES_AUTH_BASIC;
        if (!c->password) c->password = dip_strdup("");
    }
    return true;
}

bool es_config_from_env(EsConfig *c, DipError *err)
{
    memset(c, 0, sizeof *c);
    if (!config_read_backend(c, err) || !config_read_auth(c, err)) return false;
    const char *url = config_env_str("ELASTICSEARCH_URL", NULL);
    Buf tmp;
    buf_init(&tmp);
    if (!url || !*url) {
        bool use_ssl = false;
        if (!config_env_bool("ELASTICSEARCH_USE_SSL", false, &use_ssl, err)) return false;
        const char *scheme = config_env_str("ELASTICSEARCH_SCHEME", use_ssl ? "https" : "http");
        const char *host = config_env_str("ELASTICSEARCH_HOST", "localhost");
        int64_t port = 9200;
        if (!env_positive_int("ELASTICSEARCH_PORT", 9200, 65535, &port, err)) return false;
        if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "environment ELASTICSEARCH_SCHEME=%s: expected http or https",
                                 scheme);
        bool v6 = strchr(host, ':') != NULL && host[0] != '[';
        buf_printf(&tmp, "%s://%s%s%s:%lld", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
                   (long long)port);
        url = buf_cstr(&tmp);
    }
    bool ok = es_config_set_url(c, url, err);
    buf_free(&tmp);
    if (!ok) {
        dip_error_prefix(err, "environment ELASTICSEARCH_URL");
        return false;
    }
    if (c->user && c->auth == ES_AUTH_NONE) c->auth = ES_AUTH_BASIC;

    c->ca_certs = env_dup("ELASTICSEARCH_CA_CERTS");
    c->client_cert = env_dup("ELASTICSEARCH_CLIENT_CERT");
    c->client_key = env_dup("ELASTICSEARCH_CLIENT_KEY");
    if (!config_env_bool("ELASTICSEARCH_VERIFY_CERTS", true, &c->verify_certs, err) ||
        !config_env_bool("ELASTICSEARCH_HTTP_COMPRESS", true, &c->compress, err) ||
        !config_env_double("ELASTICSEARCH_TIMEOUT", 10.0, &c->timeout_s, err))
        return false;
    if (!(c->timeout_s > 0))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "environment ELASTICSEARCH_TIMEOUT: expected seconds > 0");
    c->connect_timeout_s = c->timeout_s < 10.0 ? c->timeout_s : 10.0;
    int64_t v;
    if (!env_positive_int("ELASTICSEARCH_CHUNK_SIZE", 5000, 1000000, &v, err)) return false;
    c->chunk_size = (int)v;
    if (!env_positive_int("ELASTICSEARCH_MAX_CHUNK_BYTES", 104857600, (int64_t)1 << 31, &v, err))
        return false;
    c->max_chunk_bytes = (size_t)v;
    if (!env_positive_int("ELASTICSEARCH_THREAD_COUNT", 4, 64, &v, err)) return false;
    c->max_in_flight = (int)v;
    if (!config_env_int("ELASTICSEARCH_MAX_RETRIES", 10, &v, err)) return false;
    if (v < 0 || v > 1000)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "environment ELASTICSEARCH_MAX_RETRIES=%lld: expected 0..1000",
                             (long long)v);
    c->retry.max_retries = (int)v;
    if (!config_env_double("ELASTICSEARCH_INITIAL_BACKOFF", 2.0, &c->retry.base_delay_s, err) ||
        !config_env_double("ELASTICSEARCH_MAX_BACKOFF", 600.0, &c->retry.max_delay_s, err))
        return false;
    if (!(c->retry.base_delay_s > 0) || !(c->retry.max_delay_s >= c->retry.base_delay_s))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "environment ELASTICSEARCH_INITIAL_BACKOFF / _MAX_BACKOFF: expected "
                             "0 < initial <= max seconds");
    return true;
}

void es_config_free(EsConfig *c)
{
    char **strs[] = {&c->url,         &c->host,           &c->user,           &c->password,
                     &c->api_key,     &c->api_key_id,     &c->bearer,         &c->aws_region,
                     &c->aws_service, &c->aws_access_key, &c->aws_secret_key, &c->aws_session_token,
                     &c->ca_certs,    &c->client_cert,    &c->client_key,     &c->refresh};
    for (size_t i = 0; i < DIP_ARRAY_LEN(strs); i++) {
        if (*strs[i]) {
            /* secrets do not linger in freed heap memory */
            explicit_bzero(*strs[i], strlen(*strs[i]));
            free(*strs[i]);
            *strs[i] = NULL;
        }
    }
}

void es_config_auth_describe(const EsConfig *c, Buf *out)
{
    switch (c->auth) {
    case ES_AUTH_NONE:
        buf_append_str(out, "none");
        break;
    case ES_AUTH_BASIC:
        buf_printf(out, "basic (user %s)", c->user ? c->user : "");
        break;
    case ES_AUTH_APIKEY:
        if (c->api_key_id)
            buf_printf(out, "api key (id %s)", c->api_key_id);
        else
            buf_append_str(out, "api key (encoded)");
        break;
    case ES_AUTH_BEARER:
        buf_append_str(out, "bearer token");
        break;
    case ES_AUTH_SIGV4: {
        /* the access key id is an identifier, not a secret; its tail is enough to tell keys
         * apart in a log */
        const char *ak = c->aws_access_key ? c->aws_access_key : "";
        size_t n = strlen(ak);
        buf_printf(out, "aws sigv4 (service %s, region %s, access key ...%s%s)", c->aws_service,
                   c->aws_region, n > 4 ? ak + n - 4 : "", c->aws_session_token ? ", session" : "");
        break;
    }
    }
}

void es_auth_header(const EsConfig *c, Buf *out)
{
    Buf raw;
    buf_init(&raw);
    switch (c->auth) {
    case ES_AUTH_BASIC:
        buf_printf(&raw, "%s:%s", c->user ? c->user : "", c->password ? c->password : "");
        buf_append_str(out, "Authorization: Basic ");
        dip_base64(raw.data, raw.len, out);
        break;
    case ES_AUTH_APIKEY:
        buf_append_str(out, "Authorization: ApiKey ");
        if (c->api_key_id) {
            buf_printf(&raw, "%s:%s", c->api_key_id, c->api_key);
            dip_base64(raw.data, raw.len, out);
        } else {
            buf_append_str(out, c->api_key);
        }
        break;
    case ES_AUTH_BEARER:
        buf_printf(out, "Authorization: Bearer %s", c->bearer);
        break;
    case ES_AUTH_NONE:
    case ES_AUTH_SIGV4:
        break;
    }
    if (raw.data) explicit_bzero(raw.data, raw.len);
    buf_free(&raw);
}
