#include "CJemalloc.h"

// The service allocates with jemalloc rather than glibc's malloc: ingest allocates each
// consumed message on the consumer's thread and frees it on the lanes' threads, and
// glibc's arena locks and their futex wake-ups were 3.5% of the machine's samples while
// ingesting (perf, issue 19). jemalloc reads these settings when the process starts;
// MALLOC_CONF in the environment applies on top of them (more arenas for a machine of
// many cores, for one). One arena instead of four per core, and freed pages returned
// after a second instead of ten: with its defaults the service peaked at 129-134 MiB,
// with one arena at 102-108 (glibc's malloc: 103-109), using 26-27 us of CPU per event
// against 29-37 with glibc's. A quarter of a second's decay cost 50 KB events 7% of their
// rate (jemalloc maps and returns that size class's pages more often); a second recovered
// it and left small events and the peak as they were (scripts/bench-ingest.sh,
// docs/benchmarks.md).
const char *malloc_conf = "narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";
