/*
 * pos.c: positions of records in handover-produce's inputs (see pos.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include "handover/pos.h"

_Static_assert(sizeof(uintptr_t) >= sizeof(ho_pos_t), "positions ride in a pointer-sized opaque");

void ho_pos_format(ho_pos_t pos, const char *const *names, size_t n_names, char *out,
                   size_t out_size) {
        unsigned in = HO_POS_INPUT(pos);
        snprintf(out, out_size, "%s:%" PRIu64, in < n_names && names[in] ? names[in] : "?",
                 HO_POS_LINE(pos));
}
