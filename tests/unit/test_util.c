/* test_util.c: checked integer parsing (lib/util.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "handover/util.h"

static void test_parse_ll(void **state) {
        (void)state;
        long long v = 42;
        assert_int_equal(ho_parse_ll("17", 1, 100, &v), HO_OK);
        assert_int_equal(v, 17);
        assert_int_equal(ho_parse_ll("-1", -1, 100, &v), HO_OK);
        assert_int_equal(v, -1);
        static const char *const bad[] = {"",     " 5",  "5 ", "5x",
                                          "0x10", "101", "0",  "99999999999999999999"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                v = 42;
                if (ho_parse_ll(bad[i], 1, 100, &v) != HO_ERR_USAGE)
                        fail_msg("\"%s\" accepted", bad[i]);
                assert_int_equal(v, 42); /* untouched */
        }
        assert_int_equal(ho_parse_ll(NULL, 0, 1, &v), HO_ERR_USAGE);
}

static void test_parse_ull_int(void **state) {
        (void)state;
        unsigned long long u = 0;
        assert_int_equal(ho_parse_ull("18446744073709551615", UINT64_MAX, &u), HO_OK);
        assert_true(u == UINT64_MAX);
        assert_int_equal(ho_parse_ull("-1", UINT64_MAX, &u), HO_ERR_USAGE); /* never wrapped */
        assert_int_equal(ho_parse_ull("+1", 10, &u), HO_ERR_USAGE);
        assert_int_equal(ho_parse_ull("11", 10, &u), HO_ERR_USAGE);
        int i = 0;
        assert_int_equal(ho_parse_int("3600", 1, 3600, &i), HO_OK);
        assert_int_equal(i, 3600);
        assert_int_equal(ho_parse_int("3601", 1, 3600, &i), HO_ERR_USAGE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ll),
                cmocka_unit_test(test_parse_ull_int),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
