/*
 * test_produce.c: handover-produce's modules (lines, input, validate,
 * badlist, spool, tset, producer; the run itself is in test_produce_run.c):
 * the bounded line reader (over-long lines, pipes, tail -F following with
 * truncation and rotation, the mapped reader), inputs (JSON Lines and Avro containers, v1 and v2), the bad-line
 * listing and rejects format, the spool, the distinct-transfer set, and the
 * delivery bookkeeping against librdkafka's in-process mock cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "handover/jreport.h"
#include "handover/produce.h"

static const char *const SAMPLE =
        "{\"transfer_id\": \"mx-us-2026-01-20\", \"occurred_on\": \"2026-01-20\", "
        "\"reported_at\": \"2026-01-21T05:47:00Z\", \"source\": \"Reuters\", "
        "\"origin_country\": \"MX\", \"destination_country\": \"US\", \"inmate_count\": 37, "
        "\"aircraft_count\": 7, \"destinations\": [\"Washington\", \"Houston\"], "
        "\"cumulative_total\": 92, \"authority\": \"Secretariat of Security and Citizen "
        "Protection\", \"persons\": [{\"name\": \"Pedro Inzunza Noriega\", \"affiliation\": "
        "\"Beltran Leyva\"}]}";

static char tmpdir[256];

static int setup_dir(void **state) {
        (void)state;
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_produce.XXXXXX");
        if (!mkdtemp(tmpdir))
                return -1;
        return 0;
}

static int teardown_dir(void **state) {
        char cmd[300];
        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name) {
        static char p[2][512];
        static int k;
        k ^= 1;
        snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
        return p[k];
}

static void write_file(const char *path, const char *mode, const void *data, size_t len) {
        FILE *fp = fopen(path, mode);
        assert_non_null(fp);
        assert_int_equal(fwrite(data, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
}

static void write_str(const char *path, const char *mode, const char *s) {
        write_file(path, mode, s, strlen(s));
}

/* Expect the next line to be OK with text `want` at line `lineno`. */
static void expect_line(ho_lines_t *lr, const char *want, uint64_t lineno) {
        const char *line = NULL;
        size_t len = 0;
        uint64_t n = 0;
        char err[256];
        ho_line_status_t st = ho_lines_next(lr, &line, &len, &n, err, sizeof(err));
        if (st != HO_LINE_OK)
                fail_msg("expected line %llu \"%s\", got status %d", (unsigned long long)lineno,
                         want, (int)st);
        assert_int_equal(len, strlen(want));
        assert_memory_equal(line, want, len);
        assert_int_equal(n, lineno);
}

static ho_line_status_t next_status(ho_lines_t *lr, uint64_t *lineno) {
        const char *line;
        size_t len;
        uint64_t n = 0;
        char err[256];
        ho_line_status_t st = ho_lines_next(lr, &line, &len, &n, err, sizeof(err));
        if (lineno)
                *lineno = n;
        return st;
}

/* ---- positions ---------------------------------------------------------- */

static void test_positions(void **state) {
        const char *names[] = {"a.jsonl", "-"};
        char out[64];
        ho_pos_t p = HO_POS(1, 123456789012ULL);

        (void)state;
        assert_int_equal(HO_POS_INPUT(p), 1);
        assert_int_equal(HO_POS_LINE(p), 123456789012ULL);
        p = HO_POS(HO_POS_MAX_INPUTS, (1ULL << 48) - 1);
        assert_int_equal(HO_POS_INPUT(p), HO_POS_MAX_INPUTS);
        assert_int_equal(HO_POS_LINE(p), (1ULL << 48) - 1);
        /* survives the trip through a pointer-sized opaque */
        assert_int_equal((ho_pos_t)(uintptr_t)(void *)(uintptr_t)p, p);
        ho_pos_format(HO_POS(0, 7), names, 2, out, sizeof(out));
        assert_string_equal(out, "a.jsonl:7");
        ho_pos_format(HO_POS(5, 7), names, 2, out, sizeof(out));
        assert_string_equal(out, "?:7");
}

/* ---- line reader -------------------------------------------------------- */

static void test_lines_basic(void **state) {
        char err[256];
        ho_lines_t *lr;

        (void)state;
        write_str(tpath("basic"), "w", "a\nbb\r\n\nccc");
        lr = ho_lines_open(tpath("basic"), false, 0, err, sizeof(err));
        assert_non_null(lr);
        expect_line(lr, "a", 1);
        expect_line(lr, "bb", 2); /* CRLF: the \r goes too */
        expect_line(lr, "", 3);
        expect_line(lr, "ccc", 4); /* last line without its newline */
        assert_int_equal(next_status(lr, NULL), HO_LINE_EOF);
        assert_int_equal(next_status(lr, NULL), HO_LINE_EOF);
        assert_int_equal(ho_lines_bytes_read(lr), 10);
        ho_lines_destroy(lr);

        assert_null(ho_lines_open(tpath("missing"), false, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "missing"));
}

