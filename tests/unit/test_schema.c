/*
 * test_schema.c: Parsing Canonical Form, CRC-64-AVRO fingerprints, the
 * registry and the compatibility rules.
 *
 * The vectors below are every case of the Apache Avro project's
 * share/test/data/schema-tests.txt (cases 000..033: 34 canonical forms, 26 of
 * them with a published fingerprint), the data the Avro implementations test
 * their canonical form and fingerprints against. Inputs are copied verbatim
 * (JSON escaped for C); fingerprints are as published, as signed 64-bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "handover/schema.h"
#include "handover/schemas_embedded.h"

typedef struct vector_s {
        const char *id;
        const char *input;
        const char *canonical;
        int has_fp;
        int64_t fp;
} vector_t;

static const vector_t vectors[] = {
        {"000", "\"null\"", "\"null\"", 1, 7195948357588979594LL},
        {"001", "{\"type\":\"null\"}", "\"null\"", 0, 0},
        {"002", "\"boolean\"", "\"boolean\"", 1, -6970731678124411036LL},
        {"003", "{\"type\":\"boolean\"}", "\"boolean\"", 0, 0},
        {"004", "\"int\"", "\"int\"", 1, 8247732601305521295LL},
        {"005", "{\"type\":\"int\"}", "\"int\"", 0, 0},
        {"006", "\"long\"", "\"long\"", 1, -3434872931120570953LL},
        {"007", "{\"type\":\"long\"}", "\"long\"", 0, 0},
        {"008", "\"float\"", "\"float\"", 1, 5583340709985441680LL},
        {"009", "{\"type\":\"float\"}", "\"float\"", 0, 0},
        {"010", "\"double\"", "\"double\"", 1, -8181574048448539266LL},
        {"011", "{\"type\":\"double\"}", "\"double\"", 0, 0},
        {"012", "\"bytes\"", "\"bytes\"", 1, 5746618253357095269LL},
        {"013", "{\"type\":\"bytes\"}", "\"bytes\"", 0, 0},
        {"014", "\"string\"", "\"string\"", 1, -8142146995180207161LL},
        {"015", "{\"type\":\"string\"}", "\"string\"", 0, 0},
        {"016", "[  ]", "[]", 1, -1241056759729112623LL},
        {"017", "[ \"int\"  ]", "[\"int\"]", 1, -5232228896498058493LL},
        {"018", "[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]", 1,
         5392556393470105090LL},
        {"019", "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1, -4824392279771201922LL},
        {"020", "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"namespace\":\"x.y\"}",
         "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", 1, 5916914534497305771LL},
        {"021", "{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", \"namespace\":\"x.y\"}",
         "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}", 1, -4616218487480524110LL},
        {"022", "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"Useful info\"}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1, -4824392279771201922LL},
        {"023",
         "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"aliases\":[\"foo\",\"bar\"]}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1, -4824392279771201922LL},
        {"024",
         "{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"foo\", "
         "\"aliases\":[\"foo\",\"bar\"]}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", 1, -4824392279771201922LL},
        {"025",
         "{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], \"type\":\"record\", "
         "\"name\":\"foo\"}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"}]}",
         1, 7843277075252814651LL},
        {"026",
         "{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", "
         "\"default\":\"true\"},\n"
         "            {\"order\":\"descending\",\"name\":\"f2\",\"doc\":\"Hello\",\"type\":\"int\"}],\n"
         "  \"type\":\"record\", \"name\":\"foo\"\n}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"},"
         "{\"name\":\"f2\",\"type\":\"int\"}]}",
         1, -4860222112080293046LL},
        {"027", "{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
         "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}", 1, -6342190197741309591LL},
        {"028",
         "{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", \"doc\":\"foo bar\", "
         "\"symbols\":[\"A1\", \"A2\"]}",
         "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}", 1,
         -4448647247586288245LL},
        {"029", "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
         "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", 1, 1756455273707447556LL},
        {"030",
         "{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", \"doc\":\"foo bar\", "
         "\"size\":32}",
         "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}", 1, -3064184465700546786LL},
        {"031", "{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}",
         "{\"type\":\"array\",\"items\":\"null\"}", 1, -589620603366471059LL},
        {"032", "{ \"values\":\"string\", \"type\":\"map\"}",
         "{\"type\":\"map\",\"values\":\"string\"}", 1, -8732877298790414990LL},
        {"033",
         "  {\"name\":\"PigValue\",\"type\":\"record\",\n"
         "   \"fields\":[{\"name\":\"value\", \"type\":[\"null\", \"int\", \"long\", "
         "\"PigValue\"]}]}",
         "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":\"value\",\"type\":"
         "[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
         1, -1759257747318642341LL},
};

static void test_spec_vectors(void **state) {
        size_t i, n_fp = 0;
        char err[256];

        (void)state;
        for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                const vector_t *v = &vectors[i];
                char *c = ho_schema_canonical(v->input, strlen(v->input), err, sizeof(err));
                uint64_t fp = 0;

                if (!c)
                        fail_msg("vector %s: %s", v->id, err);
                if (strcmp(c, v->canonical))
                        fail_msg("vector %s: canonical %s, expected %s", v->id, c, v->canonical);
                /* the fingerprint is the CRC of the canonical form */
                assert_int_equal(ho_schema_fingerprint(v->input, strlen(v->input), &fp, err,
                                                       sizeof(err)),
                                 HO_OK);
                assert_true(fp == ho_crc64_avro(c, strlen(c)));
                if (v->has_fp) {
                        if ((int64_t)fp != v->fp)
                                fail_msg("vector %s: fingerprint %lld, expected %lld", v->id,
                                         (long long)(int64_t)fp, (long long)v->fp);
                        n_fp++;
                }
                free(c);
        }
        assert_int_equal(i, 34);
        assert_int_equal(n_fp, 26);
}

