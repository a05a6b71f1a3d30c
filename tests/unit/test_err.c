/* test_err.c: the error model (lib/err.c): each condition its own code and
 * stable name, fatal versus retriable, and the exit code a program gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "handover/err.h"

static void test_names(void **state) {
        (void)state;
        /* every code has a name and a description, and no two share a name */
        for (int i = 0; i < HO_ERR__COUNT; i++) {
                assert_string_not_equal(ho_err_name((ho_err_t)i), "UNKNOWN");
                assert_string_not_equal(ho_err2str((ho_err_t)i), "unknown error");
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(ho_err_name((ho_err_t)i), ho_err_name((ho_err_t)j));
        }
        assert_string_equal(ho_err_name(HO_ERR__COUNT), "UNKNOWN");
        /* the names scripts read in dead-letter headers stay */
        assert_string_equal(ho_err_name(HO_ERR_TRUNCATED), "TRUNCATED");
        assert_string_equal(ho_err_name(HO_ERR_INVALID), "INVALID");
        assert_string_equal(ho_err_name(HO_ERR_INTERRUPTED), "INTERRUPTED");
        assert_string_equal(ho_err_name(HO_ERR_LOCKED), "LOCKED");
        assert_string_equal(ho_err_name(HO_ERR_CLIENT), "CLIENT");
        assert_string_equal(ho_err_name(HO_ERR_KAFKA_FATAL), "KAFKA_FATAL");
}

static void test_distinct_conditions(void **state) {
        (void)state;
        assert_int_not_equal(HO_ERR_INTERRUPTED, HO_ERR_TIMEOUT);
        assert_int_not_equal(HO_ERR_LOCKED, HO_ERR_FENCED);
        assert_int_not_equal(HO_ERR_CLIENT, HO_ERR_USAGE);
        assert_int_not_equal(HO_ERR_NOMEM, HO_ERR_USAGE);
}

static void test_retriable(void **state) {
        (void)state;
        static const ho_err_t retriable[] = {HO_ERR_KAFKA,    HO_ERR_REDIS,   HO_ERR_FENCED,
                                             HO_ERR_CONFLICT, HO_ERR_TIMEOUT, HO_ERR_LOCKED};
        for (int i = 0; i < HO_ERR__COUNT; i++) {
                bool want = false;
                for (size_t j = 0; j < sizeof(retriable) / sizeof(*retriable); j++)
                        want |= retriable[j] == (ho_err_t)i;
                if (ho_err_is_retriable((ho_err_t)i) != want)
                        fail_msg("%s: retriable %d, expected %d", ho_err_name((ho_err_t)i), !want,
                                 want);
        }
        assert_false(ho_err_is_retriable(HO_OK));
        assert_false(ho_err_is_retriable(HO_ERR_INTERRUPTED));
        assert_false(ho_err_is_retriable(HO_ERR_KAFKA_FATAL));
        assert_false(ho_err_is_retriable(HO_ERR_NOMEM));
}

static void test_exit_codes(void **state) {
        (void)state;
        assert_int_equal(ho_err_exit_code(HO_OK), HO_EXIT_OK);
        assert_int_equal(ho_err_exit_code(HO_ERR_USAGE), HO_EXIT_USAGE);
        for (int i = 1; i < HO_ERR__COUNT; i++)
                if (i != HO_ERR_USAGE)
                        assert_int_equal(ho_err_exit_code((ho_err_t)i), HO_EXIT_FAIL);
        assert_int_equal(HO_EXIT_OK, 0);
        assert_int_equal(HO_EXIT_FAIL, 1);
        assert_int_equal(HO_EXIT_USAGE, 2);
}

static void test_seterr(void **state) {
        (void)state;
        char e[16];
        assert_int_equal(ho_seterr(e, sizeof(e), HO_ERR_IO, "file \"%s\"", "abcdefghijklmnop"),
                         HO_ERR_IO);
        assert_int_equal(strlen(e), sizeof(e) - 1); /* cut, terminated */
        assert_int_equal(ho_seterr(NULL, 0, HO_ERR_NOMEM, "x"), HO_ERR_NOMEM);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),     cmocka_unit_test(test_distinct_conditions),
                cmocka_unit_test(test_retriable), cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_seterr),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