static void test_lines_long(void **state) {
        char err[256];
        uint64_t n;
        ho_lines_t *lr;
        size_t big = 150000; /* longer than one read, shorter than the cap */
        char *s = malloc(big + 400000);

        (void)state;
        assert_non_null(s);
        /* line 1: "short"; line 2: 20 bytes over a cap of 8; line 3: "ok";
         * line 4: 300000 bytes (over, across many reads); line 5: "end" */
        write_str(tpath("long"), "w", "short\nxxxxxxxxxxxxxxxxxxxx\nok\n");
        memset(s, 'y', 300000);
        s[300000] = '\n';
        write_file(tpath("long"), "a", s, 300001);
        write_str(tpath("long"), "a", "end\n");
        lr = ho_lines_open(tpath("long"), false, 8, err, sizeof(err));
        assert_non_null(lr);
        expect_line(lr, "short", 1);
        assert_int_equal(next_status(lr, &n), HO_LINE_TOO_LONG);
        assert_int_equal(n, 2);
        expect_line(lr, "ok", 3);
        assert_int_equal(next_status(lr, &n), HO_LINE_TOO_LONG);
        assert_int_equal(n, 4);
        expect_line(lr, "end", 5);
        assert_int_equal(next_status(lr, NULL), HO_LINE_EOF);
        ho_lines_destroy(lr);

        /* an over-long last line without newline */
        write_str(tpath("long2"), "w", "ok\n0123456789abcdef");
        lr = ho_lines_open(tpath("long2"), false, 8, err, sizeof(err));
        expect_line(lr, "ok", 1);
        assert_int_equal(next_status(lr, &n), HO_LINE_TOO_LONG);
        assert_int_equal(n, 2);
        assert_int_equal(next_status(lr, NULL), HO_LINE_EOF);
        ho_lines_destroy(lr);

        /* a line spanning several reads, under the default cap, comes back whole */
        memset(s, 'z', big);
        s[big] = '\n';
        write_file(tpath("long3"), "w", s, big + 1);
        lr = ho_lines_open(tpath("long3"), false, 0, err, sizeof(err));
        s[big] = '\0';
        expect_line(lr, s, 1);
        assert_int_equal(next_status(lr, NULL), HO_LINE_EOF);
        ho_lines_destroy(lr);
        free(s);
}

static void test_lines_pipe(void **state) {
        int fds[2];
        char err[256];
        const char *head;
        size_t got;
        ho_lines_t *lr;

        (void)state;
        assert_int_equal(pipe(fds), 0);
        lr = ho_lines_new_fd(fds[0], 0, 10, err, sizeof(err));
        assert_non_null(lr);
        assert_int_equal(write(fds[1], "{\"a\"", 4), 4);
        /* peek does not consume */
        assert_int_equal(ho_lines_peek(lr, 4, &head, &got, err, sizeof(err)), HO_OK);
        assert_int_equal(got, 4);
        assert_memory_equal(head, "{\"a\"", 4);
        /* a partial line waits for its newline */
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);
        assert_int_equal(write(fds[1], ":1}\nnext", 8), 8);
        expect_line(lr, "{\"a\":1}", 1);
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);
        close(fds[1]);
        expect_line(lr, "next", 2);
        assert_int_equal(next_status(lr, NULL), HO_LINE_EOF);
        ho_lines_destroy(lr);
        close(fds[0]);
}

static void test_lines_follow(void **state) {
        char err[256];
        ho_lines_t *lr;
        const char *p = tpath("feed");
        char old[512];

        (void)state;
        snprintf(old, sizeof(old), "%s", tpath("feed.1"));
        write_str(p, "w", "1\n2\npart");
        lr = ho_lines_open(p, true, 0, err, sizeof(err));
        assert_non_null(lr);
        expect_line(lr, "1", 1);
        expect_line(lr, "2", 2);
        /* at EOF with a partial line: wait, never EOF */
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);
        write_str(p, "a", "ial\n3\n");
        expect_line(lr, "partial", 3);
        expect_line(lr, "3", 4);
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);

        /* truncation (copytruncate): read again from the top */
        write_str(p, "w", "t1\n");
        expect_line(lr, "t1", 1);
        assert_int_equal(ho_lines_truncations(lr), 1);
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);

        /* rotation: the old file's unfinished last line, then the new file */
        write_str(p, "a", "tail");
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);
        assert_int_equal(rename(p, old), 0);
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN); /* new file not there yet */
        write_str(p, "w", "new1\nnew2\n");
        expect_line(lr, "tail", 2);
        expect_line(lr, "new1", 1);
        expect_line(lr, "new2", 2);
        assert_int_equal(ho_lines_reopens(lr), 1);
        assert_int_equal(next_status(lr, NULL), HO_LINE_AGAIN);
        ho_lines_destroy(lr);
}

/* ---- inputs ------------------------------------------------------------- */

static void test_input_jsonl(void **state) {
        char err[512], text[2048];
        ho_codec_t *codec = ho_codec_new(err, sizeof(err));
        ho_input_t *in;
        ho_report_t r;
        ho_pos_t pos = 0;
        const char *line;
        size_t len;
        FILE *fp;

        (void)state;
        assert_non_null(codec);
        ho_report_init(&r);
        fp = fopen(tpath("in.jsonl"), "w");
        fprintf(fp, "%s\n", SAMPLE);         /* 1 ok */
        fprintf(fp, "{\"transfer_id\": \n"); /* 2 not JSON */
        fprintf(fp, "   \n");                /* 3 blank: skipped */
        snprintf(text, sizeof(text), "%s", SAMPLE);
        memcpy(strstr(text, "inmate_count"), "inmates_cntx", 12); /* 4 unknown field */
        fprintf(fp, "%s\n", text);
        fprintf(fp, "%s", SAMPLE); /* 5 ok, no newline */
        fclose(fp);

        in = ho_input_open(tpath("in.jsonl"), 3, false, codec, err, sizeof(err));
        assert_non_null(in);
        assert_int_equal(ho_input_format(in), HO_FORMAT_JSONL);
        assert_int_equal(ho_input_size(in), (int64_t)(strlen(SAMPLE) * 3 + 1 + 17 + 4 + 1));

        assert_int_equal(ho_input_next(in, &r, &pos, err, sizeof(err)), HO_INPUT_REPORT);
        assert_int_equal(pos, HO_POS(3, 1));
        assert_string_equal(r.transfer_id, "mx-us-2026-01-20");
        assert_int_equal(r.inmate_count, 37);
        line = ho_input_last_line(in, &len);
        assert_int_equal(len, strlen(SAMPLE));
        assert_memory_equal(line, SAMPLE, len);

        assert_int_equal(ho_input_next(in, &r, &pos, err, sizeof(err)), HO_INPUT_BAD);
        assert_int_equal(pos, HO_POS(3, 2));
        assert_null(r.transfer_id); /* nothing partial */

        assert_int_equal(ho_input_next(in, &r, &pos, err, sizeof(err)), HO_INPUT_BAD);
        assert_int_equal(pos, HO_POS(3, 4));
        assert_non_null(strstr(err, "inmates_cntx"));

        assert_int_equal(ho_input_next(in, &r, &pos, err, sizeof(err)), HO_INPUT_REPORT);
        assert_int_equal(pos, HO_POS(3, 5));
        assert_int_equal(ho_input_next(in, &r, &pos, err, sizeof(err)), HO_INPUT_EOF);
        ho_input_destroy(in);

        /* a file that is not there, and --follow on standard input */
        assert_null(ho_input_open(tpath("nope"), 0, false, codec, err, sizeof(err)));
        assert_non_null(strstr(err, "nope"));
        assert_null(ho_input_open("-", 0, true, codec, err, sizeof(err)));
        ho_report_clear(&r);
        ho_codec_destroy(codec);
}