static void test_crc64(void **state) {
        (void)state;
        /* The specification: the fingerprint of nothing is EMPTY itself. */
        assert_true(ho_crc64_avro("", 0) == 0xc15d213aa4d7a795ULL);
        /* The spec's single-object example schema "int" ... */
        assert_true((int64_t)ho_crc64_avro("\"int\"", 5) == 8247732601305521295LL);
        /* ... and "string", bytewise */
        assert_true((int64_t)ho_crc64_avro("\"string\"", 8) == -8142146995180207161LL);
        /* one changed byte changes it */
        assert_true(ho_crc64_avro("\"inT\"", 5) != ho_crc64_avro("\"int\"", 5));
}

static void expect_canonical(const char *in, const char *want) {
        char err[256];
        char *c = ho_schema_canonical(in, strlen(in), err, sizeof(err));

        if (!c)
                fail_msg("%s: %s", in, err);
        if (strcmp(c, want))
                fail_msg("canonical of %s\n  got  %s\n  want %s", in, c, want);
        free(c);
}

static void expect_bad(const char *in, const char *needle) {
        char err[256] = "";
        char *c = ho_schema_canonical(in, strlen(in), err, sizeof(err));

        if (c)
                fail_msg("%s: accepted as %s", in, c);
        if (!strstr(err, needle))
                fail_msg("%s: error \"%s\" lacks \"%s\"", in, err, needle);
}

/* The rules themselves, beyond the published vectors: namespace
 * inheritance ([FULLNAMES]), references, [STRIP] of logical types. */
