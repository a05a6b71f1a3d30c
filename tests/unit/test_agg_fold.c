/* test_agg_fold.c: the engine's pure C half (lib/agg_fold.c): folding a batch,
 * duplicates, latest-report ties, and the summed deltas of revisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "handover/agg.h"
#include "handover/agg_fold.h"
#include "handover/jreport.h"
#include "jreport_ref.h"

/* A report from the fields that matter to the counters. */
static ho_report_t *mk(const char *tid, const char *rid, const char *day, const char *at,
                       int inmates, const char *dests, const char *persons, const char *bydest) {
        char json[4096];
        snprintf(json, sizeof(json),
                 "{\"report_id\":\"%s\",\"transfer_id\":\"%s\",\"occurred_on\":\"%s\","
                 "\"reported_at\":\"%s\",\"source\":\"test\",\"origin_country\":\"MX\","
                 "\"destination_country\":\"US\",\"inmate_count\":%d,\"aircraft_count\":2,"
                 "\"destinations\":%s,\"cumulative_total\":null,\"authority\":null,"
                 "\"persons\":%s%s%s}",
                 rid, tid, day, at, inmates, dests ? dests : "[]", persons ? persons : "[]",
                 bydest ? ",\"inmates_by_destination\":" : "", bydest ? bydest : "");
        ho_report_t *r = malloc(sizeof(*r));
        char err[256];
        ho_report_init(r);
        ho_err_t e = ho_report_from_json(json, strlen(json), r, err, sizeof(err));
        if (e)
                fail_msg("test report does not parse: %s", err);
        return r;
}

static void rfree(ho_report_t *r) {
        ho_report_clear(r);
        free(r);
}

static int64_t field(const ho_delta_t *d, int key, const char *f) {
        char k[600];
        k[0] = (char)('A' + key);
        snprintf(k + 1, sizeof(k) - 1, "%s", f);
        const int64_t *v = ho_strmap_get(&d->fields, k, strlen(k));
        return v ? *v : 0;
}

static int64_t date(const ho_delta_t *d, const char *day) {
        const int64_t *v = ho_strmap_get(&d->dates, day, strlen(day));
        return v ? *v : 0;
}

static void add(ho_fold_t *f, ho_report_t *r, bool want_dup) {
        bool dup;
        assert_int_equal(ho_fold_add(f, r, &dup), HO_OK);
        assert_int_equal(dup, want_dup);
        rfree(r);
}

static void test_key_names(void **state) {
        (void)state;
        size_t n = 0;
        while (ho_key_names[n])
                n++;
        assert_int_equal(n, HO_KEY__COUNT);
        assert_string_equal(ho_key_names[HO_KEY_TOTALS], "totals");
        assert_string_equal(ho_key_names[HO_KEY_DATES], "transfer_dates");
}

/* The order Redis keeps a sorted set in: score, then the member's bytes
 * (unsigned), a prefix before what extends it. */
static void test_zmember_sort(void **state) {
        (void)state;
        ho_zmember_t m[] = {
                {5, "b", 1},  {2, "zz", 2},   {5, "ab", 2}, {5, "a", 1},
                {-1, "x", 1}, {5, "\xff", 1}, {2, "z", 1},  {5, "a\0", 2},
        };
        ho_zmember_sort(m, sizeof(m) / sizeof(m[0]));
        const char *want[] = {"x", "z", "zz", "a", "a", "ab", "b", "\xff"};
        const int64_t score[] = {-1, 2, 2, 5, 5, 5, 5, 5};
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
                assert_int_equal(m[i].score, score[i]);
                assert_memory_equal(m[i].member, want[i], strlen(want[i]));
        }
        /* "a" (1 byte) before "a\0" (2 bytes) */
        assert_int_equal(m[3].len, 1);
        assert_int_equal(m[4].len, 2);
        ho_zmember_sort(m, 0);
        ho_zmember_sort(NULL, 0);
}

