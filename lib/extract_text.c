/*
 * extract_text.c: the extractor's view of an article's bytes: lines, tokens
 * (words, numbers, punctuation), numbers written in digits or words, and
 * time lines ("14:47 JST, January 21, 2026"). Bytes that are not valid UTF-8
 * become punctuation tokens, so they separate words and never end up in one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include "handover/extract.h"
#include "handover/report.h"
#include "extract_int.h"

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Decode one code point at s[i..len): its value and length, or length 0 for
 * an invalid sequence (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, size_t i, size_t len, uint32_t *cp) {
        unsigned char c = s[i];
        size_t n, k;
        uint32_t v;

        if (c < 0x80) {
                *cp = c;
                return 1;
        }
        if (c >= 0xC2 && c <= 0xDF)
                n = 2, v = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
                n = 3, v = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
                n = 4, v = c & 0x07;
        else
                return 0;
        if (i + n > len)
                return 0;
        for (k = 1; k < n; k++) {
                if ((s[i + k] & 0xC0) != 0x80)
                        return 0;
                v = (v << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
            (v >= 0xD800 && v <= 0xDFFF))
                return 0;
        *cp = v;
        return n;
}

static int isdig(unsigned char c) {
        return c >= '0' && c <= '9';
}

static int cp_space(uint32_t cp) {
        return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\f' || cp == '\v' || cp == 0xA0 ||
               (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
               cp == 0xFEFF;
}

/* Letters: ASCII, and every code point from Latin-1's letters on that is not
 * punctuation or a symbol block. Good enough for names such as "Treviño". */
static int cp_letter(uint32_t cp) {
        if (cp < 0x80)
                return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
        if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7)
                return 0;
        if (cp >= 0x2000 && cp <= 0x2BFF)
                return 0;
        if ((cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
            (cp >= 0xFF00 && cp <= 0xFF20) || cp == 0xFEFF || cp >= 0x1F000)
                return 0;
        return 1;
}

static int cp_upper(uint32_t cp) {
        if (cp < 0x80)
                return cp >= 'A' && cp <= 'Z';
        if (cp >= 0xC0 && cp <= 0xDE)
                return cp != 0xD7;
        if (cp >= 0x100 && cp <= 0x17F)
                return (cp & 1) == 0;
        if (cp >= 0x391 && cp <= 0x3A9)
                return 1;
        if (cp >= 0x410 && cp <= 0x42F)
                return 1;
        return 0;
}

static char cp_punct(uint32_t cp) {
        if (cp == '-' || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212)
                return '-';
        if (cp == '"' || cp == 0x201C || cp == 0x201D || cp == 0x201E || cp == 0xAB || cp == 0xBB)
                return '"';
        if (cp == '\'' || cp == 0x2018 || cp == 0x2019 || cp == 0x201A || cp == '`')
                return '\'';
        if (cp == 0x2026)
                return '.';
        if (cp < 0x80 && strchr(".,:;()/!?", (int)cp))
                return (char)cp;
        return '*';
}

/* ---- tokens ----------------------------------------------------------------- */

typedef struct {
        ho_xtok_t *v;
        size_t n, cap;
} tokvec_t;

static int push_tok(tokvec_t *tv, const ho_xtok_t *tk) {
        if (tv->n == tv->cap) {
                size_t cap = tv->cap ? tv->cap * 2 : 256;
                ho_xtok_t *v = realloc(tv->v, cap * sizeof(*v));
                if (!v)
                        return -1;
                tv->v = v;
                tv->cap = cap;
        }
        tv->v[tv->n++] = *tk;
        return 0;
}

/* Is s[i..] an apostrophe (' or ’) followed by "s" and then no letter? Its
 * length when so, else 0. */
static size_t poss_at(const unsigned char *s, size_t i, size_t end) {
        uint32_t cp, cp2;
        size_t n = utf8_next(s, i, end, &cp), m;

        if (!n || (cp != '\'' && cp != 0x2019) || i + n >= end || (s[i + n] | 0x20) != 's')
                return 0;
        if (i + n + 1 < end && (m = utf8_next(s, i + n + 1, end, &cp2)) && cp_letter(cp2))
                return 0;
        return n + 1;
}

