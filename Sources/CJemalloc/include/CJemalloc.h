#ifndef C_JEMALLOC_H
#define C_JEMALLOC_H

#include <stddef.h>

/// jemalloc's control interface (jemalloc(3)): reads its version and the settings it
/// started with. Declared here rather than through <jemalloc/jemalloc.h>, which also
/// declares malloc and free over the C library's.
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#endif