static void test_duplicates_in_batch(void **state) {
        (void)state;
        ho_fold_t f;
        ho_fold_init(&f);
        add(&f, mk("t1", "r1", "2025-02-27", "2025-02-27T23:00:00Z", 29, NULL, NULL, NULL), false);
        add(&f, mk("t1", "r1", "2025-02-27", "2025-02-27T23:00:00Z", 29, NULL, NULL, NULL), true);
        /* the same report id under another transfer is another report */
        add(&f, mk("t2", "r1", "2025-02-27", "2025-02-27T23:00:00Z", 3, NULL, NULL, NULL), false);
        assert_int_equal(f.n_xfers, 2);
        assert_int_equal(f.n_ids, 2);
        assert_int_equal(f.dup_in_batch, 1);
        assert_string_equal(ho_fold_member(&f, 0), "t1 r1");
        assert_string_equal(ho_fold_member(&f, 1), "t2 r1");

        ho_delta_t d;
        ho_delta_init(&d);
        assert_int_equal(ho_fold_compute(&f, &d), HO_OK);
        assert_int_equal(d.totals[HO_TOTAL_REPORTS], 2);
        assert_int_equal(d.totals[HO_TOTAL_TRANSFERS], 2);
        assert_int_equal(d.totals[HO_TOTAL_INMATES], 32);
        assert_int_equal(d.totals[HO_TOTAL_AIRCRAFT], 4);
        ho_delta_free(&d);
        ho_fold_free(&f);
}

static void test_bad_ids(void **state) {
        (void)state;
        ho_fold_t f;
        bool dup;
        ho_fold_init(&f);
        ho_report_t *r = mk("t1", "r1", "2025-02-27", "2025-02-27T23:00:00Z", 1, NULL, NULL, NULL);
        free(r->report_id);
        r->report_id = strdup("has space");
        assert_int_equal(ho_fold_add(&f, r, &dup), HO_ERR_INVALID);
        assert_int_equal(f.n_xfers, 0);
        rfree(r);
        ho_fold_free(&f);
}

/* The latest report wins whatever the order: greater reported_at, then the
 * greater report_id on a tie. */
