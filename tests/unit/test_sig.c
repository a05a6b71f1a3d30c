/* test_sig.c: the stop request ends a wait whenever it comes. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/sig.h"

static double mono_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state) {
        (void)state;
        ho_sig_install();
        ho_sig_stop = 0;
        return 0;
}

/* A stop that came before the wait (while the caller was busy) ends it at once. */
static void test_stop_before_wait(void **state) {
        (void)state;
        raise(SIGTERM);
        assert_int_equal(ho_sig_stop, 1);
        double t0 = mono_s();
        assert_int_equal(ho_sig_poll(NULL, 0, 30000), -1);
        assert_int_equal(errno, EINTR);
        assert_true(mono_s() - t0 < 5.0);
        ho_sig_stop = 0;
}

static void *send_int(void *arg) {
        usleep(100 * 1000);
        pthread_kill(*(pthread_t *)arg, SIGINT);
        return NULL;
}

/* A stop during the wait ends it too. */
static void test_stop_during_wait(void **state) {
        (void)state;
        pthread_t t, self = pthread_self();
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        double t0 = mono_s();
        assert_int_equal(pthread_create(&t, NULL, send_int, &self), 0);
        int n = ho_sig_poll(&pfd, 1, 30000);
        pthread_join(t, NULL);
        assert_int_equal(n, -1);
        assert_int_equal(errno, EINTR);
        assert_int_equal(ho_sig_stop, 1);
        assert_true(mono_s() - t0 < 5.0);
        close(fds[0]);
        close(fds[1]);
        ho_sig_stop = 0;
}

/* Without a stop it waits for the fd, and times out like poll. */
static void test_plain_poll(void **state) {
        (void)state;
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        assert_int_equal(ho_sig_poll(&pfd, 1, 20), 0);
        assert_int_equal(write(fds[1], "x", 1), 1);
        assert_int_equal(ho_sig_poll(&pfd, 1, 1000), 1);
        assert_true(pfd.revents & POLLIN);
        close(fds[0]);
        close(fds[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_stop_before_wait, setup),
                cmocka_unit_test_setup(test_stop_during_wait, setup),
                cmocka_unit_test_setup(test_plain_poll, setup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
