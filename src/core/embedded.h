/*
 * embedded.h: SQL and model files compiled into the binary (cmake/embed.cmake), looked up
 * by their path in the repository, e.g. "schemas/pg_integrated_gold.sql".
 */
#ifndef DIP_EMBEDDED_H
#define DIP_EMBEDDED_H

#include <stddef.h>

/* NUL-terminated contents, or NULL when no such file was embedded. */
const char *dip_embedded_get(const char *name, size_t *len);
/* k-th embedded name, NULL past the end (for listing). */
const char *dip_embedded_name(size_t k);

#endif