static void test_latest_any_order(void **state) {
        (void)state;
        for (int order = 0; order < 6; order++) {
                static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                               {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
                ho_fold_t f;
                ho_fold_init(&f);
                for (int i = 0; i < 3; i++) {
                        int w = perm[order][i];
                        ho_report_t *r = w == 0 ? mk("t", "a", "2025-08-12", "2025-08-12T18:00:00Z",
                                                     25, NULL, NULL, NULL)
                                         : w == 1
                                                 ? mk("t", "c", "2025-08-12",
                                                      "2025-08-12T22:00:00Z", 26, NULL, NULL, NULL)
                                                 : mk("t", "b", "2025-08-13",
                                                      "2025-08-12T22:00:00Z", 27, NULL, NULL, NULL);
                        add(&f, r, false);
                }
                assert_int_equal(f.n_xfers, 1);
                assert_string_equal(f.xfers[0].latest.report_id, "c"); /* tie: "c" > "b" */
                assert_int_equal(f.xfers[0].latest.inmate_count, 26);
                ho_fold_free(&f);
        }
}

/* ho_fold_add_move folds exactly like ho_fold_add; r is left cleared when it
 * became the latest and untouched when it did not (older, or a duplicate). */
static void test_add_move(void **state) {
        (void)state;
        ho_fold_t f;
        ho_fold_init(&f);
        bool dup;
        ho_report_t *b = mk("t", "b", "2025-08-12", "2025-08-12T20:00:00Z", 25, NULL, NULL, NULL);
        assert_int_equal(ho_fold_add_move(&f, b, &dup), HO_OK);
        assert_false(dup);
        assert_null(b->report_id); /* taken: cleared */
        assert_null(b->transfer_id);
        ho_report_t *a = mk("t", "a", "2025-08-12", "2025-08-12T18:00:00Z", 24, NULL, NULL, NULL);
        assert_int_equal(ho_fold_add_move(&f, a, &dup), HO_OK);
        assert_false(dup);
        assert_string_equal(a->report_id, "a"); /* older: untouched */
        ho_report_t *b2 = mk("t", "b", "2025-08-12", "2025-08-12T20:00:00Z", 25, NULL, NULL, NULL);
        assert_int_equal(ho_fold_add_move(&f, b2, &dup), HO_OK);
        assert_true(dup);
        assert_string_equal(b2->report_id, "b"); /* duplicate: untouched */
        ho_report_t *c = mk("t", "c", "2025-08-12", "2025-08-12T22:00:00Z", 26, NULL,
                            "[{\"name\":\"X\",\"affiliation\":\"CJNG\"}]", NULL);
        assert_int_equal(ho_fold_add_move(&f, c, &dup), HO_OK);
        assert_null(c->report_id); /* newer: taken, the old latest (b) freed */
        assert_int_equal(f.n_xfers, 1);
        assert_int_equal(f.n_ids, 3);
        assert_int_equal(f.xfers[0].n_ids, 3);
        assert_string_equal(f.xfers[0].latest.report_id, "c");
        assert_string_equal(f.xfers[0].latest.transfer_id, "t");
        assert_int_equal(f.xfers[0].latest.inmate_count, 26);
        assert_int_equal(f.xfers[0].latest.n_persons, 1);
        assert_string_equal(ho_fold_member(&f, 2), "t c");
        ho_report_t *bad = mk("t", "d", "2025-08-12", "2025-08-12T23:00:00Z", 1, NULL, NULL, NULL);
        free(bad->report_id);
        bad->report_id = strdup("has space");
        assert_int_equal(ho_fold_add_move(&f, bad, &dup), HO_ERR_INVALID);
        assert_string_equal(bad->report_id, "has space"); /* refused: untouched */
        rfree(a);
        rfree(b);
        rfree(b2);
        rfree(c);
        rfree(bad);
        ho_fold_free(&f);
}

static void test_new_transfer_contributions(void **state) {
        (void)state;
        ho_fold_t f;
        ho_delta_t d;
        ho_fold_init(&f);
        ho_delta_init(&d);
        add(&f,
            mk("t", "r", "2026-01-20", "2026-01-21T05:47:00Z", 37,
               "[\"Houston\",\"San Diego\",\"Houston\"]",
               "[{\"name\":\"A\",\"affiliation\":\"Beltran Leyva\"},{\"name\":\"B\","
               "\"affiliation\":null},{\"name\":\"C\",\"affiliation\":null}]",
               "{\"Houston\":30,\"San Diego\":7}"),
            false);
        assert_int_equal(ho_fold_compute(&f, &d), HO_OK);
        assert_true(f.xfers[0].changed);
        assert_int_equal(f.xfers[0].new_rev, 1);
        assert_int_equal(d.totals[HO_TOTAL_PERSONS], 3);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_MONTH, "2026-01"), 37);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_ROUTE, "MX-US"), 37);
        /* Houston listed twice: one transfer */
        assert_int_equal(field(&d, HO_KEY_TRANSFERS_BY_DEST, "Houston"), 1);
        assert_int_equal(field(&d, HO_KEY_TRANSFERS_BY_DEST, "San Diego"), 1);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_DEST, "Houston"), 30);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_DEST, "San Diego"), 7);
        assert_int_equal(field(&d, HO_KEY_PERSONS_BY_AFFIL, "unknown"), 2);
        assert_int_equal(field(&d, HO_KEY_PERSONS_BY_AFFIL, "Beltran Leyva"), 1);
        assert_int_equal(date(&d, "2026-01-20"), 1);
        ho_delta_free(&d);
        ho_fold_free(&f);
}

/* A revision that moves the month, the date, the cities: the old state's
 * contribution leaves, the new one arrives; the transfer count stays. */
