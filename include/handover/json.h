/*
 * json.h: a strict JSON reader over one buffer, without trees. It is a pull
 * lexer with the walking steps of a recursive-descent parser, so a caller
 * reads a document straight into its own structure (jreport.c reads
 * reports and stored states this way).
 *
 * It takes what jansson 2.14's json_loadb(JSON_REJECT_DUPLICATES) takes,
 * and refuses the rest with jansson's own message and column: the texts
 * users have seen since the first release ("invalid token near 'x'",
 * "duplicate object key near '\"a\"'", ...), the first error winning.
 * tests/fuzz/fuzz_json_lex.c holds the two byte for byte on any input.
 * Columns count characters (a UTF-8 sequence is one) from the start of
 * the error's line; a caller reads every byte through this module, so
 * invalid UTF-8 anywhere, control characters in strings, "\u0000",
 * lone surrogates, integers outside int64 and reals that overflow are
 * refused as jansson refuses them.
 *
 * Use: ho_json_init(), ho_json_top() for the first value, then per value
 * ho_json_value() (its kind), the object or array steps below or
 * ho_json_skip(), ho_json_value_end(); ho_json_end() checks nothing
 * follows. After the first failure every step fails; ho_json_failed()
 * and ho_json_error() say what happened.
 */
#ifndef HO_JSON_H
#define HO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
        HO_JSON_INVALID = -1,
        HO_JSON_EOF = 0,
        /* '{' '}' '[' ']' ':' ',' are their own characters */
        HO_JSON_STRING = 256,
        HO_JSON_INTEGER,
        HO_JSON_REAL,
        HO_JSON_TRUE,
        HO_JSON_FALSE,
        HO_JSON_NULL
};

/* jansson's limit on nesting */
#define HO_JSON_MAX_DEPTH 2048

typedef struct ho_json_s {
        const unsigned char *base, *p, *end;
        const unsigned char *tok; /* the current token's text: [tok, tok + saved) */
        size_t saved;
        unsigned mb_left; /* continuation bytes of the current character not yet read */
        int state;        /* 0, or the end of input, or a UTF-8 error */
        int token;
        /* the current token's value: a STRING (decoded; no NUL inside once
         * ho_json_value() accepted it; valid until the next token), an
         * INTEGER or a REAL */
        const char *str;
        size_t str_len;
        long long ival;
        double dval;
        char *scratch; /* owned: decoded strings with escapes */
        size_t scratch_cap;
        size_t *lost; /* owned: offsets of NUL bytes an unget dropped (see json.c) */
        size_t n_lost, lost_cap;
        size_t depth;
        bool failed, nomem;
        int column;
        char text[160];
} ho_json_t;

void ho_json_init(ho_json_t *j, const char *text, size_t len);
void ho_json_fini(ho_json_t *j); /* frees what the reader allocated */

/* The next token, by the whole lexer. */
int ho_json_lex(ho_json_t *j);
/* The current token entered as a value, with every check (see ho_json_value). */
int ho_json_value_check(ho_json_t *j);

/* The bytes from q on that need no look inside a string: printable ASCII
 * other than '"' and '\\', eight at a time. */
static inline __attribute__((always_inline)) const unsigned char *ho_json_skip_plain_(
        const unsigned char *q, const unsigned char *end) {
        const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones * 0x80;

        while (end - q >= 8) {
                uint64_t w, x, y, m;
                memcpy(&w, q, 8);
                x = w ^ (ones * '"');
                y = w ^ (ones * '\\');
                /* a zero byte in x or y, a byte below 0x20, or a high bit */
                m = ((x - ones) & ~x & highs) | ((y - ones) & ~y & highs) |
                    ((w - ones * 0x20) & ~w & highs) | (w & highs);
                if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                        /* the lowest flag is exact (borrows run upwards) */
                        return q + (__builtin_ctzll(m) >> 3);
#else
                        break;
#endif
                }
                q += 8;
        }
        while (q < end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
                q++;
        return q;
}

/* JSON's whitespace from q on */
static inline const unsigned char *ho_json_skip_ws_(const unsigned char *q,
                                                    const unsigned char *end) {
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
                q++;
        return q;
}

