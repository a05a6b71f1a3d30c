/*
 * agg_json.c: the engine's fast path for {P}:transfers values. Every batch
 * writes one JSON state per touched transfer and reads back the stored state
 * of every revised one; through jansson that costs ~10 us each way (tree
 * building, a hashtable per object), which at thousands of transfers per
 * batch was most of the engine's time. The writer here produces exactly the
 * bytes of json_dumps(ho_report_to_json(r) + "reports", JSON_COMPACT) (a unit
 * test holds the two together); the reader parses that form straight into a
 * report and says "not mine" for anything else, so the caller can fall back to
 * jansson and ho_report_from_jansson (full validation, good messages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/agg_fold.h"

/* The stored state's members, in the order written: the report's fields
 * (report.h's one list), then "reports". */
enum { F_REPORTS = HO_RF__COUNT, F__COUNT };

static const char *field_name(int f) {
        return f < HO_RF__COUNT ? ho_report_field_names[f] : "reports";
}

/* ---- writer ---- */

/* jansson's dump_string without flags: escape '"', '\\' and control bytes;
 * everything else (UTF-8 included, '/' and DEL too) is copied. */
static int put_str(ho_buf_t *b, const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        if (!s)
                return ho_buf_append(b, "null", 4) ? -1 : 0;
        if (ho_buf_append(b, "\"", 1))
                return -1;
        const char *run = s;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                if (s > run && ho_buf_append(b, run, (size_t)(s - run)))
                        return -1;
                char esc[7] = {'\\', 0};
                size_t n = 2;
                switch (c) {
                case '"':
                        esc[1] = '"';
                        break;
                case '\\':
                        esc[1] = '\\';
                        break;
                case '\b':
                        esc[1] = 'b';
                        break;
                case '\f':
                        esc[1] = 'f';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        n = 6;
                }
                if (ho_buf_append(b, esc, n))
                        return -1;
                run = s + 1;
        }
        if (s > run && ho_buf_append(b, run, (size_t)(s - run)))
                return -1;
        return ho_buf_append(b, "\"", 1) ? -1 : 0;
}

static int put_raw(ho_buf_t *b, const char *s) {
        return ho_buf_append(b, s, strlen(s)) ? -1 : 0;
}

static int put_int(ho_buf_t *b, long long v) {
        char tmp[24];
        return ho_buf_append(b, tmp, ho_fmt_ll(tmp, v)) ? -1 : 0;
}

/* {"NAME": for the first member, ,"NAME": for the others: one append */
static int put_key(ho_buf_t *b, int f) {
        char tmp[64];
        const char *name = field_name(f);
        size_t n = strlen(name);
        if (n + 4 > sizeof(tmp))
                return -1;
        tmp[0] = f == HO_RF_REPORT_ID ? '{' : ',';
        tmp[1] = '"';
        memcpy(tmp + 2, name, n);
        tmp[n + 2] = '"';
        tmp[n + 3] = ':';
        return ho_buf_append(b, tmp, n + 4) ? -1 : 0;
}