static void test_revision_moves(void **state) {
        (void)state;
        ho_fold_t f;
        ho_delta_t d;
        ho_fold_init(&f);
        ho_delta_init(&d);
        add(&f,
            mk("t", "r2", "2025-09-01", "2025-09-02T00:00:00Z", 26, "[\"Houston\"]", NULL,
               "{\"Houston\":26}"),
            false);
        ho_fold_xfer_t *x = &f.xfers[0];
        ho_report_t *old = mk("t", "r1", "2025-08-31", "2025-09-01T00:00:00Z", 25,
                              "[\"Washington\"]", "[{\"name\":\"A\",\"affiliation\":null}]",
                              "{\"Washington\":25}");
        assert_int_equal(ho_report_copy(&x->stored, old), HO_OK);
        rfree(old);
        x->has_stored = true;
        x->stored_rev = 1;
        assert_int_equal(ho_fold_compute(&f, &d), HO_OK);
        assert_true(x->changed);
        assert_int_equal(x->new_rev, 2);
        assert_int_equal(d.totals[HO_TOTAL_TRANSFERS], 0);
        assert_int_equal(d.totals[HO_TOTAL_INMATES], 1);
        assert_int_equal(d.totals[HO_TOTAL_REPORTS], 1);
        assert_int_equal(d.totals[HO_TOTAL_PERSONS], -1);
        assert_int_equal(d.totals[HO_TOTAL_AIRCRAFT], 0);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_MONTH, "2025-08"), -25);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_MONTH, "2025-09"), 26);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_ROUTE, "MX-US"), 1);
        assert_int_equal(field(&d, HO_KEY_TRANSFERS_BY_DEST, "Washington"), -1);
        assert_int_equal(field(&d, HO_KEY_TRANSFERS_BY_DEST, "Houston"), 1);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_DEST, "Washington"), -25);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_DEST, "Houston"), 26);
        assert_int_equal(field(&d, HO_KEY_PERSONS_BY_AFFIL, "unknown"), -1);
        assert_int_equal(date(&d, "2025-08-31"), -1);
        assert_int_equal(date(&d, "2025-09-01"), 1);
        assert_ptr_equal(ho_fold_current(x), &x->latest);

        /* after a conflict the same fold is re-read: forgetting is complete */
        ho_fold_forget_stored(&f);
        assert_false(x->has_stored);
        assert_int_equal(x->stored_rev, 0);
        assert_null(ho_fold_current(x));
        ho_delta_free(&d);
        ho_fold_free(&f);
}

/* A new report older than the stored state: counted as a report, the state
 * and every counter stay. */
static void test_older_report_changes_nothing_but_reports(void **state) {
        (void)state;
        ho_fold_t f;
        ho_delta_t d;
        ho_fold_init(&f);
        ho_delta_init(&d);
        add(&f, mk("t", "r1", "2025-08-12", "2025-08-12T18:00:00Z", 25, NULL, NULL, NULL), false);
        ho_fold_xfer_t *x = &f.xfers[0];
        ho_report_t *st = mk("t", "r2", "2025-08-12", "2025-08-12T22:00:00Z", 26, NULL, NULL, NULL);
        ho_report_copy(&x->stored, st);
        rfree(st);
        x->has_stored = true;
        x->stored_rev = 1;
        assert_int_equal(ho_fold_compute(&f, &d), HO_OK);
        assert_false(x->changed);
        assert_int_equal(x->n_new, 1);
        assert_int_equal(x->new_rev, 2);
        assert_ptr_equal(ho_fold_current(x), &x->stored);
        assert_int_equal(d.totals[HO_TOTAL_REPORTS], 1);
        assert_int_equal(d.totals[HO_TOTAL_TRANSFERS], 0);
        assert_int_equal(d.totals[HO_TOTAL_INMATES], 0);
        assert_int_equal(d.fields.n, 0);
        assert_int_equal(d.dates.n, 0);
        ho_delta_free(&d);
        ho_fold_free(&f);
}

/* Every id applied before: the transfer is not touched at all. */
static void test_all_seen(void **state) {
        (void)state;
        ho_fold_t f;
        ho_delta_t d;
        ho_fold_init(&f);
        ho_delta_init(&d);
        add(&f, mk("t", "r9", "2025-08-12", "2025-08-12T23:00:00Z", 99, NULL, NULL, NULL), false);
        f.ids[0].seen = true;
        f.xfers[0].stored_rev = 3;
        assert_int_equal(ho_fold_compute(&f, &d), HO_OK);
        assert_int_equal(f.xfers[0].n_new, 0);
        assert_false(f.xfers[0].changed);
        assert_int_equal(f.xfers[0].new_rev, 3);
        for (int t = 0; t < HO_TOTAL__COUNT; t++)
                assert_int_equal(d.totals[t], 0);
        assert_int_equal(d.fields.n, 0);
        ho_delta_free(&d);
        ho_fold_free(&f);
}

/* Two transfers leave one month in one batch: the deltas sum per field, so
 * the field falls by both (and the script deletes it at 0). A revision
 * that keeps month and count sums to 0 for that field. */
