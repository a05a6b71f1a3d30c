/*
 * json.c: the strict JSON reader (see json.h). The lexer follows jansson
 * 2.14's stream, lexer and parser step for step, because what users see
 * is decided by those steps: which error comes first, which bytes are the
 * "token" a message quotes, where the column stands. Three of jansson's
 * habits shape the code:
 *  - its stream reads a whole UTF-8 sequence at the lead byte and fails on
 *    a bad one, in or out of strings ("unable to decode byte 0x..");
 *  - a NUL byte given back to the stream (after a number or a word) is
 *    lost: jansson's one-character buffer takes a NUL for "empty", so
 *    "[1\0]" reads as [1]. `lost` keeps where that happened, because the
 *    lost NUL no longer counts in the column;
 *  - the column is kept per character read; here it is counted only when
 *    an error needs it, from the start of the line to the read position.
 * Strings run through a loop that skips plain ASCII eight bytes at a time,
 * since nearly every byte of a report is one.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/json.h"

#define ST_EOF (-1)
#define ST_ERROR (-2)

static bool is_digit(int c) {
        return c >= '0' && c <= '9';
}
static bool is_alpha(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_xdigit(int c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The length of the UTF-8 sequence a byte starts: 1 for ASCII, 0 for a
 * continuation byte or one that starts no valid sequence. */
static size_t u8_first(unsigned char u) {
        if (u < 0x80)
                return 1;
        if (u <= 0xC1)
                return 0;
        if (u <= 0xDF)
                return 2;
        if (u <= 0xEF)
                return 3;
        if (u <= 0xF4)
                return 4;
        return 0;
}

/* s[0..n) (n >= 2) is one valid sequence: continuation bytes, no
 * surrogate, not overlong, at most U+10FFFF. */
static bool u8_full(const unsigned char *s, size_t n) {
        uint32_t v = s[0] & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);

        for (size_t i = 1; i < n; i++) {
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return false;
                v = (v << 6) | (s[i] & 0x3F);
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                return false;
        return !((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000));
}

static int column_at(const ho_json_t *j, const unsigned char *at) {
        const unsigned char *ls = at;
        int col = 0;

        while (ls > j->base && ls[-1] != '\n')
                ls--;
        for (const unsigned char *q = ls; q < at; q++)
                col += (*q & 0xC0) != 0x80;
        for (size_t i = 0; i < j->n_lost; i++)
                col -= j->base + j->lost[i] >= ls && j->base + j->lost[i] < at;
        return col;
}

static void fail_text(ho_json_t *j, const char *msg) {
        char out[160];
        const char *res = msg;

        if (j->failed)
                return;
        /* the token as jansson prints it: a C string */
        size_t shown = j->saved ? strnlen((const char *)j->tok, j->saved) : 0;
        if (shown) {
                if (j->saved <= 20) {
                        snprintf(out, sizeof(out), "%s near '%.*s'", msg, (int)shown,
                                 (const char *)j->tok);
                        res = out;
                }
        } else if (j->state != ST_ERROR) {
                snprintf(out, sizeof(out), "%s near end of file", msg);
                res = out;
        }
        /* jansson keeps 158 characters of it */
        size_t n = strnlen(res, sizeof(j->text) - 2);
        memcpy(j->text, res, n);
        j->text[n] = '\0';
        j->column = column_at(j, j->p);
        j->failed = true;
}

void ho_json_fail(ho_json_t *j, const char *msg) {
        fail_text(j, msg);
}

