/* test_redis.c: Redis URLs: parsing, redaction of passwords in every message,
 * URLs and passwords read from files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/redis.h"

#define SECRET "s3cr3t-Pw"

static void test_parse_forms(void **state) {
        (void)state;
        ho_redis_url_t u;
        char e[512];
        assert_int_equal(ho_redis_url_parse("redis://alice:" SECRET "@10.0.0.1:6380/3", &u, e,
                                            sizeof(e)),
                         HO_OK);
        assert_string_equal(u.host, "10.0.0.1");
        assert_int_equal(u.port, 6380);
        assert_int_equal(u.db, 3);
        assert_string_equal(u.user, "alice");
        assert_string_equal(u.password, SECRET);
        char *d = ho_redis_url_display(&u);
        assert_string_equal(d, "redis://alice:***@10.0.0.1:6380/3");
        free(d);
        ho_redis_url_clear(&u);

        /* a password alone, percent-encoded '@' and ':' in it */
        assert_int_equal(ho_redis_url_parse("redis://:p%40ss%3Aw@[::1]:7000", &u, e, sizeof(e)),
                         HO_OK);
        assert_null(u.user);
        assert_string_equal(u.password, "p@ss:w");
        assert_string_equal(u.host, "::1");
        d = ho_redis_url_display(&u);
        assert_string_equal(d, "redis://:***@[::1]:7000/0");
        free(d);
        ho_redis_url_clear(&u);

        assert_int_equal(ho_redis_url_parse("unix:///run/redis.sock?db=2", &u, e, sizeof(e)),
                         HO_OK);
        assert_string_equal(u.unix_path, "/run/redis.sock");
        assert_int_equal(u.db, 2);
        ho_redis_url_clear(&u);
}

/* What the parser would take for a password never reaches the copy, valid
 * URL or not. */
static void test_redact(void **state) {
        (void)state;
        static const char *const cases[][2] = {
                {"redis://u:" SECRET "@h:1/0", "redis://u:***@h:1/0"},
                {"redis://:" SECRET "@h", "redis://:***@h"},
                {"redis://" SECRET "@h", "redis://***@h"},
                {"redis://u:" SECRET "@with@at@h:1", "redis://u:***@h:1"},
                {"rediss://u:" SECRET "@h", "rediss://u:***@h"},
                {"u:" SECRET "@h:1", "u:***@h:1"},
                {"unix://:" SECRET "@/tmp/s", "unix://:***@/tmp/s"},
                {"redis://u:" SECRET "@h/0?x=a@b", "redis://u:***@b"},
                {"redis://h:6379/0", "redis://h:6379/0"},
        };
        char buf[256];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_string_equal(ho_redis_url_redact(cases[i][0], buf, sizeof(buf)),
                                    cases[i][1]);
                assert_null(strstr(buf, SECRET));
        }
        /* a buffer too small is cut, never overrun, and still shows no password */
        char small[12];
        ho_redis_url_redact("redis://u:" SECRET "@h:1", small, sizeof(small));
        assert_int_equal(strlen(small), sizeof(small) - 1);
        assert_null(strstr(small, "s3c"));
}

/* Every way a URL can be wrong: a clear message naming the URL, no password. */
static void test_errors_hide_password(void **state) {
        (void)state;
        static const char *const bad[][2] = {
                {"redis://u:" SECRET "@h:99999", "port must be 1..65535"},
                {"redis://u:" SECRET "@h:0", "port must be 1..65535"},
                {"redis://u:" SECRET "@h:x", "port must be 1..65535"},
                {"redis://u:" SECRET "@h:1/zero", "database must be a number"},
                {"redis://u:" SECRET "@h:1/0?timeout=1", "database must be a number"},
                {"redis://u:" SECRET "@", "missing host"},
                {"rediss://u:" SECRET "@h:1", "needs hiredis >= 1.0"},
                {"http://u:" SECRET "@h:1", "expected redis://"},
                {"u:" SECRET "@h:1", "expected redis://"},
                {"unix://:" SECRET "@relative", "expected unix:///path"},
                {"unix:///tmp/s?db=" SECRET, "expected ?db=N"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ho_redis_url_t u;
                char e[512];
                assert_int_equal(ho_redis_url_parse(bad[i][0], &u, e, sizeof(e)), HO_ERR_USAGE);
                if (!strstr(e, bad[i][1]))
                        fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i][0], e, bad[i][1]);
                /* the ?db= case shows the query: it is no password, but check the rest */
                if (strstr(bad[i][0], "@"))
                        assert_null(strstr(e, SECRET));
                assert_non_null(strstr(e, "Redis URL \""));
                e[0] = '\0';
                assert_int_equal(ho_redis_url_load(bad[i][0], "HANDOVER_REDIS", NULL, &u, e,
                                                   sizeof(e)),
                                 HO_ERR_USAGE);
                assert_int_equal(strncmp(e, "HANDOVER_REDIS: ", 16), 0);
                if (strstr(bad[i][0], "@"))
                        assert_null(strstr(e, SECRET));
        }
}

