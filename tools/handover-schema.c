/*
 * handover-schema: an operator's window onto the codec. Prints a schema's
 * Parsing Canonical Form and CRC-64-AVRO fingerprint, checks two schemas'
 * compatibility both ways, and converts report JSON lines to single-object
 * encoded values and back. See docs/codec.md.
 *
 * Framing of encoded files: each record is a 4-byte big-endian length N
 * followed by N bytes of single-object encoding (C3 01, fingerprint, datum).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "handover/codec.h"
#include "handover/conf.h"
#include "handover/jreport.h"
#include "handover/schema.h"

#define PROG "handover-schema"
#define MAX_RECORD (64u << 20) /* a framed record larger than this is not ours */

static void usage(FILE *fp) {
        fprintf(fp,
                "usage: " PROG " COMMAND [ARGS]\n"
                "\n"
                "  canonical FILE|-                print the schema's Parsing Canonical Form\n"
                "  fingerprint [--hex] FILE|-      print its CRC-64-AVRO fingerprint: a signed\n"
                "                                  64-bit decimal (as the Avro specification's\n"
                "                                  vectors), or with --hex the 8 bytes as they\n"
                "                                  stand on the wire (little-endian)\n"
                "  check OLD NEW                   can data written with OLD be read with NEW,\n"
                "                                  and the reverse? (reason when not)\n"
                "  encode [--schema v1|v2|FILE] [FILE|-]\n"
                "                                  report JSON lines -> framed single-object\n"
                "                                  values on stdout (4-byte big-endian length,\n"
                "                                  then the value); the writer schema defaults\n"
                "                                  to the newest\n"
                "  decode [--registry URL] [FILE|-]\n"
                "                                  framed values -> JSON lines\n"
                "                                  {\"schema\":\"<writer schema>\",\"report\":{...}};\n"
                "                                  with a registry also\n"
                "                                  values in the Confluent framing (00, schema\n"
                "                                  id), which add \"schema_id\":N\n"
                "  schemas                         list the known schemas and fingerprints\n"
                "\n"
                "  -h, --help     this help        -V, --version  versions\n"
                "\n"
                "exit codes: 0 ok (check: compatible both ways), 1 failure (check:\n"
                "incompatible; encode/decode: some record was bad), 2 usage\n");
}

static int usage_error(const char *fmt, const char *arg) {
        fprintf(stderr, PROG ": ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\n(try \"" PROG " -h\")\n");
        return HO_EXIT_USAGE;
}

/* The whole of FILE or stdin ("-"); NULL with a message on failure. */
static char *slurp(const char *path, size_t *lenp) {
        ho_buf_t b = HO_BUF_INIT;
        char err[512];
        if (ho_buf_slurp(&b, path, 0, err, sizeof(err))) {
                fprintf(stderr, PROG ": %s\n", err);
                ho_buf_free(&b);
                return NULL;
        }
        return ho_buf_steal(&b, lenp);
}

static int cmd_canonical(int argc, char **argv) {
        char err[512], *json, *c;
        size_t len;

        if (argc != 2)
                return usage_error("canonical takes one FILE (or - for stdin)%s", "");
        if (!(json = slurp(argv[1], &len)))
                return HO_EXIT_FAIL;
        c = ho_schema_canonical(json, len, err, sizeof(err));
        free(json);
        if (!c) {
                fprintf(stderr, PROG ": \"%s\": %s\n", argv[1], err);
                return HO_EXIT_FAIL;
        }
        printf("%s\n", c);
        free(c);
        return HO_EXIT_OK;
}