/* One word from s[i..end): letters, with digits, hyphens, dots ("U.S.",
 * "a.m.") and apostrophes ("O'Brien") inside it. */
static size_t scan_word(const unsigned char *s, size_t i, size_t end, ho_xtok_t *tk) {
        size_t j = i, n, letters = 0, uppers = 0, dots = 0, seg = 0;
        uint32_t cp, nx;
        int first = 1;

        tk->flags = 0;
        while (j < end) {
                n = utf8_next(s, j, end, &cp);
                if (!n)
                        break;
                if (cp_letter(cp) || (!first && cp < 0x80 && cp >= '0' && cp <= '9')) {
                        if (cp_letter(cp)) {
                                letters++;
                                if (cp_upper(cp))
                                        uppers++;
                                if (first && cp_upper(cp))
                                        tk->flags |= XT_CAP;
                        }
                        first = 0;
                        seg++;
                        j += n;
                        continue;
                }
                if (cp == '-' || cp == '.' || cp == '\'' || cp == 0x2019) {
                        size_t m;
                        if ((cp == '\'' || cp == 0x2019) && poss_at(s, j, end)) {
                                tk->flags |= XT_POSS;
                                tk->end = (uint32_t)j;
                                j += poss_at(s, j, end);
                                goto done;
                        }
                        if (j + n < end && (m = utf8_next(s, j + n, end, &nx)) && cp_letter(nx)) {
                                if (cp == '.') {
                                        if (seg != 1) /* "U.S" yes, "Jan.The" no */
                                                break;
                                        dots++;
                                }
                                seg = 0;
                                j += n;
                                continue;
                        }
                        /* the closing dot of "U.S." or "a.m." */
                        if (cp == '.' && dots > 0 && seg == 1) {
                                j += n;
                                break;
                        }
                }
                break;
        }
        tk->end = (uint32_t)j;
done:
        if (letters >= 2 && uppers == letters)
                tk->flags |= XT_ALLCAPS;
        return j;
}

ho_err_t ho_xtext_init(ho_xtext_t *t, const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *)str;
        tokvec_t tv = {0};
        ho_xline_t *lines = NULL;
        size_t n_lines = 0, cap_lines = 0, i = 0;

        memset(t, 0, sizeof(*t));
        t->s = str;
        t->len = len;
        while (i <= len) {
                size_t ls = i, le, j;
                ho_xline_t ln;

                while (i < len && s[i] != '\n')
                        i++;
                le = i;
                i++; /* past the newline (or len + 1 at the end) */
                ln.tok_begin = tv.n;
                j = ls;
                while (j < le) {
                        uint32_t cp;
                        size_t n = utf8_next(s, j, le, &cp);
                        ho_xtok_t tk = {0};

                        tk.line = (uint32_t)n_lines;
                        tk.start = (uint32_t)j;
                        if (n && cp_space(cp)) {
                                j += n;
                                continue;
                        }
                        if (n && cp_letter(cp)) {
                                tk.kind = XT_WORD;
                                j = scan_word(s, j, le, &tk);
                        } else if (n && cp >= '0' && cp <= '9') {
                                size_t k = j;
                                tk.kind = XT_NUM;
                                while (k < le && s[k] >= '0' && s[k] <= '9')
                                        k++;
                                /* thousands: "1,200" */
                                while (k + 3 < le && s[k] == ',' && isdig(s[k + 1]) &&
                                       isdig(s[k + 2]) && isdig(s[k + 3]) &&
                                       (k + 4 >= le || !isdig(s[k + 4])))
                                        k += 4;
                                tk.end = (uint32_t)k;
                                if (k + 1 < le && s[k] == '-' &&
                                    ((s[k + 1] | 0x20) >= 'a' && (s[k + 1] | 0x20) <= 'z'))
                                        tk.flags |= XT_GLUED;
                                j = k;
                        } else {
                                tk.kind = XT_PUNCT;
                                tk.punct = n ? cp_punct(cp) : '*';
                                j += n ? n : 1;
                                tk.end = (uint32_t)j;
                        }
                        if (push_tok(&tv, &tk))
                                goto nomem;
                }
                ln.tok_end = tv.n;
                /* trim blanks: the line's bytes are those of its tokens */
                ln.start = ln.tok_end > ln.tok_begin ? tv.v[ln.tok_begin].start : ls;
                ln.end = ln.tok_end > ln.tok_begin ? tv.v[ln.tok_end - 1].end : ls;
                if (ln.tok_end > ln.tok_begin && (tv.v[ln.tok_end - 1].flags & XT_POSS))
                        ln.end = le; /* keep the 's */
                if (n_lines == cap_lines) {
                        size_t cap = cap_lines ? cap_lines * 2 : 64;
                        ho_xline_t *v = realloc(lines, cap * sizeof(*v));
                        if (!v)
                                goto nomem;
                        lines = v;
                        cap_lines = cap;
                }
                lines[n_lines++] = ln;
        }
        t->tok = tv.v;
        t->n_tok = tv.n;
        t->line = lines;
        t->n_line = n_lines;
        return HO_OK;