static void failf(ho_json_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(ho_json_t *j, const char *fmt, ...) {
        char msg[160];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fail_text(j, msg);
}

static void fail_nomem(ho_json_t *j) {
        if (!j->failed)
                j->nomem = true;
        fail_text(j, "out of memory");
}

void ho_json_init(ho_json_t *j, const char *text, size_t len) {
        j->base = j->p = j->tok = (const unsigned char *)text;
        j->end = j->base + len;
        j->saved = 0;
        j->mb_left = 0;
        j->state = 0;
        j->token = HO_JSON_INVALID;
        j->str = NULL;
        j->str_len = 0;
        j->ival = 0;
        j->dval = 0;
        j->scratch = NULL;
        j->scratch_cap = 0;
        j->lost = NULL;
        j->n_lost = j->lost_cap = 0;
        j->depth = 0;
        j->failed = j->nomem = false;
        j->column = 0;
        j->text[0] = '\0';
}

void ho_json_fini(ho_json_t *j) {
        free(j->scratch);
        free(j->lost);
        j->scratch = NULL;
        j->lost = NULL;
        j->scratch_cap = j->lost_cap = j->n_lost = 0;
}

/* ---- the stream: one byte at a time, whole UTF-8 sequences checked ---- */

static int get(ho_json_t *j) {
        if (j->state)
                return j->state;
        if (j->mb_left) {
                j->mb_left--;
                return (signed char)*j->p++;
        }
        if (j->p >= j->end) {
                j->state = ST_EOF;
                return ST_EOF;
        }
        unsigned char c = *j->p;
        if (c >= 0x80) {
                size_t n = u8_first(c);
                if (!n || (size_t)(j->end - j->p) < n || !u8_full(j->p, n)) {
                        j->state = ST_ERROR;
                        failf(j, "unable to decode byte 0x%x", c);
                        return ST_ERROR;
                }
                j->mb_left = (unsigned)n - 1;
                j->p++;
                return (signed char)c;
        }
        j->p++;
        return c;
}

static void unget(ho_json_t *j, int c) {
        if (c == ST_EOF || c == ST_ERROR)
                return;
        if (c == 0) {
                /* jansson's stream drops it: the byte stays read */
                if (j->n_lost == j->lost_cap) {
                        size_t nc = j->lost_cap ? j->lost_cap * 2 : 8;
                        size_t *nl = realloc(j->lost, nc * sizeof(*nl));
                        if (!nl) {
                                fail_nomem(j);
                                return;
                        }
                        j->lost = nl;
                        j->lost_cap = nc;
                }
                j->lost[j->n_lost++] = (size_t)(j->p - 1 - j->base);
                return;
        }
        j->p--;
        if (u8_first((unsigned char)c) == 0)
                j->mb_left++;
        else
                j->mb_left = 0; /* a lead byte: its sequence is read again */
}

static int get_save(ho_json_t *j) {
        int c = get(j);
        if (c != ST_EOF && c != ST_ERROR)
                j->saved++;
        return c;
}

static void unget_unsave(ho_json_t *j, int c) {
        if (c != ST_EOF && c != ST_ERROR) {
                unget(j, c);
                j->saved--;
        }
}

/* ---- strings ---- */

static int hexval(unsigned char c) {
        return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;
}

static int32_t hex4(const unsigned char *s) {
        return (hexval(s[0]) << 12) | (hexval(s[1]) << 8) | (hexval(s[2]) << 4) | hexval(s[3]);
}

static size_t u8_encode(int32_t v, char *out) {
        if (v < 0x80) {
                out[0] = (char)v;
                return 1;
        }
        if (v < 0x800) {
                out[0] = (char)(0xC0 | (v >> 6));
                out[1] = (char)(0x80 | (v & 0x3F));
                return 2;
        }
        if (v < 0x10000) {
                out[0] = (char)(0xE0 | (v >> 12));
                out[1] = (char)(0x80 | ((v >> 6) & 0x3F));
                out[2] = (char)(0x80 | (v & 0x3F));
                return 3;
        }
        out[0] = (char)(0xF0 | (v >> 18));
        out[1] = (char)(0x80 | ((v >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((v >> 6) & 0x3F));
        out[3] = (char)(0x80 | (v & 0x3F));
        return 4;
}

/* The string's text [tok, tok + saved), quotes included, escapes checked,
 * into its value. */
static void decode_string(ho_json_t *j) {
        const unsigned char *p = j->tok + 1, *e = j->tok + j->saved - 1;
        char *t;

        if (j->saved + 1 > j->scratch_cap) {
                size_t nc = j->saved + 1 > 256 ? j->saved + 1 : 256;
                char *ns = realloc(j->scratch, nc);
                if (!ns) {
                        fail_nomem(j);
                        return;
                }
                j->scratch = ns;
                j->scratch_cap = nc;
        }
        t = j->scratch;
        while (p < e) {
                if (*p != '\\') {
                        *t++ = (char)*p++;
                        continue;
                }
                p++;
                if (*p == 'u') {
                        int32_t v = hex4(p + 1);
                        p += 5;
                        if (v >= 0xD800 && v <= 0xDBFF) {
                                if (p[0] == '\\' && p[1] == 'u') {
                                        int32_t v2 = hex4(p + 2);
                                        p += 6;
                                        if (v2 < 0xDC00 || v2 > 0xDFFF) {
                                                failf(j, "invalid Unicode '\\u%04X\\u%04X'",
                                                      (unsigned)v, (unsigned)v2);
                                                return;
                                        }
                                        v = ((v - 0xD800) << 10) + (v2 - 0xDC00) + 0x10000;
                                } else {
                                        failf(j, "invalid Unicode '\\u%04X'", (unsigned)v);
                                        return;
                                }
                        } else if (v >= 0xDC00 && v <= 0xDFFF) {
                                failf(j, "invalid Unicode '\\u%04X'", (unsigned)v);
                                return;
                        }
                        t += u8_encode(v, t);
                        continue;
                }
                switch (*p) {
                case 'b':
                        *t++ = '\b';
                        break;
                case 'f':
                        *t++ = '\f';
                        break;
                case 'n':
                        *t++ = '\n';
                        break;
                case 'r':
                        *t++ = '\r';
                        break;
                case 't':
                        *t++ = '\t';
                        break;
                default: /* '"', '\\', '/' */
                        *t++ = (char)*p;
                }
                p++;
        }
        *t = '\0';
        j->str = j->scratch;
        j->str_len = (size_t)(t - j->scratch);
        j->token = HO_JSON_STRING;
}

static void scan_string(ho_json_t *j) {
        bool escapes = false;
        int c;

        j->token = HO_JSON_INVALID;
        /* the plain ASCII string is ho_json_scan()'s, inline: here the rest */
        c = get_save(j);
        while (c != '"') {
                if (c == ST_ERROR)
                        return;
                if (c == ST_EOF) {
                        fail_text(j, "premature end of input");
                        return;
                }
                if (c >= 0 && c <= 0x1F) {
                        unget_unsave(j, c);
                        if (c == '\n')
                                fail_text(j, "unexpected newline");
                        else
                                failf(j, "control character 0x%x", (unsigned)c);
                        return;
                }
                if (c == '\\') {
                        escapes = true;
                        c = get_save(j);
                        if (c == 'u') {
                                c = get_save(j);
                                for (int i = 0; i < 4; i++) {
                                        if (!is_xdigit(c)) {
                                                fail_text(j, "invalid escape");
                                                return;
                                        }
                                        c = get_save(j);
                                }
                        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
                                   c == 'n' || c == 'r' || c == 't') {
                                c = get_save(j);
                        } else {
                                fail_text(j, "invalid escape");
                                return;
                        }
                        continue;
                }
                /* a plain character: the run after it needs no look */
                if (!j->mb_left && !j->state) {
                        const unsigned char *q = ho_json_skip_plain_(j->p, j->end);
                        j->saved += (size_t)(q - j->p);
                        j->p = q;
                }
                c = get_save(j);
        }
        if (!escapes) {
                j->str = (const char *)j->tok + 1;
                j->str_len = j->saved - 2;
                j->token = HO_JSON_STRING;
                return;
        }
        decode_string(j);
}

/* ---- numbers and words ---- */

static int scan_number(ho_json_t *j, int c) {
        char small[64], *buf = small;
        int ret = -1;

        j->token = HO_JSON_INVALID;
        if (c == '-')
                c = get_save(j);
        if (c == '0') {
                c = get_save(j);
                if (is_digit(c)) {
                        unget_unsave(j, c);
                        return -1;
                }
        } else if (is_digit(c)) {
                do
                        c = get_save(j);
                while (is_digit(c));
        } else {
                unget_unsave(j, c);
                return -1;
        }
        if (c != '.' && c != 'E' && c != 'e') {
                unget_unsave(j, c);
                /* at most 20 characters fit int64 ("-9223372036854775808") */
                if (j->saved > 20) {
                        fail_text(j, j->tok[0] == '-' ? "too big negative integer"
                                                      : "too big integer");
                        return -1;
                }
                if (j->saved <= 18) { /* cannot overflow */
                        const unsigned char *q = j->tok + (j->tok[0] == '-');
                        long long v = 0;
                        for (; q < j->tok + j->saved; q++)
                                v = v * 10 + (*q - '0');
                        j->ival = j->tok[0] == '-' ? -v : v;
                        j->token = HO_JSON_INTEGER;
                        return 0;
                }
                memcpy(small, j->tok, j->saved);
                small[j->saved] = '\0';
                errno = 0;
                long long v = strtoll(small, NULL, 10);
                if (errno == ERANGE) {
                        fail_text(j, v < 0 ? "too big negative integer" : "too big integer");
                        return -1;
                }
                j->ival = v;
                j->token = HO_JSON_INTEGER;
                return 0;
        }
        if (c == '.') {
                c = get(j);
                if (!is_digit(c)) {
                        unget(j, c);
                        return -1;
                }
                j->saved++;
                do
                        c = get_save(j);
                while (is_digit(c));
        }
        if (c == 'E' || c == 'e') {
                c = get_save(j);
                if (c == '+' || c == '-')
                        c = get_save(j);
                if (!is_digit(c)) {
                        unget_unsave(j, c);
                        return -1;
                }
                do
                        c = get_save(j);
                while (is_digit(c));
        }
        unget_unsave(j, c);
        if (j->saved >= sizeof(small) && !(buf = malloc(j->saved + 1))) {
                fail_nomem(j);
                return -1;
        }
        memcpy(buf, j->tok, j->saved);
        buf[j->saved] = '\0';
        errno = 0;
        double v = strtod(buf, NULL);
        if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE) {
                fail_text(j, "real number overflow");
        } else {
                j->dval = v;
                j->token = HO_JSON_REAL;
                ret = 0;
        }
        if (buf != small)
                free(buf);
        return ret;
}

/* An integer or a word ending in a plain ASCII byte (not NUL: jansson
 * drops a NUL given back): what the lexer's byte-by-byte reading of it
 * would give, without it. Anything else (a fraction, an exponent, a long
 * integer, other endings) is left to the lexer: false. */
static bool fast_word(ho_json_t *j, const unsigned char *q) {
        const unsigned char *s = q, *e = j->end;

        if (*q == '-' || is_digit(*q)) {
                q += *q == '-';
                if (q >= e || !is_digit(*q))
                        return false;
                if (*q == '0')
                        q++;
                else
                        while (q < e && is_digit(*q))
                                q++;
                if (q < e &&
                    (*q == '.' || *q == 'e' || *q == 'E' || is_digit(*q) || *q == 0 || *q >= 0x80))
                        return false;
                if (q - s > 18)
                        return false;
                long long v = 0;
                for (const unsigned char *d = s + (*s == '-'); d < q; d++)
                        v = v * 10 + (*d - '0');
                j->ival = *s == '-' ? -v : v;
                j->token = HO_JSON_INTEGER;
        } else if (is_alpha(*q)) {
                while (q < e && is_alpha(*q))
                        q++;
                if (q < e && (*q == 0 || *q >= 0x80))
                        return false;
                size_t n = (size_t)(q - s);
                if (n == 4 && !memcmp(s, "null", 4))
                        j->token = HO_JSON_NULL;
                else if (n == 4 && !memcmp(s, "true", 4))
                        j->token = HO_JSON_TRUE;
                else if (n == 5 && !memcmp(s, "false", 5))
                        j->token = HO_JSON_FALSE;
                else
                        return false;
        } else {
                return false;
        }
        j->tok = s;
        j->saved = (size_t)(q - s);
        j->p = q;
        return true;
}

int ho_json_lex(ho_json_t *j) {
        int c;

        j->saved = 0;
        j->tok = j->p;
        if (j->failed)
                return j->token = HO_JSON_INVALID;
        /* an integer or a word outside a sequence, read in place */
        if (!j->state && !j->mb_left) {
                const unsigned char *q = ho_json_skip_ws_(j->p, j->end);
                j->p = q;
                if (q < j->end && fast_word(j, q))
                        return j->token;
        }
        do
                c = get(j);
        while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
        if (c == ST_EOF)
                return j->token = HO_JSON_EOF;
        if (c == ST_ERROR)
                return j->token = HO_JSON_INVALID;
        j->tok = j->p - 1;
        j->saved = 1;
        if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
                j->token = c;
        } else if (c == '"') {
                scan_string(j);
        } else if (is_digit(c) || c == '-') {
                scan_number(j, c);
        } else if (is_alpha(c)) {
                do
                        c = get_save(j);
                while (is_alpha(c));
                unget_unsave(j, c);
                j->token = HO_JSON_INVALID;
                if (j->saved == 4 && !memcmp(j->tok, "true", 4))
                        j->token = HO_JSON_TRUE;
                else if (j->saved == 5 && !memcmp(j->tok, "false", 5))
                        j->token = HO_JSON_FALSE;
                else if (j->saved == 4 && !memcmp(j->tok, "null", 4))
                        j->token = HO_JSON_NULL;
        } else {
                /* the rest of the sequence, so the message quotes whole UTF-8 */
                j->saved += j->mb_left;
                j->p += j->mb_left;
                j->mb_left = 0;
                j->token = HO_JSON_INVALID;
        }
        if (j->failed)
                j->token = HO_JSON_INVALID;
        return j->token;
}

/* ---- the parser's steps ---- */

int ho_json_top(ho_json_t *j) {
        int t = ho_json_scan(j);
        if (t != '[' && t != '{') {
                fail_text(j, "'[' or '{' expected");
                return -1;
        }
        return t;
}

int ho_json_value_check(ho_json_t *j) {
        if (j->failed)
                return -1;
        if (++j->depth > HO_JSON_MAX_DEPTH) {
                fail_text(j, "maximum parsing depth reached");
                return -1;
        }
        switch (j->token) {
        case HO_JSON_STRING:
                /* a raw NUL is a control character: only "\u0000" makes one */
                if (j->str == j->scratch && memchr(j->str, '\0', j->str_len)) {
                        fail_text(j, "\\u0000 is not allowed without JSON_ALLOW_NUL");
                        return -1;
                }
                return j->token;
        case HO_JSON_INTEGER:
        case HO_JSON_REAL:
        case HO_JSON_TRUE:
        case HO_JSON_FALSE:
        case HO_JSON_NULL:
        case '{':
        case '[':
                return j->token;
        case HO_JSON_INVALID:
                fail_text(j, "invalid token");
                return -1;
        default:
                fail_text(j, "unexpected token");
                return -1;
        }
}

int ho_json_end(ho_json_t *j) {
        if (ho_json_scan(j) != HO_JSON_EOF) {
                fail_text(j, "end of file expected");
                return -1;
        }
        return 0;
}

static int obj_key(ho_json_t *j) {
        if (j->token != HO_JSON_STRING) {
                fail_text(j, "string or '}' expected");
                return -1;
        }
        if (j->str == j->scratch && memchr(j->str, '\0', j->str_len)) {
                fail_text(j, "NUL byte in object key not supported");
                return -1;
        }
        return 1;
}

int ho_json_obj_first(ho_json_t *j) {
        if (ho_json_scan(j) == '}')
                return 0;
        return obj_key(j);
}

int ho_json_obj_colon(ho_json_t *j) {
        if (ho_json_scan(j) != ':') {
                fail_text(j, "':' expected");
                return -1;
        }
        ho_json_scan(j);
        return j->failed ? -1 : 0;
}

int ho_json_obj_next(ho_json_t *j) {
        int t = ho_json_scan(j);
        if (t == ',') {
                ho_json_scan(j);
                return obj_key(j);
        }
        if (t == '}')
                return 0;
        fail_text(j, "'}' expected");
        return -1;
}

int ho_json_arr_first(ho_json_t *j) {
        int t = ho_json_scan(j);
        if (t == ']')
                return 0;
        if (t == HO_JSON_EOF) {
                fail_text(j, "']' expected");
                return -1;
        }
        return j->failed ? -1 : 1;
}

int ho_json_arr_next(ho_json_t *j) {
        int t = ho_json_scan(j);
        if (t == ',') {
                if (ho_json_scan(j) == HO_JSON_EOF) {
                        fail_text(j, "']' expected");
                        return -1;
                }
                return j->failed ? -1 : 1;
        }
        if (t == ']')
                return 0;
        fail_text(j, "']' expected");
        return -1;
}

int ho_json_skip(ho_json_t *j) {
        int t = ho_json_value(j), more;

        if (t < 0)
                return -1;
        if (t == '{') {
                ho_json_keys_t ks = {0};
                for (more = ho_json_obj_first(j); more == 1; more = ho_json_obj_next(j)) {
                        int added = ho_json_keys_add(&ks, j->str, j->str_len);
                        if (added <= 0) {
                                if (added < 0)
                                        fail_nomem(j);
                                else
                                        fail_text(j, "duplicate object key");
                                more = -1;
                                break;
                        }
                        if (ho_json_obj_colon(j) || ho_json_skip(j)) {
                                more = -1;
                                break;
                        }
                }
                ho_json_keys_free(&ks);
                if (more < 0)
                        return -1;
        } else if (t == '[') {
                for (more = ho_json_arr_first(j); more == 1; more = ho_json_arr_next(j))
                        if (ho_json_skip(j))
                                return -1;
                if (more < 0)
                        return -1;
        }
        ho_json_value_end(j);
        return 0;
}

/* ---- key sets ---- */

struct ho_json_key_s {
        size_t off, len;
        uint32_t hash;
};

static uint32_t key_hash(const char *s, size_t n) {
        uint32_t h = 2166136261u; /* FNV-1a */
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s[i]) * 16777619u;
        return h;
}

