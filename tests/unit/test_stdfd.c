/* test_stdfd.c: closed standard descriptors are given /dev/null, open ones are left alone. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/stdfd.h"

static bool is_dev_null(int fd) {
        struct stat a, b;
        return fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 && a.st_rdev == b.st_rdev &&
               S_ISCHR(a.st_mode);
}

/* 0 and 2 closed (as `<&- 2>&-` leave them): both get /dev/null, with the
 * right access mode, and the next descriptor opened is not a standard one. */
static void test_closed_ones_get_dev_null(void **state) {
        (void)state;
        int saved0 = dup(0), saved2 = dup(2);
        assert_true(saved0 > 2 && saved2 > 2);
        close(0);
        close(2);
        assert_int_equal(ho_stdfd_guard(), 0);
        assert_true(is_dev_null(0));
        assert_true(is_dev_null(2));
        assert_int_equal(fcntl(0, F_GETFL) & O_ACCMODE, O_RDONLY);
        assert_int_equal(fcntl(2, F_GETFL) & O_ACCMODE, O_WRONLY);
        int next = open("/dev/null", O_RDONLY);
        assert_true(next > 2);
        close(next);
        dup2(saved0, 0);
        dup2(saved2, 2);
        close(saved0);
        close(saved2);
}

/* Open ones stay what they are. */
static void test_open_ones_untouched(void **state) {
        (void)state;
        int p[2];
        assert_int_equal(pipe(p), 0);
        int saved1 = dup(1);
        dup2(p[1], 1);
        assert_int_equal(ho_stdfd_guard(), 0);
        assert_false(is_dev_null(1));
        assert_int_equal(write(1, "x", 1), 1);
        char c = 0;
        assert_int_equal(read(p[0], &c, 1), 1);
        assert_int_equal(c, 'x');
        dup2(saved1, 1);
        close(saved1);
        close(p[0]);
        close(p[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_closed_ones_get_dev_null),
                cmocka_unit_test(test_open_ones_untouched),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