ho_err_t ho_agg_state_json(const ho_report_t *r, int64_t reports, ho_buf_t *b) {
        char date[11], ts[32];
        int bad = 0;
        ho_date_format(r->occurred_on, date);
        ho_time_format_rfc3339(r->reported_at, ts);
        bad |= put_key(b, HO_RF_REPORT_ID) || put_str(b, r->report_id);
        bad |= put_key(b, HO_RF_TRANSFER_ID) || put_str(b, r->transfer_id);
        bad |= put_key(b, HO_RF_OCCURRED_ON) || put_str(b, date);
        bad |= put_key(b, HO_RF_REPORTED_AT) || put_str(b, ts);
        bad |= put_key(b, HO_RF_SOURCE) || put_str(b, r->source);
        bad |= put_key(b, HO_RF_ORIGIN) || put_str(b, r->origin_country);
        bad |= put_key(b, HO_RF_DESTINATION) || put_str(b, r->destination_country);
        bad |= put_key(b, HO_RF_INMATES) || put_int(b, r->inmate_count);
        bad |= put_key(b, HO_RF_AIRCRAFT) ||
               (r->has_aircraft_count ? put_int(b, r->aircraft_count) : put_raw(b, "null"));
        bad |= put_key(b, HO_RF_DESTINATIONS) || put_raw(b, "[");
        for (size_t i = 0; i < r->n_destinations; i++)
                bad |= (i && put_raw(b, ",")) || put_str(b, r->destinations[i]);
        bad |= put_raw(b, "]") || put_key(b, HO_RF_CUMULATIVE) ||
               (r->has_cumulative_total ? put_int(b, r->cumulative_total) : put_raw(b, "null"));
        bad |= put_key(b, HO_RF_AUTHORITY) || put_str(b, r->authority);
        bad |= put_key(b, HO_RF_PERSONS) || put_raw(b, "[");
        for (size_t i = 0; i < r->n_persons; i++)
                bad |= put_raw(b, i ? ",{\"name\":" : "{\"name\":") ||
                       put_str(b, r->persons[i].name) || put_raw(b, ",\"affiliation\":") ||
                       put_str(b, r->persons[i].affiliation) || put_raw(b, "}");
        bad |= put_raw(b, "]") || put_key(b, HO_RF_BY_DEST) || put_raw(b, "{");
        /* jansson keeps a key's first position and its last value: equal
         * cities are adjacent (sorted), so write each run once, last value */
        for (size_t i = 0, k = 0; i < r->n_by_destination; i++) {
                const char *city = r->by_destination[i].city ? r->by_destination[i].city : "";
                const char *next = i + 1 < r->n_by_destination && r->by_destination[i + 1].city
                                           ? r->by_destination[i + 1].city
                                           : NULL;
                if (next && !strcmp(city, next))
                        continue;
                bad |= (k++ && put_raw(b, ",")) || put_str(b, city) || put_raw(b, ":") ||
                       put_int(b, r->by_destination[i].count);
        }
        bad |= put_raw(b, "}") || put_key(b, F_REPORTS) || put_int(b, reports) || put_raw(b, "}");
        return bad ? HO_ERR_NOMEM : HO_OK;
}

/* ---- reader ---- */

typedef struct {
        const char *p, *end;
} cur_t;

static void ws(cur_t *c) {
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                c->p++;
}

static int lit(cur_t *c, char ch) {
        ws(c);
        if (c->p < c->end && *c->p == ch) {
                c->p++;
                return 0;
        }
        return -1;
}

static int is_null(cur_t *c) {
        ws(c);
        if (c->end - c->p >= 4 && !memcmp(c->p, "null", 4)) {
                c->p += 4;
                return 1;
        }
        return 0;
}

static int hexv(char h) {
        return h >= '0' && h <= '9'   ? h - '0'
               : h >= 'a' && h <= 'f' ? h - 'a' + 10
               : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                      : -1;
}

static int hex4(const char *p, unsigned *out) {
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                int h = hexv(p[i]);
                if (h < 0)
                        return -1;
                v = v << 4 | (unsigned)h;
        }
        *out = v;
        return 0;
}

/* A JSON string into a malloc'd C string (no NUL bytes allowed inside). */
static int str(cur_t *c, char **out) {
        *out = NULL;
        ws(c);
        if (c->p >= c->end || *c->p != '"')
                return -1;
        const char *s = ++c->p;
        bool esc = false;
        while (c->p < c->end && *c->p != '"') {
                if ((unsigned char)*c->p < 0x20)
                        return -1;
                if (*c->p == '\\') {
                        esc = true;
                        if (++c->p >= c->end)
                                return -1;
                }
                c->p++;
        }
        if (c->p >= c->end)
                return -1;
        const char *e = c->p++;
        char *o = malloc((size_t)(e - s) + 1), *w = o;
        if (!o)
                return -1;
        if (!esc) {
                memcpy(o, s, (size_t)(e - s));
                o[e - s] = '\0';
                *out = o;
                return 0;
        }
        for (const char *p = s; p < e; p++) {
                if (*p != '\\') {
                        *w++ = *p;
                        continue;
                }
                p++;
                switch (*p) {
                case '"':
                        *w++ = '"';
                        break;
                case '\\':
                        *w++ = '\\';
                        break;
                case '/':
                        *w++ = '/';
                        break;
                case 'b':
                        *w++ = '\b';
                        break;
                case 'f':
                        *w++ = '\f';
                        break;
                case 'n':
                        *w++ = '\n';
                        break;
                case 'r':
                        *w++ = '\r';
                        break;
                case 't':
                        *w++ = '\t';
                        break;
                case 'u': {
                        unsigned u, lo;
                        if (e - p < 5 || hex4(p + 1, &u))
                                goto bad;
                        p += 4;
                        if (u >= 0xD800 && u <= 0xDBFF) {
                                if (e - p < 7 || p[1] != '\\' || p[2] != 'u' || hex4(p + 3, &lo) ||
                                    lo < 0xDC00 || lo > 0xDFFF)
                                        goto bad;
                                p += 6;
                                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                        } else if (u >= 0xDC00 && u <= 0xDFFF) {
                                goto bad;
                        }
                        if (u == 0)
                                goto bad; /* C strings cannot hold it */
                        if (u < 0x80) {
                                *w++ = (char)u;
                        } else if (u < 0x800) {
                                *w++ = (char)(0xC0 | u >> 6);
                                *w++ = (char)(0x80 | (u & 0x3F));
                        } else if (u < 0x10000) {
                                *w++ = (char)(0xE0 | u >> 12);
                                *w++ = (char)(0x80 | (u >> 6 & 0x3F));
                                *w++ = (char)(0x80 | (u & 0x3F));
                        } else {
                                *w++ = (char)(0xF0 | u >> 18);
                                *w++ = (char)(0x80 | (u >> 12 & 0x3F));
                                *w++ = (char)(0x80 | (u >> 6 & 0x3F));
                                *w++ = (char)(0x80 | (u & 0x3F));
                        }
                        break;
                }
                default:
                        goto bad;
                }
        }
        *w = '\0';
        *out = o;
        return 0;
bad:
        free(o);
        return -1;
}

