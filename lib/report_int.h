/*
 * report_int.h: the report's rules on plain values, shared by report.c
 * (ho_report_validate) and jreport.c (the JSON readers, which check each
 * field as they read it and word the same messages). Private to lib/.
 *
 * Dependencies: report.h only.
 */
#ifndef HO_REPORT_INT_H
#define HO_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "handover/err.h"
#include "handover/report.h"

/* Text forms of reported_at cover years 0000..9999. */
#define HO_TIME_MIN INT64_C(-62167219200000) /* 0000-01-01T00:00:00Z */
#define HO_TIME_MAX INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */
#define HO_DATE_MIN (-719528)                /* 0000-01-01 */
#define HO_DATE_MAX 2932896                  /* 9999-12-31 */

/* Inline: ho_report_validate() calls these on every string. */
static inline bool ho_utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                unsigned c;
                int n;
                uint32_t cp;

                /* ASCII, the usual case, 8 bytes at a time */
                while (end - p >= 8) {
                        uint64_t w;
                        memcpy(&w, p, 8);
                        if (w & UINT64_C(0x8080808080808080))
                                break;
                        p += 8;
                }
                if (p >= end)
                        break;
                c = *p++;
                if (c < 0x80)
                        continue;
                if (c >= 0xC2 && c <= 0xDF) {
                        n = 1;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        n = 2;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        n = 3;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (end - p < n)
                        return false;
                while (n--) {
                        if ((*p & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (*p++ & 0x3F);
                }
                /* overlong forms, surrogates, beyond U+10FFFF */
                if ((c >= 0xE0 && c <= 0xEF && cp < 0x800) || (c >= 0xF0 && cp < 0x10000) ||
                    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                        return false;
        }
        return true;
}

/* ho_rule_check_text()'s rule without its message */
static inline bool ho_rule_text_ok(const char *s, size_t len) {
        return len >= 1 && len <= HO_STR_MAX && !memchr(s, '\0', len) && ho_utf8_valid(s, len);
}

/* A short, printable rendering of a string for messages: quoted, escaped,
 * cut after 40 bytes. */
void ho_rule_quote(char *out, size_t out_size, const char *s, size_t len);
/* The name in known (NULL-terminated) nearest to name, for "did you mean",
 * or NULL when none is close. */
const char *ho_rule_nearest(const char *name, const char *const *known);
/* HO_ERR_INVALID + "field \"F\": expected E, got G" */
ho_err_t ho_rule_invalid(char *errstr, size_t errstr_size, const char *field, const char *expected,
                         const char *got);
/* Each: HO_OK, or HO_ERR_INVALID + the message naming field and expectation. */
ho_err_t ho_rule_check_id(const char *field, const char *s, size_t len, char *errstr,
                          size_t errstr_size);
ho_err_t ho_rule_check_text(const char *field, const char *s, size_t len, char *errstr,
                            size_t errstr_size);
ho_err_t ho_rule_check_country(const char *field, const char *s, size_t len, char *errstr,
                               size_t errstr_size);
const char *ho_rule_count_expectation(int64_t max, bool nullable);
ho_err_t ho_rule_check_count(const char *field, int64_t v, int64_t max, bool nullable, char *errstr,
                             size_t errstr_size);
ho_err_t ho_rule_check_date(int32_t days, char *errstr, size_t errstr_size);
ho_err_t ho_rule_check_time(int64_t ms, char *errstr, size_t errstr_size);
/* qsort order of inmates_by_destination: by city, bytewise */
int ho_rule_city_cmp(const void *a, const void *b);

#endif