static void test_deltas_sum_and_fall_to_zero(void **state) {
        (void)state;
        ho_fold_t f;
        ho_delta_t d;
        ho_fold_init(&f);
        ho_delta_init(&d);
        add(&f, mk("a", "a2", "2025-03-01", "2025-03-02T00:00:00Z", 10, NULL, NULL, NULL), false);
        add(&f, mk("b", "b2", "2025-03-05", "2025-03-06T00:00:00Z", 5, NULL, NULL, NULL), false);
        add(&f, mk("c", "c2", "2025-04-01", "2025-04-02T00:00:00Z", 7, NULL, NULL, NULL), false);
        static const char *old[3][3] = {{"a", "a1", "2025-02-01"},
                                        {"b", "b1", "2025-02-02"},
                                        {"c", "c1", "2025-04-01"}};
        static const int oldn[3] = {10, 5, 7};
        for (int i = 0; i < 3; i++) {
                ho_report_t *st = mk(old[i][0], old[i][1], old[i][2], "2025-01-01T00:00:00Z",
                                     oldn[i], NULL, NULL, NULL);
                ho_report_copy(&f.xfers[i].stored, st);
                rfree(st);
                f.xfers[i].has_stored = true;
                f.xfers[i].stored_rev = 1;
        }
        assert_int_equal(ho_fold_compute(&f, &d), HO_OK);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_MONTH, "2025-02"), -15);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_MONTH, "2025-03"), 15);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_MONTH, "2025-04"), 0);
        assert_int_equal(field(&d, HO_KEY_INMATES_BY_ROUTE, "MX-US"), 0);
        assert_int_equal(d.totals[HO_TOTAL_INMATES], 0);
        assert_int_equal(d.totals[HO_TOTAL_REPORTS], 3);
        assert_int_equal(date(&d, "2025-04-01"), 0);
        assert_int_equal(date(&d, "2025-02-01"), -1);
        ho_delta_free(&d);
        ho_fold_free(&f);
}

/* The fold is reused across batches: clearing keeps nothing stale. */
static void test_clear_and_reuse(void **state) {
        (void)state;
        ho_fold_t f;
        ho_fold_init(&f);
        char tid[32], rid[32];
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 500; i++) {
                        snprintf(tid, sizeof(tid), "t%d", i % 200);
                        snprintf(rid, sizeof(rid), "r%d-%d", round, i);
                        add(&f,
                            mk(tid, rid, "2025-01-01", "2025-01-01T00:00:00Z", i, NULL, NULL, NULL),
                            false);
                }
                assert_int_equal(f.n_xfers, 200);
                assert_int_equal(f.n_ids, 500);
                ho_fold_clear(&f);
                assert_int_equal(f.n_xfers, 0);
                assert_int_equal(f.by_tid.n, 0);
        }
        ho_fold_free(&f);
}

/* Fill f with n transfers of 2 reports each (round r's ids), check what it holds. */
static void fill(ho_fold_t *f, int n, int r) {
        char tid[32], rid[32];
        for (int i = 0; i < 2 * n; i++) {
                snprintf(tid, sizeof(tid), "t%d", i % n);
                snprintf(rid, sizeof(rid), "r%d-%d", r, i);
                add(f, mk(tid, rid, "2025-01-01", "2025-01-01T00:00:00Z", i, NULL, NULL, NULL),
                    false);
        }
        assert_int_equal(f->n_xfers, (size_t)n);
        assert_int_equal(f->n_ids, (size_t)(2 * n));
        for (int i = 0; i < n; i += n / 7 + 1) {
                snprintf(tid, sizeof(tid), "t%d", i);
                const int64_t *xi = ho_strmap_get(&f->by_tid, tid, strlen(tid));
                assert_non_null(xi);
                assert_string_equal(f->xfers[*xi].latest.transfer_id, tid);
                assert_int_equal(f->xfers[*xi].n_ids, 2);
        }
}

/* A clear gives back what is far over the batch it cleared, and the fold
 * still works at any size after: the worker's two folds per partition no
 * longer keep the largest batch each ever held. */
static void test_clear_gives_back(void **state) {
        (void)state;
        ho_fold_t f;
        ho_fold_init(&f);
        fill(&f, 5000, 0);
        size_t big_xfers = f.cap_xfers, big_ids = f.cap_ids, big_map = f.by_member.cap;
        assert_true(big_xfers >= 5000 && big_ids >= 10000 && big_map >= 10000);
        ho_fold_clear(&f); /* it held 5,000: all kept for the next big batch */
        assert_int_equal(f.cap_xfers, big_xfers);
        assert_int_equal(f.cap_ids, big_ids);
        assert_int_equal(f.by_member.cap, big_map);
        fill(&f, 10, 1);
        ho_fold_clear(&f); /* it held 10: the excess goes */
        assert_true(f.cap_xfers <= 256 && f.init_xfers <= f.cap_xfers);
        assert_true(f.cap_ids <= 256);
        assert_true(f.by_member.cap <= 256 && f.by_tid.cap <= 256);
        assert_true(f.by_member.arena.cap <= 64 * 1024);
        fill(&f, 3000, 2); /* and grows again, correctly */
        ho_fold_clear(&f);
        fill(&f, 100, 3);
        ho_fold_free(&f);
}

