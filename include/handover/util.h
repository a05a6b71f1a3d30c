/*
 * util.h: whole numbers from text, checked: the digits and nothing else
 * (no sign for the unsigned form, no spaces, no suffix), within a range.
 * clock.h has the millisecond clocks.
 */
#ifndef HO_UTIL_H
#define HO_UTIL_H

#include <stdint.h>
#include "handover/err.h"

/* *out = s in base 10 when it is an integer in min..max; else HO_ERR_USAGE
 * and *out untouched. s may be NULL (HO_ERR_USAGE). */
ho_err_t ho_parse_ll(const char *s, long long min, long long max, long long *out);

/* The same for an unsigned integer in 0..max, base 10 ("-1" is refused,
 * never wrapped). */
ho_err_t ho_parse_ull(const char *s, unsigned long long max, unsigned long long *out);

/* The same for an int in min..max. */
ho_err_t ho_parse_int(const char *s, int min, int max, int *out);

#endif