nomem:
        free(tv.v);
        free(lines);
        memset(t, 0, sizeof(*t));
        return HO_ERR_NOMEM;
}

void ho_xtext_free(ho_xtext_t *t) {
        free(t->tok);
        free(t->line);
        memset(t, 0, sizeof(*t));
}

int ho_xtok_is(const ho_xtext_t *t, size_t i, const char *w) {
        const ho_xtok_t *tk;
        size_t n = strlen(w);

        if (i >= t->n_tok)
                return 0;
        tk = &t->tok[i];
        if (tk->end - tk->start != n)
                return 0;
        return strncasecmp(t->s + tk->start, w, n) == 0;
}

int ho_xtok_in(const ho_xtext_t *t, size_t i, const char *const *ws) {
        int k;

        for (k = 0; ws[k]; k++)
                if (ho_xtok_is(t, i, ws[k]))
                        return k;
        return -1;
}

/* ---- numbers ------------------------------------------------------------- */

/* The number word at token i, with its kind; -1 when it is none. "thirty-seven"
 * is one token: split at its hyphen. */
static int word_value(const ho_xtext_t *t, size_t i, char *kind) {
        const ho_xtok_t *tk = &t->tok[i];

        if (tk->kind != XT_WORD)
                return -1;
        return ho_xtables_number_word(t->s + tk->start, tk->end - tk->start, kind);
}

static int hyphen_compound(const ho_xtext_t *t, size_t i) {
        const ho_xtok_t *tk = &t->tok[i];
        const char *w = t->s + tk->start, *h;
        size_t n = tk->end - tk->start;
        char k1, k2;
        int a, b;

        if (tk->kind != XT_WORD || !(h = memchr(w, '-', n)))
                return -1;
        a = ho_xtables_number_word(w, (size_t)(h - w), &k1);
        b = ho_xtables_number_word(h + 1, n - (size_t)(h - w) - 1, &k2);
        if (a < 0 || b < 0 || k1 != 'T' || k2 != 'u' || b == 0)
                return -1;
        return a + b;
}