static int cmd_fingerprint(int argc, char **argv) {
        char err[512], *json;
        int hex = 0, i;
        const char *path = NULL;
        uint64_t fp;
        size_t len;

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--hex"))
                        hex = 1;
                else if (argv[i][0] == '-' && argv[i][1])
                        return usage_error("fingerprint: unknown option \"%s\"", argv[i]);
                else if (path)
                        return usage_error("fingerprint takes one FILE%s", "");
                else
                        path = argv[i];
        }
        if (!path)
                return usage_error("fingerprint takes one FILE (or - for stdin)%s", "");
        if (!(json = slurp(path, &len)))
                return HO_EXIT_FAIL;
        if (ho_schema_fingerprint(json, len, &fp, err, sizeof(err))) {
                free(json);
                fprintf(stderr, PROG ": \"%s\": %s\n", path, err);
                return HO_EXIT_FAIL;
        }
        free(json);
        if (hex) {
                for (i = 0; i < 8; i++)
                        printf("%02x", (unsigned)((fp >> (8 * i)) & 0xff));
                printf("\n");
        } else {
                printf("%" PRId64 "\n", (int64_t)fp);
        }
        return HO_EXIT_OK;
}

static int cmd_check(int argc, char **argv) {
        char err[512], *a, *b;
        size_t alen, blen;
        int bad = 0, dir;

        if (argc != 3)
                return usage_error("check takes two files: OLD NEW%s", "");
        if (!(a = slurp(argv[1], &alen)))
                return HO_EXIT_FAIL;
        if (!(b = slurp(argv[2], &blen))) {
                free(a);
                return HO_EXIT_FAIL;
        }
        for (dir = 0; dir < 2; dir++) {
                const char *wn = dir ? argv[2] : argv[1], *rn = dir ? argv[1] : argv[2];
                ho_err_t e = dir ? ho_schema_check_compat_json(b, blen, a, alen, err, sizeof(err))
                                 : ho_schema_check_compat_json(a, alen, b, blen, err, sizeof(err));
                if (!e) {
                        printf("ok: data written with \"%s\" can be read with \"%s\"\n", wn, rn);
                } else if (e == HO_ERR_INCOMPATIBLE) {
                        printf("incompatible: data written with \"%s\" cannot be read with "
                               "\"%s\": %s\n",
                               wn, rn, err);
                        bad = 1;
                } else {
                        fprintf(stderr, PROG ": %s\n", err);
                        free(a);
                        free(b);
                        return HO_EXIT_FAIL;
                }
        }
        free(a);
        free(b);
        return bad ? HO_EXIT_FAIL : HO_EXIT_OK;
}

static int cmd_encode(int argc, char **argv) {
        const char *schema = NULL, *path = "-";
        char err[512], *line = NULL;
        size_t cap = 0, lineno = 0, bad = 0, good = 0;
        ssize_t n;
        ho_buf_t out = HO_BUF_INIT;
        ho_report_t r;
        ho_codec_t *c;
        FILE *fp;
        int i, have_path = 0;

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--schema")) {
                        if (++i == argc)
                                return usage_error("--schema needs v1, v2 or a FILE%s", "");
                        schema = argv[i];
                } else if (!strncmp(argv[i], "--schema=", 9)) {
                        schema = argv[i] + 9;
                } else if (argv[i][0] == '-' && argv[i][1]) {
                        return usage_error("encode: unknown option \"%s\"", argv[i]);
                } else if (have_path++) {
                        return usage_error("encode takes at most one FILE%s", "");
                } else {
                        path = argv[i];
                }
        }
        if (isatty(STDOUT_FILENO))
                return usage_error("encode writes binary: redirect stdout to a file%s", "");
        if (!(c = ho_codec_new(err, sizeof(err)))) {
                fprintf(stderr, PROG ": %s\n", err);
                return HO_EXIT_FAIL;
        }
        if (schema && ho_codec_set_writer(c, schema, err, sizeof(err))) {
                fprintf(stderr, PROG ": --schema: %s\n", err);
                ho_codec_destroy(c);
                return HO_EXIT_FAIL;
        }
        fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
        if (!fp) {
                fprintf(stderr, PROG ": cannot open \"%s\": %s\n", path, strerror(errno));
                ho_codec_destroy(c);
                return HO_EXIT_FAIL;
        }
        ho_report_init(&r);
        while ((n = getline(&line, &cap, fp)) >= 0) {
                lineno++;
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                if (strspn(line, " \t") == (size_t)n)
                        continue; /* blank lines carry nothing */
                ho_buf_reset(&out);
                ho_buf_append(&out, "\0\0\0\0", 4);
                if (ho_report_from_json(line, (size_t)n, &r, err, sizeof(err)) ||
                    ho_codec_encode(c, &r, &out, err, sizeof(err))) {
                        fprintf(stderr, PROG ": %s:%zu: %s\n", path, lineno, err);
                        bad++;
                        continue;
                }
                size_t len = out.len - 4;
                out.data[0] = (char)(len >> 24);
                out.data[1] = (char)(len >> 16);
                out.data[2] = (char)(len >> 8);
                out.data[3] = (char)len;
                if (fwrite(out.data, 1, out.len, stdout) != out.len) {
                        fprintf(stderr, PROG ": cannot write: %s\n", strerror(errno));
                        bad++;
                        break;
                }
                good++;
        }
        if (ferror(fp)) {
                fprintf(stderr, PROG ": cannot read \"%s\": %s\n", path, strerror(errno));
                bad++;
        }
        if (fflush(stdout)) {
                fprintf(stderr, PROG ": cannot write: %s\n", strerror(errno));
                bad++;
        }
        if (fp != stdin)
                fclose(fp);
        free(line);
        ho_buf_free(&out);
        ho_report_clear(&r);
        ho_codec_destroy(c);
        if (bad)
                fprintf(stderr, PROG ": %zu records encoded, %zu lines rejected\n", good, bad);
        return bad ? HO_EXIT_FAIL : HO_EXIT_OK;
}