static void test_strmap(void **state) {
        (void)state;
        ho_strmap_t m;
        char k[32];
        bool created;
        ho_strmap_init(&m);
        for (int i = 0; i < 10000; i++) {
                snprintf(k, sizeof(k), "key%d", i);
                int64_t *v = ho_strmap_upsert(&m, k, strlen(k), &created, NULL);
                assert_non_null(v);
                assert_true(created);
                *v = i;
        }
        assert_int_equal(m.n, 10000);
        for (int i = 0; i < 10000; i++) {
                snprintf(k, sizeof(k), "key%d", i);
                int64_t *v = ho_strmap_get(&m, k, strlen(k));
                assert_non_null(v);
                assert_int_equal(*v, i);
        }
        /* a prefix of a key is another key */
        assert_null(ho_strmap_get(&m, "key1", 3));
        size_t off;
        ho_strmap_upsert(&m, "key1", 4, &created, &off);
        assert_string_equal(ho_strmap_key_at(&m, off), "key1");
        assert_false(created);
        ho_strmap_clear(&m);
        assert_null(ho_strmap_get(&m, "key1", 4));
        ho_strmap_free(&m);
}

static int state_parse(const char *text, size_t len, ho_report_t *out, int64_t *reports) {
        char err[256];
        return ho_report_state_from_json(text, len, out, reports, err, sizeof(err)) ? -1 : 0;
}

/* The writer of {P}:transfers values is byte-identical to jansson's dump of
 * the reference tree (tests/helpers/jreport_ref.c) plus "reports", and the
 * reader reads it back. */
static void check_json_form(const ho_report_t *r, int64_t reports) {
        json_t *o = ho_ref_report_to_json(r);
        assert_non_null(o);
        json_object_set_new(o, "reports", json_integer(reports));
        char *want = json_dumps(o, JSON_COMPACT);
        ho_buf_t b = HO_BUF_INIT;
        assert_int_equal(ho_report_json(r, reports, &b), HO_OK);
        assert_string_equal(b.data, want);

        ho_report_t back;
        int64_t n;
        ho_report_init(&back);
        assert_int_equal(state_parse(b.data, b.len, &back, &n), 0);
        assert_int_equal(n, reports);
        assert_int_equal(ho_report_cmp_latest(&back, r), 0);
        ho_buf_t b2 = HO_BUF_INIT;
        assert_int_equal(ho_report_json(&back, reports, &b2), HO_OK);
        assert_string_equal(b2.data, want);

        /* other whitespace and member order (as another writer might) */
        char *pretty = json_dumps(o, JSON_INDENT(3) | JSON_SORT_KEYS);
        assert_int_equal(state_parse(pretty, strlen(pretty), &back, &n), 0);
        ho_buf_reset(&b2);
        assert_int_equal(ho_report_json(&back, reports, &b2), HO_OK);
        assert_string_equal(b2.data, want);

        /* every truncation is refused, never misread (and ASan sees no leak) */
        for (size_t len = 0; len < b.len; len++)
                assert_int_equal(state_parse(b.data, len, &back, &n), -1);
        free(pretty);
        ho_buf_free(&b);
        ho_buf_free(&b2);
        ho_report_clear(&back);
        free(want);
        json_decref(o);
}