/* The next token. Inline for the usual ones (punctuation and plain ASCII
 * strings after whitespace, outside a UTF-8 sequence), where it does what
 * the lexer's byte-by-byte reading does; the rest goes to ho_json_lex(). */
static inline int ho_json_scan(ho_json_t *j) {
        const unsigned char *q = j->p;

        if (j->failed || j->state || j->mb_left)
                return ho_json_lex(j);
        q = ho_json_skip_ws_(q, j->end);
        j->p = q;
        if (q < j->end) {
                int c = *q;
                if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
                        j->tok = q;
                        j->saved = 1;
                        j->p = q + 1;
                        return j->token = c;
                }
                if (c == '"') {
                        const unsigned char *e = ho_json_skip_plain_(q + 1, j->end);
                        if (e < j->end && *e == '"') {
                                j->tok = q;
                                j->str = (const char *)q + 1;
                                j->str_len = (size_t)(e - q - 1);
                                j->saved = j->str_len + 2;
                                j->p = e + 1;
                                return j->token = HO_JSON_STRING;
                        }
                }
        }
        return ho_json_lex(j);
}
/* Fail with msg at the current token, jansson's way: " near '<token>'" when
 * the token has at most 20 bytes, " near end of file" when there is none.
 * The first failure wins. */
void ho_json_fail(ho_json_t *j, const char *msg);

/* The document's first value: '{' or '[' (then call ho_json_value()), or
 * -1. */
int ho_json_top(ho_json_t *j);
/* Enter the current token as a value: its kind (HO_JSON_STRING ... '{', '['),
 * or -1 (not a value, nesting too deep, "\u0000" in a string). Pair with
 * ho_json_value_end() once the value is read. */
static inline int ho_json_value(ho_json_t *j) {
        int t = j->token;
        /* a string read in place has no NUL (a raw one is a control character) */
        if (!j->failed && j->depth < HO_JSON_MAX_DEPTH &&
            ((t == HO_JSON_STRING && j->str != j->scratch) ||
             (t > HO_JSON_STRING && t <= HO_JSON_NULL) || t == '{' || t == '[')) {
                j->depth++;
                return t;
        }
        return ho_json_value_check(j);
}
static inline void ho_json_value_end(ho_json_t *j) {
        if (j->depth)
                j->depth--;
}
/* Read and drop the current value, object and array members included
 * (duplicate keys refused at any depth). 0 or -1. */
int ho_json_skip(ho_json_t *j);
/* After the top value: nothing but whitespace may follow. 0 or -1. */
int ho_json_end(ho_json_t *j);

/* Objects, after ho_json_value() gave '{': ho_json_obj_first() and
 * ho_json_obj_next() return 1 with the key as the current STRING token,
 * 0 at '}', -1 on failure. The caller checks the key for duplicates (on
 * one, ho_json_fail(j, "duplicate object key") before anything else),
 * then ho_json_obj_colon() moves to the member's value. */
int ho_json_obj_first(ho_json_t *j);
int ho_json_obj_colon(ho_json_t *j);
int ho_json_obj_next(ho_json_t *j);
/* Arrays, after ho_json_value() gave '[': 1 with an element as the current
 * token, 0 at ']', -1 on failure. */
int ho_json_arr_first(ho_json_t *j);
int ho_json_arr_next(ho_json_t *j);

static inline bool ho_json_failed(const ho_json_t *j) {
        return j->failed;
}
/* jansson's json_error_t.text and .column for the first failure */
static inline const char *ho_json_error(const ho_json_t *j) {
        return j->text;
}
static inline int ho_json_column(const ho_json_t *j) {
        return j->column;
}

/* A set of an object's keys, for the duplicate check. Empty: {0}. */
typedef struct ho_json_keys_s {
        char *bytes;
        size_t len, cap;
        struct ho_json_key_s *keys;
        size_t n, keys_cap;
        uint32_t *slots; /* open addressing, mask + 1 entries */
        size_t mask;
} ho_json_keys_t;

/* 1 when s[0..n) is new (now added), 0 when already there, -1 out of memory. */
int ho_json_keys_add(ho_json_keys_t *ks, const char *s, size_t n);
void ho_json_keys_free(ho_json_keys_t *ks);

#endif