static void test_canonical_rules(void **state) {
        (void)state;
        expect_canonical("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.b\",\"fields\":["
                         "{\"name\":\"x\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
                         "\"symbols\":[\"A\"]}},"
                         "{\"name\":\"y\",\"type\":\"E\"},"
                         "{\"name\":\"z\",\"type\":{\"type\":\"fixed\",\"name\":\"c.F\","
                         "\"size\":2}},"
                         "{\"name\":\"w\",\"type\":{\"type\":\"record\",\"name\":\"In\","
                         "\"namespace\":\"\",\"fields\":[{\"name\":\"q\",\"type\":"
                         "{\"type\":\"array\",\"items\":\"c.F\"}}]}}]}",
                         "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":["
                         "{\"name\":\"x\",\"type\":{\"name\":\"a.b.E\",\"type\":\"enum\","
                         "\"symbols\":[\"A\"]}},"
                         "{\"name\":\"y\",\"type\":\"a.b.E\"},"
                         "{\"name\":\"z\",\"type\":{\"name\":\"c.F\",\"type\":\"fixed\","
                         "\"size\":2}},"
                         "{\"name\":\"w\",\"type\":{\"name\":\"In\",\"type\":\"record\","
                         "\"fields\":[{\"name\":\"q\",\"type\":{\"type\":\"array\","
                         "\"items\":\"c.F\"}}]}}]}");
        /* a nested type inherits the namespace of the dotted name it sits in */
        expect_canonical("{\"type\":\"record\",\"name\":\"p.q.R\",\"fields\":[{\"name\":\"s\","
                         "\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":[]}}]}",
                         "{\"name\":\"p.q.R\",\"type\":\"record\",\"fields\":[{\"name\":\"s\","
                         "\"type\":{\"name\":\"p.q.S\",\"type\":\"record\",\"fields\":[]}}]}");
        expect_canonical("{\"type\":\"int\",\"logicalType\":\"date\"}", "\"int\"");
        expect_canonical("{\"type\":\"fixed\",\"name\":\"D\",\"size\":16,\"logicalType\":"
                         "\"decimal\",\"precision\":4}",
                         "{\"name\":\"D\",\"type\":\"fixed\",\"size\":16}");
        expect_canonical("{\"type\":\"map\",\"values\":{\"type\":\"long\",\"logicalType\":"
                         "\"timestamp-millis\"}}",
                         "{\"type\":\"map\",\"values\":\"long\"}");
        /* [WHITESPACE] and [STRINGS]: escapes in names decode first */
        expect_canonical(" { \"type\" : \"record\" , \"name\" : \"\\u0041\" , \"fields\" : [ ] } ",
                         "{\"name\":\"A\",\"type\":\"record\",\"fields\":[]}");

        expect_bad("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                   "\"Nope\"}]}",
                   "unknown type \"Nope\"");
        expect_bad("{\"type\":\"record\",\"fields\":[]}", "\"name\"");
        expect_bad("{\"type\":\"array\"}", "element type");
        expect_bad("not json", "not JSON");
        expect_bad("{\"type\":\"record\",\"name\":\"1R\",\"fields\":[]}", "invalid name");
        expect_bad("[\"int\",[\"long\"]]", "union");
        expect_bad("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                   "\"int\"},{\"name\":\"a\",\"type\":\"int\"}]}",
                   "twice");
        expect_bad("{\"type\":\"fixed\",\"name\":\"F\"}", "size");
        expect_bad("42", "schema must be");
}