/* Write reports into an Avro container file with the given schema version:
 * v2 through the codec's value filler, v1 by hand (the codec has no v1
 * filler), which is also how an older exporter would have written it. */
static void write_container(ho_codec_t *codec, const char *path, int version,
                            const char *codec_name, const char *const *lines, size_t n) {
        char err[512];
        const ho_schema_t *s = ho_schema_registry_version(ho_codec_registry(codec), version);
        avro_file_writer_t w;
        avro_value_iface_t *iface;
        avro_value_t val;
        ho_report_t r;

        assert_non_null(s);
        unlink(path);
        assert_int_equal(avro_file_writer_create_with_codec(path, s->avro, &w, codec_name, 0), 0);
        iface = avro_generic_class_from_schema(s->avro);
        assert_int_equal(avro_generic_value_new(iface, &val), 0);
        ho_report_init(&r);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(ho_report_from_json(lines[i], strlen(lines[i]), &r, err,
                                                     sizeof(err)),
                                 HO_OK);
                avro_value_reset(&val);
                if (version == 2) {
                        assert_int_equal(ho_codec_report_to_value(codec, &r, &val, err,
                                                                  sizeof(err)),
                                         HO_OK);
                } else {
                        avro_value_t f, item, br;
                        size_t k;
                        avro_value_get_by_name(&val, "report_id", &f, NULL);
                        avro_value_set_string(&f, r.report_id);
                        avro_value_get_by_name(&val, "transfer_id", &f, NULL);
                        avro_value_set_string(&f, r.transfer_id);
                        avro_value_get_by_name(&val, "occurred_on", &f, NULL);
                        avro_value_set_int(&f, r.occurred_on);
                        avro_value_get_by_name(&val, "reported_at", &f, NULL);
                        avro_value_set_long(&f, r.reported_at);
                        avro_value_get_by_name(&val, "source", &f, NULL);
                        avro_value_set_string(&f, r.source);
                        avro_value_get_by_name(&val, "origin_country", &f, NULL);
                        avro_value_set_string(&f, r.origin_country);
                        avro_value_get_by_name(&val, "destination_country", &f, NULL);
                        avro_value_set_string(&f, r.destination_country);
                        avro_value_get_by_name(&val, "inmate_count", &f, NULL);
                        avro_value_set_int(&f, r.inmate_count);
                        avro_value_get_by_name(&val, "aircraft_count", &f, NULL);
                        avro_value_set_branch(&f, r.has_aircraft_count, &br);
                        if (r.has_aircraft_count)
                                avro_value_set_int(&br, r.aircraft_count);
                        else
                                avro_value_set_null(&br);
                        avro_value_get_by_name(&val, "destinations", &f, NULL);
                        for (k = 0; k < r.n_destinations; k++) {
                                avro_value_append(&f, &item, NULL);
                                avro_value_set_string(&item, r.destinations[k]);
                        }
                        avro_value_get_by_name(&val, "cumulative_total", &f, NULL);
                        avro_value_set_branch(&f, r.has_cumulative_total, &br);
                        if (r.has_cumulative_total)
                                avro_value_set_int(&br, r.cumulative_total);
                        else
                                avro_value_set_null(&br);
                        avro_value_get_by_name(&val, "authority", &f, NULL);
                        avro_value_set_branch(&f, r.authority != NULL, &br);
                        if (r.authority)
                                avro_value_set_string(&br, r.authority);
                        else
                                avro_value_set_null(&br);
                        avro_value_get_by_name(&val, "persons", &f, NULL);
                        for (k = 0; k < r.n_persons; k++) {
                                avro_value_t pf;
                                avro_value_append(&f, &item, NULL);
                                avro_value_get_by_name(&item, "name", &pf, NULL);
                                avro_value_set_string(&pf, r.persons[k].name);
                                avro_value_get_by_name(&item, "affiliation", &pf, NULL);
                                avro_value_set_branch(&pf, r.persons[k].affiliation != NULL, &br);
                                if (r.persons[k].affiliation)
                                        avro_value_set_string(&br, r.persons[k].affiliation);
                                else
                                        avro_value_set_null(&br);
                        }
                }
                assert_int_equal(avro_file_writer_append_value(w, &val), 0);
                if (i == 0)
                        avro_file_writer_sync(w); /* at least two blocks */
        }
        assert_int_equal(avro_file_writer_close(w), 0);
        avro_value_decref(&val);
        avro_value_iface_decref(iface);
        ho_report_clear(&r);
}

