/*
 * schema_embedded.h — internal: registry.map and the .avsc files, embedded at build time
 * (schemas/embed.cmake writes schema_embedded.c into the build folder).
 */
#ifndef SCHEMA_EMBEDDED_H
#define SCHEMA_EMBEDDED_H

#include <stddef.h>

typedef struct {
    const char *name;   /* file name, e.g. "SaleEvent.avsc" */
    const char *text;   /* contents, NUL-terminated */
    size_t len;         /* bytes, without the NUL */
} schema_embedded_file;

extern const schema_embedded_file schema_embedded_files[];
extern const size_t schema_embedded_count;

#endif