static void test_registry(void **state) {
        char err[256];
        ho_schema_registry_t *reg = ho_schema_registry_new(err, sizeof(err));
        const ho_schema_t *v1, *v2, *again;
        uint64_t fp;

        (void)state;
        assert_non_null(reg);
        v1 = ho_schema_registry_version(reg, 1);
        v2 = ho_schema_registry_version(reg, 2);
        assert_non_null(v1);
        assert_non_null(v2);
        assert_ptr_equal(ho_schema_registry_newest(reg), v2);
        assert_string_equal(v1->name, "transfer_report.v1.avsc");
        assert_ptr_equal(ho_schema_registry_find(reg, v1->fingerprint), v1);
        assert_ptr_equal(ho_schema_registry_find(reg, v2->fingerprint), v2);
        assert_null(ho_schema_registry_find(reg, 12345));
        assert_true(v1->fingerprint != v2->fingerprint);
        /* the entry's fingerprint is that of the file's canonical form */
        assert_int_equal(ho_schema_fingerprint(v2->json, strlen(v2->json), &fp, err, sizeof(err)),
                         HO_OK);
        assert_true(fp == v2->fingerprint);
        /* logical types and docs do not reach the canonical form */
        assert_null(strstr(v2->canonical, "logicalType"));
        assert_null(strstr(v2->canonical, "doc"));
        assert_non_null(strstr(v2->canonical, "{\"name\":\"handover.TransferReport\",\"type\":"
                                              "\"record\""));
        assert_non_null(strstr(v2->canonical, "{\"name\":\"handover.Person\""));
        /* adding a known schema returns it; a new one is added */
        again = ho_schema_registry_add(reg, v1->json, strlen(v1->json), err, sizeof(err));
        assert_ptr_equal(again, v1);
        again = ho_schema_registry_add_named(reg, "x.avsc", "\"int\"", 5, err, sizeof(err));
        assert_non_null(again);
        assert_int_equal(again->version, 0);
        assert_true((int64_t)again->fingerprint == 8247732601305521295LL);
        assert_ptr_equal(ho_schema_registry_newest(reg), v2);
        assert_null(ho_schema_registry_add(reg, "{", 1, err, sizeof(err)));
        assert_int_equal(ho_schema_registry_count(reg), 3);
        /* a file named as an existing version, with other content, is not that version */
        again = ho_schema_registry_add_named(reg, "transfer_report.v2.avsc", "\"long\"", 6, err,
                                             sizeof(err));
        assert_non_null(again);
        assert_int_equal(again->version, 0);
        assert_ptr_equal(ho_schema_registry_version(reg, 2), v2);
        again = ho_schema_registry_add_named(reg, "transfer_report.v3.avsc", "\"double\"", 8, err,
                                             sizeof(err));
        assert_int_equal(again->version, 3);
        assert_ptr_equal(ho_schema_registry_newest(reg), again);
        ho_schema_registry_destroy(reg);
}

static ho_err_t compat(const char *w, const char *r, char *err, size_t n) {
        return ho_schema_check_compat_json(w, strlen(w), r, strlen(r), err, n);
}

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"

