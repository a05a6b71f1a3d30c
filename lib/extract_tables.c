/*
 * extract_tables.c: the extractor's tables, the TSV files of schemas/extract/ compiled in
 * (cmake/embed_extract.cmake), read once into phrase entries keyed by their
 * first word. A phrase is tokenised the way an article is, so "U.S.",
 * "Washington, D.C." and "Port-au-Prince" match the tokens they become.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "extract_int.h"

#define NBUCKETS 1024
#define NUM_BUCKETS 64

typedef struct {
        char *word;
        int value;
        char kind;
} numword_t;

static struct {
        ho_xentry_t *e;
        size_t n, cap;
        size_t *bucket_first; /* entry indexes chained through next[] */
        size_t *next;
        char (*codes)[3]; /* country codes by country index */
        size_t n_codes;
        numword_t *num;
        size_t n_num;
        size_t num_first[NUM_BUCKETS], *num_next; /* number words by hash */
        ho_err_t err;
        char errstr[256];
} T;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static unsigned hash_word(const char *w, size_t n) {
        unsigned h = 2166136261u;
        size_t i;

        for (i = 0; i < n; i++)
                h = (h ^ (unsigned char)(w[i] >= 'A' && w[i] <= 'Z' ? w[i] | 0x20 : w[i])) *
                    16777619u;
        return h % NBUCKETS;
}

static int add_entry(int kind, int value, const char *phrase, size_t len, const char *canon) {
        ho_xtext_t t;
        ho_xentry_t *e;
        size_t i;

        if (ho_xtext_init(&t, phrase, len))
                return -1;
        if (t.n_tok == 0) {
                ho_xtext_free(&t);
                return 0;
        }
        if (T.n == T.cap) {
                size_t cap = T.cap ? T.cap * 2 : 512;
                ho_xentry_t *v = realloc(T.e, cap * sizeof(*v));
                if (!v)
                        goto fail;
                T.e = v;
                T.cap = cap;
        }
        e = &T.e[T.n];
        memset(e, 0, sizeof(*e));
        e->kind = kind;
        e->value = value;
        e->canon = canon;
        if (!(e->words = calloc(t.n_tok, sizeof(char *))))
                goto fail;
        for (i = 0; i < t.n_tok; i++) {
                size_t n = t.tok[i].end - t.tok[i].start;
                if (!(e->words[i] = malloc(n + 1)))
                        goto fail_words;
                memcpy(e->words[i], phrase + t.tok[i].start, n);
                e->words[i][n] = 0;
                e->n_words = i + 1;
        }
        T.n++;
        ho_xtext_free(&t);
        return 0;
fail_words:
        for (i = 0; i < e->n_words; i++)
                free(e->words[i]);
        free(e->words);
fail:
        ho_xtext_free(&t);
        return -1;
}

/* A copy of field f (0-based) of a tab-separated line, or NULL (absent or empty). */
static char *field(const char *line, size_t len, int f) {
        const char *p = line, *end = line + len, *q;
        char *out;

        while (f-- > 0) {
                if (!(q = memchr(p, '\t', (size_t)(end - p))))
                        return NULL;
                p = q + 1;
        }
        q = memchr(p, '\t', (size_t)(end - p));
        if (!q)
                q = end;
        if (q == p)
                return NULL;
        if (!(out = malloc((size_t)(q - p) + 1)))
                return NULL;
        memcpy(out, p, (size_t)(q - p));
        out[q - p] = 0;
        return out;
}

/* Add every '|'-separated phrase of list. */
static int add_list(int kind, int value, const char *list, const char *canon) {
        const char *p = list, *q;

        if (!list)
                return 0;
        for (;;) {
                q = strchr(p, '|');
                if (add_entry(kind, value, p, q ? (size_t)(q - p) : strlen(p), canon))
                        return -1;
                if (!q)
                        return 0;
                p = q + 1;
        }
}

/* Canonical strings live as long as the process: the tables are loaded once. */
static const char *keep(char *s) {
        return s;
}