static int cmd_decode(int argc, char **argv) {
        const char *url = NULL; /* only from the command line, as the worker's */
        ho_registry_t *rg = NULL;
        if (argc > 1 && !strcmp(argv[1], "--registry")) {
                if (argc < 3)
                        return usage_error("decode: --registry needs a URL%s", "");
                url = argv[2];
                argc -= 2;
                argv += 2;
        }
        const char *path = argc > 1 ? argv[1] : "-";
        unsigned char hdr[4];
        char err[512];
        ho_buf_t val = HO_BUF_INIT;
        ho_report_t r;
        ho_codec_t *c;
        size_t rec = 0, bad = 0, got;
        uint64_t offset = 0;
        FILE *fp;

        if (argc > 2)
                return usage_error("decode takes at most one FILE%s", "");
        if (argc > 1 && argv[1][0] == '-' && argv[1][1])
                return usage_error("decode: unknown option \"%s\"", argv[1]);
        if (!(c = ho_codec_new(err, sizeof(err)))) {
                fprintf(stderr, PROG ": %s\n", err);
                return HO_EXIT_FAIL;
        }
        fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        if (!fp) {
                fprintf(stderr, PROG ": cannot open \"%s\": %s\n", path, strerror(errno));
                ho_codec_destroy(c);
                return HO_EXIT_FAIL;
        }
        if (url && *url) {
                if (!(rg = ho_registry_new(url, err, sizeof(err)))) {
                        fprintf(stderr, PROG ": decode: --registry: %s\n", err);
                        if (fp != stdin)
                                fclose(fp);
                        ho_codec_destroy(c);
                        return HO_EXIT_USAGE;
                }
                ho_codec_set_registry(c, rg);
        }
        ho_report_init(&r);
        while ((got = fread(hdr, 1, 4, fp)) > 0) {
                uint32_t len;

                rec++;
                if (got < 4) {
                        fprintf(stderr,
                                PROG ": %s: record %zu at byte %" PRIu64
                                     ": file ends inside the 4-byte length\n",
                                path, rec, offset);
                        bad++;
                        break;
                }
                len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
                      hdr[3];
                if (len > MAX_RECORD) {
                        fprintf(stderr,
                                PROG ": %s: record %zu at byte %" PRIu64 ": length %" PRIu32
                                     " is not plausible (over 64 MiB)\n",
                                path, rec, offset, len);
                        bad++;
                        break;
                }
                ho_buf_reset(&val);
                if (ho_buf_reserve(&val, len)) {
                        fprintf(stderr, PROG ": out of memory\n");
                        bad++;
                        break;
                }
                if (fread(val.data, 1, len, fp) != len) {
                        fprintf(stderr,
                                PROG ": %s: record %zu at byte %" PRIu64
                                     ": file ends inside the %" PRIu32 "-byte value\n",
                                path, rec, offset, len);
                        bad++;
                        break;
                }
                val.len = len;
                ho_err_t e = ho_codec_decode(c, val.data, val.len, &r, err, sizeof(err));
                if (e) {
                        fprintf(stderr, PROG ": %s: record %zu at byte %" PRIu64 ": %s: %s\n", path,
                                rec, offset, ho_err_name(e), err);
                        bad++;
                } else {
                        const ho_schema_t *s = ho_codec_last_writer(c);
                        json_t *o = json_object();
                        int32_t id;
                        char *text;

                        json_object_set_new(o, "schema", json_string(s ? s->name : "?"));
                        if (!ho_confluent_id(val.data, val.len, &id))
                                json_object_set_new(o, "schema_id", json_integer(id));
                        json_object_set_new(o, "report", ho_report_to_json(&r));
                        text = json_dumps(o, JSON_COMPACT);
                        json_decref(o);
                        if (text)
                                printf("%s\n", text);
                        free(text);
                }
                offset += 4 + (uint64_t)len;
        }
        if (ferror(fp)) {
                fprintf(stderr, PROG ": cannot read \"%s\": %s\n", path, strerror(errno));
                bad++;
        }
        if (fp != stdin)
                fclose(fp);
        ho_buf_free(&val);
        ho_report_clear(&r);
        ho_codec_destroy(c);
        ho_registry_destroy(rg);
        if (fflush(stdout)) {
                fprintf(stderr, PROG ": cannot write: %s\n", strerror(errno));
                bad++;
        }
        return bad ? HO_EXIT_FAIL : HO_EXIT_OK;
}