static int keys_grow(ho_json_keys_t *ks) {
        size_t nm = ks->mask ? ks->mask * 2 + 1 : 15;
        uint32_t *ns = calloc(nm + 1, sizeof(*ns));
        if (!ns)
                return -1;
        for (size_t i = 0; i < ks->n; i++) {
                size_t s = ks->keys[i].hash & nm;
                while (ns[s])
                        s = (s + 1) & nm;
                ns[s] = (uint32_t)i + 1;
        }
        free(ks->slots);
        ks->slots = ns;
        ks->mask = nm;
        return 0;
}

int ho_json_keys_add(ho_json_keys_t *ks, const char *s, size_t n) {
        uint32_t h = key_hash(s, n);
        size_t slot;

        if ((ks->n + 1) * 2 > ks->mask + 1 && keys_grow(ks))
                return -1;
        for (slot = h & ks->mask; ks->slots[slot]; slot = (slot + 1) & ks->mask) {
                const struct ho_json_key_s *k = &ks->keys[ks->slots[slot] - 1];
                if (k->hash == h && k->len == n && (!n || !memcmp(ks->bytes + k->off, s, n)))
                        return 0;
        }
        if (ks->n == ks->keys_cap) {
                size_t nc = ks->keys_cap ? ks->keys_cap * 2 : 16;
                struct ho_json_key_s *nk = realloc(ks->keys, nc * sizeof(*nk));
                if (!nk)
                        return -1;
                ks->keys = nk;
                ks->keys_cap = nc;
        }
        if (ks->len + n > ks->cap) {
                size_t nc = ks->cap ? ks->cap : 256;
                while (nc < ks->len + n)
                        nc *= 2;
                char *nb = realloc(ks->bytes, nc);
                if (!nb)
                        return -1;
                ks->bytes = nb;
                ks->cap = nc;
        }
        if (n)
                memcpy(ks->bytes + ks->len, s, n);
        ks->keys[ks->n] = (struct ho_json_key_s){ks->len, n, h};
        ks->len += n;
        ks->slots[slot] = (uint32_t)++ks->n;
        return 1;
}

void ho_json_keys_free(ho_json_keys_t *ks) {
        if (!ks->keys_cap && !ks->cap && !ks->slots)
                return;
        free(ks->bytes);
        free(ks->keys);
        free(ks->slots);
        memset(ks, 0, sizeof(*ks));
}
