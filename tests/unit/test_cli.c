/* test_cli.c: the common flags (lib/cli.c) and their one precedence:
 * defaults < -c file (or HANDOVER_KAFKA_CONFIG) < environment < flags, with
 * -b and repeated -X in command-line order; and each flag's error. Each case
 * runs the getopt loop a program runs, over a real argument vector. */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/cli.h"
#include "handover/kafka.h"
#include "handover/log.h"

static char *write_file(const char *text) {
        char *path = strdup("/tmp/ho-test-cli.XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

static void clear_env(void) {
        unsetenv("HANDOVER_BROKERS");
        unsetenv("HANDOVER_TOPIC");
        unsetenv("HANDOVER_PREFIX");
        unsetenv("HANDOVER_REDIS");
        unsetenv("HANDOVER_GROUP");
        unsetenv("HANDOVER_KAFKA_CONFIG");
}

/* Parse argv (NULL-terminated) as a program taking every common flag
 * would: the exit code it would give (0 = go on), errstr the message. */
static int parse(ho_cli_t *c, char **argv, char *errstr, size_t errstr_size) {
        int argc = 0;
        while (argv[argc])
                argc++;
        assert_int_equal(ho_cli_init(c, "test", argc, errstr, errstr_size), HO_OK);
        optind = 0; /* glibc: start over */
        opterr = 0;
        int opt;
        while ((opt = getopt(argc, argv, "b:t:g:r:p:X:c:vqhV")) != -1) {
                switch (ho_cli_opt(c, opt, optarg, errstr, errstr_size)) {
                case HO_CLI_TAKEN:
                        break;
                case HO_CLI_HELP:
                case HO_CLI_DONE:
                        return HO_EXIT_OK;
                case HO_CLI_UNKNOWN:
                        snprintf(errstr, errstr_size, "unknown or incomplete option");
                        return HO_EXIT_USAGE;
                case HO_CLI_ERROR:
                        return HO_EXIT_USAGE;
                }
        }
        ho_err_t err = ho_cli_finish(c, errstr, errstr_size);
        return err ? ho_err_exit_code(err) : HO_EXIT_OK;
}

/* The value property key ends with for role ADMIN built from c. */
static void expect_prop(const ho_cli_t *c, const char *key, const char *want) {
        char e[512], v[512];
        size_t vsz = sizeof(v);
        rd_kafka_conf_t *conf = ho_kafka_conf_new(HO_KAFKA_ADMIN, "t", &c->kafka, NULL, e,
                                                  sizeof(e));
        if (!conf)
                fail_msg("conf refused: %s", e);
        assert_int_equal(rd_kafka_conf_get(conf, key, v, &vsz), RD_KAFKA_CONF_OK);
        rd_kafka_conf_destroy(conf);
        if (strcmp(v, want))
                fail_msg("%s is \"%s\", expected \"%s\"", key, v, want);
}

static void test_brokers_precedence(void **state) {
        (void)state;
        clear_env();
        char *f = write_file("bootstrap.servers=file:1\nclient.id=from-file\n");
        char e[512];
        ho_cli_t c;

        /* the file over the defaults */
        char *a1[] = {"p", "-c", f, NULL};
        assert_int_equal(parse(&c, a1, e, sizeof(e)), 0);
        expect_prop(&c, "bootstrap.servers", "file:1");
        expect_prop(&c, "client.id", "from-file");
        assert_false(c.brokers_flag);
        assert_true(ho_cli_has_brokers(&c));
        ho_cli_clear(&c);

        /* the environment over the file */
        setenv("HANDOVER_BROKERS", "env:1", 1);
        assert_int_equal(parse(&c, a1, e, sizeof(e)), 0);
        expect_prop(&c, "bootstrap.servers", "env:1");
        ho_cli_clear(&c);

        /* the flag over the environment, wherever -c stands */
        char *a2[] = {"p", "-b", "flag:1", "-c", f, NULL};
        assert_int_equal(parse(&c, a2, e, sizeof(e)), 0);
        expect_prop(&c, "bootstrap.servers", "flag:1");
        assert_true(c.brokers_flag);
        assert_string_equal(c.brokers, "flag:1");
        ho_cli_clear(&c);

        /* -b and -X in command-line order: the last one wins */
        char *a3[] = {"p", "-b", "flag:1", "-X", "bootstrap.servers=x:1", NULL};
        assert_int_equal(parse(&c, a3, e, sizeof(e)), 0);
        expect_prop(&c, "bootstrap.servers", "x:1");
        ho_cli_clear(&c);
        char *a4[] = {"p", "-X", "bootstrap.servers=x:1", "-b", "flag:2", NULL};
        assert_int_equal(parse(&c, a4, e, sizeof(e)), 0);
        expect_prop(&c, "bootstrap.servers", "flag:2");
        ho_cli_clear(&c);

        /* HANDOVER_KAFKA_CONFIG is the default -c: under the environment too */
        setenv("HANDOVER_KAFKA_CONFIG", f, 1);
        char *a5[] = {"p", NULL};
        assert_int_equal(parse(&c, a5, e, sizeof(e)), 0);
        assert_string_equal(c.kafka_default, f);
        expect_prop(&c, "bootstrap.servers", "env:1");
        expect_prop(&c, "client.id", "from-file");
        ho_cli_clear(&c);
        unsetenv("HANDOVER_BROKERS");
        assert_int_equal(parse(&c, a5, e, sizeof(e)), 0);
        expect_prop(&c, "bootstrap.servers", "file:1");
        ho_cli_clear(&c);

        /* nothing at all: no brokers */
        clear_env();
        assert_int_equal(parse(&c, a5, e, sizeof(e)), 0);
        assert_false(ho_cli_has_brokers(&c));
        ho_cli_clear(&c);
        unlink(f);
        free(f);
}

static void test_x_order_and_files(void **state) {
        (void)state;
        clear_env();
        char *f = write_file("linger.ms=7\nclient.id=one\n");
        char *g = write_file("client.id=two\n");
        char e[512];
        ho_cli_t c;

        /* repeated -X: command-line order */
        char *a1[] = {"p", "-X", "linger.ms=1", "-X", "linger.ms=2", NULL};
        assert_int_equal(parse(&c, a1, e, sizeof(e)), 0);
        expect_prop(&c, "linger.ms", "2");
        ho_cli_clear(&c);

        /* a -X before a -c still beats the file: files < flags */
        char *a2[] = {"p", "-X", "linger.ms=1", "-c", f, NULL};
        assert_int_equal(parse(&c, a2, e, sizeof(e)), 0);
        expect_prop(&c, "linger.ms", "1");
        ho_cli_clear(&c);

        /* several -c: in their order; a -c replaces HANDOVER_KAFKA_CONFIG */
        setenv("HANDOVER_KAFKA_CONFIG", "/nonexistent/never-read.properties", 1);
        char *a3[] = {"p", "-c", f, "-c", g, NULL};
        assert_int_equal(parse(&c, a3, e, sizeof(e)), 0);
        assert_null(c.kafka_default);
        expect_prop(&c, "client.id", "two");
        expect_prop(&c, "linger.ms", "7");
        ho_cli_clear(&c);
        unsetenv("HANDOVER_KAFKA_CONFIG");

        /* -X registry.* is the registry client's, not librdkafka's */
        char *a4[] = {"p", "-X", "registry.request.timeout.ms=2000", NULL};
        assert_int_equal(parse(&c, a4, e, sizeof(e)), 0);
        assert_int_equal(c.n_rprops, 1);
        assert_string_equal(c.rprops[0], "registry.request.timeout.ms=2000");
        assert_int_equal(c.n_kprops, 0);
        ho_cli_clear(&c);
        unlink(f);
        unlink(g);
        free(f);
        free(g);
}

static void test_plain_settings(void **state) {
        (void)state;
        clear_env();
        char e[512];
        ho_cli_t c;
        char *a0[] = {"p", NULL};
        assert_int_equal(parse(&c, a0, e, sizeof(e)), 0);
        assert_string_equal(c.topic, HO_DEFAULT_TOPIC);
        assert_string_equal(c.prefix, HO_DEFAULT_PREFIX);
        assert_string_equal(c.group, HO_DEFAULT_GROUP);
        assert_null(c.redis);
        ho_cli_clear(&c);

        setenv("HANDOVER_TOPIC", "env-topic", 1);
        setenv("HANDOVER_PREFIX", "env-prefix", 1);
        setenv("HANDOVER_REDIS", "redis://env:1", 1);
        assert_int_equal(parse(&c, a0, e, sizeof(e)), 0);
        assert_string_equal(c.topic, "env-topic");
        assert_string_equal(c.prefix, "env-prefix");
        assert_string_equal(c.redis, "redis://env:1");
        assert_string_equal(c.redis_src, "HANDOVER_REDIS");
        ho_cli_clear(&c);

        char *a1[] = {"p",  "-t",         "flag-topic", "-p", "flag-prefix", "-r", "redis://flag:1",
                      "-g", "flag-group", NULL};
        assert_int_equal(parse(&c, a1, e, sizeof(e)), 0);
        assert_string_equal(c.topic, "flag-topic");
        assert_string_equal(c.prefix, "flag-prefix");
        assert_string_equal(c.redis, "redis://flag:1");
        assert_string_equal(c.redis_src, "-r");
        assert_string_equal(c.group, "flag-group");
        ho_cli_clear(&c);
        clear_env();
}

static void test_verbosity(void **state) {
        (void)state;
        clear_env();
        char e[512];
        ho_cli_t c;
        char *a1[] = {"p", "-v", NULL};
        assert_int_equal(parse(&c, a1, e, sizeof(e)), 0);
        assert_int_equal(ho_log_get_level(), HO_LOG_DEBUG);
        ho_cli_clear(&c);
        char *a2[] = {"p", "-v", "-q", NULL};
        assert_int_equal(parse(&c, a2, e, sizeof(e)), 0);
        assert_int_equal(c.verbosity, -1);
        assert_int_equal(ho_log_get_level(), HO_LOG_ERROR);
        ho_cli_clear(&c);
        ho_log_set_level(HO_LOG_INFO);
}

static void expect_usage(char **argv, const char *needle) {
        char e[1024] = "";
        ho_cli_t c;
        int rc = parse(&c, argv, e, sizeof(e));
        ho_cli_clear(&c);
        if (rc != HO_EXIT_USAGE)
                fail_msg("%s: exit %d, expected 2", argv[1], rc);
        if (!strstr(e, needle))
                fail_msg("error \"%s\" does not mention \"%s\"", e, needle);
}

static void test_flag_errors(void **state) {
        (void)state;
        clear_env();
        char *unknown[] = {"p", "-Z", NULL};
        expect_usage(unknown, "unknown");
        char *missing[] = {"p", "-X", NULL}; /* getopt: no value */
        expect_usage(missing, "incomplete");
        char *missing_b[] = {"p", "-b", NULL};
        expect_usage(missing_b, "incomplete");
        char *no_eq[] = {"p", "-X", "linger.ms", NULL};
        expect_usage(no_eq, "expected key=value");
        char *no_such[] = {"p", "-X", "no.such.property=1", NULL};
        expect_usage(no_such, "no.such.property");
        char *bad_value[] = {"p", "-X", "linger.ms=soon", NULL};
        expect_usage(bad_value, "linger.ms=soon");
        char *no_file[] = {"p", "-c", "/nonexistent/ho.properties", NULL};
        expect_usage(no_file, "-c: cannot open \"/nonexistent/ho.properties\"");
        char *f = write_file("linger.ms=1\nthis is not a setting\n");
        char *bad_line[] = {"p", "-c", f, NULL};
        char where[600];
        snprintf(where, sizeof(where), "%s:2: expected key=value", f);
        expect_usage(bad_line, where);
        /* the default -c: said so, and a usage error too */
        setenv("HANDOVER_KAFKA_CONFIG", f, 1);
        char *none[] = {"p", NULL};
        snprintf(where, sizeof(where), "HANDOVER_KAFKA_CONFIG: %s:2:", f);
        expect_usage(none, where);
        clear_env();
        unlink(f);
        free(f);
}

/* ho_cli_dispatch: what a program prints and exits with for each answer of
 * ho_cli_opt. stdout and stderr go to files while it runs. */
static void dispatch_usage(FILE *fp, const char *argv0) {
        fprintf(fp, "usage: %s [options]\n", argv0);
}

typedef struct dispatched_s {
        int rc;
        char out[2048], err[2048];
} dispatched_t;

static void read_all(FILE *f, char *buf, size_t size) {
        rewind(f);
        size_t n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
}

static dispatched_t dispatch(ho_cli_t *c, int opt, const char *arg, const ho_cli_usage_t *u) {
        dispatched_t d;
        char e[512];
        FILE *out = tmpfile(), *err = tmpfile();
        assert_non_null(out);
        assert_non_null(err);
        fflush(stdout);
        fflush(stderr);
        int save_out = dup(1), save_err = dup(2);
        assert_true(save_out >= 0 && save_err >= 0);
        assert_true(dup2(fileno(out), 1) >= 0 && dup2(fileno(err), 2) >= 0);
        d.rc = ho_cli_dispatch(c, opt, arg, u, e, sizeof(e));
        fflush(stdout);
        fflush(stderr);
        assert_true(dup2(save_out, 1) >= 0 && dup2(save_err, 2) >= 0);
        close(save_out);
        close(save_err);
        read_all(out, d.out, sizeof(d.out));
        read_all(err, d.err, sizeof(d.err));
        return d;
}

static void test_dispatch(void **state) {
        (void)state;
        clear_env();
        ho_cli_t c;
        char e[512];
        assert_int_equal(ho_cli_init(&c, "test", 4, e, sizeof(e)), HO_OK);
        ho_cli_usage_t u = {dispatch_usage, "./bin/test", NULL, NULL};

        /* a common flag: recorded, nothing printed, the loop goes on */
        dispatched_t d = dispatch(&c, 't', "a-topic", &u);
        assert_int_equal(d.rc, HO_CLI_NEXT);
        assert_string_equal(c.topic, "a-topic");
        assert_string_equal(d.out, "");
        assert_string_equal(d.err, "");

        /* -h: the usage on stdout, exit 0 */
        d = dispatch(&c, 'h', NULL, &u);
        assert_int_equal(d.rc, HO_EXIT_OK);
        assert_string_equal(d.out, "usage: ./bin/test [options]\n");
        assert_string_equal(d.err, "");

        /* -V: ho_cli_opt printed the versions; exit 0 */
        d = dispatch(&c, 'V', NULL, &u);
        assert_int_equal(d.rc, HO_EXIT_OK);
        assert_true(!strncmp(d.out, "test ", 5));
        assert_string_equal(d.err, "");

        /* a bad value: "PROG: errstr" on stderr, exit 2; or the program's own name */
        d = dispatch(&c, 'X', "no.such.property=1", &u);
        assert_int_equal(d.rc, HO_EXIT_USAGE);
        assert_string_equal(d.out, "");
        assert_true(!strncmp(d.err, "test: -X \"no.such.property=...\": ", 33));
        assert_true(d.err[strlen(d.err) - 1] == '\n');
        u.me = "./bin/test";
        d = dispatch(&c, 'X', "no.such.property=1", &u);
        assert_int_equal(d.rc, HO_EXIT_USAGE);
        assert_true(!strncmp(d.err, "./bin/test: -X ", 15));
        assert_int_equal(c.n_kprops, 0);

        /* an unknown option: the usage on stderr, a hint, or nothing more */
        d = dispatch(&c, '?', NULL, &u);
        assert_int_equal(d.rc, HO_EXIT_USAGE);
        assert_string_equal(d.out, "");
        assert_string_equal(d.err, "usage: ./bin/test [options]\n");
        u.unknown = "(try \"test -h\")";
        d = dispatch(&c, '?', NULL, &u);
        assert_int_equal(d.rc, HO_EXIT_USAGE);
        assert_string_equal(d.err, "(try \"test -h\")\n");
        u.unknown = "";
        d = dispatch(&c, 'Z', NULL, &u);
        assert_int_equal(d.rc, HO_EXIT_USAGE);
        assert_string_equal(d.out, "");
        assert_string_equal(d.err, "");
        ho_cli_clear(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_brokers_precedence), cmocka_unit_test(test_x_order_and_files),
                cmocka_unit_test(test_plain_settings),     cmocka_unit_test(test_verbosity),
                cmocka_unit_test(test_flag_errors),        cmocka_unit_test(test_dispatch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