static void test_state_json(void **state) {
        (void)state;
        ho_report_t *r = mk("mx-us-2026-01-20", "r-0123", "2026-01-20", "2026-01-21T05:47:00.123Z",
                            37, "[\"Washington\",\"Houston\",\"New York\"]",
                            "[{\"name\":\"Miguel \u00c1ngel Trevi\u00f1o\",\"affiliation\":null},"
                            "{\"name\":\"Pedro\",\"affiliation\":\"Beltran Leyva\"}]",
                            "{\"Houston\":30,\"Washington\":7}");
        check_json_form(r, 3);
        /* nulls, empties */
        r->has_aircraft_count = false;
        r->has_cumulative_total = true;
        r->cumulative_total = 92;
        free(r->authority);
        r->authority = strdup("Secretar\xc3\xad"
                              "a de Seguridad");
        check_json_form(r, 1);
        /* every byte jansson escapes, and some it does not */
        free(r->source);
        r->source = strdup("q\"b\\s/n\nt\tr\rb\bf\f\x01\x1f\x7f \xe2\x80\xa8 \xf0\x9f\x9a\x80 end");
        check_json_form(r, 12345678901LL);
        rfree(r);
        r = mk("t", "r", "1969-12-31", "1969-12-31T23:59:59Z", 0, NULL, NULL, NULL);
        check_json_form(r, 0);
        rfree(r);
}

static void test_state_parse_refuses(void **state) {
        (void)state;
        static const char *bad[] = {
                "",
                "[]",
                "{}",
                "{\"report_id\":\"r\"}",
                /* an unknown member: not our form */
                "{\"report_id\":\"r\",\"transfer_id\":\"t\",\"occurred_on\":\"2025-01-01\","
                "\"reported_at\":\"2025-01-01T00:00:00Z\",\"source\":\"s\",\"origin_country\":"
                "\"MX\",\"destination_country\":\"US\",\"inmate_count\":1,\"aircraft_count\":null,"
                "\"destinations\":[],\"cumulative_total\":null,\"authority\":null,\"persons\":[],"
                "\"inmates_by_destination\":{},\"extra\":1}",
                /* a wrong type */
                "{\"report_id\":\"r\",\"transfer_id\":\"t\",\"occurred_on\":\"2025-01-01\","
                "\"reported_at\":\"2025-01-01T00:00:00Z\",\"source\":\"s\",\"origin_country\":"
                "\"MX\",\"destination_country\":\"US\",\"inmate_count\":\"1\",\"aircraft_count\":null,"
                "\"destinations\":[],\"cumulative_total\":null,\"authority\":null,\"persons\":[],"
                "\"inmates_by_destination\":{}}",
                /* a bad date, a float, a lone surrogate, trailing bytes */
                "{\"occurred_on\":\"2025-02-30\"}",
                "{\"inmate_count\":1.5}",
                "{\"source\":\"\\ud800\"}",
                "{\"report_id\":\"r\"} x",
        };
        ho_report_t r;
        int64_t n;
        ho_report_init(&r);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(state_parse(bad[i], strlen(bad[i]), &r, &n), -1);
                assert_null(r.report_id);
        }
        /* the good form of the two above with a wrong member parses */
        const char *good =
                "{\"report_id\":\"r\",\"transfer_id\":\"t\",\"occurred_on\":\"2025-01-01\","
                "\"reported_at\":\"2025-01-01T00:00:00Z\",\"source\":\"s\\u00e9\\ud83d\\ude80\","
                "\"origin_country\":\"MX\",\"destination_country\":\"US\",\"inmate_count\":1,"
                "\"aircraft_count\":null,\"destinations\":[],\"cumulative_total\":null,"
                "\"authority\":null,\"persons\":[],\"inmates_by_destination\":{}}";
        assert_int_equal(state_parse(good, strlen(good), &r, &n), 0);
        assert_int_equal(n, -1);
        assert_string_equal(r.source, "s\xc3\xa9\xf0\x9f\x9a\x80");
        ho_report_clear(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_names),
                cmocka_unit_test(test_duplicates_in_batch),
                cmocka_unit_test(test_bad_ids),
                cmocka_unit_test(test_latest_any_order),
                cmocka_unit_test(test_add_move),
                cmocka_unit_test(test_new_transfer_contributions),
                cmocka_unit_test(test_revision_moves),
                cmocka_unit_test(test_older_report_changes_nothing_but_reports),
                cmocka_unit_test(test_all_seen),
                cmocka_unit_test(test_deltas_sum_and_fall_to_zero),
                cmocka_unit_test(test_clear_and_reuse),
                cmocka_unit_test(test_clear_gives_back),
                cmocka_unit_test(test_strmap),
                cmocka_unit_test(test_zmember_sort),
                cmocka_unit_test(test_state_json),
                cmocka_unit_test(test_state_parse_refuses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
