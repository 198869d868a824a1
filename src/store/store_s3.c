/*
 * store_s3.c: the S3 backend (libcurl + AWS SigV4). Placeholder until the store work lands:
 * opening an s3:// URI is refused with a clear error.
 */
#include "store/store_internal.h"

bool store_s3_open(Store *st, const char *uri, DipError *err)
{
    (void)st;
    return dip_error_set(err, DIP_ERR_UNSUPPORTED, "%s: s3:// support is not built yet", uri);
}
