/*
 * extract.c: the extractor's rules (docs/extract.md has each one and its
 * limits). An article is read in four steps:
 *
 *   1. page: every line is classified (time line, dateline, caption,
 *      ranking, furniture marker, sentence paragraph, headline); the body
 *      runs from the dateline to the first furniture marker after it;
 *   2. sentences: body paragraphs are split into sentences;
 *   3. the transfer sentence: the first body sentence with a transfer verb,
 *      a count of people and a destination country;
 *   4. fields: each from its own rule, recording the span it quotes.
 *
 * Every rule looks at a bounded window of tokens, so the time per article
 * grows linearly with its length.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "handover/extract.h"
#include "handover/jreport.h"
#include "extract_int.h"

#define MAX_SENT_TOKENS 300 /* a longer "sentence" is not prose: no rule reads it */
#define WINDOW 15           /* tokens between a transfer verb and its count */

enum {
        L_BLANK,
        L_HEADER,
        L_TIMELINE,
        L_CAPTION,
        L_RANKING,
        L_MARKER,
        L_FURNITURE,
        L_SKIP,
        L_DATELINE,
        L_BODY,
        L_HEADLINE
};

typedef struct {
        size_t tb, te; /* tokens [tb, te) */
} sent_t;

typedef struct {
        ho_xtext_t t;
        const ho_extract_meta_t *meta;
        ho_extract_result_t *res;
        int *role;
        sent_t *sent;
        size_t n_sent, cap_sent, ts; /* ts: the transfer sentence */
        size_t cap_ev;               /* capacity of res->ev */
        uint32_t *lex;               /* per token: the LX_* lists its word is in */
        int failed;                  /* out of memory */
        /* dateline */
        int dl;                  /* 1 when found */
        size_t dl_line, dl_body; /* its line, the first token after it */
        size_t dl_place_tb, dl_place_te, dl_date_tb, dl_date_te, dl_wire_tb, dl_wire_te;
        int dl_m, dl_d, dl_y, dl_country;
        /* time line */
        int tl; /* ho_extract_timeline's result, 0 = none */
        size_t tl_line;
        int tl_y, tl_m, tl_d;
        int64_t tl_ms;
        /* the transfer sentence's parts */
        size_t verb, cnt_tb, cnt_te, org_tb, org_te, dst_tb, dst_te;
        int origin, dest; /* country indexes, -1 = none */
        int origin_from_dl;
        size_t cum_tok; /* the number token of the cumulative total, or (size_t)-1 */
        int stage;      /* how far the transfer search got, for the reason */
        int hedged;     /* a transfer verb was seen, but hedged or negated */
} ctx_t;

/* ---- small helpers -------------------------------------------------------- */

static const ho_xtok_t *TK(const ctx_t *c, size_t i) {
        return &c->t.tok[i];
}

static int is_word(const ctx_t *c, size_t i) {
        return i < c->t.n_tok && TK(c, i)->kind == XT_WORD;
}

static int is_cap(const ctx_t *c, size_t i) {
        return is_word(c, i) && (TK(c, i)->flags & XT_CAP);
}

static int is_p(const ctx_t *c, size_t i, char p) {
        return i < c->t.n_tok && TK(c, i)->kind == XT_PUNCT && TK(c, i)->punct == p;
}

static int is_w(const ctx_t *c, size_t i, const char *w) {
        return ho_xtok_is(&c->t, i, w);
}

/* The word lists of the rules, as bits of a token's lexicon mask (built
 * once per article from one hash table, so a rule's "is this word one of
 * ..." is a bit test, not a string comparison per list word). */
enum {
        LX_transfer_verbs,
        LX_hedges,
        LX_negations,
        LX_person_nouns,
        LX_dest_preps,
        LX_cum_verbs,
        LX_cum_nouns,
        LX_aircraft_nouns,
        LX_landing_cues,
        LX_announce,
        LX_include_cues,
        LX_titles,
        LX_particles,
        LX_group_nouns,
        LX_not_names,
        LX_events,
        LX__COUNT
};

static int has(const ctx_t *c, size_t i, int lx) {
        return i < c->t.n_tok && (c->lex[i] >> lx & 1u);
}

/* Exact-case match of a word ("Tuesday", not "tuesday"). */
static int is_exact(const ctx_t *c, size_t i, const char *w) {
        const ho_xtok_t *tk;

        if (i >= c->t.n_tok)
                return 0;
        tk = TK(c, i);
        return tk->end - tk->start == strlen(w) && !memcmp(c->t.s + tk->start, w, strlen(w));
}