static int str_or_null(cur_t *c, char **out) {
        *out = NULL;
        return is_null(c) ? 0 : str(c, out);
}

static int integer(cur_t *c, int64_t lo, int64_t hi, int64_t *out) {
        ws(c);
        const char *p = c->p;
        bool neg = p < c->end && *p == '-';
        if (neg)
                p++;
        if (p >= c->end || *p < '0' || *p > '9' ||
            (*p == '0' && p + 1 < c->end && p[1] >= '0' && p[1] <= '9'))
                return -1;
        int64_t v = 0;
        for (; p < c->end && *p >= '0' && *p <= '9'; p++) {
                if (v > (INT64_MAX - 9) / 10)
                        return -1;
                v = v * 10 + (*p - '0');
        }
        if (p < c->end && (*p == '.' || *p == 'e' || *p == 'E'))
                return -1;
        v = neg ? -v : v;
        if (v < lo || v > hi)
                return -1;
        c->p = p;
        *out = v;
        return 0;
}

static int int32_or_null(cur_t *c, bool *has, int32_t *out) {
        int64_t v;
        *has = false;
        if (is_null(c))
                return 0;
        if (integer(c, INT32_MIN, INT32_MAX, &v))
                return -1;
        *has = true;
        *out = (int32_t)v;
        return 0;
}

static int country(cur_t *c, char out[3]) {
        char *s;
        if (str(c, &s))
                return -1;
        int ok = strlen(s) == 2;
        if (ok)
                memcpy(out, s, 3);
        free(s);
        return ok ? 0 : -1;
}

/* Elements of an array or members of an object: calls each() per element
 * after '[' / '{' up to the closing bracket. */
static int destinations(cur_t *c, ho_report_t *r) {
        size_t cap = 0;
        if (lit(c, '['))
                return -1;
        if (!lit(c, ']'))
                return 0;
        do {
                if (r->n_destinations == cap) {
                        cap = cap ? cap * 2 : 4;
                        char **d = realloc(r->destinations, cap * sizeof(*d));
                        if (!d)
                                return -1;
                        r->destinations = d;
                }
                if (str(c, &r->destinations[r->n_destinations]))
                        return -1;
                r->n_destinations++;
        } while (!lit(c, ','));
        return lit(c, ']');
}

static int persons(cur_t *c, ho_report_t *r) {
        size_t cap = 0;
        if (lit(c, '['))
                return -1;
        if (!lit(c, ']'))
                return 0;
        do {
                if (r->n_persons == cap) {
                        cap = cap ? cap * 2 : 4;
                        ho_person_t *p = realloc(r->persons, cap * sizeof(*p));
                        if (!p)
                                return -1;
                        r->persons = p;
                }
                ho_person_t *p = &r->persons[r->n_persons++];
                p->name = p->affiliation = NULL;
                bool got_name = false, got_aff = false;
                if (lit(c, '{'))
                        return -1;
                do {
                        char *k;
                        if (str(c, &k) || lit(c, ':')) {
                                free(k);
                                return -1;
                        }
                        int bad;
                        if (!strcmp(k, "name") && !got_name)
                                bad = str(c, &p->name), got_name = true;
                        else if (!strcmp(k, "affiliation") && !got_aff)
                                bad = str_or_null(c, &p->affiliation), got_aff = true;
                        else
                                bad = -1;
                        free(k);
                        if (bad)
                                return -1;
                } while (!lit(c, ','));
                if (lit(c, '}') || !got_name || !got_aff)
                        return -1;
        } while (!lit(c, ','));
        return lit(c, ']');
}