static void check_container(ho_codec_t *codec, const char *path, const char *const *lines,
                            size_t n) {
        char err[512];
        ho_input_t *in = ho_input_open(path, 0, false, codec, err, sizeof(err));
        ho_report_t r, want;
        ho_pos_t pos;

        if (!in)
                fail_msg("%s", err);
        assert_int_equal(ho_input_format(in), HO_FORMAT_AVRO);
        ho_report_init(&r);
        ho_report_init(&want);
        for (size_t i = 0; i < n; i++) {
                ho_input_status_t st = ho_input_next(in, &r, &pos, err, sizeof(err));
                if (st != HO_INPUT_REPORT)
                        fail_msg("record %zu: status %d: %s", i + 1, (int)st, err);
                assert_int_equal(pos, HO_POS(0, i + 1));
                assert_int_equal(ho_report_from_json(lines[i], strlen(lines[i]), &want, err,
                                                     sizeof(err)),
                                 HO_OK);
                assert_string_equal(r.report_id, want.report_id);
                assert_string_equal(r.transfer_id, want.transfer_id);
                assert_int_equal(r.reported_at, want.reported_at);
                assert_int_equal(r.inmate_count, want.inmate_count);
                assert_int_equal(r.n_persons, want.n_persons);
                assert_int_equal(r.n_destinations, want.n_destinations);
                assert_int_equal(ho_report_cmp_latest(&r, &want), 0);
        }
        assert_int_equal(ho_input_next(in, &r, &pos, err, sizeof(err)), HO_INPUT_EOF);
        ho_input_destroy(in);
        ho_report_clear(&r);
        ho_report_clear(&want);
}

static void test_input_avro(void **state) {
        char err[512], other[4096];
        ho_codec_t *codec = ho_codec_new(err, sizeof(err));
        const char *lines[3];
        uint64_t records;
        FILE *fp;
        struct stat st;

        (void)state;
        assert_non_null(codec);
        snprintf(other, sizeof(other), "%s", SAMPLE);
        memcpy(strstr(other, "2026-01-21T05:47"), "2026-01-22T06:00", 16);
        lines[0] = SAMPLE;
        lines[1] = other;
        lines[2] = SAMPLE;
        write_container(codec, tpath("v2.avro"), 2, "deflate", lines, 3);
        check_container(codec, tpath("v2.avro"), lines, 3);
        write_container(codec, tpath("v1.avro"), 1, "null", lines, 3);
        check_container(codec, tpath("v1.avro"), lines, 3);

        fp = fopen(tpath("v1.avro"), "rb");
        assert_int_equal(ho_avro_container_scan(fp, &records, err, sizeof(err)), HO_OK);
        assert_int_equal(records, 3);
        fclose(fp);

        /* truncated in a block: a named error before anything is read */
        assert_int_equal(stat(tpath("v1.avro"), &st), 0);
        assert_int_equal(truncate(tpath("v1.avro"), st.st_size - 20), 0);
        assert_null(ho_input_open(tpath("v1.avro"), 0, false, codec, err, sizeof(err)));
        assert_non_null(strstr(err, "truncated"));
        /* a wrong sync marker */
        write_container(codec, tpath("v1.avro"), 1, "null", lines, 3);
        {
                int fd = open(tpath("v1.avro"), O_WRONLY);
                assert_int_equal(stat(tpath("v1.avro"), &st), 0);
                assert_int_equal(pwrite(fd, "XXXX", 4, st.st_size - 8), 4);
                close(fd);
        }
        assert_null(ho_input_open(tpath("v1.avro"), 0, false, codec, err, sizeof(err)));
        assert_non_null(strstr(err, "sync"));

        /* a container with no records at all: opens, and is empty */
        write_container(codec, tpath("empty.avro"), 2, "null", lines, 0);
        {
                ho_input_t *in = ho_input_open(tpath("empty.avro"), 0, false, codec, err,
                                               sizeof(err));
                ho_report_t r;
                ho_pos_t pos;
                if (!in)
                        fail_msg("%s", err);
                ho_report_init(&r);
                assert_int_equal(ho_input_next(in, &r, &pos, err, sizeof(err)), HO_INPUT_EOF);
                ho_input_destroy(in);
        }
        ho_codec_destroy(codec);
}

/* ---- the validation pass ------------------------------------------------ */