static void add_ev(ctx_t *c, unsigned field, size_t start, size_t end, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static void add_ev(ctx_t *c, unsigned field, size_t start, size_t end, const char *fmt, ...) {
        ho_extract_result_t *r = c->res;
        ho_extract_evidence_t *v;
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (r->n_ev == c->cap_ev) {
                size_t cap = c->cap_ev ? c->cap_ev * 2 : 32;
                if (!(v = realloc(r->ev, cap * sizeof(*v)))) {
                        c->failed = 1;
                        return;
                }
                r->ev = v;
                c->cap_ev = cap;
        }
        v = r->ev;
        v[r->n_ev].field = field;
        v[r->n_ev].start = start;
        v[r->n_ev].end = end;
        if (!(v[r->n_ev].why = strdup(buf))) {
                c->failed = 1;
                return;
        }
        r->n_ev++;
}

/* Evidence over tokens [tb, te). */
#define EVT(c, f, tb, te, ...) add_ev(c, f, TK(c, tb)->start, TK(c, (te)-1)->end, __VA_ARGS__)

/* The bytes of a word's possessive ("'s": 2, "’s": 4), 0 without one. */
static size_t poss_len(const ctx_t *c, size_t i) {
        if (!(TK(c, i)->flags & XT_POSS))
                return 0;
        return c->t.s[TK(c, i)->end] == '\'' ? 2 : 4;
}

/* The words of tokens [tb, te) as a string, single spaces between tokens that
 * were apart, possessives kept ("Attorney General's Office"). */
static char *tok_str(ctx_t *c, size_t tb, size_t te) {
        ho_buf_t b = HO_BUF_INIT;
        size_t i;
        int bad = 0;

        for (i = tb; i < te; i++) {
                const ho_xtok_t *tk = TK(c, i);
                size_t prev_end = i > tb ? TK(c, i - 1)->end + poss_len(c, i - 1) : 0;
                if (i > tb && prev_end != tk->start)
                        bad |= ho_buf_append(&b, " ", 1) != HO_OK;
                bad |= ho_buf_append(&b, c->t.s + tk->start, tk->end - tk->start) != HO_OK;
                bad |= ho_buf_append(&b, c->t.s + tk->end, poss_len(c, i)) != HO_OK;
        }
        if (bad || !b.data) {
                ho_buf_free(&b);
                c->failed = 1;
                return NULL;
        }
        return ho_buf_steal(&b, NULL);
}

/* ---- tables through the context ------------------------------------------ */

static const ho_xentry_t *match(const ctx_t *c, size_t i, size_t end, int kind, size_t *used) {
        return ho_xtables_match(&c->t, i, end, kind, used);
}

/* A country mention at i (a name or demonym): its index, the tokens in *used;
 * -1 when none. "US" must be written in capitals (not "us"). */
static int country_at(const ctx_t *c, size_t i, size_t end, size_t *used) {
        const ho_xentry_t *e;

        if (!is_cap(c, i))
                return -1;
        e = match(c, i, end, XK_COUNTRY, used);
        if (!e)
                e = match(c, i, end, XK_DEMONYM, used);
        if (!e)
                return -1;
        /* "Mexico City" is a city, not the country */
        {
                size_t u2;
                const ho_xentry_t *city = match(c, i, end, XK_CITY_ABROAD, &u2);
                if (city && u2 > *used)
                        return -1;
        }
        return e->value;
}

/* ---- 1. the page ----------------------------------------------------------- */

static const char *const markers[] = {"top articles",
                                      "most read",
                                      "most popular",
                                      "most viewed",
                                      "most shared",
                                      "trending",
                                      "trending now",
                                      "related",
                                      "related articles",
                                      "related stories",
                                      "related coverage",
                                      "related news",
                                      "read more",
                                      "read next",
                                      "more stories",
                                      "recommended",
                                      "recommended for you",
                                      "you may also like",
                                      "you might also like",
                                      "latest news",
                                      "latest",
                                      "ranking",
                                      "rankings",
                                      "popular",
                                      "editor's picks",
                                      "editors' picks",
                                      "more on this story",
                                      "see also",
                                      "also read",
                                      "top stories",
                                      "further reading",
                                      "other news",
                                      "in other news",
                                      "more news",
                                      "around the web",
                                      "what to read next",
                                      "most read articles",
                                      "access ranking",
                                      "popular articles",
                                      NULL};
static const char *const marker_prefixes[] = {"more from ", "read more:", "related:",
                                              "see also:",  "more in ",   NULL};
static const char *const skip_lines[] = {"advertisement",      "sponsored",
                                         "sponsored content",  "share",
                                         "share this article", "reporting by",
                                         "editing by",         NULL};

/* The line's text lower-cased into buf, trailing ':' and blanks dropped. */
static size_t line_lower(const ctx_t *c, size_t L, char *buf, size_t cap) {
        const ho_xline_t *ln = &c->t.line[L];
        size_t n = ln->end - ln->start, i;

        if (n >= cap)
                return 0;
        for (i = 0; i < n; i++) {
                char ch = c->t.s[ln->start + i];
                buf[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch | 0x20) : ch;
                if (ch == '\t')
                        buf[i] = ' ';
        }
        while (n && (buf[n - 1] == ':' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
                n--;
        buf[n] = 0;
        return n;
}

static int line_is(const ctx_t *c, size_t L, const char *const *list, const char *const *prefixes) {
        char buf[64];
        size_t n = line_lower(c, L, buf, sizeof(buf)), k;

        if (!n)
                return 0;
        for (k = 0; list[k]; k++)
                if (!strcmp(buf, list[k]))
                        return 1;
        for (k = 0; prefixes && prefixes[k]; k++)
                if (!strncmp(buf, prefixes[k], strlen(prefixes[k])))
                        return 1;
        return 0;
}

static int line_has(const ctx_t *c, size_t L, const char *needle) {
        const ho_xline_t *ln = &c->t.line[L];

        const char *p = c->t.s + ln->start, *end = c->t.s + ln->end;
        size_t n = strlen(needle);

        while ((size_t)(end - p) >= n &&
               (p = memchr(p, needle[0], (size_t)(end - p - (ptrdiff_t)n) + 1))) {
                if (!memcmp(p, needle, n))
                        return 1;
                p++;
        }
        return 0;
}

static int is_caption(const ctx_t *c, size_t L) {
        static const char *const credits[] = {"REUTERS/",   "Reuters/",   "/File Photo",
                                              "FILE PHOTO", "File photo", "AP Photo",
                                              "AFP Photo",  "AFP PHOTO",  "Getty Images",
                                              "Photo:",     "PHOTO:",     "Photograph:",
                                              "Photo by",   "Image:",     "Caption:",
                                              "(Photo",     "[Photo",     "Photo credit",
                                              NULL};
        size_t k;

        for (k = 0; credits[k]; k++)
                if (line_has(c, L, credits[k]))
                        return 1;
        return 0;
}

static int is_ranking(const ctx_t *c, size_t L) {
        const ho_xline_t *ln = &c->t.line[L];
        size_t b = ln->tok_begin;

        if (ln->tok_end - b < 3)
                return 0;
        if (TK(c, b)->kind == XT_NUM && TK(c, b)->end - TK(c, b)->start <= 2 &&
            (is_p(c, b + 1, '.') || is_p(c, b + 1, ')')))
                return 1;
        return c->t.s[TK(c, b)->start] == '#' && TK(c, b + 1)->kind == XT_NUM;
}

/* A paragraph of prose: 6+ words, ending as a sentence ends. */
static int is_prose(const ctx_t *c, size_t L) {
        const ho_xline_t *ln = &c->t.line[L];
        size_t i, words = 0, last;

        if (ln->tok_end == ln->tok_begin)
                return 0;
        for (i = ln->tok_begin; i < ln->tok_end; i++)
                if (TK(c, i)->kind == XT_WORD)
                        words++;
        last = ln->tok_end - 1;
        if ((is_p(c, last, '"') || is_p(c, last, '\'') || is_p(c, last, ')')) &&
            last > ln->tok_begin)
                last--;
        return words >= 6 && (is_p(c, last, '.') || is_p(c, last, '!') || is_p(c, last, '?'));
}

/* A dateline at the start of line L: PLACE[, DATE] [(WIRE)] DASH, e.g.
 * "MEXICO CITY, Jan 20 (Reuters) –", "MEXICO CITY (AP) —",
 * "Mexico City, Aug. 12 (EFE).-". The place is in capitals, or a place or
 * country of the gazetteer. Fills the context's dl_* on success. */
static int parse_dateline(ctx_t *c, size_t L) {
        const ho_xline_t *ln = &c->t.line[L];
        size_t i = ln->tok_begin, end = ln->tok_end, u, pb;
        int caps = 1, known = -1, m = 0, d = 0, y = 0, wire = 0;
        const ho_xentry_t *e;

        pb = i;
        /* the place: up to 5 words (and commas before a "D.C." or a state) */
        while (i < end && i - pb < 8) {
                if (is_word(c, i)) {
                        if ((e = match(c, i, end, XK_MONTH, &u)) && i > pb && is_p(c, i - 1, ','))
                                break;
                        if (!(TK(c, i)->flags & XT_ALLCAPS) && !(TK(c, i)->flags & XT_CAP))
                                return 0;
                        if (!(TK(c, i)->flags & XT_ALLCAPS) &&
                            !(TK(c, i)->end - TK(c, i)->start == 1))
                                caps = 0;
                        i++;
                        continue;
                }
                if (is_p(c, i, ',') && is_word(c, i + 1) && i > pb) {
                        /* a comma inside the place ("WASHINGTON, D.C.") or before the date */
                        if (match(c, i + 1, end, XK_MONTH, &u))
                                break;
                        i++;
                        continue;
                }
                break;
        }
        if (i == pb)
                return 0;
        {
                size_t j, pe = i;
                while (pe > pb && is_p(c, pe - 1, ','))
                        pe--;
                for (j = pb; j < pe && known < 0; j++) {
                        if ((e = match(c, j, pe, XK_CITY_ABROAD, &u)) ||
                            (e = match(c, j, pe, XK_COUNTRY, &u)))
                                known = e->value;
                        else if (match(c, j, pe, XK_US_CITY, &u) ||
                                 match(c, j, pe, XK_US_STATE, &u))
                                known = -2;
                }
                if (!caps && known == -1)
                        return 0;
                c->dl_place_tb = pb;
                c->dl_place_te = pe;
                c->dl_country = known;
                if (known == -2) /* a US place: the US */
                        c->dl_country = ho_xtables_country_index("US");
        }
        /* the date: ", Jan 20" or ", January 20, 2026" or ", 20 January" */
        c->dl_date_tb = c->dl_date_te = 0;
        if (is_p(c, i, ',')) {
                size_t db = i + 1;
                i++;
                if ((e = match(c, i, end, XK_MONTH, &u))) {
                        m = e->value;
                        i += u;
                        if (is_p(c, i, '.'))
                                i++;
                        if (i < end && TK(c, i)->kind == XT_NUM &&
                            (d = (int)ho_xtok_digits(&c->t, i)) >= 1 && d <= 31)
                                i++;
                        else
                                return 0;
                } else if (i < end && TK(c, i)->kind == XT_NUM &&
                           (d = (int)ho_xtok_digits(&c->t, i)) >= 1 && d <= 31 &&
                           (e = match(c, i + 1, end, XK_MONTH, &u))) {
                        m = e->value;
                        i += 1 + u;
                        if (is_p(c, i, '.'))
                                i++;
                } else {
                        return 0;
                }
                if (is_p(c, i, ',') && i + 1 < end && TK(c, i + 1)->kind == XT_NUM &&
                    TK(c, i + 1)->end - TK(c, i + 1)->start == 4) {
                        y = (int)ho_xtok_digits(&c->t, i + 1);
                        i += 2;
                }
                c->dl_date_tb = db;
                c->dl_date_te = i;
        }
        /* the wire: "(Reuters)" */
        c->dl_wire_tb = c->dl_wire_te = 0;
        if (is_p(c, i, '(')) {
                size_t wb = i + 1, k = wb;
                while (k < end && k - wb < 4 && is_word(c, k))
                        k++;
                if (k == wb || !is_p(c, k, ')'))
                        return 0;
                c->dl_wire_tb = wb;
                c->dl_wire_te = k;
                wire = 1;
                i = k + 1;
        }
        /* the dash: "–", "—", "-", ".-", ":" */
        if (is_p(c, i, '.') && is_p(c, i + 1, '-'))
                i++;
        if (!(is_p(c, i, '-') || is_p(c, i, ':')))
                return 0;
        if (!caps && !wire && !m)
                return 0;
        i++;
        if (i >= end)
                return 0;
        c->dl = 1;
        c->dl_line = L;
        c->dl_body = i;
        c->dl_m = m;
        c->dl_d = d;
        c->dl_y = y;
        return 1;
}

static int classify(ctx_t *c) {
        size_t L, first_marker = (size_t)-1;
        int tl_any = 0;

        if (!(c->role = calloc(c->t.n_line ? c->t.n_line : 1, sizeof(int))))
                return -1;
        for (L = 0; L < c->t.n_line; L++) {
                const ho_xline_t *ln = &c->t.line[L];
                if (ln->tok_end == ln->tok_begin) {
                        c->role[L] = L_BLANK;
                        continue;
                }
                if (line_is(c, L, markers, marker_prefixes))
                        c->role[L] = L_MARKER;
                else if (line_is(c, L, skip_lines, NULL))
                        c->role[L] = L_SKIP;
                else if (is_caption(c, L))
                        c->role[L] = L_CAPTION;
                else if (is_ranking(c, L))
                        c->role[L] = L_RANKING;
                else if (!c->dl && parse_dateline(c, L))
                        c->role[L] = L_DATELINE;
                else if (is_prose(c, L))
                        c->role[L] = L_BODY;
                else
                        c->role[L] = L_HEADLINE;
                if (c->role[L] == L_HEADLINE && ln->end - ln->start <= 200) {
                        int y, m, d, rc;
                        int64_t ms;
                        rc = ho_extract_timeline(c->t.s + ln->start, ln->end - ln->start, &y, &m,
                                                 &d, &ms);
                        if (rc)
                                c->role[L] = L_TIMELINE;
                }
        }
        /* the body: from the dateline (or the top) to the first marker after it */
        for (L = c->dl ? c->dl_line : 0; L < c->t.n_line; L++)
                if (c->role[L] == L_MARKER) {
                        first_marker = L;
                        break;
                }
        for (L = 0; L < c->t.n_line; L++) {
                if (L >= first_marker) {
                        if (c->role[L] != L_BLANK)
                                c->role[L] = L_FURNITURE;
                        continue;
                }
                if (c->dl && L < c->dl_line && c->role[L] == L_BODY)
                        c->role[L] =
                                L_HEADER; /* before the dateline: headline, standfirst, caption */
        }
        /* the time line: the first before the body with a time and a zone,
         * else the first with a date; then the same within the body */
        for (tl_any = 0; tl_any < 2 && c->tl != 3; tl_any++) {
                for (L = 0; L < c->t.n_line && L < first_marker; L++) {
                        const ho_xline_t *ln = &c->t.line[L];
                        int y, m, d, rc;
                        int64_t ms = 0;
                        if (c->role[L] != L_TIMELINE)
                                continue;
                        if (!tl_any && c->dl && L > c->dl_line)
                                continue;
                        rc = ho_extract_timeline(c->t.s + ln->start, ln->end - ln->start, &y, &m,
                                                 &d, &ms);
                        if (rc > c->tl && (rc == 3 || !c->tl)) {
                                c->tl = rc;
                                c->tl_line = L;
                                c->tl_y = y;
                                c->tl_m = m;
                                c->tl_d = d;
                                c->tl_ms = ms;
                                if (rc == 3)
                                        break;
                        }
                }
        }
        return 0;
}

/* ---- 2. sentences ---------------------------------------------------------- */

static const char *const abbrevs[] = {"Jan", "Feb", "Mar",  "Apr", "Aug", "Sept", "Sep",  "Oct",
                                      "Nov", "Dec", "Mr",   "Mrs", "Ms",  "Dr",   "Gen",  "Lt",
                                      "Col", "Sgt", "Sen",  "Rep", "Gov", "St",   "No",   "Jr",
                                      "Sr",  "Inc", "Corp", "Co",  "vs",  "Capt", "Prof", "Mt",
                                      "Ft",  "Adm", "Gens", "Lic", NULL};

static int push_sent(ctx_t *c, size_t tb, size_t te) {
        sent_t *v;

        if (te <= tb)
                return 0;
        if (c->n_sent == c->cap_sent) {
                size_t cap = c->cap_sent ? c->cap_sent * 2 : 64;
                if (!(v = realloc(c->sent, cap * sizeof(*v))))
                        return -1;
                c->sent = v;
                c->cap_sent = cap;
        }
        v = c->sent;
        v[c->n_sent].tb = tb;
        v[c->n_sent].te = te;
        c->n_sent++;
        return 0;
}

static int split_sentences(ctx_t *c) {
        size_t L, i;

        for (L = 0; L < c->t.n_line; L++) {
                const ho_xline_t *ln = &c->t.line[L];
                size_t b;
                if (c->role[L] != L_BODY && c->role[L] != L_DATELINE)
                        continue;
                b = c->role[L] == L_DATELINE ? c->dl_body : ln->tok_begin;
                for (i = b; i < ln->tok_end; i++) {
                        size_t e;
                        if (!(is_p(c, i, '.') || is_p(c, i, '!') || is_p(c, i, '?')))
                                continue;
                        if (is_p(c, i, '.') && i > b &&
                            ((is_cap(c, i - 1) && ho_xtok_in(&c->t, i - 1, abbrevs) >= 0) ||
                             (is_word(c, i - 1) && TK(c, i - 1)->end - TK(c, i - 1)->start == 1 &&
                              is_cap(c, i - 1))))
                                continue;
                        e = i + 1;
                        while (e < ln->tok_end &&
                               (is_p(c, e, '"') || is_p(c, e, '\'') || is_p(c, e, ')')))
                                e++;
                        if (e < ln->tok_end && !(is_cap(c, e) || TK(c, e)->kind == XT_NUM ||
                                                 is_p(c, e, '"') || is_p(c, e, '(')))
                                continue;
                        if (push_sent(c, b, e))
                                return -1;
                        b = e;
                        i = e - 1;
                }
                if (push_sent(c, b, ln->tok_end))
                        return -1;
        }
        return 0;
}

/* ---- 3. the transfer sentence -------------------------------------------- */

static const char *const transfer_verbs[] = {
        "sent",     "sends",   "sending",   "transferred", "transfers",   "transferring", "handed",
        "hands",    "handing", "delivered", "delivers",    "delivering",  "expelled",     "expels",
        "flew",     "flown",   "shipped",   "ships",       "transported", "surrendered",  "send",
        "transfer", "hand",    "deliver",   "expel",       NULL};
static const char *const hedges[] = {"would",    "could",   "might",     "may",         "plans",
                                     "plan",     "planned", "planning",  "considering", "consider",
                                     "proposed", "propose", "requested", "request",     "requests",
                                     "asked",    "asks",    "if",        "whether",     "wants",
                                     "seeks",    "sought",  "expected",  "will",        "should",
                                     NULL};
static const char *const negations[] = {"not", "never", "no", "neither", "nor", NULL};
static const char *const person_nouns[] = {"people",     "persons",     "prisoners",   "inmates",
                                           "detainees",  "suspects",    "members",     "figures",
                                           "operatives", "traffickers", "fugitives",   "men",
                                           "women",      "individuals", "criminals",   "capos",
                                           "bosses",     "leaders",     "defendants",  "convicts",
                                           "nationals",  "kingpins",    "lieutenants", "gangsters",
                                           "narcos",     "accused",     "prisoner",    "inmate",
                                           "suspect",    "person",      "detainee",    NULL};
static const char *const dest_preps[] = {"to", "into", "in", "for", "toward", "towards", NULL};

/* A count of people at j: NUMBER, up to 4 modifiers, a person noun. Tokens
 * [j, *pe) on success; the value, or -1. */
static long count_at(const ctx_t *c, size_t j, size_t end, size_t *pe) {
        size_t used = 0, k, mods = 0;
        long v;

        if (TK(c, j)->kind == XT_NUM && (TK(c, j)->flags & XT_GLUED))
                return -1;
        if ((v = ho_xtok_number(&c->t, j, end, &used)) < 0)
                return -1;
        /* a year is not a count */
        if (TK(c, j)->kind == XT_NUM && TK(c, j)->end - TK(c, j)->start == 4 && v >= 1900)
                return -1;
        /* "one of the 37", "among 37": part of an earlier transfer */
        if (j >= 1 &&
            (is_w(c, j - 1, "of") || is_w(c, j - 1, "among") || is_w(c, j - 1, "another")))
                return -1;
        if (j >= 2 && is_w(c, j - 1, "the") && (is_w(c, j - 2, "of") || is_w(c, j - 2, "among")))
                return -1;
        for (k = j + used; k < end && mods <= 4; k++) {
                if (has(c, k, LX_person_nouns)) {
                        *pe = k + 1;
                        return v;
                }
                if (!is_word(c, k))
                        return -1;
                mods++;
        }
        return -1;
}

static int hedged(const ctx_t *c, size_t tb, size_t v) {
        size_t i;

        for (i = tb; i < v; i++)
                if (has(c, i, LX_hedges))
                        return 1;
        for (i = v > tb + 3 ? v - 3 : tb; i < v; i++)
                if (has(c, i, LX_negations))
                        return 1;
        return 0;
}

/* The destination after the verb: the first country mention after to/into/
 * in/for (within 3 tokens) that is not the origin. */
static int find_dest(ctx_t *c, size_t v, size_t te, int origin) {
        size_t i, u, k;
        int ci;

        for (i = v + 1; i < te; i++) {
                if ((ci = country_at(c, i, te, &u)) < 0)
                        continue;
                if (ci != origin) {
                        for (k = i; k-- > v && k + 4 > i;)
                                if (has(c, k, LX_dest_preps)) {
                                        c->dest = ci;
                                        c->dst_tb = i;
                                        c->dst_te = i + u;
                                        return 1;
                                }
                }
                i += u - 1;
        }
        return 0;
}

static int find_transfer(ctx_t *c) {
        size_t s, v, j, u, pe;

        c->stage = 0;
        for (s = 0; s < c->n_sent; s++) {
                size_t tb = c->sent[s].tb, te = c->sent[s].te;
                if (te - tb > MAX_SENT_TOKENS)
                        continue;
                for (v = tb; v < te; v++) {
                        long best = -1;
                        size_t btb = 0, bte = 0, bdist = (size_t)-1;
                        int origin = -1;
                        if (!has(c, v, LX_transfer_verbs))
                                continue;
                        if (hedged(c, tb, v)) {
                                c->hedged = 1;
                                continue;
                        }
                        if (c->stage < 1)
                                c->stage = 1;
                        /* the count nearest the verb, within WINDOW tokens */
                        for (j = v > tb + WINDOW ? v - WINDOW : tb; j < te && j <= v + WINDOW;
                             j++) {
                                long n;
                                size_t dist;
                                if (j == c->cum_tok)
                                        continue;
                                if ((n = count_at(c, j, te, &pe)) < 0 || n > HO_INMATES_MAX)
                                        continue;
                                dist = j > v ? j - v : v - j;
                                if (dist < bdist) {
                                        best = n;
                                        btb = j;
                                        bte = pe;
                                        bdist = dist;
                                }
                        }
                        if (best < 0)
                                continue;
                        if (c->stage < 2)
                                c->stage = 2;
                        /* the origin: a country before the verb, or "from X" after it */
                        c->org_tb = c->org_te = 0;
                        for (j = tb; j < v && origin < 0; j++)
                                if ((origin = country_at(c, j, v, &u)) >= 0) {
                                        c->org_tb = j;
                                        c->org_te = j + u;
                                }
                        for (j = v + 1; j + 1 < te && origin < 0; j++)
                                if (is_w(c, j, "from") &&
                                    (origin = country_at(c, j + 1, te, &u)) >= 0) {
                                        c->org_tb = j + 1;
                                        c->org_te = j + 1 + u;
                                }
                        c->origin_from_dl = 0;
                        if (origin < 0 && c->dl && c->dl_country >= 0) {
                                origin = c->dl_country;
                                c->origin_from_dl = 1;
                        }
                        if (!find_dest(c, v, te, origin))
                                continue;
                        c->stage = 3;
                        c->ts = s;
                        c->verb = v;
                        c->cnt_tb = btb;
                        c->cnt_te = bte;
                        c->origin = origin;
                        c->res->report.inmate_count = (int32_t)best;
                        return 1;
                }
        }
        return 0;
}

/* ---- 4. fields -------------------------------------------------------------- */

static const char *const cum_verbs[] = {"brings",  "bringing", "brought", "bring",  "raises",
                                        "raising", "raised",   "takes",   "taking", "took",
                                        "pushes",  "pushing",  "pushed",  "lifts",  "lifting",
                                        "lifted",  NULL};
static const char *const cum_nouns[] = {"total", "number", "tally", "count", NULL};

/* The running total: "brings the total ... to 92", "bringing to 55 the
 * number of ...", "a running (or cumulative) total of 92". */
static void find_cumulative(ctx_t *c) {
        size_t s, i, j, k, u;
        long v;

        c->cum_tok = (size_t)-1;
        for (s = 0; s < c->n_sent; s++) {
                size_t tb = c->sent[s].tb, te = c->sent[s].te;
                if (te - tb > MAX_SENT_TOKENS)
                        continue;
                for (i = tb; i < te; i++) {
                        if (has(c, i, LX_cum_verbs)) {
                                /* verb ... total ... to N */
                                for (j = i + 1; j < te && j <= i + 8; j++)
                                        if (has(c, j, LX_cum_nouns))
                                                break;
                                if (j < te && j <= i + 8) {
                                        for (k = j + 1; k + 1 < te && k <= j + 16; k++)
                                                if (is_w(c, k, "to") &&
                                                    (v = ho_xtok_number(&c->t, k + 1, te, &u)) >= 0)
                                                        goto found_k1;
                                }
                                /* verb to N the total/number */
                                if (is_w(c, i + 1, "to") &&
                                    (v = ho_xtok_number(&c->t, i + 2, te, &u)) >= 0) {
                                        for (j = i + 2 + u; j < te && j <= i + 2 + u + 2; j++)
                                                if (has(c, j, LX_cum_nouns)) {
                                                        k = i + 1;
                                                        goto found_k1;
                                                }
                                }
                                continue;
                        found_k1:
                                c->cum_tok = k + 1;
                                c->res->report.has_cumulative_total = 1;
                                c->res->report.cumulative_total = (int32_t)v;
                                EVT(c, HO_XF_CUMULATIVE, i, k + 1 + u,
                                    "a running total: \"%.*s\" ... \"to\" a number",
                                    (int)(TK(c, i)->end - TK(c, i)->start),
                                    c->t.s + TK(c, i)->start);
                                return;
                        }
                        if ((is_w(c, i, "running") || is_w(c, i, "cumulative")) &&
                            is_w(c, i + 1, "total") && is_w(c, i + 2, "of") &&
                            (v = ho_xtok_number(&c->t, i + 3, te, &u)) >= 0) {
                                c->cum_tok = i + 3;
                                c->res->report.has_cumulative_total = 1;
                                c->res->report.cumulative_total = (int32_t)v;
                                EVT(c, HO_XF_CUMULATIVE, i, i + 3 + u, "\"%s total of\" a number",
                                    is_w(c, i, "running") ? "running" : "cumulative");
                                return;
                        }
                }
        }
}

static int32_t days_of(int y, int m, int d, int *ok) {
        char buf[16];
        int32_t days = 0;

        snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
        *ok = y >= 1 && y <= 9999 && ho_date_parse(buf, &days) == HO_OK;
        return days;
}

static const char *const weekday_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};

static void find_date(ctx_t *c) {
        ho_report_t *r = &c->res->report;
        size_t tb = c->sent[c->ts].tb, te = c->sent[c->ts].te, i, u;
        size_t lo = c->verb > tb + 12 ? c->verb - 12 : tb,
               hi = c->verb + 12 < te ? c->verb + 12 : te;
        int m = 0, d = 0, y = 0, from = 0, wd = -1, ok, rel = 0, unknown = 0;
        size_t wd_tok = 0, rel_tok = 0, date_tb = 0, date_te = 0;
        const ho_xentry_t *e;
        int32_t days;

        /* an explicit date next to the verb: "on Jan. 20", "on 20 January" */
        for (i = lo; i < hi && !m; i++) {
                if (!is_w(c, i, "on"))
                        continue;
                if ((e = match(c, i + 1, te, XK_MONTH, &u)) && is_cap(c, i + 1)) {
                        size_t k = i + 1 + u;
                        if (is_p(c, k, '.'))
                                k++;
                        if (k < te && TK(c, k)->kind == XT_NUM && !(TK(c, k)->flags & XT_GLUED) &&
                            (d = (int)ho_xtok_digits(&c->t, k)) >= 1 && d <= 31) {
                                m = e->value;
                                date_tb = i + 1;
                                date_te = k + 1;
                                if (is_p(c, k + 1, ',') && k + 2 < te &&
                                    TK(c, k + 2)->kind == XT_NUM &&
                                    TK(c, k + 2)->end - TK(c, k + 2)->start == 4) {
                                        y = (int)ho_xtok_digits(&c->t, k + 2);
                                        date_te = k + 3;
                                }
                        }
                } else if (i + 2 < te && TK(c, i + 1)->kind == XT_NUM &&
                           (d = (int)ho_xtok_digits(&c->t, i + 1)) >= 1 && d <= 31 &&
                           (e = match(c, i + 2, te, XK_MONTH, &u)) && is_cap(c, i + 2)) {
                        m = e->value;
                        date_tb = i + 1;
                        date_te = i + 2 + u;
                }
        }
        /* a weekday or a relative day in the transfer sentence */
        for (i = tb; i < te; i++) {
                if (wd < 0 && (e = match(c, i, te, XK_WEEKDAY, &u)) && is_cap(c, i)) {
                        wd = e->value;
                        wd_tok = i;
                }
                if (!rel &&
                    (is_w(c, i, "yesterday") || is_w(c, i, "today") || is_w(c, i, "tonight"))) {
                        rel = is_w(c, i, "yesterday") ? -1 : 1;
                        rel_tok = i;
                }
                if (!unknown && !(i > tb && (is_w(c, i - 1, "since") || is_w(c, i - 1, "early"))) &&
                    ((is_w(c, i, "last") && (is_w(c, i + 1, "week") || is_w(c, i + 1, "month") ||
                                             is_w(c, i + 1, "year"))) ||
                     (is_w(c, i, "ago")) || is_w(c, i, "recently") ||
                     (is_w(c, i, "earlier") && is_w(c, i + 1, "this")))) {
                        unknown = 1;
                        rel_tok = i;
                }
        }
        if (wd >= 0 || rel)
                unknown = 0; /* "on Tuesday, the third since early last year" */
        if (m) {
                from = 1;
                EVT(c, HO_XF_OCCURRED_ON, date_tb, date_te, "the date next to the transfer verb");
        } else if (unknown) {
                EVT(c, HO_XF_OCCURRED_ON, rel_tok, rel_tok + 1,
                    "the transfer sentence dates it only vaguely (\"%.*s\"): no day can be derived",
                    (int)(TK(c, rel_tok)->end - TK(c, rel_tok)->start),
                    c->t.s + TK(c, rel_tok)->start);
                return;
        } else if (c->dl && c->dl_m) {
                from = 2;
                m = c->dl_m;
                d = c->dl_d;
                y = c->dl_y;
                EVT(c, HO_XF_OCCURRED_ON, c->dl_date_tb, c->dl_date_te,
                    "the dateline's day and month");
        } else if (c->tl) {
                from = 3;
                m = c->tl_m;
                d = c->tl_d;
                y = c->tl_y;
                add_ev(c, HO_XF_OCCURRED_ON, c->t.line[c->tl_line].start, c->t.line[c->tl_line].end,
                       "no dated dateline: the time line's local date");
        } else if (c->meta && c->meta->published_at &&
                   sscanf(c->meta->published_at, "%4d-%2d-%2d", &y, &m, &d) == 3) {
                from = 4;
                add_ev(c, HO_XF_OCCURRED_ON, 0, 0,
                       "no dateline or time line: the date of published_at");
        } else {
                add_ev(c, HO_XF_OCCURRED_ON, 0, 0,
                       "no date: the transfer sentence names none and there is no dateline, time line or published_at");
                return;
        }
        if (!y) {
                int ly = 0, lm = 0, ld = 0;
                if (c->tl) {
                        ly = c->tl_y, lm = c->tl_m, ld = c->tl_d;
                        add_ev(c, HO_XF_OCCURRED_ON, c->t.line[c->tl_line].start,
                               c->t.line[c->tl_line].end, "the year from the time line");
                } else if (c->meta && c->meta->published_at &&
                           sscanf(c->meta->published_at, "%4d-%2d-%2d", &ly, &lm, &ld) == 3) {
                        add_ev(c, HO_XF_OCCURRED_ON, 0, 0, "the year from published_at");
                } else {
                        add_ev(c, HO_XF_OCCURRED_ON, 0, 0,
                               "no year: no time line and no published_at");
                        return;
                }
                y = ly;
                /* a December dateline on a January page: the year before */
                if (m * 100 + d > lm * 100 + ld + 1 && m - lm >= 6) {
                        y--;
                        add_ev(c, HO_XF_OCCURRED_ON, 0, 0,
                               "the day and month fall after the page's date: the year before");
                }
        }
        days = days_of(y, m, d, &ok);
        if (!ok) {
                add_ev(c, HO_XF_OCCURRED_ON, 0, 0, "%04d-%02d-%02d is not a calendar date", y, m,
                       d);
                return;
        }
        if (rel < 0 && from != 1) {
                days -= 1;
                EVT(c, HO_XF_OCCURRED_ON, rel_tok, rel_tok + 1, "\"yesterday\": the day before");
        }
        if (wd >= 0) {
                int have = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
                if (from == 1) {
                        if (have != wd)
                                EVT(c, HO_XF_OCCURRED_ON, wd_tok, wd_tok + 1,
                                    "the weekday disagrees with the explicit date (a %s): the date is kept",
                                    weekday_names[have]);
                        else
                                EVT(c, HO_XF_OCCURRED_ON, wd_tok, wd_tok + 1,
                                    "the weekday agrees with the date");
                } else {
                        int back = (have - wd + 7) % 7;
                        days -= back;
                        if (back)
                                EVT(c, HO_XF_OCCURRED_ON, wd_tok, wd_tok + 1,
                                    "the transfer sentence names a %s: %d day%s before the page's date",
                                    weekday_names[wd], back, back == 1 ? "" : "s");
                        else
                                EVT(c, HO_XF_OCCURRED_ON, wd_tok, wd_tok + 1,
                                    "the weekday agrees with the date");
                }
        }
        r->occurred_on = days;
        c->res->found |= HO_XF_OCCURRED_ON;
}

static void find_reported_at(ctx_t *c) {
        ho_report_t *r = &c->res->report;
        int64_t ms;

        if (c->tl == 3) {
                r->reported_at = c->tl_ms;
                c->res->found |= HO_XF_REPORTED_AT;
                add_ev(c, HO_XF_REPORTED_AT, c->t.line[c->tl_line].start, c->t.line[c->tl_line].end,
                       "the time line, with its zone, in UTC");
                return;
        }
        if (c->meta && c->meta->published_at &&
            !ho_time_parse_rfc3339(c->meta->published_at, &ms)) {
                r->reported_at = ms;
                c->res->found |= HO_XF_REPORTED_AT;
                add_ev(c, HO_XF_REPORTED_AT, 0, 0, "published_at (no time line with a zone)");
                return;
        }
        if (c->tl == 2)
                add_ev(c, HO_XF_REPORTED_AT, c->t.line[c->tl_line].start, c->t.line[c->tl_line].end,
                       "the time line has no zone, so it names no instant");
        else
                add_ev(c, HO_XF_REPORTED_AT, 0, 0,
                       "no time line with a time and a zone, no published_at");
}

static void find_source(ctx_t *c) {
        ho_report_t *r = &c->res->report;

        if (c->dl && c->dl_wire_te > c->dl_wire_tb) {
                r->source = tok_str(c, c->dl_wire_tb, c->dl_wire_te);
                if (r->source) {
                        c->res->found |= HO_XF_SOURCE;
                        EVT(c, HO_XF_SOURCE, c->dl_wire_tb, c->dl_wire_te,
                            "the wire named in the dateline");
                }
                return;
        }
        if (c->meta && c->meta->source && *c->meta->source &&
            strlen(c->meta->source) <= HO_STR_MAX) {
                if ((r->source = strdup(c->meta->source))) {
                        c->res->found |= HO_XF_SOURCE;
                        add_ev(c, HO_XF_SOURCE, 0, 0,
                               "the input's \"source\" (the dateline names no wire)");
                } else {
                        c->failed = 1;
                }
                return;
        }
        add_ev(c, HO_XF_SOURCE, 0, 0, "the dateline names no wire and the input gives no source");
}

static const char *const aircraft_nouns[] = {"aircraft", "planes",  "airplanes",   "aeroplanes",
                                             "jets",     "flights", "plane",       "airplane",
                                             "jet",      "flight",  "helicopters", NULL};

/* Does sentence s hold a word of list lx? (a cheap test before a rule's scan) */
static int sent_has(const ctx_t *c, size_t s, int lx) {
        size_t i;

        for (i = c->sent[s].tb; i < c->sent[s].te; i++)
                if (c->lex[i] >> lx & 1u)
                        return 1;
        return 0;
}

static void find_aircraft(ctx_t *c) {
        size_t s, j, k, u;
        long v;

        for (s = 0; s < c->n_sent; s++) {
                size_t tb = c->sent[s].tb, te = c->sent[s].te;
                if (te - tb > MAX_SENT_TOKENS || !sent_has(c, s, LX_aircraft_nouns))
                        continue;
                for (j = tb; j < te; j++) {
                        if (j == c->cum_tok || (TK(c, j)->flags & XT_GLUED))
                                continue;
                        if (j > tb && (is_w(c, j - 1, "of") || is_w(c, j - 1, "the")))
                                continue;
                        if ((v = ho_xtok_number(&c->t, j, te, &u)) < 0 || v > HO_AIRCRAFT_MAX)
                                continue;
                        if (TK(c, j)->kind == XT_NUM && TK(c, j)->end - TK(c, j)->start == 4)
                                continue;
                        for (k = j + u; k < te && k <= j + u + 3; k++) {
                                if (has(c, k, LX_aircraft_nouns)) {
                                        c->res->report.has_aircraft_count = 1;
                                        c->res->report.aircraft_count = (int32_t)v;
                                        c->res->found |= HO_XF_AIRCRAFT;
                                        EVT(c, HO_XF_AIRCRAFT, j, k + 1,
                                            "a number before an aircraft noun");
                                        return;
                                }
                                if (!is_word(c, k) || has(c, k, LX_person_nouns))
                                        break;
                        }
                }
        }
        add_ev(c, HO_XF_AIRCRAFT, 0, 0, "no number of aircraft, planes or flights in the story");
}

static const char *const landing_cues[] = {"landed",   "land",     "landing",      "arrived",
                                           "arrive",   "arriving", "destinations", "bound",
                                           "touched",  "flown",    "flew",         "flights",
                                           "airports", "airport",  "cities",       NULL};

static void find_destinations(ctx_t *c) {
        ho_report_t *r = &c->res->report;
        size_t s, i, u, k;

        if (c->dest < 0 || strcmp(ho_xtables_country_code(c->dest), "US")) {
                add_ev(c, HO_XF_DESTINATIONS, 0, 0,
                       "arrival places are known only for the United States (the gazetteer)");
                return;
        }
        for (s = 0; s < c->n_sent; s++) {
                size_t tb = c->sent[s].tb, te = c->sent[s].te;
                int cue = 0;
                if (te - tb > MAX_SENT_TOKENS)
                        continue;
                for (i = tb; i < te && !cue; i++)
                        cue = has(c, i, LX_landing_cues);
                if (!cue)
                        continue;
                for (i = tb; i < te; i++) {
                        const ho_xentry_t *e = NULL;
                        if (!is_cap(c, i))
                                continue;
                        if (!(e = match(c, i, te, XK_US_CITY, &u)))
                                e = match(c, i, te, XK_US_STATE, &u);
                        if (!e) {
                                size_t u2;
                                /* skip over foreign places ("Mexico City") */
                                if (match(c, i, te, XK_CITY_ABROAD, &u2))
                                        i += u2 - 1;
                                continue;
                        }
                        /* "Houston, Texas": the state qualifies the city */
                        if (e->kind == XK_US_STATE && i >= 2 && is_p(c, i - 1, ',') &&
                            r->n_destinations && TK(c, i - 2)->kind == XT_WORD) {
                                size_t u3;
                                const ho_xentry_t *prev = NULL;
                                for (k = i - 1; k-- > tb && k + 4 >= i;)
                                        if ((prev = match(c, k, i - 1, XK_US_CITY, &u3)) &&
                                            k + u3 == i - 1 && prev->state &&
                                            !strcmp(prev->state, e->canon))
                                                break;
                                        else
                                                prev = NULL;
                                if (prev) {
                                        i += u - 1;
                                        continue;
                                }
                        }
                        for (k = 0; k < r->n_destinations; k++)
                                if (!strcmp(r->destinations[k], e->canon))
                                        break;
                        if (k == r->n_destinations && r->n_destinations < HO_DESTINATIONS_MAX) {
                                char **v = realloc(r->destinations,
                                                   (r->n_destinations + 1) * sizeof(*v));
                                if (!v || !(v[r->n_destinations] = strdup(e->canon))) {
                                        if (v)
                                                r->destinations = v;
                                        c->failed = 1;
                                        return;
                                }
                                r->destinations = v;
                                r->n_destinations++;
                                EVT(c, HO_XF_DESTINATIONS, i, i + u,
                                    "an arrival place (%s) in a sentence about landing or flights",
                                    e->kind == XK_US_CITY ? "city" : "state");
                        }
                        i += u - 1;
                }
        }
        if (r->n_destinations)
                c->res->found |= HO_XF_DESTINATIONS;
        else
                add_ev(c, HO_XF_DESTINATIONS, 0, 0,
                       "no US city or state in a sentence about landing or flights");
}

static const char *const org_heads[] = {"Ministry",       "Secretariat", "Department", "Office",
                                        "Agency",         "Cabinet",     "Commission", "Bureau",
                                        "Administration", "Prosecutor",  "Guard",      "Navy",
                                        "Secretary",      NULL};
static const char *const announce[] = {"said",      "says",      "announced", "announces",
                                       "reported",  "confirmed", "stated",    "informed",
                                       "according", "statement", "told",      NULL};

/* A lower-case word that joins the parts of a name: "Secretariat of Security and ...". */
static int org_link(const ctx_t *c, size_t i) {
        static const char *const links[] = {"of", "for", "and", "de", "y", "on"};
        size_t k;

        for (k = 0; k < sizeof(links) / sizeof(links[0]); k++)
                if (is_exact(c, i, links[k]))
                        return 1;
        return 0;
}

/* An organisation phrase with its head at h: capitalised words before it
 * (not a country), "of/for/and" + capitalised words after it. */
static void org_span(const ctx_t *c, size_t h, size_t tb, size_t te, size_t *ob, size_t *oe) {
        size_t b = h, e = h + 1, u;

        while (b > tb && is_cap(c, b - 1) && country_at(c, b - 1, te, &u) < 0 &&
               !is_exact(c, b - 1, "The") && h - b < 5)
                b--;
        /* "Attorney General's Office": a possessive inside the name is kept */
        while (e + 1 < te && e - h < 10 && org_link(c, e) && is_cap(c, e + 1) &&
               country_at(c, e + 1, te, &u) < 0) {
                e += 2;
                while (e < te && is_cap(c, e) && e - h < 12)
                        e++;
        }
        *ob = b;
        *oe = e;
}

static int authority_in(ctx_t *c, size_t s) {
        size_t tb = c->sent[s].tb, te = c->sent[s].te, i, ob, oe;
        int ann = 0;

        if (te - tb > MAX_SENT_TOKENS)
                return 0;
        for (i = tb; i < te && !ann; i++)
                ann = has(c, i, LX_announce);
        if (!ann)
                return 0;
        for (i = tb; i < te; i++) {
                int k = ho_xtok_in(&c->t, i, org_heads);
                /* the head capitalised as in the list: "Ministry", not "ministry" */
                if (k < 0 || !is_exact(c, i, org_heads[k]))
                        continue;
                org_span(c, i, tb, te, &ob, &oe);
                if (oe - ob < 2 && !is_exact(c, i, "Navy"))
                        continue; /* a bare "Office" is no name */
                if ((c->res->report.authority = tok_str(c, ob, oe))) {
                        c->res->found |= HO_XF_AUTHORITY;
                        EVT(c, HO_XF_AUTHORITY, ob, oe, "%s",
                            s == c->ts
                                    ? "an agency named in the transfer sentence, which says who announced it"
                                    : "the first agency named in a sentence that says who announced or said something");
                }
                return 1;
        }
        return 0;
}

static void find_authority(ctx_t *c) {
        size_t s;

        if (authority_in(c, c->ts))
                return;
        for (s = 0; s < c->n_sent; s++)
                if (s != c->ts && authority_in(c, s))
                        return;
        add_ev(c, HO_XF_AUTHORITY, 0, 0,
               "no ministry or agency named beside \"said\"/\"announced\"");
}

/* ---- persons ---- */

static const char *const include_cues[] = {"among",    "included", "including",
                                           "includes", "include",  NULL};
static const char *const titles[] = {"Minister",   "President", "Secretary",   "Attorney",
                                     "General",    "Judge",     "Ambassador",  "Governor",
                                     "Mr",         "Mrs",       "Ms",          "Senator",
                                     "Prosecutor", "Spokesman", "Spokeswoman", "Director",
                                     "Chief",      "Officer",   "Deputy",      "Undersecretary",
                                     NULL};
static const char *const particles[] = {"de",  "del", "la",  "las", "los", "y",  "van",
                                        "von", "da",  "dos", "bin", "al",  "di", NULL};
static const char *const group_nouns[] = {
        "cartel", "cartels", "organization", "organisation", "gang", "syndicate", NULL};
static const char *const not_names[] = {
        "The",         "A",          "An",      "Among",       "In",          "On",
        "At",          "But",        "And",     "He",          "She",         "They",
        "It",          "His",        "Her",     "Their",       "U.S.",        "Cartel",
        "Ministry",    "Department", "Office",  "Navy",        "Army",        "National",
        "Federal",     "Security",   "Justice", "Secretariat", "Prosecutors", "Officials",
        "Authorities", "Police",     "Court",   "Airport",     "Air",         "Force",
        "Guard",       "Those",      "These",   "State",       "Government",  "Jalisco",
        "Sinaloa",     "Gulf",       "New",     "Generation",  NULL};

/* Is token i a word a name cannot hold (a country, a month, a group, ...)?
 * A name may go on with a place-like word ("Mario Ortega Lima") but not
 * start with one. */
static int name_breaker(const ctx_t *c, size_t i, size_t te, int first) {
        size_t u;

        if (has(c, i, LX_not_names) && is_cap(c, i))
                return 1;
        if (match(c, i, te, XK_COUNTRY, &u) || match(c, i, te, XK_DEMONYM, &u) ||
            match(c, i, te, XK_MONTH, &u) || match(c, i, te, XK_WEEKDAY, &u) ||
            match(c, i, te, XK_GROUP, &u))
                return 1;
        if (first && (match(c, i, te, XK_CITY_ABROAD, &u) || match(c, i, te, XK_US_CITY, &u) ||
                      match(c, i, te, XK_US_STATE, &u)))
                return 1;
        return 0;
}

/* A person's name at i: 2..5 capitalised words (particles between them).
 * The end in *pe, or 0. */
static int name_at(const ctx_t *c, size_t i, size_t te, size_t *pe) {
        size_t k = i, words = 0, last = i;

        if (!is_cap(c, i) || (TK(c, i)->flags & XT_ALLCAPS) || name_breaker(c, i, te, 1))
                return 0;
        if (i > 0 && is_cap(c, i - 1) && has(c, i - 1, LX_titles))
                return 0;
        while (k < te && words < 6) {
                if (is_cap(c, k) && !(TK(c, k)->flags & XT_ALLCAPS) &&
                    !name_breaker(c, k, te, k == i) && TK(c, k)->end - TK(c, k)->start > 1) {
                        words++;
                        last = k;
                        if (TK(c, k)->flags & XT_POSS)
                                break;
                        k++;
                        continue;
                }
                if (is_word(c, k) && has(c, k, LX_particles) && !is_cap(c, k) && is_cap(c, k + 1)) {
                        k++;
                        continue;
                }
                break;
        }
        if (words < 2 || words > 5 || (TK(c, last)->flags & XT_POSS))
                return 0;
        if (has(c, last + 1, LX_announce))
                return 0; /* "X said": a speaker */
        if (has(c, last + 1, LX_group_nouns) || (i > 0 && is_w(c, i - 1, "the")))
                return 0; /* "the Beltran Leyva cartel": a group */
        *pe = last + 1;
        return 1;
}

/* The first group in tokens [b, e): a table name ("Los Zetas"), or
 * capitalised words before a group noun: "the Sinaloa Cartel" (kept whole),
 * "the Beltran Leyva cartel" (the name without the noun). */
static char *group_in(ctx_t *c, size_t b, size_t e, size_t te, size_t *gb, size_t *ge) {
        size_t i, u;
        const ho_xentry_t *g;

        for (i = b; i < e; i++) {
                if ((g = match(c, i, te, XK_GROUP, &u))) {
                        *gb = i;
                        *ge = i + u;
                        return strdup(g->canon);
                }
                if (has(c, i, LX_group_nouns) && i > b) {
                        size_t k = i;
                        while (k > b && is_cap(c, k - 1) && !(TK(c, k - 1)->flags & XT_POSS) &&
                               !is_exact(c, k - 1, "The") && i - k < 5)
                                k--;
                        /* "Cartel de Jalisco" style: particles between capitals */
                        if (k == i)
                                continue;
                        *gb = k;
                        *ge = is_cap(c, i) ? i + 1 : i;
                        return tok_str(c, k, *ge);
                }
        }
        return NULL;
}

typedef struct {
        size_t b, e;
} span_t;

static void find_persons(ctx_t *c) {
        ho_report_t *r = &c->res->report;
        size_t s, i, pe;

        for (s = 0; s < c->n_sent; s++) {
                size_t tb = c->sent[s].tb, te = c->sent[s].te, cue = (size_t)-1, n = 0, k;
                span_t names[32];
                if (te - tb > MAX_SENT_TOKENS)
                        continue;
                for (i = tb; i < te && cue == (size_t)-1; i++)
                        if (has(c, i, LX_include_cues))
                                cue = i;
                if (cue == (size_t)-1)
                        continue;
                for (i = cue + 1; i < te && n < 32; i++) {
                        if (is_cap(c, i) && has(c, i, LX_titles)) {
                                /* "Security Minister Omar Garcia Harfuch": an official */
                                while (i + 1 < te && is_cap(c, i + 1))
                                        i++;
                                continue;
                        }
                        if (name_at(c, i, te, &pe)) {
                                names[n].b = i;
                                names[n].e = pe;
                                n++;
                                i = pe - 1;
                        }
                }
                /* each name's appositive runs to the next name */
                {
                        char *aff[32] = {0};
                        size_t gb[32] = {0}, ge[32] = {0};
                        for (k = 0; k < n; k++) {
                                size_t end = k + 1 < n ? names[k + 1].b : te;
                                aff[k] = group_in(c, names[k].e, end, te, &gb[k], &ge[k]);
                        }
                        /* "X and Y, brothers who led Los Zetas": the shared appositive */
                        for (k = n; k-- > 0;) {
                                size_t j, only_and = 1;
                                if (aff[k] || k + 1 >= n)
                                        continue;
                                for (j = names[k].e; j < names[k + 1].b; j++)
                                        if (!(is_p(c, j, ',') || is_w(c, j, "and")))
                                                only_and = 0;
                                if (only_and && aff[k + 1] && (aff[k] = strdup(aff[k + 1]))) {
                                        gb[k] = gb[k + 1];
                                        ge[k] = ge[k + 1];
                                }
                        }
                        for (k = 0; k < n; k++) {
                                ho_person_t *v;
                                if (r->n_persons >= HO_PERSONS_MAX) {
                                        free(aff[k]);
                                        continue;
                                }
                                v = realloc(r->persons, (r->n_persons + 1) * sizeof(*v));
                                if (!v) {
                                        free(aff[k]);
                                        c->failed = 1;
                                        continue;
                                }
                                r->persons = v;
                                v[r->n_persons].name = tok_str(c, names[k].b, names[k].e);
                                v[r->n_persons].affiliation = aff[k];
                                if (!v[r->n_persons].name) {
                                        free(aff[k]);
                                        continue;
                                }
                                r->n_persons++;
                                EVT(c, HO_XF_PERSONS, names[k].b, names[k].e,
                                    "a name after \"%.*s\" (those transferred)",
                                    (int)(TK(c, cue)->end - TK(c, cue)->start),
                                    c->t.s + TK(c, cue)->start);
                                if (aff[k])
                                        EVT(c, HO_XF_PERSONS, gb[k], ge[k],
                                            "the affiliation of %s: the first group named in what the story says of them",
                                            v[r->n_persons - 1].name);
                        }
                }
        }
        if (r->n_persons)
                c->res->found |= HO_XF_PERSONS;
        else
                add_ev(c, HO_XF_PERSONS, 0, 0, "no name after \"among\"/\"included\" in the story");
}

static const char *const events[] = {"transfer",  "transfers", "handover",  "shipment",
                                     "expulsion", "batch",     "operation", "round",
                                     "delivery",  "group",     NULL};

static void find_ordinal(ctx_t *c) {
        size_t s, i, k;
        int v;

        for (s = 0; s < c->n_sent; s++) {
                size_t tb = c->sent[s].tb, te = c->sent[s].te;
                if (te - tb > MAX_SENT_TOKENS || !sent_has(c, s, LX_events))
                        continue;
                for (i = tb; i < te; i++) {
                        if (!(v = ho_xtok_ordinal(&c->t, i)))
                                continue;
                        for (k = i + 1; k < te && k <= i + 4; k++)
                                if (has(c, k, LX_events)) {
                                        c->res->ordinal = v;
                                        EVT(c, 0, i, k + 1,
                                            "the transfer's ordinal (not a report field)");
                                        return;
                                }
                }
        }
}

/* ---- the lexicon ------------------------------------------------------------ */

#define LEX_SLOTS 1024 /* a power of two, over twice the words of all lists */
#define LEX_WORD 24

static const char *const *const lexicons[LX__COUNT] = {transfer_verbs, hedges,         negations,
                                                       person_nouns,   dest_preps,     cum_verbs,
                                                       cum_nouns,      aircraft_nouns, landing_cues,
                                                       announce,       include_cues,   titles,
                                                       particles,      group_nouns,    not_names,
                                                       events};
static struct {
        char w[LEX_WORD];
        uint32_t mask;
} lex_tab[LEX_SLOTS];
static pthread_once_t lex_once = PTHREAD_ONCE_INIT;

static unsigned lex_hash(const char *w, size_t n) {
        unsigned h = 2166136261u;
        size_t i;

        for (i = 0; i < n; i++)
                h = (h ^ (unsigned char)w[i]) * 16777619u;
        return h & (LEX_SLOTS - 1);
}

/* Lower-case w[0..n) into out; 0 when it is too long to be a list word. */
static size_t lex_lower(const char *w, size_t n, char *out) {
        size_t i;

        if (n >= LEX_WORD)
                return 0;
        for (i = 0; i < n; i++)
                out[i] = w[i] >= 'A' && w[i] <= 'Z' ? (char)(w[i] | 0x20) : w[i];
        out[n] = 0;
        return n;
}

static void lex_build(void) {
        size_t k, j;

        for (k = 0; k < LX__COUNT; k++)
                for (j = 0; lexicons[k][j]; j++) {
                        char w[LEX_WORD];
                        size_t n = lex_lower(lexicons[k][j], strlen(lexicons[k][j]), w);
                        unsigned h = lex_hash(w, n);
                        while (lex_tab[h].w[0] && strcmp(lex_tab[h].w, w))
                                h = (h + 1) & (LEX_SLOTS - 1);
                        memcpy(lex_tab[h].w, w, n + 1);
                        lex_tab[h].mask |= 1u << k;
                }
}

static uint32_t lex_of(const char *s, size_t n) {
        char w[LEX_WORD];
        unsigned h;

        if (!lex_lower(s, n, w))
                return 0;
        for (h = lex_hash(w, n); lex_tab[h].w[0]; h = (h + 1) & (LEX_SLOTS - 1))
                if (!strcmp(lex_tab[h].w, w))
                        return lex_tab[h].mask;
        return 0;
}

static int lex_tokens(ctx_t *c) {
        size_t i;

        pthread_once(&lex_once, lex_build);
        if (!(c->lex = calloc(c->t.n_tok ? c->t.n_tok : 1, sizeof(uint32_t))))
                return -1;
        for (i = 0; i < c->t.n_tok; i++)
                if (TK(c, i)->kind == XT_WORD)
                        c->lex[i] = lex_of(c->t.s + TK(c, i)->start,
                                           TK(c, i)->end - TK(c, i)->start);
        return 0;
}

/* ---- the whole article --------------------------------------------------- */

static const unsigned field_bits[] = {HO_XF_TRANSFER_ID, HO_XF_OCCURRED_ON, HO_XF_REPORTED_AT,
                                      HO_XF_SOURCE,      HO_XF_ORIGIN,      HO_XF_DESTINATION,
                                      HO_XF_INMATES,     HO_XF_AIRCRAFT,    HO_XF_DESTINATIONS,
                                      HO_XF_CUMULATIVE,  HO_XF_AUTHORITY,   HO_XF_PERSONS};
static const char *const field_names[] = {"transfer_id",    "occurred_on",
                                          "reported_at",    "source",
                                          "origin_country", "destination_country",
                                          "inmate_count",   "aircraft_count",
                                          "destinations",   "cumulative_total",
                                          "authority",      "persons"};

const char *ho_extract_field_name(unsigned field) {
        size_t i;

        for (i = 0; i < sizeof(field_bits) / sizeof(field_bits[0]); i++)
                if (field_bits[i] == field)
                        return field_names[i];
        return field ? "?" : "ordinal";
}

void ho_extract_result_init(ho_extract_result_t *res) {
        memset(res, 0, sizeof(*res));
        ho_report_init(&res->report);
}

void ho_extract_result_clear(ho_extract_result_t *res) {
        size_t i;

        ho_report_clear(&res->report);
        for (i = 0; i < res->n_ev; i++)
                free(res->ev[i].why);
        free(res->ev);
        free(res->reason);
        ho_extract_result_init(res);
}

/* Is the number at j hedged by the words before it ("more than 30", "some
 * 37", "at least 35", "nearly 40")? "handed over 26" is not. */
static int approximate(const ctx_t *c, size_t j) {
        static const char *const one[] = {"about", "around",        "roughly",   "nearly", "almost",
                                          "some",  "approximately", "estimated", "over",   NULL};
        static const char *const two_first[] = {"more", "fewer", "less", "at", "up", NULL};
        static const char *const two_second[] = {"than", "than", "than", "least", "to", NULL};
        int k;

        if (j >= 1 && (k = ho_xtok_in(&c->t, j - 1, one)) >= 0) {
                if (!strcmp(one[k], "over") && j >= 2 &&
                    (has(c, j - 2, LX_transfer_verbs) || is_w(c, j - 2, "turned")))
                        return 0; /* "handed over 26", "turned over 26" */
                return 1;
        }
        if (j >= 2 && (k = ho_xtok_in(&c->t, j - 2, two_first)) >= 0 &&
            is_w(c, j - 1, two_second[k]))
                return 1;
        return 0;
}

static void set_countries(ctx_t *c) {
        ho_report_t *r = &c->res->report;

        if (c->origin >= 0) {
                memcpy(r->origin_country, ho_xtables_country_code(c->origin), 3);
                c->res->found |= HO_XF_ORIGIN;
                if (c->origin_from_dl)
                        EVT(c, HO_XF_ORIGIN, c->dl_place_tb, c->dl_place_te,
                            "the transfer sentence names no origin: the dateline's country");
                else
                        EVT(c, HO_XF_ORIGIN, c->org_tb, c->org_te,
                            "the country named before the transfer verb (or after \"from\")");
        } else {
                add_ev(c, HO_XF_ORIGIN, 0, 0,
                       "no country before the transfer verb, after \"from\" or in the dateline");
        }
        memcpy(r->destination_country, ho_xtables_country_code(c->dest), 3);
        c->res->found |= HO_XF_DESTINATION;
        EVT(c, HO_XF_DESTINATION, c->dst_tb, c->dst_te,
            "the country after \"to\"/\"into\"/\"in\" following the transfer verb");
        if (approximate(c, c->cnt_tb)) {
                /* "more than 30", "about 37": a bound is not the count */
                r->inmate_count = 0;
                EVT(c, HO_XF_INMATES, c->cnt_tb > 2 ? c->cnt_tb - 2 : 0, c->cnt_te,
                    "an approximate count (\"more than\", \"about\", \"at least\", ...) is not this transfer's count");
                return;
        }
        c->res->found |= HO_XF_INMATES;
        EVT(c, HO_XF_INMATES, c->cnt_tb, c->cnt_te,
            "the count of people beside the transfer verb \"%.*s\"",
            (int)(TK(c, c->verb)->end - TK(c, c->verb)->start), c->t.s + TK(c, c->verb)->start);
}

static void set_transfer_id(ctx_t *c) {
        ho_report_t *r = &c->res->report;
        char date[11], id[32];

        if ((c->res->found & (HO_XF_ORIGIN | HO_XF_DESTINATION | HO_XF_OCCURRED_ON)) !=
            (HO_XF_ORIGIN | HO_XF_DESTINATION | HO_XF_OCCURRED_ON)) {
                add_ev(c, HO_XF_TRANSFER_ID, 0, 0,
                       "needs the origin, the destination and the date");
                return;
        }
        ho_date_format(r->occurred_on, date);
        snprintf(id, sizeof(id), "%c%c-%c%c-%s", r->origin_country[0] | 0x20,
                 r->origin_country[1] | 0x20, r->destination_country[0] | 0x20,
                 r->destination_country[1] | 0x20, date);
        if (!(r->transfer_id = strdup(id))) {
                c->failed = 1;
                return;
        }
        c->res->found |= HO_XF_TRANSFER_ID;
        add_ev(c, HO_XF_TRANSFER_ID, 0, 0, "origin-destination-date, lower case: %s", id);
}

static const char *reason_of(const ctx_t *c) {
        if (!c->n_sent)
                return "no story: no dateline and no paragraph of sentences before the page furniture";
        switch (c->stage) {
        case 0:
                if (c->hedged)
                        return "the story's transfer verbs are all hedged or negated (would, could, may, plans, asked, not, ...): nothing reported as done";
                return "no sentence of the story has a transfer verb (sent, transferred, handed over, ...)";
        case 1:
                return "no sentence pairs a transfer verb with a number of people";
        default:
                return "no sentence with a transfer verb and a number of people names a destination country after \"to\"";
        }
}

ho_err_t ho_extract_article(const char *text, size_t len, const ho_extract_meta_t *meta,
                            ho_extract_result_t *res, char *errstr, size_t errstr_size) {
        ctx_t c;
        ho_err_t e;

        ho_extract_result_clear(res);
        if (len > HO_EXTRACT_MAX_TEXT)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "article of %zu bytes: at most %u are read", len,
                                 HO_EXTRACT_MAX_TEXT);
        if ((e = ho_xtables_load(errstr, errstr_size)))
                return e;
        memset(&c, 0, sizeof(c));
        c.meta = meta;
        c.res = res;
        c.origin = c.dest = c.dl_country = -1;
        c.cum_tok = (size_t)-1;
        if (ho_xtext_init(&c.t, text, len))
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if (lex_tokens(&c) || classify(&c) || split_sentences(&c)) {
                c.failed = 1;
                goto done;
        }
        find_cumulative(&c);
        if (!find_transfer(&c)) {
                res->status = HO_EXTRACT_NONE;
                if (!(res->reason = strdup(reason_of(&c))))
                        c.failed = 1;
                /* a running total alone is not a report */
                res->report.has_cumulative_total = 0;
                goto done;
        }
        if (c.res->report.has_cumulative_total) {
                if (c.res->report.cumulative_total < c.res->report.inmate_count) {
                        c.res->report.has_cumulative_total = 0;
                        add_ev(&c, HO_XF_CUMULATIVE, 0, 0,
                               "a running total below this transfer's count is not this transfer's total");
                } else {
                        res->found |= HO_XF_CUMULATIVE;
                }
        } else {
                add_ev(&c, HO_XF_CUMULATIVE, 0, 0, "no \"brings the total to N\" wording");
        }
        set_countries(&c);
        find_date(&c);
        find_reported_at(&c);
        find_source(&c);
        find_aircraft(&c);
        find_destinations(&c);
        find_authority(&c);
        find_persons(&c);
        find_ordinal(&c);
        set_transfer_id(&c);
        res->missing = (HO_XF_REQUIRED | HO_XF_AIRCRAFT | HO_XF_DESTINATIONS | HO_XF_CUMULATIVE |
                        HO_XF_AUTHORITY | HO_XF_PERSONS) &
                       ~res->found;
        if (res->missing & HO_XF_REQUIRED) {
                res->status = HO_EXTRACT_INCOMPLETE;
        } else {
                char err[256];
                if (!(res->report.report_id = malloc(35))) {
                        c.failed = 1;
                        goto done;
                }
                if (ho_report_derive_id(&res->report, res->report.report_id)) {
                        c.failed = 1;
                        goto done;
                }
                if (ho_report_validate(&res->report, err, sizeof(err))) {
                        /* the rules never build an invalid report; if they do, say so */
                        res->status = HO_EXTRACT_INCOMPLETE;
                        add_ev(&c, HO_XF_TRANSFER_ID, 0, 0, "the report breaks a rule: %s", err);
                        free(res->report.report_id);
                        res->report.report_id = NULL;
                } else {
                        res->status = HO_EXTRACT_COMPLETE;
                }
        }
done:
        free(c.role);
        free(c.sent);
        free(c.lex);
        ho_xtext_free(&c.t);
        if (c.failed) {
                ho_extract_result_clear(res);
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        }
        return HO_OK;
}

/* ---- output ---------------------------------------------------------------- */

/* text[b..e) with invalid UTF-8 replaced by U+FFFD, as a JSON string. */
static json_t *quote_json(const char *text, size_t len, size_t b, size_t e) {
        ho_buf_t out = HO_BUF_INIT;
        const unsigned char *s = (const unsigned char *)text;
        size_t i = b;
        json_t *j;

        if (e > len)
                e = len;
        while (i < e) {
                unsigned char ch = s[i];
                size_t n = ch < 0x80                  ? 1
                           : ch >= 0xC2 && ch <= 0xDF ? 2
                           : ch >= 0xE0 && ch <= 0xEF ? 3
                           : ch >= 0xF0 && ch <= 0xF4 ? 4
                                                      : 0;
                size_t k;
                int ok = n > 0 && i + n <= e && ch != 0;
                for (k = 1; ok && k < n; k++)
                        ok = (s[i + k] & 0xC0) == 0x80;
                if (ok && n == 3) {
                        unsigned v = ((ch & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) |
                                     (s[i + 2] & 0x3Fu);
                        ok = v >= 0x800 && !(v >= 0xD800 && v <= 0xDFFF);
                }
                if (ok && n == 4) {
                        unsigned v = ((ch & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) |
                                     ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
                        ok = v >= 0x10000 && v <= 0x10FFFF;
                }
                if (ok) {
                        ho_buf_append(&out, s + i, n);
                        i += n;
                } else {
                        ho_buf_append(&out, "\xEF\xBF\xBD", 3);
                        i++;
                }
        }
        j = json_stringn(out.data ? out.data : "", out.len);
        ho_buf_free(&out);
        return j;
}

json_t *ho_extract_evidence_json(const ho_extract_result_t *res, const char *text, size_t len) {
        static const char *const st[] = {"none", "incomplete", "complete"};
        json_t *o = json_object(), *a = json_array(), *m = json_array();
        size_t i;
        int bad = !o || !a || !m;

        if (bad) {
                json_decref(o);
                json_decref(a);
                json_decref(m);
                return NULL;
        }
        bad |= json_object_set_new(o, "status", json_string(st[res->status]));
        bad |= json_object_set_new(o, "transfer_id",
                                   res->report.transfer_id ? json_string(res->report.transfer_id)
                                                           : json_null());
        bad |= json_object_set_new(o, "report_id",
                                   res->report.report_id ? json_string(res->report.report_id)
                                                         : json_null());
        if (res->reason)
                bad |= json_object_set_new(o, "reason", json_string(res->reason));
        if (res->ordinal)
                bad |= json_object_set_new(o, "ordinal", json_integer(res->ordinal));
        for (i = 0; i < sizeof(field_bits) / sizeof(field_bits[0]); i++)
                if (res->missing & field_bits[i])
                        bad |= json_array_append_new(m, json_string(field_names[i]));
        bad |= json_object_set_new(o, "missing", m);
        for (i = 0; i < res->n_ev; i++) {
                const ho_extract_evidence_t *ev = &res->ev[i];
                json_t *f = json_object();
                if (!f) {
                        bad = 1;
                        break;
                }
                bad |= json_object_set_new(f, "field",
                                           json_string(ho_extract_field_name(ev->field)));
                if (ev->end > ev->start) {
                        bad |= json_object_set_new(f, "quote",
                                                   quote_json(text, len, ev->start, ev->end));
                        bad |= json_object_set_new(f, "start", json_integer((json_int_t)ev->start));
                        bad |= json_object_set_new(f, "end", json_integer((json_int_t)ev->end));
                } else {
                        bad |= json_object_set_new(f, "quote", json_null());
                }
                bad |= json_object_set_new(f, "why", json_string(ev->why));
                bad |= json_array_append_new(a, f);
        }
        bad |= json_object_set_new(o, "fields", a);
        if (bad) {
                json_decref(o);
                return NULL;
        }
        return o;
}

char *ho_extract_summary(const ho_extract_result_t *res) {
        const ho_report_t *r = &res->report;
        ho_buf_t b = HO_BUF_INIT;
        size_t i;
        int first = 1;

        if (res->status == HO_EXTRACT_NONE) {
                ho_buf_printf(&b, "no transfer: %s", res->reason ? res->reason : "");
                return ho_buf_steal(&b, NULL);
        }
        ho_buf_printf(&b, "%s%s:", r->transfer_id ? r->transfer_id : "(no transfer id)",
                      res->status == HO_EXTRACT_INCOMPLETE ? " (incomplete)" : "");
        if (res->found & HO_XF_INMATES)
                ho_buf_printf(&b, " %d inmates", r->inmate_count);
        ho_buf_printf(&b, " %s->%s", res->found & HO_XF_ORIGIN ? r->origin_country : "??",
                      r->destination_country);
        if (r->has_aircraft_count)
                ho_buf_printf(&b, ", %d aircraft", r->aircraft_count);
        if (r->n_destinations)
                ho_buf_printf(&b, ", %zu destinations", r->n_destinations);
        if (r->has_cumulative_total)
                ho_buf_printf(&b, ", total %d", r->cumulative_total);
        if (r->n_persons)
                ho_buf_printf(&b, ", %zu person%s", r->n_persons, r->n_persons == 1 ? "" : "s");
        if (r->source)
                ho_buf_printf(&b, ", source %s", r->source);
        for (i = 0; i < sizeof(field_bits) / sizeof(field_bits[0]); i++)
                if (res->missing & field_bits[i]) {
                        ho_buf_printf(&b, "%s%s", first ? "; not found: " : ", ", field_names[i]);
                        first = 0;
                }
        return ho_buf_steal(&b, NULL);
}
