/* mem.c: malloc settings for the consumers (see mem.h). */
#include <malloc.h>
#include "handover/mem.h"

/* Blocks from this size up are mapped on their own and unmapped when freed. */
#define HO_MEM_MMAP_THRESHOLD (128 * 1024)

void ho_mem_tune(void) {
        /* One arena for all threads. The apply threads free what the main
         * thread decoded and allocate replies of their own; with an arena per
         * thread glibc keeps each arena's high-water mark resident. */
        mallopt(M_ARENA_MAX, 1);
        /* A fixed mmap threshold. glibc's moves up to the largest block freed
         * (a batch's arrays, a fetch buffer, a reply: megabytes), after which
         * such blocks come from the heap, leave holes there when freed, and
         * the heap's resident size only ratchets up. Fixed, big blocks go back
         * to the kernel when freed, so a worker's peak stays flat as the
         * history grows (docs/bench.md has the figures). */
        mallopt(M_MMAP_THRESHOLD, HO_MEM_MMAP_THRESHOLD);
        mallopt(M_TRIM_THRESHOLD, HO_MEM_MMAP_THRESHOLD);
}