static void test_validate_input(void **state) {
        char err[512], *listing = NULL, *rej = NULL;
        size_t listing_len = 0, rej_len = 0;
        ho_codec_t *codec = ho_codec_new(err, sizeof(err));
        ho_spool_t *sp = ho_spool_new(err, sizeof(err));
        ho_tset_t *ts = ho_tset_new();
        const char *names[] = {"first", "x.jsonl"};
        ho_badlist_t bad;
        ho_validate_t v;
        ho_spool_rec_t rec;
        uint64_t records, bytes;
        volatile sig_atomic_t stop_flag = 0;
        FILE *fp, *out;

        (void)state;
        assert_non_null(codec);
        assert_non_null(sp);
        fp = fopen(tpath("x.jsonl"), "w");
        fprintf(fp, "%s\n{\"transfer_id\": 1}\n%s\n{}\n\n%s\n", SAMPLE, SAMPLE, SAMPLE);
        fclose(fp);

        out = open_memstream(&listing, &listing_len);
        ho_badlist_init(&bad, out, HO_BADLIST_CAP);
        memset(&v, 0, sizeof(v));
        v.codec = codec;
        v.spool = sp;
        v.bad = &bad;
        v.names = names;
        v.n_names = 2;
        v.transfers = ts;
        v.stop = &stop_flag;
        assert_int_equal(ho_validate_input(&v, tpath("x.jsonl"), 1, &records, &bytes, err,
                                           sizeof(err)),
                         HO_OK);
        fclose(out);
        /* every bad line listed with its position, the valid ones spooled */
        assert_int_equal(bad.count, 2);
        assert_non_null(strstr(listing, "x.jsonl:2: "));
        assert_non_null(strstr(listing, "x.jsonl:4: "));
        assert_null(strstr(listing, "x.jsonl:6"));
        assert_int_equal(records, 3);
        assert_int_equal(v.valid, 3);
        assert_int_equal(v.skipped, 0);
        assert_true(v.bytes > 0);
        assert_int_equal(bytes, strlen(SAMPLE) * 3 + 3 + 19 + 3 + 1);
        assert_int_equal(ho_tset_count(ts), 1);
        assert_int_equal(ho_spool_count(sp), 3);
        assert_int_equal(ho_spool_rewind(sp, err, sizeof(err)), HO_OK);
        for (int i = 0; i < 3; i++) {
                static const uint64_t lines[] = {1, 3, 6};
                ho_report_t r;
                ho_report_init(&r);
                assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_OK);
                assert_int_equal(rec.pos, HO_POS(1, lines[i]));
                assert_int_equal(rec.key_len, strlen("mx-us-2026-01-20"));
                assert_memory_equal(rec.key, "mx-us-2026-01-20", rec.key_len);
                assert_int_equal(rec.timestamp, 1768974420000LL); /* 2026-01-21T05:47:00Z */
                assert_int_equal(ho_codec_decode(codec, rec.value, rec.value_len, &r, err,
                                                 sizeof(err)),
                                 HO_OK);
                assert_int_equal(r.inmate_count, 37);
                ho_report_clear(&r);
        }
        assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_ERR_NOT_FOUND);
        free(listing);

        /* --skip-invalid: the bad lines go to the rejects file, nothing is listed */
        out = open_memstream(&listing, &listing_len);
        ho_badlist_init(&bad, out, HO_BADLIST_CAP);
        fp = open_memstream(&rej, &rej_len);
        memset(&v, 0, sizeof(v));
        v.codec = codec;
        v.bad = &bad;
        v.rejects = fp;
        v.names = names;
        v.n_names = 2;
        assert_int_equal(ho_validate_input(&v, tpath("x.jsonl"), 1, NULL, NULL, err, sizeof(err)),
                         HO_OK);
        fclose(fp);
        fclose(out);
        assert_int_equal(bad.count, 0);
        assert_int_equal(listing_len, 0);
        assert_int_equal(v.skipped, 2);
        assert_int_equal(v.valid, 3);
        assert_non_null(strstr(rej, "x.jsonl:2\t"));
        assert_non_null(strstr(rej, "\t{\"transfer_id\": 1}\n"));
        assert_non_null(strstr(rej, "x.jsonl:4\t"));
        free(rej);
        free(listing);

        /* interrupted, and a missing input */
        out = open_memstream(&listing, &listing_len);
        ho_badlist_init(&bad, out, HO_BADLIST_CAP);
        memset(&v, 0, sizeof(v));
        v.codec = codec;
        v.bad = &bad;
        v.names = names;
        v.n_names = 2;
        stop_flag = 1;
        v.stop = &stop_flag;
        assert_int_equal(ho_validate_input(&v, tpath("x.jsonl"), 1, NULL, NULL, err, sizeof(err)),
                         HO_ERR_INTERRUPTED);
        v.stop = NULL;
        assert_int_equal(ho_validate_input(&v, tpath("none.jsonl"), 0, NULL, NULL, err,
                                           sizeof(err)),
                         HO_ERR_IO);
        assert_non_null(strstr(err, "none.jsonl"));
        fclose(out);
        free(listing);

        ho_tset_destroy(ts);
        ho_spool_destroy(sp);
        ho_codec_destroy(codec);
}

/* Run the validation pass over path with n threads; return the listing,
 * the rejects and the spool's records as one text for comparison. */
static char *validate_dump(const char *path, unsigned threads, bool rejects, const char *spec) {
        char err[512], *listing = NULL, *rej = NULL, *dump = NULL;
        size_t listing_len = 0, rej_len = 0, dump_len = 0;
        ho_codec_t *codec = ho_codec_new(err, sizeof(err));
        ho_spool_t *sp = ho_spool_new(err, sizeof(err));
        const char *names[] = {"many.jsonl"};
        ho_badlist_t bad;
        ho_validate_t v;
        ho_spool_rec_t rec;
        uint64_t records = 0;
        FILE *out = open_memstream(&listing, &listing_len);
        FILE *rf = open_memstream(&rej, &rej_len);
        FILE *df = open_memstream(&dump, &dump_len);

        assert_non_null(codec);
        if (spec)
                assert_int_equal(ho_codec_set_writer(codec, spec, err, sizeof(err)), HO_OK);
        ho_badlist_init(&bad, out, HO_BADLIST_CAP);
        memset(&v, 0, sizeof(v));
        v.codec = codec;
        v.writer_spec = spec;
        v.spool = sp;
        v.bad = &bad;
        v.rejects = rejects ? rf : NULL;
        v.names = names;
        v.n_names = 1;
        v.threads = threads;
        assert_int_equal(ho_validate_input(&v, path, 0, &records, NULL, err, sizeof(err)), HO_OK);
        ho_badlist_finish(&bad);
        fclose(out);
        fclose(rf);
        fprintf(df, "valid %llu records %llu skipped %llu bytes %llu bad %llu\n",
                (unsigned long long)v.valid, (unsigned long long)records,
                (unsigned long long)v.skipped, (unsigned long long)v.bytes,
                (unsigned long long)bad.count);
        fprintf(df, "--listing\n%s--rejects\n%s--spool\n", listing, rej);
        assert_int_equal(ho_spool_rewind(sp, err, sizeof(err)), HO_OK);
        while (ho_spool_get(sp, &rec, err, sizeof(err)) == HO_OK) {
                fprintf(df, "%llu %lld %.*s ", (unsigned long long)rec.pos,
                        (long long)rec.timestamp, (int)rec.key_len, rec.key);
                for (size_t i = 0; i < rec.value_len; i++)
                        fprintf(df, "%02x", (unsigned char)rec.value[i]);
                fputc('\n', df);
        }
        fclose(df);
        free(listing);
        free(rej);
        ho_spool_destroy(sp);
        ho_codec_destroy(codec);
        return dump;
}

