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

/* The next token (the lexer alone). */
int ho_json_scan(ho_json_t *j);
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
int ho_json_value(ho_json_t *j);
void ho_json_value_end(ho_json_t *j);
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