static int cmd_schemas(int argc, char **argv) {
        char err[512];
        ho_schema_registry_t *reg;
        size_t i;

        if (argc != 1)
                return usage_error("schemas takes no arguments%s", "");
        if (!(reg = ho_schema_registry_new(err, sizeof(err)))) {
                fprintf(stderr, PROG ": %s\n", err);
                return HO_EXIT_FAIL;
        }
        for (i = 0; i < ho_schema_registry_count(reg); i++) {
                const ho_schema_t *s = ho_schema_registry_at(reg, i);
                int k;

                printf("%s\t%" PRId64 "\t", s->name, (int64_t)s->fingerprint);
                for (k = 0; k < 8; k++)
                        printf("%02x", (unsigned)((s->fingerprint >> (8 * k)) & 0xff));
                printf("%s\n", s == ho_schema_registry_newest(reg) ? "\tnewest" : "");
        }
        ho_schema_registry_destroy(reg);
        return HO_EXIT_OK;
}

int main(int argc, char **argv) {
        const char *cmd;

        if (argc < 2) {
                usage(stderr);
                return HO_EXIT_USAGE;
        }
        cmd = argv[1];
        if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
                usage(stdout);
                return HO_EXIT_OK;
        }
        if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
                ho_print_version(stdout, PROG);
                return HO_EXIT_OK;
        }
        argc--;
        argv++;
        if (!strcmp(cmd, "canonical"))
                return cmd_canonical(argc, argv);
        if (!strcmp(cmd, "fingerprint"))
                return cmd_fingerprint(argc, argv);
        if (!strcmp(cmd, "check"))
                return cmd_check(argc, argv);
        if (!strcmp(cmd, "encode"))
                return cmd_encode(argc, argv);
        if (!strcmp(cmd, "decode"))
                return cmd_decode(argc, argv);
        if (!strcmp(cmd, "schemas"))
                return cmd_schemas(argc, argv);
        return usage_error("unknown command \"%s\"", cmd);
}