static void test_validate_threads(void **state) {
        char other[4096], *one, *many;
        FILE *fp = fopen(tpath("many.jsonl"), "w");
        char *big = malloc(HO_LINE_MAX_DEFAULT + 10);

        (void)state;
        assert_non_null(big);
        memset(big, 'x', HO_LINE_MAX_DEFAULT + 9);
        big[HO_LINE_MAX_DEFAULT + 9] = '\0';
        /* 5000 lines: many batches; bad lines, blank lines and an over-long
         * line scattered through; transfers and times vary */
        for (int i = 1; i <= 5000; i++) {
                if (i % 37 == 0) {
                        fprintf(fp, "{\"transfer_id\": %d}\n", i);
                } else if (i % 251 == 0) {
                        fprintf(fp, "\n");
                } else if (i == 2500) {
                        fprintf(fp, "%s\n", big);
                } else {
                        snprintf(other, sizeof(other), "%s", SAMPLE);
                        memcpy(strstr(other, "mx-us-2026-01-20"), "mx-us-2026-01-2", 15);
                        other[strstr(other, "mx-us-2026-01-2") - other + 15] = (char)('0' + i % 10);
                        memcpy(strstr(other, "05:47:00Z") + 3, i % 2 ? "48" : "49", 2);
                        fprintf(fp, "%s\n", other);
                }
        }
        fclose(fp);
        free(big);
        one = validate_dump(tpath("many.jsonl"), 1, false, NULL);
        assert_non_null(strstr(one, "many.jsonl:37: "));
        assert_non_null(strstr(one, "many.jsonl:2500: line longer than"));
        assert_non_null(strstr(one, "\nand 36 more bad lines\n"));
        for (unsigned t = 2; t <= 4; t++) {
                many = validate_dump(tpath("many.jsonl"), t, false, NULL);
                assert_string_equal(one, many);
                free(many);
        }
        free(one);
        /* rejects and another writer schema: the same equality */
        one = validate_dump(tpath("many.jsonl"), 1, true, "v1");
        many = validate_dump(tpath("many.jsonl"), 3, true, "v1");
        assert_string_equal(one, many);
        assert_non_null(strstr(one, "many.jsonl:2500\tline longer than"));
        free(one);
        free(many);
}

/* ---- listing, rejects, spool, set ---------------------------------------- */

static void test_badlist(void **state) {
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        ho_badlist_t bl;

        (void)state;
        ho_badlist_init(&bl, fp, 2);
        ho_badlist_add(&bl, "f:1", "bad one");
        ho_badlist_finish(&bl); /* nothing hidden: no "more" line */
        ho_badlist_add(&bl, "f:2", "bad two");
        ho_badlist_add(&bl, "f:3", "bad three");
        ho_badlist_add(&bl, "f:9", "bad nine");
        ho_badlist_finish(&bl);
        fclose(fp);
        assert_string_equal(buf, "f:1: bad one\nf:2: bad two\nand 2 more bad lines\n");
        assert_int_equal(bl.count, 4);
        free(buf);

        fp = open_memstream(&buf, &len);
        ho_reject_write(fp, "<stdin>:4", "field \"x\":\tbad\nreally", "{\"x\":\t1}", 8);
        fclose(fp);
        assert_string_equal(buf, "<stdin>:4\tfield \"x\": bad really\t{\"x\":\t1}\n");
        free(buf);
}

static void test_spool(void **state) {
        char err[256];
        ho_spool_t *sp = ho_spool_new(err, sizeof(err));
        ho_spool_rec_t rec;
        char big[70000];

        (void)state;
        assert_non_null(sp);
        memset(big, 'v', sizeof(big));
        assert_int_equal(ho_spool_put(sp, HO_POS(0, 1), 1000, "k1", 2, "value1", 6, err,
                                      sizeof(err)),
                         HO_OK);
        assert_int_equal(ho_spool_put(sp, HO_POS(2, 9), -5, "", 0, big, sizeof(big), err,
                                      sizeof(err)),
                         HO_OK);
        assert_int_equal(ho_spool_count(sp), 2);
        assert_int_equal(ho_spool_rewind(sp, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_OK);
        assert_int_equal(rec.pos, HO_POS(0, 1));
        assert_int_equal(rec.timestamp, 1000);
        assert_int_equal(rec.key_len, 2);
        assert_memory_equal(rec.key, "k1", 2);
        assert_int_equal(rec.value_len, 6);
        assert_memory_equal(rec.value, "value1", 6);
        assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_OK);
        assert_int_equal(rec.pos, HO_POS(2, 9));
        assert_int_equal(rec.timestamp, -5);
        assert_int_equal(rec.key_len, 0);
        assert_int_equal(rec.value_len, sizeof(big));
        assert_memory_equal(rec.value, big, sizeof(big));
        assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_ERR_NOT_FOUND);
        /* no writing once reading */
        assert_int_not_equal(ho_spool_put(sp, 0, 0, "k", 1, "v", 1, err, sizeof(err)), HO_OK);
        ho_spool_destroy(sp);
}

/* The mapped reader gives exactly ho_lines_next()'s lines: '\r' dropped, an
 * over-long line reported, a last line without '\n'; and bytes read after
 * it is unmapped are what it consumed. */
