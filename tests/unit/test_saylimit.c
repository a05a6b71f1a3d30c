/* test_saylimit: one clock per kind of message (saylimit.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "handover/saylimit.h"

#define B1_DOWN "127.0.0.1:51215/1: Connect to ipv4#127.0.0.1:51215 failed: Connection refused"
#define B3_DOWN "127.0.0.1:32907/3: Connect to ipv4#127.0.0.1:32907 failed: Connection refused"

static void test_one_kind_once_per_interval(void **state) {
        (void)state;
        ho_saylimit_t sl;
        ho_saylimit_init(&sl, 5000);
        assert_true(ho_saylimit_ok(&sl, -195, B1_DOWN " (after 0ms in state CONNECT)", 1000));
        /* the same kind, whatever librdkafka appended after " (after " */
        assert_false(ho_saylimit_ok(
                &sl, -195, B1_DOWN " (after 1ms in state CONNECT, 3 identical error(s) suppressed)",
                3000));
        assert_false(ho_saylimit_ok(&sl, -195, B1_DOWN, 5999));
        assert_true(ho_saylimit_ok(&sl, -195, B1_DOWN, 6000));
}

/* The outage of a second broker is said at once, though the first broker's
 * line came a moment earlier (the case a single clock lost). */
static void test_kinds_apart(void **state) {
        (void)state;
        ho_saylimit_t sl;
        ho_saylimit_init(&sl, 5000);
        assert_true(ho_saylimit_ok(&sl, -195, B1_DOWN " (after 0ms in state CONNECT)", 1000));
        assert_true(ho_saylimit_ok(&sl, -195, B3_DOWN " (after 0ms in state CONNECT)", 1100));
        /* the same text with another code is another kind */
        assert_true(ho_saylimit_ok(&sl, -187, B3_DOWN, 1200));
        assert_false(ho_saylimit_ok(&sl, -195, B3_DOWN, 1300));
}

/* More kinds than slots: still bounded, and a kind said long ago is said again. */
static void test_many_kinds(void **state) {
        (void)state;
        ho_saylimit_t sl;
        char msg[64];
        ho_saylimit_init(&sl, 5000);
        for (int i = 0; i < 3 * HO_SAYLIMIT_KINDS; i++) {
                snprintf(msg, sizeof(msg), "broker %d: down", i);
                assert_true(ho_saylimit_ok(&sl, -195, msg, 1000 + i));
        }
        /* the latest kinds kept their clocks */
        snprintf(msg, sizeof(msg), "broker %d: down", 3 * HO_SAYLIMIT_KINDS - 1);
        assert_false(ho_saylimit_ok(&sl, -195, msg, 2000));
        /* the first ones gave their slots up: said again */
        assert_true(ho_saylimit_ok(&sl, -195, "broker 0: down", 2000));
        assert_true(ho_saylimit_ok(&sl, 0, NULL, 2000));
        assert_false(ho_saylimit_ok(&sl, 0, NULL, 2001));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_kind_once_per_interval),
                cmocka_unit_test(test_kinds_apart),
                cmocka_unit_test(test_many_kinds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
