/*
 * pos.h: a record's position in handover-produce's inputs.
 *
 * A ho_pos_t packs (input index, line or record number) into 64 bits so it
 * can ride in librdkafka's per-message opaque without an allocation, and be
 * printed as "NAME:LINE" wherever a record is reported (bad-record listing,
 * rejects file, delivery failures).
 *
 * Dependencies: none (the produce modules depend on this one).
 */
#ifndef HO_POS_H
#define HO_POS_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t ho_pos_t;
#define HO_POS_LINE_BITS 48
#define HO_POS_MAX_INPUTS 65535u
#define HO_POS(input, line)                                                                        \
        (((uint64_t)(input) << HO_POS_LINE_BITS) |                                                 \
         ((uint64_t)(line) & ((1ULL << HO_POS_LINE_BITS) - 1)))
#define HO_POS_INPUT(pos) ((unsigned)((pos) >> HO_POS_LINE_BITS))
#define HO_POS_LINE(pos) ((uint64_t)((pos) & ((1ULL << HO_POS_LINE_BITS) - 1)))

/* "NAME:LINE" for pos, with names[HO_POS_INPUT(pos)] (or "?" when out of range). */
void ho_pos_format(ho_pos_t pos, const char *const *names, size_t n_names, char *out,
                   size_t out_size);

#endif