static void test_lines_map(void **state) {
        const char *path = tpath("map.txt");
        char text[300], err[256];
        ho_lines_t *lr, *plain;
        ho_linemap_t ml;
        int n = 0;

        (void)state;
        snprintf(text, sizeof(text), "one\r\n\n%0100d\nlast", 7);
        write_str(path, "w", text);
        lr = ho_lines_open(path, false, 64, err, sizeof(err));
        plain = ho_lines_open(path, false, 64, err, sizeof(err));
        assert_non_null(lr);
        assert_non_null(plain);
        assert_true(ho_lines_map(lr, path, &ml));
        for (;;) {
                const char *l1 = NULL, *l2 = NULL;
                size_t n1 = 0, n2 = 0;
                uint64_t k1 = 0, k2 = 0;
                ho_line_status_t s1 = ho_linemap_next(&ml, &l1, &n1, &k1);
                ho_line_status_t s2 = ho_lines_next(plain, &l2, &n2, &k2, err, sizeof(err));
                assert_int_equal(s1, s2);
                if (s1 == HO_LINE_EOF)
                        break;
                assert_int_equal(k1, k2);
                if (s1 == HO_LINE_OK) {
                        assert_int_equal(n1, n2);
                        assert_memory_equal(l1, l2, n1);
                }
                n++;
        }
        assert_int_equal(n, 4); /* "one", "", too long, "last" */
        ho_lines_unmap(lr, &ml);
        assert_null(ml.p);
        assert_int_equal(ho_lines_bytes_read(lr), strlen(text));
        ho_lines_destroy(lr);
        ho_lines_destroy(plain);

        /* a followed file, or one already read from, is not mapped */
        lr = ho_lines_open(path, true, 0, err, sizeof(err));
        assert_non_null(lr);
        assert_false(ho_lines_map(lr, path, &ml));
        ho_lines_destroy(lr);
        lr = ho_lines_open(path, false, 0, err, sizeof(err));
        expect_line(lr, "one", 1);
        assert_false(ho_lines_map(lr, path, &ml));
        ho_lines_destroy(lr);
        assert_true(ho_line_is_blank(" \t\r", 3));
        assert_true(ho_line_is_blank("", 0));
        assert_false(ho_line_is_blank(" x", 2));
}

/* A block in the spool's own format reads back as the records it holds;
 * released values of a large spool give their windows back without
 * disturbing the records still to read. */
static void test_spool_block(void **state) {
        char err[256], value[1000];
        ho_spool_t *sp = ho_spool_new(err, sizeof(err));
        ho_spool_rec_t rec;
        char block[64];
        size_t at = 0;
        const int N = 2000; /* about 2 MB: several windows */

        (void)state;
        assert_non_null(sp);
        for (int i = 0; i < 2; i++) {
                ho_spool_hdr_t h = {HO_POS(1, (uint64_t)i + 1), 100 + i, 2, 3};
                memcpy(block + at, &h, sizeof(h));
                memcpy(block + at + sizeof(h), i ? "k1" : "k0", 2);
                memcpy(block + at + sizeof(h) + 2, i ? "vv1" : "vv0", 3);
                at += sizeof(h) + 5;
        }
        assert_int_equal(ho_spool_put_block(sp, block, at, 2, err, sizeof(err)), HO_OK);
        for (int i = 0; i < N; i++) {
                memset(value, 'a' + i % 26, sizeof(value));
                assert_int_equal(ho_spool_put(sp, HO_POS(2, (uint64_t)i + 1), i, "key", 3, value,
                                              sizeof(value), err, sizeof(err)),
                                 HO_OK);
        }
        assert_int_equal(ho_spool_count(sp), 2 + (uint64_t)N);
        assert_int_equal(ho_spool_rewind(sp, err, sizeof(err)), HO_OK);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_OK);
                assert_int_equal(rec.pos, HO_POS(1, (uint64_t)i + 1));
                assert_int_equal(rec.timestamp, 100 + i);
                assert_memory_equal(rec.key, i ? "k1" : "k0", 2);
                assert_int_equal(rec.value_len, 3);
                assert_memory_equal(rec.value, i ? "vv1" : "vv0", 3);
                assert_true(rec.mapped);
                ho_spool_release(sp, rec.value);
        }
        for (int i = 0; i < N; i++) {
                assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_OK);
                assert_int_equal(rec.pos, HO_POS(2, (uint64_t)i + 1));
                assert_int_equal(rec.value_len, sizeof(value));
                assert_int_equal(rec.value[0], 'a' + i % 26);
                assert_int_equal(rec.value[sizeof(value) - 1], 'a' + i % 26);
                /* every other record released at once, the rest never */
                if (i % 2 == 0)
                        ho_spool_release(sp, rec.value);
        }
        assert_int_equal(ho_spool_get(sp, &rec, err, sizeof(err)), HO_ERR_NOT_FOUND);
        /* a pointer from elsewhere is ignored */
        ho_spool_release(sp, value);
        ho_spool_release(sp, NULL);
        /* no blocks once reading */
        assert_int_not_equal(ho_spool_put_block(sp, block, at, 2, err, sizeof(err)), HO_OK);
        ho_spool_destroy(sp);
}

static void test_tset(void **state) {
        ho_tset_t *ts = ho_tset_new();
        char id[32];

        (void)state;
        assert_non_null(ts);
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < 100000; i++) {
                        int n = snprintf(id, sizeof(id), "mx-us-%d", i);
                        assert_int_equal(ho_tset_add(ts, id, (size_t)n), round == 0);
                }
        assert_int_equal(ho_tset_count(ts), 100000);
        assert_true(ho_tset_exact(ts));
        assert_true(ho_tset_add(ts, "", 0));
        assert_false(ho_tset_add(ts, "", 0));
        assert_int_equal(ho_tset_count(ts), 100001);
        ho_tset_destroy(ts);
}

/* ---- producer (librdkafka mock cluster) --------------------------------- */