static int load_file(const ho_extract_file_t *f) {
        const char *p = f->data, *end = f->data + f->len;
        int lineno = 0;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                char *c0 = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL;
                int bad = 0;

                lineno++;
                if (len && p[0] != '#') {
                        c0 = field(p, len, 0);
                        c1 = field(p, len, 1);
                        c2 = field(p, len, 2);
                        c3 = field(p, len, 3);
                        if (!c0) {
                                bad = 1;
                        } else if (!strcmp(f->name, "countries.tsv")) {
                                char(*codes)[3] = realloc(T.codes,
                                                          (T.n_codes + 1) * sizeof(*codes));
                                int idx = (int)T.n_codes;
                                if (codes)
                                        T.codes = codes;
                                if (!codes || strlen(c0) != 2 || !c1) {
                                        bad = 1;
                                } else {
                                        memcpy(T.codes[idx], c0, 3);
                                        T.n_codes++;
                                        bad = add_list(XK_COUNTRY, idx, c1, NULL) ||
                                              add_list(XK_DEMONYM, idx, c2, NULL) ||
                                              add_list(XK_CITY_ABROAD, idx, c3, NULL);
                                }
                        } else if (!strcmp(f->name, "us_places.tsv")) {
                                int kind = !strcmp(c0, "city")    ? XK_US_CITY
                                           : !strcmp(c0, "state") ? XK_US_STATE
                                                                  : 0;
                                if (!kind || !c1) {
                                        bad = 1;
                                } else {
                                        const char *canon = keep(c1), *state = NULL;
                                        size_t n0 = T.n, k;
                                        c1 = NULL;
                                        if (c3) {
                                                state = keep(c3);
                                                c3 = NULL;
                                        }
                                        bad = add_entry(kind, 0, canon, strlen(canon), canon) ||
                                              add_list(kind, 0, c2, canon);
                                        for (k = n0; k < T.n; k++)
                                                T.e[k].state = state;
                                }
                        } else if (!strcmp(f->name, "groups.tsv")) {
                                const char *canon = keep(c0);
                                c0 = NULL;
                                bad = add_entry(XK_GROUP, 0, canon, strlen(canon), canon);
                        } else if (!strcmp(f->name, "months.tsv") ||
                                   !strcmp(f->name, "weekdays.tsv") ||
                                   !strcmp(f->name, "zones.tsv")) {
                                int kind = f->name[0] == 'm'   ? XK_MONTH
                                           : f->name[0] == 'w' ? XK_WEEKDAY
                                                               : XK_ZONE;
                                char *e = NULL;
                                long v = c1 ? strtol(c1, &e, 10) : 0;
                                if (!c1 || *e)
                                        bad = 1;
                                else
                                        bad = add_entry(kind, (int)v, c0, strlen(c0), NULL);
                        } else if (!strcmp(f->name, "numbers.tsv")) {
                                numword_t *v = realloc(T.num, (T.n_num + 1) * sizeof(*v));
                                const char *kinds = "unit:u teen:t ten:T scale:s dozen:d ordinal:o";
                                const char *k = c2 ? strstr(kinds, c2) : NULL;
                                if (!v || !c1 || !k) {
                                        if (v)
                                                T.num = v;
                                        bad = 1;
                                } else {
                                        T.num = v;
                                        v[T.n_num].word = c0;
                                        v[T.n_num].value = atoi(c1);
                                        v[T.n_num].kind = k[strlen(c2) + 1];
                                        c0 = NULL;
                                        T.n_num++;
                                }
                        }
                        /* other files: documentation only */
                }
                free(c0);
                free(c1);
                free(c2);
                free(c3);
                if (bad) {
                        snprintf(
                                T.errstr, sizeof(T.errstr),
                                "table \"schemas/extract/%s\" line %d: malformed (or out of memory)",
                                f->name, lineno);
                        return -1;
                }
                p = nl ? nl + 1 : end;
        }
        return 0;
}