static void test_compat(void **state) {
        char err[512];
        ho_schema_registry_t *reg = ho_schema_registry_new(err, sizeof(err));
        const ho_schema_t *v1 = ho_schema_registry_version(reg, 1),
                          *v2 = ho_schema_registry_version(reg, 2);

        (void)state;
        /* the project's own evolution: v1 <-> v2 both ways */
        assert_int_equal(ho_schema_entry_compat(v1, v2, err, sizeof(err)), HO_OK);
        assert_int_equal(ho_schema_entry_compat(v2, v1, err, sizeof(err)), HO_OK);

        /* a reader field without a default, missing from the writer */
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":"
                                    "\"int\"}"),
                                err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_non_null(strstr(err, "reader field \"b\""));
        /* with a default it is fine */
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":"
                                    "\"int\",\"default\":0}"),
                                err, sizeof(err)),
                         HO_OK);
        /* ... when the default is a value of the field's type (a union's: its first branch) */
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":"
                                    "\"int\",\"default\":\"0\"}"),
                                err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_non_null(
                strstr(err, "the default of reader field \"b\" is not a value of its type"));
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":"
                                    "[\"null\",\"int\"],\"default\":3}"),
                                err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":"
                                    "[\"null\",\"int\"],\"default\":null},{\"name\":\"m\","
                                    "\"type\":{\"type\":\"map\",\"values\":\"int\"},"
                                    "\"default\":{\"x\":1}}"),
                                err, sizeof(err)),
                         HO_OK);
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                                REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"m\","
                                    "\"type\":{\"type\":\"map\",\"values\":\"int\"},"
                                    "\"default\":{\"x\":\"1\"}}"),
                                err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        /* promotions one way only */
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"int\"}"),
                                REC("{\"name\":\"a\",\"type\":\"long\"}"), err, sizeof(err)),
                         HO_OK);
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"long\"}"),
                                REC("{\"name\":\"a\",\"type\":\"int\"}"), err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_non_null(strstr(err, "at \"a\": writer type \"long\" cannot be read as \"int\""));
        /* unions: a writer branch the reader lacks */
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":[\"null\",\"string\"]}"),
                                REC("{\"name\":\"a\",\"type\":\"string\"}"), err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_int_equal(compat(REC("{\"name\":\"a\",\"type\":\"string\"}"),
                                REC("{\"name\":\"a\",\"type\":[\"null\",\"string\"]}"), err,
                                sizeof(err)),
                         HO_OK);
        /* records match by unqualified name */
        assert_int_equal(compat("{\"type\":\"record\",\"name\":\"x.R\",\"fields\":[]}",
                                "{\"type\":\"record\",\"name\":\"y.R\",\"fields\":[]}", err,
                                sizeof(err)),
                         HO_OK);
        assert_int_equal(compat("{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}",
                                "{\"type\":\"record\",\"name\":\"S\",\"fields\":[]}", err,
                                sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        /* enums: a new writer symbol needs a reader default */
        assert_int_equal(compat("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}",
                                "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}", err,
                                sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_int_equal(compat("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}",
                                "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],"
                                "\"default\":\"A\"}",
                                err, sizeof(err)),
                         HO_OK);
        /* nested: a changed type inside persons */
        assert_int_equal(compat("{\"type\":\"array\",\"items\":" REC("{\"name\":\"n\",\"type\":"
                                                                     "\"int\"}") "}",
                                "{\"type\":\"array\",\"items\":" REC("{\"name\":\"n\",\"type\":"
                                                                     "\"string\"}") "}",
                                err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        assert_non_null(strstr(err, "items.n"));
        /* recursive types terminate */
        assert_int_equal(compat(vectors[33].input, vectors[33].input, err, sizeof(err)), HO_OK);
        /* fixed sizes */
        assert_int_equal(compat("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}",
                                "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}", err, sizeof(err)),
                         HO_ERR_INCOMPATIBLE);
        /* the avro-c form: v2 -> v1 works (writer extra field is skipped) */
        assert_int_equal(ho_schema_check_compat(v2->avro, v1->avro, err, sizeof(err)), HO_OK);
        ho_schema_registry_destroy(reg);
}

/* ---- the handover-schema tool, run as a user would ----------------------- */

static char tool[4096], tmpdir[64];

static void find_tool(void) {
        const char *bin = getenv("HO_BIN_DIR");
        char self[2048];
        ssize_t n;

        if (bin && *bin) {
                snprintf(tool, sizeof(tool), "%s/handover-schema", bin);
        } else {
                /* run by hand: tests/ and bin/ are siblings in the build dir */
                n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                assert_true(n > 0);
                self[n] = '\0';
                *strrchr(self, '/') = '\0';
                snprintf(tool, sizeof(tool), "%s/../bin/handover-schema", self);
        }
        if (access(tool, X_OK))
                fail_msg("handover-schema not found at %s (build it first)", tool);
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_schema_XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
}

static void put_file(const char *name, const char *text, char *path, size_t path_size) {
        FILE *fp;

        snprintf(path, path_size, "%s/%s", tmpdir, name);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
}

/* Run "tool ARGS", capture stdout (and stderr when merge), return exit code. */
static int run(const char *args, char *out, size_t out_size, int merge) {
        char cmd[16384];
        FILE *p;
        size_t n;
        int st;

        snprintf(cmd, sizeof(cmd), "('%s' %s)%s", tool, args, merge ? " 2>&1" : " 2>/dev/null");
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(out, 1, out_size - 1, p);
        out[n] = '\0';
        st = pclose(p);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_tool_vectors(void **state) {
        char path[256], args[512], out[4096], want[64];
        size_t i;

        (void)state;
        find_tool();
        for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                const vector_t *v = &vectors[i];

                put_file("v.avsc", v->input, path, sizeof(path));
                snprintf(args, sizeof(args), "canonical '%s'", path);
                assert_int_equal(run(args, out, sizeof(out), 0), 0);
                snprintf(want, sizeof(want), "%s", ""); /* canonical + newline */
                if (strncmp(out, v->canonical, strlen(v->canonical)) ||
                    strcmp(out + strlen(v->canonical), "\n"))
                        fail_msg("vector %s: tool printed %s", v->id, out);
                if (!v->has_fp)
                        continue;
                snprintf(args, sizeof(args), "fingerprint '%s'", path);
                assert_int_equal(run(args, out, sizeof(out), 0), 0);
                snprintf(want, sizeof(want), "%lld\n", (long long)v->fp);
                if (strcmp(out, want))
                        fail_msg("vector %s: tool printed %s, spec says %s", v->id, out, want);
        }
        /* --hex: the wire bytes, little-endian; "int" is 8247732601305521295 =
         * 0x7275d51a3f395c8f */
        put_file("int.avsc", "\"int\"", path, sizeof(path));
        snprintf(args, sizeof(args), "fingerprint --hex '%s'", path);
        assert_int_equal(run(args, out, sizeof(out), 0), 0);
        assert_string_equal(out, "8f5c393f1ad57572\n");
        /* stdin */
        snprintf(args, sizeof(args), "fingerprint - < '%s'", path);
        assert_int_equal(run(args, out, sizeof(out), 0), 0);
        assert_string_equal(out, "8247732601305521295\n");
}

static void test_tool_commands(void **state) {
        char args[8192], out[8192], v1[256], v2[256], bad[256], in[256], enc[256];
        const char *src = getenv("HO_SOURCE_DIR");

        (void)state;
        find_tool();
        assert_int_equal(run("-h", out, sizeof(out), 0), 0);
        assert_non_null(strstr(out, "usage: handover-schema"));
        assert_int_equal(run("-V", out, sizeof(out), 0), 0);
        assert_non_null(strstr(out, "avro-c"));
        assert_int_equal(run("", out, sizeof(out), 1), 2);
        assert_int_equal(run("frobnicate", out, sizeof(out), 1), 2);
        assert_non_null(strstr(out, "unknown command \"frobnicate\""));
        assert_int_equal(run("fingerprint --bogus x", out, sizeof(out), 1), 2);
        assert_int_equal(run("canonical /nonexistent.avsc", out, sizeof(out), 1), 1);

        /* check: the embedded v1/v2 pair, written out from the registry */
        char err[256];
        ho_schema_registry_t *reg = ho_schema_registry_new(err, sizeof(err));
        assert_non_null(reg);
        put_file("transfer_report.v1.avsc", ho_schema_registry_version(reg, 1)->json, v1,
                 sizeof(v1));
        put_file("transfer_report.v2.avsc", ho_schema_registry_version(reg, 2)->json, v2,
                 sizeof(v2));
        ho_schema_registry_destroy(reg);
        snprintf(args, sizeof(args), "check '%s' '%s'", v1, v2);
        assert_int_equal(run(args, out, sizeof(out), 0), 0);
        assert_non_null(strstr(out, "can be read with"));
        put_file("bad.avsc",
                 "{\"type\":\"record\",\"name\":\"TransferReport\",\"namespace\":"
                 "\"handover\",\"fields\":[{\"name\":\"report_id\",\"type\":\"string\"},"
                 "{\"name\":\"extra\",\"type\":\"int\"}]}",
                 bad, sizeof(bad));
        snprintf(args, sizeof(args), "check '%s' '%s'", v2, bad);
        assert_int_equal(run(args, out, sizeof(out), 0), 1);
        assert_non_null(strstr(out, "reader field \"extra\" is not in the writer's record "
                                    "\"handover.TransferReport\" and has no default"));
        /* and the reverse: v2 fields the short writer lacks */
        assert_non_null(strstr(out, "reader field \"transfer_id\" is not in the writer's"));

        /* encode -> decode, with a bad line named by FILE:LINE */
        put_file("in.jsonl",
                 "{\"transfer_id\":\"t1\",\"occurred_on\":\"2025-02-27\",\"reported_at\":"
                 "\"2025-02-27T23:00:00Z\",\"source\":\"AP\",\"origin_country\":\"MX\","
                 "\"destination_country\":\"US\",\"inmate_count\":29}\n"
                 "\n"
                 "{\"transfer_id\":\"t2\",\"inmates\":1}\n"
                 "{\"transfer_id\":\"t3\",\"occurred_on\":\"2026-01-20\",\"reported_at\":"
                 "\"2026-01-21T05:47:00Z\",\"source\":\"AP\",\"origin_country\":\"MX\","
                 "\"destination_country\":\"US\",\"inmate_count\":37,"
                 "\"inmates_by_destination\":{\"Houston\":37}}\n",
                 in, sizeof(in));
        snprintf(enc, sizeof(enc), "%s/out.bin", tmpdir);
        snprintf(args, sizeof(args), "encode --schema v1 '%s' 2>&1 >'%s'", in, enc);
        assert_int_equal(run(args, out, sizeof(out), 0), 1);
        assert_non_null(strstr(out, "in.jsonl:3: unknown field \"inmates\" (did you mean "
                                    "\"inmate_count\"?)"));
        snprintf(args, sizeof(args), "decode '%s'", enc);
        assert_int_equal(run(args, out, sizeof(out), 0), 0);
        assert_non_null(strstr(out, "{\"schema\":\"transfer_report.v1.avsc\",\"report\":{"
                                    "\"report_id\":\"r-"));
        assert_non_null(strstr(out, "\"transfer_id\":\"t3\""));
        assert_non_null(strstr(out, "\"inmates_by_destination\":{}}}\n"));
        snprintf(args, sizeof(args), "encode '%s' 2>/dev/null | '%s' decode", in, tool);
        assert_int_equal(run(args, out, sizeof(out), 0), 0);
        assert_non_null(strstr(out, "{\"schema\":\"transfer_report.v2.avsc\""));
        assert_non_null(strstr(out, "\"inmates_by_destination\":{\"Houston\":37}}}\n"));
        /* a damaged value is named with its record number and error */
        snprintf(args, sizeof(args), "decode < /dev/null");
        assert_int_equal(run(args, out, sizeof(out), 0), 0);
        snprintf(bad, sizeof(bad), "%s/junk.bin", tmpdir);
        FILE *jf = fopen(bad, "wb");
        assert_non_null(jf);
        assert_int_equal(fwrite("\x00\x00\x00\x03"
                                "abc",
                                1, 7, jf),
                         7);
        fclose(jf);
        snprintf(args, sizeof(args), "decode '%s'", bad);
        assert_int_equal(run(args, out, sizeof(out), 1), 1);
        assert_non_null(strstr(out, "record 1 at byte 0: BAD_MARKER"));
        /* the repository's schema files, when the source tree is known */
        if (src && *src) {
                snprintf(args, sizeof(args),
                         "check '%s/schemas/transfer_report.v1.avsc' "
                         "'%s/schemas/transfer_report.v2.avsc'",
                         src, src);
                assert_int_equal(run(args, out, sizeof(out), 0), 0);
        }
        snprintf(args, sizeof(args), "rm -rf '%s'", tmpdir);
        assert_int_equal(system(args), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spec_vectors),    cmocka_unit_test(test_crc64),
                cmocka_unit_test(test_canonical_rules), cmocka_unit_test(test_registry),
                cmocka_unit_test(test_compat),          cmocka_unit_test(test_tool_vectors),
                cmocka_unit_test(test_tool_commands),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