static ho_producer_t *mock_producer(const char *timeout_ms, const char *const *names,
                                    size_t n_names) {
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        ho_producer_t *p;

        assert_int_equal(ho_producer_conf_defaults(conf, err, sizeof(err)), HO_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "message.timeout.ms", timeout_ms, err,
                                           sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        p = ho_producer_new(conf, "handover.test", names, n_names, err, sizeof(err));
        if (!p)
                fail_msg("%s", err);
        return p;
}

static void test_producer_delivers(void **state) {
        static const char *const names[] = {"in.jsonl"};
        ho_producer_t *p = mock_producer("10000", names, 1);
        ho_producer_stats_t st;
        char err[512];

        (void)state;
        for (int i = 1; i <= 20; i++) {
                char key[16];
                int n = snprintf(key, sizeof(key), "t-%d", i % 3);
                assert_int_equal(ho_producer_send(p, key, (size_t)n, "vvvvv", 5, 1000 + i,
                                                  HO_POS(0, i), NULL, err, sizeof(err)),
                                 HO_OK);
        }
        assert_int_equal(ho_producer_flush(p, 10000), 0);
        ho_producer_stats(p, &st);
        assert_int_equal(st.enqueued, 20);
        assert_int_equal(st.delivered, 20);
        assert_int_equal(st.failed, 0);
        assert_int_equal(st.bytes, 100);
        assert_int_equal(st.transfers, 3);
        assert_true(st.transfers_exact);
        assert_false(ho_producer_failed(p));
        ho_producer_destroy(p);
}

static void test_producer_failures_positions(void **state) {
        static const char *const names[] = {"a.jsonl", "b.jsonl"};
        ho_producer_t *p = mock_producer("1000", names, 2);
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(ho_producer_handle(p));
        ho_producer_stats_t st;
        char err[512], *buf = NULL;
        size_t len = 0;
        FILE *fp;

        (void)state;
        assert_non_null(mc);
        rd_kafka_mock_broker_set_down(mc, 1);
        assert_int_equal(ho_producer_send(p, "k", 1, "v", 1, 1, HO_POS(0, 3), NULL, err,
                                          sizeof(err)),
                         HO_OK);
        assert_int_equal(ho_producer_send(p, "k", 1, "v", 1, 2, HO_POS(1, 12), NULL, err,
                                          sizeof(err)),
                         HO_OK);
        /* message.timeout.ms = 1 s: both fail by themselves, nothing left to purge */
        assert_int_equal(ho_producer_flush(p, 8000), 0);
        ho_producer_stats(p, &st);
        assert_int_equal(st.delivered, 0);
        assert_int_equal(st.failed, 2);
        assert_true(ho_producer_failed(p));
        fp = open_memstream(&buf, &len);
        ho_producer_print_failures(p, fp);
        fclose(fp);
        assert_non_null(strstr(buf, "a.jsonl:3: not delivered to \"handover.test\": "));
        assert_non_null(strstr(buf, "b.jsonl:12: not delivered"));
        assert_non_null(strstr(buf, "timed out"));
        free(buf);
        ho_producer_destroy(p);
}

static void test_producer_broker_error(void **state) {
        static const char *const names[] = {"feed.jsonl"};
        ho_producer_t *p = mock_producer("10000", names, 1);
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(ho_producer_handle(p));
        ho_producer_stats_t st;
        char err[512], *buf = NULL;
        size_t len = 0;
        FILE *fp;

        (void)state;
        /* the broker refuses the first produce request with a permanent error */
        rd_kafka_mock_push_request_errors(mc, 0 /* Produce */, 1,
                                          RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
        assert_int_equal(ho_producer_send(p, "k", 1, "v", 1, 1, HO_POS(0, 41), NULL, err,
                                          sizeof(err)),
                         HO_OK);
        assert_int_equal(ho_producer_flush(p, 8000), 0);
        ho_producer_stats(p, &st);
        assert_int_equal(st.failed, 1);
        assert_true(ho_producer_failed(p));
        fp = open_memstream(&buf, &len);
        ho_producer_print_failures(p, fp);
        fclose(fp);
        assert_non_null(strstr(buf, "feed.jsonl:41: not delivered to \"handover.test\": "));
        assert_non_null(strstr(buf, "uthoriz"));
        free(buf);
        ho_producer_destroy(p);
}

static void test_producer_flush_purges(void **state) {
        static const char *const names[] = {"-"};
        ho_producer_t *p = mock_producer("60000", names, 1);
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(ho_producer_handle(p));
        ho_producer_stats_t st;
        char err[512];

        (void)state;
        rd_kafka_mock_broker_set_down(mc, 1);
        for (int i = 1; i <= 5; i++)
                assert_int_equal(ho_producer_send(p, "k", 1, "v", 1, i, HO_POS(0, i), NULL, err,
                                                  sizeof(err)),
                                 HO_OK);
        /* the flush bound ends first: the rest is purged and counted as failed */
        assert_int_equal(ho_producer_flush(p, 300), 5);
        ho_producer_stats(p, &st);
        assert_int_equal(st.failed, 5);
        assert_int_equal(st.delivered, 0);
        ho_producer_destroy(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_positions),
                cmocka_unit_test(test_lines_basic),
                cmocka_unit_test(test_lines_long),
                cmocka_unit_test(test_lines_pipe),
                cmocka_unit_test(test_lines_follow),
                cmocka_unit_test(test_input_jsonl),
                cmocka_unit_test(test_input_avro),
                cmocka_unit_test(test_validate_input),
                cmocka_unit_test(test_validate_threads),
                cmocka_unit_test(test_badlist),
                cmocka_unit_test(test_spool),
                cmocka_unit_test(test_lines_map),
                cmocka_unit_test(test_spool_block),
                cmocka_unit_test(test_tset),
                cmocka_unit_test(test_producer_delivers),
                cmocka_unit_test(test_producer_failures_positions),
                cmocka_unit_test(test_producer_broker_error),
                cmocka_unit_test(test_producer_flush_purges),
        };
        return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