static void load(void) {
        size_t i;

        for (i = 0; ho_extract_files[i].name; i++)
                if (load_file(&ho_extract_files[i])) {
                        T.err = HO_ERR_INVALID;
                        return;
                }
        T.bucket_first = malloc(NBUCKETS * sizeof(size_t));
        T.next = malloc((T.n ? T.n : 1) * sizeof(size_t));
        if (!T.bucket_first || !T.next) {
                T.err = HO_ERR_NOMEM;
                snprintf(T.errstr, sizeof(T.errstr), "out of memory loading the tables");
                return;
        }
        for (i = 0; i < NBUCKETS; i++)
                T.bucket_first[i] = (size_t)-1;
        if (!(T.num_next = malloc((T.n_num ? T.n_num : 1) * sizeof(size_t)))) {
                T.err = HO_ERR_NOMEM;
                snprintf(T.errstr, sizeof(T.errstr), "out of memory loading the tables");
                return;
        }
        for (i = 0; i < NUM_BUCKETS; i++)
                T.num_first[i] = (size_t)-1;
        for (i = T.n_num; i-- > 0;) {
                unsigned h = hash_word(T.num[i].word, strlen(T.num[i].word)) % NUM_BUCKETS;
                T.num_next[i] = T.num_first[h];
                T.num_first[h] = i;
        }
        /* chain in reverse so that a bucket lists entries in table order */
        for (i = T.n; i-- > 0;) {
                unsigned h = hash_word(T.e[i].words[0], strlen(T.e[i].words[0]));
                T.next[i] = T.bucket_first[h];
                T.bucket_first[h] = i;
        }
}

ho_err_t ho_xtables_load(char *errstr, size_t errstr_size) {
        pthread_once(&once, load);
        if (T.err && errstr_size)
                snprintf(errstr, errstr_size, "%s", T.errstr);
        return T.err;
}

/* Does token i spell table word w? Exactly, or case-insensitively for an
 * all-capitals word ("MEXICO CITY", "JAN") and for the kinds that ignore case. */
static int word_eq(const ho_xtext_t *t, size_t i, const char *w, int nocase) {
        const ho_xtok_t *tk = &t->tok[i];
        size_t n = tk->end - tk->start;

        if (strlen(w) != n)
                return 0;
        if (!memcmp(t->s + tk->start, w, n))
                return 1;
        if (nocase || (tk->flags & XT_ALLCAPS))
                return strncasecmp(t->s + tk->start, w, n) == 0;
        return 0;
}

const ho_xentry_t *ho_xtables_match(const ho_xtext_t *t, size_t i, size_t end, int kind,
                                    size_t *used) {
        const ho_xentry_t *best = NULL;
        size_t k, j;
        unsigned h;

        if (T.err || !T.bucket_first || i >= end || i >= t->n_tok)
                return NULL;
        h = hash_word(t->s + t->tok[i].start, t->tok[i].end - t->tok[i].start);
        for (k = T.bucket_first[h]; k != (size_t)-1; k = T.next[k]) {
                const ho_xentry_t *e = &T.e[k];
                int nocase = e->kind == XK_ZONE;

                if (kind && e->kind != kind)
                        continue;
                if (i + e->n_words > end || (best && e->n_words <= best->n_words))
                        continue;
                for (j = 0; j < e->n_words; j++)
                        if (!word_eq(t, i + j, e->words[j], nocase))
                                break;
                /* a phrase ends at a word boundary: "U.S" must not match in "U.S.A." */
                if (j == e->n_words)
                        best = e;
        }
        if (best)
                *used = best->n_words;
        return best;
}

int ho_xtables_number_word(const char *w, size_t n, char *kind) {
        size_t k;

        if (n < 3 || n > 9) /* "one" .. "seventeen" */
                return -1;
        for (k = T.num_first[hash_word(w, n) % NUM_BUCKETS]; k != (size_t)-1; k = T.num_next[k])
                if (strlen(T.num[k].word) == n && !strncasecmp(T.num[k].word, w, n)) {
                        *kind = T.num[k].kind;
                        return T.num[k].value;
                }
        return -1;
}

const char *ho_xtables_country_code(int idx) {
        return idx >= 0 && (size_t)idx < T.n_codes ? T.codes[idx] : "";
}

int ho_xtables_country_index(const char *code) {
        size_t i;

        for (i = 0; i < T.n_codes; i++)
                if (!strcmp(T.codes[i], code))
                        return (int)i;
        return -1;
}