long ho_xtok_number(const ho_xtext_t *t, size_t i, size_t end, size_t *used) {
        const ho_xtok_t *tk;
        long total = 0, cur = -1;
        size_t j = i;
        char kind;
        int v;

        if (end > t->n_tok)
                end = t->n_tok;
        if (i >= end)
                return -1;
        tk = &t->tok[i];
        if (tk->kind == XT_NUM) {
                long n = 0;
                uint32_t k;
                for (k = tk->start; k < tk->end; k++) {
                        if (t->s[k] == ',')
                                continue;
                        if (n > 100000000)
                                return -1;
                        n = n * 10 + (t->s[k] - '0');
                }
                *used = 1;
                return n;
        }
        /* "a dozen" */
        if (ho_xtok_is(t, i, "a") && i + 1 < end && word_value(t, i + 1, &kind) == 12 &&
            kind == 'd') {
                *used = 2;
                return 12;
        }
        while (j < end) {
                if ((v = hyphen_compound(t, j)) >= 0) {
                        if (cur >= 0 && cur % 100 != 0)
                                break;
                        cur = (cur < 0 ? 0 : cur) + v;
                        j++;
                        continue;
                }
                v = word_value(t, j, &kind);
                if (v < 0 || kind == 'o')
                        break;
                if (kind == 'u' || kind == 't') {
                        if (cur >= 0 && cur % 100 != 0 &&
                            !(cur % 10 == 0 && kind == 'u' && cur >= 20))
                                break;
                        cur = (cur < 0 ? 0 : cur) + v;
                } else if (kind == 'T') {
                        if (cur >= 0 && cur % 100 != 0)
                                break;
                        cur = (cur < 0 ? 0 : cur) + v;
                } else if (kind == 's') {
                        if (cur <= 0)
                                break;
                        if (v == 100) {
                                if (cur >= 100)
                                        break;
                                cur *= 100;
                        } else {
                                total += cur * v;
                                cur = 0;
                        }
                } else if (kind == 'd') {
                        /* "two dozen" */
                        if (cur <= 0 || cur > 10)
                                break;
                        cur *= 12;
                        j++;
                        break;
                } else {
                        break;
                }
                j++;
                /* "one hundred and five" */
                if (j + 1 < end && ho_xtok_is(t, j, "and") && cur >= 100 && cur % 100 == 0 &&
                    word_value(t, j + 1, &kind) >= 0 && kind != 's' && kind != 'o')
                        j++;
        }
        if (j == i || cur < 0)
                return -1;
        *used = j - i;
        return total + cur;
}

/* An ordinal at token i ("third", "3rd"): its value, or 0. */
int ho_xtok_ordinal(const ho_xtext_t *t, size_t i) {
        const ho_xtok_t *tk = &t->tok[i];
        char kind;
        int v;

        if (tk->kind == XT_WORD) {
                v = ho_xtables_number_word(t->s + tk->start, tk->end - tk->start, &kind);
                return v > 0 && kind == 'o' ? v : 0;
        }
        if (tk->kind == XT_NUM && i + 1 < t->n_tok && t->tok[i + 1].start == tk->end &&
            tk->end - tk->start <= 2) {
                if (ho_xtok_is(t, i + 1, "st") || ho_xtok_is(t, i + 1, "nd") ||
                    ho_xtok_is(t, i + 1, "rd") || ho_xtok_is(t, i + 1, "th"))
                        return (int)ho_xtok_digits(t, i);
        }
        return 0;
}

long ho_extract_number(const char *text, size_t len, size_t *pos) {
        ho_xtext_t t;
        size_t used = 0, i;
        long v = -1;

        if (*pos >= len || ho_xtables_load(NULL, 0))
                return -1;
        if (ho_xtext_init(&t, text + *pos, len - *pos))
                return -1;
        for (i = 0; i < t.n_tok && t.tok[i].line == 0; i++)
                ;
        v = ho_xtok_number(&t, 0, i, &used);
        if (v >= 0)
                *pos += t.tok[used - 1].end;
        ho_xtext_free(&t);
        return v;
}

/* ---- time lines ---------------------------------------------------------- */

static int num_at(const ho_xtext_t *t, size_t i, size_t maxdig) {
        const ho_xtok_t *tk = &t->tok[i];
        size_t n = tk->end - tk->start, k;
        int v = 0;

        if (tk->kind != XT_NUM || n > maxdig)
                return -1;
        for (k = 0; k < n; k++) {
                if (t->s[tk->start + k] == ',')
                        return -1;
                v = v * 10 + (t->s[tk->start + k] - '0');
        }
        return v;
}

/* Glued tokens: token i+1 starts where token i ends. */
static int glued(const ho_xtext_t *t, size_t i) {
        return i + 1 < t->n_tok && t->tok[i + 1].start == t->tok[i].end;
}

static int is_punct(const ho_xtext_t *t, size_t i, char p) {
        return i < t->n_tok && t->tok[i].kind == XT_PUNCT && t->tok[i].punct == p;
}

