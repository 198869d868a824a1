/*
 * handle.c: libcurl's process-wide initialisation and the options every dip easy handle
 * carries (http.h). Callers add URL, method and body; the rest is decided here once so S3
 * and Elasticsearch traffic behave alike: bounded connects, stalls caught by a low-speed
 * limit, keep-alive probes on idle pooled connections, TLS verified unless a test turns it
 * off, no redirects (a redirect means a wrong endpoint or region, never a place to follow).
 */
#include "http/http.h"

#include <pthread.h>
#include <unistd.h>

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_OK;

static void http_global_init_once(void)
{
    http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool http_global_init(DipError *err)
{
    pthread_once(&http_once, http_global_init_once);
    if (http_init_rc != CURLE_OK)
        return dip_error_set(err, DIP_ERR_INTERNAL, "curl_global_init: %s",
                             curl_easy_strerror(http_init_rc));
    return true;
}

/* A file libcurl would only fail on at the first handshake is named now, as config. */
static bool http_check_readable(const char *what, const char *path, DipError *err)
{
    if (path && access(path, R_OK) != 0)
        return dip_error_set(err, DIP_ERR_CONFIG, "%s %s: cannot be read", what, path);
    return true;
}

bool http_handle_configure(CURL *h, const HttpOptions *o, DipError *err)
{
    if (!http_check_readable("CA file", o->ca_file, err) ||
        !http_check_readable("client certificate", o->client_cert, err) ||
        !http_check_readable("client key", o->client_key, err))
        return false;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM: dip runs threads */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
                     o->connect_timeout_s > 0 ? o->connect_timeout_s : 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->total_timeout_s > 0 ? o->total_timeout_s : 0L);
    if (o->stall_timeout_s > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    }
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->tls_insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->tls_insecure ? 0L : 2L);
    if (o->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (o->client_cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, o->client_cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (o->client_key) {
        curl_easy_setopt(h, CURLOPT_SSLKEY, o->client_key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    return true;
}
