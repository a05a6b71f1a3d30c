/* util.c: checked integer parsing (see util.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include "handover/util.h"

ho_err_t ho_parse_ll(const char *s, long long min, long long max, long long *out) {
        if (!s || !*s || isspace((unsigned char)*s))
                return HO_ERR_USAGE;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return HO_ERR_USAGE;
        *out = v;
        return HO_OK;
}

ho_err_t ho_parse_ull(const char *s, unsigned long long max, unsigned long long *out) {
        if (!s || !isdigit((unsigned char)*s)) /* strtoull takes "-1" as a huge number */
                return HO_ERR_USAGE;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return HO_ERR_USAGE;
        *out = v;
        return HO_OK;
}

ho_err_t ho_parse_int(const char *s, int min, int max, int *out) {
        long long v;
        ho_err_t err = ho_parse_ll(s, min, max, &v);
        if (!err)
                *out = (int)v;
        return err;
}
