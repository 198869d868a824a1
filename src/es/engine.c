/*
 * engine.c: which engine answers, from the `GET /` body ("version.number",
 * "version.distribution", "cluster_name", "tagline") and the X-Elastic-Product header.
 *
 * Supported: Elasticsearch 7.17 and 8.x, OpenSearch 1.x, 2.x and 3.x. The official
 * Elasticsearch clients (7.14+) refuse a server that claims Elasticsearch >= 7.14 without
 * "X-Elastic-Product: Elasticsearch" on its answer: dip does the same, so it never writes to
 * something that only imitates the API. OpenSearch says "distribution":"opensearch" and
 * sends no product header.
 */
#include "es/es_internal.h"

#include <stdio.h>
#include <string.h>

static bool parse_version(const char *s, int *major, int *minor, int *patch)
{
    int64_t parts[3] = {0, 0, 0};
    int n = 0;
    const char *p = s;
    while (n < 3) {
        if (*p < '0' || *p > '9') break;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9' && v < 1000000)
            v = v * 10 + (*p++ - '0');
        parts[n++] = v;
        if (*p != '.') break;
        p++;
    }
    if (n < 2) return false;
    *major = (int)parts[0];
    *minor = (int)parts[1];
    *patch = (int)parts[2];
    return true;
}

bool es_engine_parse(const char *host, const char *body, size_t len, const char *product_header,
                     EsEngine *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *ver = root ? json_object_get(root, "version") : NULL;
    json_t *num = ver ? json_object_get(ver, "number") : NULL;
    if (!json_is_string(num)) {
        if (root) json_decref(root);
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: GET /: expected an Elasticsearch or OpenSearch root answer "
                             "with version.number, got %s",
                             host, root ? "JSON without it" : "no JSON");
    }
    const char *number = json_string_value(num);
    dip_strlcpy(out->version, number, sizeof out->version);
    json_t *cn = json_object_get(root, "cluster_name");
    if (json_is_string(cn))
        dip_strlcpy(out->cluster_name, json_string_value(cn), sizeof out->cluster_name);
    json_t *dist = json_object_get(ver, "distribution");
    bool opensearch = json_is_string(dist) && !strcmp(json_string_value(dist), "opensearch");
    bool ok_version = parse_version(number, &out->major, &out->minor, &out->patch);
    json_decref(root);
    if (!ok_version)
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: GET /: version.number \"%s\" is not MAJOR.MINOR[.PATCH]", host,
                             out->version);
    if (opensearch) {
        out->kind = ES_ENGINE_OPENSEARCH;
        if (out->major < 1 || out->major > 3)
            return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                                 "%s: OpenSearch %s is not supported: dip supports OpenSearch "
                                 "1.x, 2.x and 3.x",
                                 host, out->version);
        return true;
    }
    out->kind = ES_ENGINE_ELASTICSEARCH;
    bool supported = (out->major == 7 && out->minor == 17) || out->major == 8;
    if (!supported)
        return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                             "%s: Elasticsearch %s is not supported: dip supports Elasticsearch "
                             "7.17 and 8.x, OpenSearch 1.x to 3.x",
                             host, out->version);
    if (!product_header || strcmp(product_header, "Elasticsearch") != 0)
        return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                             "%s: the server claims Elasticsearch %s but its answer lacks "
                             "\"X-Elastic-Product: Elasticsearch\": not a genuine Elasticsearch "
                             "(the official clients refuse it too)",
                             host, out->version);
    out->compat_headers = out->major == 8;
    return true;
}