static char *write_file(const char *text, mode_t mode) {
        char *path = strdup("/tmp/ho-test-redis.XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        fchmod(fd, mode);
        close(fd);
        return path;
}

static void test_load_from_files(void **state) {
        (void)state;
        ho_redis_url_t u;
        char e[512], spec[300];

        /* the URL from a file */
        char *uf = write_file("redis://bob:" SECRET "@127.0.0.1:7001/1\n", 0600);
        snprintf(spec, sizeof(spec), "@%s", uf);
        assert_int_equal(ho_redis_url_load(spec, "-r", NULL, &u, e, sizeof(e)), HO_OK);
        assert_string_equal(u.user, "bob");
        assert_string_equal(u.password, SECRET);
        assert_int_equal(u.port, 7001);
        ho_redis_url_clear(&u);
        unlink(uf);
        free(uf);

        /* a bad URL in a file: the file is named, the password is not shown */
        uf = write_file("redis://bob:" SECRET "@127.0.0.1:70001\n", 0600);
        snprintf(spec, sizeof(spec), "@%s", uf);
        assert_int_equal(ho_redis_url_load(spec, "-r", NULL, &u, e, sizeof(e)), HO_ERR_USAGE);
        assert_non_null(strstr(e, uf));
        assert_non_null(strstr(e, "port must be"));
        assert_null(strstr(e, SECRET));
        unlink(uf);
        free(uf);

        /* a missing file */
        assert_int_equal(ho_redis_url_load("@/nonexistent/ho-url", "-r", NULL, &u, e, sizeof(e)),
                         HO_ERR_USAGE);
        assert_non_null(strstr(e, "/nonexistent/ho-url"));

        /* the password from its own file (CRLF stripped) */
        char *pf = write_file(SECRET "\r\n", 0600);
        assert_int_equal(ho_redis_url_load("redis://carol@127.0.0.1:7002", "HANDOVER_REDIS", pf, &u,
                                           e, sizeof(e)),
                         HO_ERR_USAGE); /* "carol@" alone is a password: two passwords */
        assert_non_null(strstr(e, "keep one"));
        assert_null(strstr(e, SECRET));
        assert_int_equal(ho_redis_url_load("redis://127.0.0.1:7002", "HANDOVER_REDIS", pf, &u, e,
                                           sizeof(e)),
                         HO_OK);
        assert_null(u.user);
        assert_string_equal(u.password, SECRET);
        ho_redis_url_clear(&u);
        unlink(pf);
        free(pf);

        /* an empty password file and a two-line one are refused */
        pf = write_file("\n", 0600);
        assert_int_equal(ho_redis_url_load("redis://127.0.0.1:7002", "HANDOVER_REDIS", pf, &u, e,
                                           sizeof(e)),
                         HO_ERR_USAGE);
        assert_non_null(strstr(e, "empty"));
        unlink(pf);
        free(pf);
        pf = write_file(SECRET "\nsecond\n", 0600);
        assert_int_equal(ho_redis_url_load("redis://127.0.0.1:7002", "HANDOVER_REDIS", pf, &u, e,
                                           sizeof(e)),
                         HO_ERR_USAGE);
        assert_non_null(strstr(e, "one line"));
        assert_null(strstr(e, SECRET));
        unlink(pf);
        free(pf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_forms),
                cmocka_unit_test(test_redact),
                cmocka_unit_test(test_errors_hide_password),
                cmocka_unit_test(test_load_from_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