/* A zone offset after GMT/UTC: "+9", "-06:00", "+0530", "-5". Minutes, and
 * the tokens used (0: none). */
static int zone_offset(const ho_xtext_t *t, size_t i, size_t end, int *minutes) {
        int sign, h, m = 0, n;
        size_t used;

        if (i + 1 >= end || !glued(t, i - 1) ||
            !(is_punct(t, i, '-') || (t->tok[i].kind == XT_PUNCT && t->s[t->tok[i].start] == '+')))
                return 0;
        sign = is_punct(t, i, '-') ? -1 : 1;
        if ((n = num_at(t, i + 1, 4)) < 0)
                return 0;
        used = 2;
        if (t->tok[i + 1].end - t->tok[i + 1].start > 2) { /* +0530 */
                h = n / 100;
                m = n % 100;
        } else {
                h = n;
                if (i + 3 < end && is_punct(t, i + 2, ':') && (m = num_at(t, i + 3, 2)) >= 0)
                        used = 4;
                else
                        m = 0;
        }
        if (h > 14 || m > 59)
                return 0;
        *minutes = sign * (h * 60 + m);
        return (int)used;
}

/* A line that is an RFC 3339 time, after filler words such as "Updated"
 * ("Published 2026-01-21T05:47:00Z"): 3 with everything filled, else 0. */
static int rfc3339_in(const char *line, size_t len, int *py, int *pm, int *pd, int64_t *utc_ms) {
        char buf[48];
        size_t i = 0, e = len;
        int64_t ms;

        while (i < len && !isdig((unsigned char)line[i])) {
                if (!((line[i] | 0x20) >= 'a' && (line[i] | 0x20) <= 'z') && line[i] != ' ' &&
                    line[i] != ':')
                        return 0;
                i++;
        }
        if (i > 12)
                return 0;
        while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\r' || line[e - 1] == '\t'))
                e--;
        if (e - i < 20 || e - i >= sizeof(buf))
                return 0;
        memcpy(buf, line + i, e - i);
        buf[e - i] = 0;
        if (ho_time_parse_rfc3339(buf, &ms))
                return 0;
        /* the local date is the one written */
        *py = atoi(buf);
        *pm = atoi(buf + 5);
        *pd = atoi(buf + 8);
        *utc_ms = ms;
        return 3;
}

static const char *const filler_words[] = {"updated", "published", "posted",  "last", "on",   "at",
                                           "first",   "modified",  "created", "date", "time", NULL};