static int by_destination(cur_t *c, ho_report_t *r) {
        size_t cap = 0;
        if (lit(c, '{'))
                return -1;
        if (!lit(c, '}'))
                return 0;
        do {
                if (r->n_by_destination == cap) {
                        cap = cap ? cap * 2 : 4;
                        ho_city_count_t *d = realloc(r->by_destination, cap * sizeof(*d));
                        if (!d)
                                return -1;
                        r->by_destination = d;
                }
                ho_city_count_t *d = &r->by_destination[r->n_by_destination];
                int64_t v;
                if (str(c, &d->city))
                        return -1;
                r->n_by_destination++;
                if (lit(c, ':') || integer(c, 0, INT32_MAX, &v))
                        return -1;
                d->count = (int32_t)v;
                /* written sorted; anything else is not our form */
                if (r->n_by_destination > 1 && strcmp(d[-1].city, d->city) >= 0)
                        return -1;
        } while (!lit(c, ','));
        return lit(c, '}');
}

static int member(cur_t *c, int f, ho_report_t *r, int64_t *reports) {
        char *s = NULL;
        int64_t v;
        int bad = 0;
        switch (f) {
        case HO_RF_REPORT_ID:
                return str(c, &r->report_id);
        case HO_RF_TRANSFER_ID:
                return str(c, &r->transfer_id);
        case HO_RF_OCCURRED_ON:
        case HO_RF_REPORTED_AT:
                if (str(c, &s))
                        return -1;
                bad = f == HO_RF_OCCURRED_ON ? ho_date_parse(s, &r->occurred_on) != HO_OK
                                             : ho_time_parse_rfc3339(s, &r->reported_at) != HO_OK;
                free(s);
                return bad ? -1 : 0;
        case HO_RF_SOURCE:
                return str(c, &r->source);
        case HO_RF_ORIGIN:
                return country(c, r->origin_country);
        case HO_RF_DESTINATION:
                return country(c, r->destination_country);
        case HO_RF_INMATES:
                if (integer(c, 0, INT32_MAX, &v))
                        return -1;
                r->inmate_count = (int32_t)v;
                return 0;
        case HO_RF_AIRCRAFT:
                return int32_or_null(c, &r->has_aircraft_count, &r->aircraft_count);
        case HO_RF_DESTINATIONS:
                return destinations(c, r);
        case HO_RF_CUMULATIVE:
                return int32_or_null(c, &r->has_cumulative_total, &r->cumulative_total);
        case HO_RF_AUTHORITY:
                return str_or_null(c, &r->authority);
        case HO_RF_PERSONS:
                return persons(c, r);
        case HO_RF_BY_DEST:
                return by_destination(c, r);
        case F_REPORTS:
                return integer(c, 0, INT64_MAX, reports);
        }
        return -1;
}

int ho_agg_state_parse(const char *text, size_t len, ho_report_t *out, int64_t *reports) {
        cur_t c = {text, text + len};
        bool seen[F__COUNT] = {false};
        ho_report_clear(out);
        *reports = -1;
        if (lit(&c, '{'))
                return -1;
        do {
                char *k;
                if (str(&c, &k))
                        goto fail;
                int f = 0;
                while (f < F__COUNT && strcmp(k, field_name(f)))
                        f++;
                free(k);
                if (f == F__COUNT || seen[f] || lit(&c, ':') || member(&c, f, out, reports))
                        goto fail;
                seen[f] = true;
        } while (!lit(&c, ','));
        if (lit(&c, '}'))
                goto fail;
        ws(&c);
        if (c.p != c.end)
                goto fail;
        for (int f = 0; f < F__COUNT; f++)
                if (!seen[f] && f != F_REPORTS)
                        goto fail;
        if (!*out->report_id || !*out->transfer_id)
                goto fail;
        return 0;
fail:
        ho_report_clear(out);
        *reports = -1;
        return -1;
}
