/*
 * fuzz_metrics_http.c: libFuzzer target for the request parser of the daemon's HTTP server
 * (src/jobs/metrics_http.c): any bytes a client sends to --metrics-addr. Checks: no crash,
 * no read past the bytes given, and what is accepted is what the handler may rely on: GET or
 * HEAD, a path that starts with '/', without '?', control characters or spaces, that fits.
 */
#include "jobs/metrics_http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > METRICS_HTTP_MAX_REQUEST) return 0; /* the server never parses more */
    /* an exact-size copy, so ASan sees any read past the end */
    char *head = malloc(size ? size : 1);
    if (head == NULL) return 0;
    memcpy(head, data, size);
    char method[16], path[64];
    int st = metrics_http_parse_request(head, size, method, sizeof method, path, sizeof path);
    if (st == 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) abort();
        if (path[0] != '/' || strchr(path, '?') != NULL) abort();
        for (const char *p = path; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) abort();
    } else if (st != 400 && st != 405 && st != 414 && st != 505) {
        abort();
    }
    free(head);
    return 0;
}