int ho_extract_timeline(const char *line, size_t len, int *py, int *pm, int *pd, int64_t *utc_ms) {
        ho_xtext_t t;
        size_t i, end, used;
        int y = -1, mo = -1, d = -1, hh = -1, mi = -1, ss = 0, zone = 0, have_zone = 0, pm_ = -1;
        int rc = 0, words = 0;

        if (len > 200 || ho_xtables_load(NULL, 0))
                return 0;
        if ((rc = rfc3339_in(line, len, py, pm, pd, utc_ms)))
                return rc;
        if (ho_xtext_init(&t, line, len))
                return 0;
        end = t.n_tok;
        for (i = 0; i < end; i++) {
                const ho_xtok_t *tk = &t.tok[i];
                const ho_xentry_t *e;
                int v;

                if (tk->line != 0)
                        break;
                if (tk->kind == XT_PUNCT) {
                        if (strchr(",|/-.:*()", tk->punct) || t.s[tk->start] == '+')
                                continue;
                        goto out;
                }
                if (tk->kind == XT_NUM) {
                        /* ISO date 2026-01-21 (the T of a timestamp splits as a word) */
                        if ((v = num_at(&t, i, 4)) >= 1900 && tk->end - tk->start == 4 &&
                            i + 4 < end && is_punct(&t, i + 1, '-') && glued(&t, i) &&
                            num_at(&t, i + 2, 2) >= 1 && is_punct(&t, i + 3, '-') &&
                            num_at(&t, i + 4, 2) >= 1) {
                                y = v;
                                mo = num_at(&t, i + 2, 2);
                                d = num_at(&t, i + 4, 2);
                                i += 4;
                                continue;
                        }
                        /* a time: 14:47, 5:47:03 */
                        if ((v = num_at(&t, i, 2)) >= 0 && i + 2 < end &&
                            is_punct(&t, i + 1, ':') && glued(&t, i) && glued(&t, i + 1) &&
                            num_at(&t, i + 2, 2) >= 0 &&
                            t.tok[i + 2].end - t.tok[i + 2].start == 2 && hh < 0) {
                                hh = v;
                                mi = num_at(&t, i + 2, 2);
                                i += 2;
                                if (i + 2 < end && is_punct(&t, i + 1, ':') && glued(&t, i) &&
                                    (v = num_at(&t, i + 2, 2)) >= 0) {
                                        ss = v;
                                        i += 2;
                                }
                                continue;
                        }
                        if ((v = num_at(&t, i, 4)) >= 1900 && v <= 2200 && y < 0) {
                                y = v;
                                continue;
                        }
                        if ((v = num_at(&t, i, 2)) >= 1 && v <= 31 && d < 0) {
                                d = v;
                                /* "21st" */
                                if (glued(&t, i) &&
                                    (ho_xtok_is(&t, i + 1, "st") || ho_xtok_is(&t, i + 1, "nd") ||
                                     ho_xtok_is(&t, i + 1, "rd") || ho_xtok_is(&t, i + 1, "th")))
                                        i++;
                                continue;
                        }
                        goto out;
                }
                /* words */
                if ((e = ho_xtables_match(&t, i, end, XK_MONTH, &used)) && mo < 0) {
                        mo = e->value;
                        i += used - 1;
                        continue;
                }
                if ((e = ho_xtables_match(&t, i, end, XK_WEEKDAY, &used))) {
                        i += used - 1;
                        continue;
                }
                if (ho_xtok_is(&t, i, "am") || ho_xtok_is(&t, i, "a.m.") ||
                    ho_xtok_is(&t, i, "a.m")) {
                        pm_ = 0;
                        continue;
                }
                if (ho_xtok_is(&t, i, "pm") || ho_xtok_is(&t, i, "p.m.") ||
                    ho_xtok_is(&t, i, "p.m")) {
                        pm_ = 1;
                        continue;
                }
                if ((e = ho_xtables_match(&t, i, end, XK_ZONE, &used)) && !have_zone) {
                        int off = 0, n;
                        have_zone = 1;
                        zone = e->value;
                        i += used - 1;
                        if ((e->value == 0) && (n = zone_offset(&t, i + 1, end, &off)) > 0) {
                                zone = off;
                                i += (size_t)n;
                        }
                        continue;
                }
                if (ho_xtok_in(&t, i, filler_words) >= 0 && words < 3) {
                        words++;
                        continue;
                }
                /* any other word: this is not a time line */
                goto out;
        }
        if (y < 0 || mo < 0 || d < 0)
                goto out;
        {
                char buf[40];
                int32_t days;
                snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, mo, d);
                if (ho_date_parse(buf, &days))
                        goto out;
                if (hh >= 0 && pm_ >= 0) {
                        if (hh < 1 || hh > 12)
                                goto out; /* "13:00 PM": not a time */
                        hh = hh % 12 + (pm_ ? 12 : 0);
                }
                if (hh > 23 || mi > 59 || ss > 59)
                        goto out;
                *py = y;
                *pm = mo;
                *pd = d;
                rc = 1;
                if (hh >= 0) {
                        rc = 2;
                        if (have_zone) {
                                *utc_ms = ((int64_t)days * 86400 + hh * 3600 + mi * 60 + ss -
                                           (int64_t)zone * 60) *
                                          1000;
                                rc = 3;
                        }
                }
        }
out:
        ho_xtext_free(&t);
        return rc;
}

long ho_xtok_digits(const ho_xtext_t *t, size_t i) {
        const ho_xtok_t *tk = &t->tok[i];
        long v = 0;
        for (size_t k = tk->start; k < tk->end && t->s[k] >= '0' && t->s[k] <= '9'; k++)
                if ((v = v * 10 + (t->s[k] - '0')) > 999999999L)
                        return 999999999L;
        return v;
}
