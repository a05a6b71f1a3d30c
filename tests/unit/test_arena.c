/* test_arena.c: the bump allocator, and reports decoded into one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "handover/arena.h"
#include "handover/codec.h"
#include "handover/jreport.h"

static void test_alloc_aligned_and_distinct(void **state) {
        (void)state;
        ho_arena_t a;
        ho_arena_init(&a, 0);
        char *prev = NULL;
        for (size_t n = 1; n < 300; n += 7) {
                char *p = ho_arena_alloc(&a, n);
                assert_non_null(p);
                assert_int_equal((uintptr_t)p % 16, 0);
                memset(p, 0xab, n); /* ASan/valgrind: all of it is ours */
                assert_true(p != prev);
                prev = p;
        }
        /* bigger than a chunk: a chunk of its own */
        char *big = ho_arena_alloc(&a, 1u << 20);
        assert_non_null(big);
        memset(big, 1, 1u << 20);
        char *s = ho_arena_strndup(&a, "San Diego!", 9);
        assert_string_equal(s, "San Diego");
        int *z = ho_arena_calloc(&a, 100, sizeof(int));
        for (int i = 0; i < 100; i++)
                assert_int_equal(z[i], 0);
        assert_null(ho_arena_calloc(&a, SIZE_MAX / 2, 4)); /* overflow */
        assert_true(a.used >= (1u << 20));
        ho_arena_free(&a);
        assert_int_equal(a.used, 0);
}

/* A reset keeps up to `keep` bytes of chunks and hands the same memory out
 * again; what it does not keep goes back. */
static void test_reset_reuses(void **state) {
        (void)state;
        ho_arena_t a;
        ho_arena_init(&a, 256 * 1024);
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 20000; i++)
                        assert_non_null(ho_arena_alloc(&a, 40));
                ho_arena_reset(&a);
                assert_int_equal(a.used, 0);
                /* 20000 x 48 B is ~15 chunks of 64 KB; a reset keeps 4 */
                assert_int_equal(ho_arena_spare_bytes(&a), 256 * 1024);
        }
        ho_arena_free(&a);
        ho_arena_init(&a, 0);
        assert_non_null(ho_arena_alloc(&a, 10));
        ho_arena_reset(&a); /* keep 0: still one chunk */
        assert_int_equal(ho_arena_spare_bytes(&a), 64 * 1024);
        ho_arena_free(&a);
}

static const char *const full_text =
        "{\"report_id\":\"r-1\",\"transfer_id\":\"mx-us-2026-01-20\","
        "\"occurred_on\":\"2026-01-20\",\"reported_at\":\"2026-01-21T05:47:00.250Z\","
        "\"source\":\"Reuters\",\"origin_country\":\"MX\",\"destination_country\":\"US\","
        "\"inmate_count\":37,\"aircraft_count\":7,\"destinations\":[\"Houston\",\"San Diego\"],"
        "\"cumulative_total\":92,\"authority\":\"FGR\","
        "\"persons\":[{\"name\":\"A. B.\",\"affiliation\":\"CJNG\"},{\"name\":\"C. D.\"}],"
        "\"inmates_by_destination\":{\"San Diego\":17,\"Houston\":20}}";

/* The same value decodes to the same report in an arena as on the heap; a
 * clear of the arena report forgets it without freeing (the reset does). */
static void test_decode_in_arena(void **state) {
        (void)state;
        char err[512];
        ho_codec_t *c = ho_codec_new(err, sizeof(err));
        assert_non_null(c);
        ho_report_t src, heap, in;
        ho_report_init(&src);
        ho_report_init(&heap);
        ho_report_init(&in);
        assert_int_equal(ho_report_from_json(full_text, strlen(full_text), &src, err, sizeof(err)),
                         HO_OK);
        ho_buf_t v = HO_BUF_INIT;
        assert_int_equal(ho_codec_encode(c, &src, &v, err, sizeof(err)), HO_OK);
        ho_arena_t a;
        ho_arena_init(&a, 0);
        for (int round = 0; round < 3; round++) {
                assert_int_equal(ho_codec_decode(c, v.data, v.len, &heap, err, sizeof(err)), HO_OK);
                assert_int_equal(ho_codec_decode_in(c, v.data, v.len, &in, &a, err, sizeof(err)),
                                 HO_OK);
                assert_false(heap.in_arena);
                assert_true(in.in_arena);
                char *th = ho_report_to_json_text(&heap), *ta = ho_report_to_json_text(&in);
                assert_string_equal(th, ta);
                free(th);
                free(ta);
                /* a copy of an arena report is the caller's own, on the heap */
                ho_report_t cp;
                ho_report_init(&cp);
                assert_int_equal(ho_report_copy(&cp, &in), HO_OK);
                assert_false(cp.in_arena);
                ho_report_clear(&cp);
                ho_report_clear(&in);
                assert_null(in.transfer_id);
                assert_false(in.in_arena);
                ho_arena_reset(&a);
        }
        /* a value that does not decode leaves the report cleared, arena or not */
        v.data[v.len - 1] ^= 0x7f;
        v.len -= 3;
        assert_int_not_equal(ho_codec_decode_in(c, v.data, v.len, &in, &a, err, sizeof(err)),
                             HO_OK);
        assert_null(in.transfer_id);
        ho_arena_free(&a);
        ho_buf_free(&v);
        ho_report_clear(&src);
        ho_report_clear(&heap);
        ho_codec_destroy(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_alloc_aligned_and_distinct),
                cmocka_unit_test(test_reset_reuses),
                cmocka_unit_test(test_decode_in_arena),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
