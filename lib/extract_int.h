/*
 * extract_int.h: what the extractor's files share (lib/extract*.c) and no
 * one else needs: the token stream, the compiled-in tables and the lookups
 * on them. The public side is include/handover/extract.h.
 */
#ifndef HO_EXTRACT_INT_H
#define HO_EXTRACT_INT_H

#include <stddef.h>
#include <stdint.h>
#include "handover/err.h"

/* ---- tokens (extract_text.c) --------------------------------------------- */

enum { XT_WORD = 1, XT_NUM, XT_PUNCT };

/* token flags */
#define XT_CAP 0x01     /* a word starting with an upper-case letter */
#define XT_ALLCAPS 0x02 /* a word whose letters are all upper case (2+ letters) */
#define XT_POSS 0x04    /* followed by 's or ’s (dropped from the token) */
#define XT_GLUED 0x08   /* a number glued to a hyphen and a word: "37-year-old" */

typedef struct ho_xtok_s {
        uint32_t start, end; /* bytes of the input; a word's possessive 's is outside */
        uint32_t line;       /* index into the lines */
        uint8_t kind;
        uint8_t flags;
        char punct; /* XT_PUNCT: '-' every dash, '"' and '\'' every quote,
                              * '.', ',', ':', ';', '(', ')', '/', '!', '?', '*' the rest */
} ho_xtok_t;

typedef struct ho_xline_s {
        size_t start, end; /* bytes, without the newline; trimmed of blanks */
        size_t tok_begin, tok_end;
} ho_xline_t;

typedef struct ho_xtext_s {
        const char *s;
        size_t len;
        ho_xtok_t *tok;
        size_t n_tok;
        ho_xline_t *line;
        size_t n_line;
} ho_xtext_t;

/* Split text into lines and tokens. HO_ERR_NOMEM on failure (t cleared). */
ho_err_t ho_xtext_init(ho_xtext_t *t, const char *s, size_t len);
void ho_xtext_free(ho_xtext_t *t);

/* Does token i spell w (ASCII, case-insensitive)? */
int ho_xtok_is(const ho_xtext_t *t, size_t i, const char *w);
/* The index of the first of ws (a NULL-terminated list) token i spells, or -1. */
int ho_xtok_in(const ho_xtext_t *t, size_t i, const char *const *ws);
/* Parse a number at token i (digits or words): value and tokens used, or -1. */
long ho_xtok_number(const ho_xtext_t *t, size_t i, size_t end, size_t *used);
/* The leading decimal digits of token i as a number, read within the token
 * (the input need not end in a NUL), capped at 999,999,999. */
long ho_xtok_digits(const ho_xtext_t *t, size_t i);
/* An ordinal at token i ("third", "3rd"): its value, or 0. */
int ho_xtok_ordinal(const ho_xtext_t *t, size_t i);

/* ---- tables (extract_tables.c) ------------------------------------------- */

enum {
        XK_COUNTRY = 1, /* a country's name: value = index of the country */
        XK_DEMONYM,     /* a country's demonym */
        XK_CITY_ABROAD, /* a dateline place of a country */
        XK_US_CITY,     /* an arrival place: value = index of the canonical name */
        XK_US_STATE,
        XK_GROUP,   /* a criminal organisation by name */
        XK_MONTH,   /* value 1..12 */
        XK_WEEKDAY, /* value 0..6, Sunday = 0 */
        XK_ZONE,    /* value = minutes east of UTC */
        XK__COUNT
};

typedef struct ho_xentry_s {
        int kind;
        int value;
        size_t n_words;
        char **words;      /* the phrase, tokenised like a text */
        const char *canon; /* XK_US_*, XK_GROUP: the name to report */
        const char *state; /* XK_US_CITY: the city's state (a canon of XK_US_STATE) */
} ho_xentry_t;

/* Load the compiled-in tables once (thread-safe); HO_ERR_NOMEM or
 * HO_ERR_INVALID (a malformed table, with file:line in errstr). */
ho_err_t ho_xtables_load(char *errstr, size_t errstr_size);

/* The longest table entry of kind `kind` (0: any kind) spelt by the tokens
 * from i (not past end); NULL when none. *used = its tokens. Words match
 * exactly, except that a table word in lower case also matches a capitalised
 * one at the start of a sentence, and months/weekdays/zones ignore case. */
const ho_xentry_t *ho_xtables_match(const ho_xtext_t *t, size_t i, size_t end, int kind,
                                    size_t *used);

/* The number word (numbers.tsv) w..w+n spells, case-insensitive: its value and
 * kind ('u' unit, 't' teen, 'T' ten, 's' scale, 'd' dozen, 'o' ordinal), or -1. */
int ho_xtables_number_word(const char *w, size_t n, char *kind);

/* A country's ISO code by table index ("" for none), and the reverse (-1). */
const char *ho_xtables_country_code(int idx);
int ho_xtables_country_index(const char *code);

/* ---- files compiled in by cmake/embed_extract.cmake ---------------------- */

typedef struct ho_extract_file_s {
        const char *name; /* "countries.tsv" */
        const char *data; /* NUL-terminated */
        size_t len;
} ho_extract_file_t;

extern const ho_extract_file_t ho_extract_files[]; /* ends with {0, 0, 0} */

#endif
