/*
 * input.c: handover-produce's inputs (see input.h): JSON Lines through the
 * line reader, Avro object container files through avro-c after a scan of
 * their block structure, each record turned into a validated report.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <avro.h>
#include "handover/input.h"
#include "handover/jreport.h"
#include "handover/schema.h"

/* ==== Avro object container files ======================================== */

/* Read one zig-zag varint long from fp. */
static int ocf_read_long(FILE *fp, int64_t *out) {
        uint64_t v = 0;
        int shift = 0, c;

        do {
                if (shift >= 64 || (c = getc(fp)) == EOF)
                        return -1;
                v |= (uint64_t)(c & 0x7f) << shift;
                shift += 7;
        } while (c & 0x80);
        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return 0;
}

static int ocf_skip(FILE *fp, int64_t n) {
        char tmp[4096];

        if (n < 0)
                return -1;
        while (n > 0) {
                size_t k = n > (int64_t)sizeof(tmp) ? sizeof(tmp) : (size_t)n;
                if (fread(tmp, 1, k, fp) != k)
                        return -1;
                n -= (int64_t)k;
        }
        return 0;
}

ho_err_t ho_avro_container_scan(FILE *fp, uint64_t *records, char *errstr, size_t errstr_size) {
        unsigned char magic[4], sync[16], s2[16];
        int64_t count, size;
        uint64_t total = 0, block = 0;

        if (fread(magic, 1, 4, fp) != 4 || memcmp(magic, "Obj\x01", 4) != 0)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_AVRO,
                                 "not an Avro object container file (no \"Obj\\x01\" magic)");
        /* header metadata: a map of bytes, in blocks, ended by a zero count */
        for (;;) {
                if (ocf_read_long(fp, &count) != 0)
                        goto truncated;
                if (count == 0)
                        break;
                if (count < 0) {
                        count = -count;
                        if (ocf_read_long(fp, &size) != 0)
                                goto truncated;
                }
                for (int64_t i = 0; i < count; i++) {
                        int64_t klen, vlen;
                        if (ocf_read_long(fp, &klen) != 0 || ocf_skip(fp, klen) != 0 ||
                            ocf_read_long(fp, &vlen) != 0 || ocf_skip(fp, vlen) != 0)
                                goto truncated;
                }
        }
        if (fread(sync, 1, 16, fp) != 16)
                goto truncated;
        for (;;) {
                int c = getc(fp);
                if (c == EOF)
                        break;
                ungetc(c, fp);
                block++;
                if (ocf_read_long(fp, &count) != 0 || ocf_read_long(fp, &size) != 0)
                        goto truncated;
                if (count < 0 || size < 0)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOT_AVRO,
                                         "block %" PRIu64 ": negative record count or size", block);
                if (ocf_skip(fp, size) != 0 || fread(s2, 1, 16, fp) != 16)
                        goto truncated;
                if (memcmp(sync, s2, 16) != 0)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOT_AVRO,
                                         "block %" PRIu64 ": wrong sync marker", block);
                total += (uint64_t)count;
        }
        *records = total;
        return HO_OK;
truncated:
        if (ferror(fp))
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "read error: %s", strerror(errno));
        return ho_seterr(errstr, errstr_size, HO_ERR_TRUNCATED,
                         "truncated container file (in block %" PRIu64 ")", block);
}

/* ==== inputs ============================================================= */

struct ho_input_s {
        char *name;
        unsigned index;
        ho_format_t format;
        ho_codec_t *codec; /* borrowed */
        int64_t size;
        /* JSON Lines */
        ho_lines_t *lines;
        const char *last_line;
        size_t last_len;
        /* Avro container */
        FILE *fp;
        avro_file_reader_t afr;
        avro_schema_t wschema; /* the file's writer schema (see avro_writer_schema_is_ours) */
        avro_value_iface_t *rclass;
        avro_value_t rvalue;
        bool have_values;
        uint64_t records_total, records_read;
};

/* Records are read with a generic value of the file's own writer schema and
 * mapped to a report by field name (ho_codec_value_to_report): avro-c
 * 1.11.1's resolver cannot fill a reader field the writer lacks (v1 data
 * read as v2), see codec.c. The file's schema is first checked, with its
 * defaults, to be readable as the newest schema. */
static ho_err_t input_open_avro(ho_input_t *in, const char *path, char *errstr,
                                size_t errstr_size) {
        char why[512];
        const ho_schema_t *newest;
        avro_schema_t writer;
        avro_writer_t jw;
        ho_buf_t wjson = HO_BUF_INIT;
        ho_err_t err;

        in->fp = fopen(path, "rb");
        if (!in->fp)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot open \"%s\": %s", path,
                                 strerror(errno));
        err = ho_avro_container_scan(in->fp, &in->records_total, why, sizeof(why));
        if (err)
                return ho_seterr(errstr, errstr_size, err, "\"%s\": %s", path, why);
        rewind(in->fp);
        if (in->records_total == 0)
                return HO_OK; /* nothing to read (and avro-c cannot open it) */
        if (avro_file_reader_fp(in->fp, path, 0, &in->afr) != 0) {
                in->afr = NULL;
                return ho_seterr(errstr, errstr_size, HO_ERR_NOT_AVRO,
                                 "\"%s\": cannot read Avro container: %s", path, avro_strerror());
        }
        newest = ho_schema_registry_newest(ho_codec_registry(in->codec));
        writer = in->wschema = avro_file_reader_get_writer_schema(in->afr);
        if (!newest || !writer)
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                                 "\"%s\": no writer or reader schema", path);
        /* the file's schema as JSON, to check it against the newest with defaults */
        if (ho_buf_reserve(&wjson, 1u << 16) != HO_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        jw = avro_writer_memory(wjson.data, wjson.cap - 1);
        if (!jw || avro_schema_to_json(writer, jw) != 0) {
                if (jw)
                        avro_writer_free(jw);
                ho_buf_free(&wjson);
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                                 "\"%s\": cannot print the file's schema: %s", path,
                                 avro_strerror());
        }
        wjson.len = (size_t)avro_writer_tell(jw);
        avro_writer_free(jw);
        err = ho_schema_check_compat_json(wjson.data, wjson.len, newest->json, strlen(newest->json),
                                          why, sizeof(why));
        ho_buf_free(&wjson);
        if (err)
                return ho_seterr(errstr, errstr_size, HO_ERR_INCOMPATIBLE,
                                 "\"%s\": the file's schema cannot be read as \"%s\": %s", path,
                                 newest->name, why);
        in->rclass = avro_generic_class_from_schema(in->wschema);
        if (!in->rclass || avro_generic_value_new(in->rclass, &in->rvalue) != 0)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "\"%s\": %s", path,
                                 avro_strerror());
        in->have_values = true;
        return HO_OK;
}

ho_input_t *ho_input_open(const char *path, unsigned index, bool follow, ho_codec_t *codec,
                          char *errstr, size_t errstr_size) {
        bool is_stdin = strcmp(path, "-") == 0;
        ho_input_t *in = calloc(1, sizeof(*in));
        const char *head;
        size_t got;
        struct stat st;

        if (!in) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        in->index = index;
        in->codec = codec;
        in->size = -1;
        in->name = strdup(is_stdin ? "<stdin>" : path);
        if (!in->name) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                goto fail;
        }
        if (is_stdin) {
                if (follow) {
                        ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                  "--follow needs a file name, not standard input");
                        goto fail;
                }
                in->lines = ho_lines_new_fd(STDIN_FILENO, 0, 100, errstr, errstr_size);
                if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode))
                        in->size = (int64_t)st.st_size;
        } else {
                in->lines = ho_lines_open(path, follow, 0, errstr, errstr_size);
                if (in->lines && stat(path, &st) == 0 && S_ISREG(st.st_mode) && !follow)
                        in->size = (int64_t)st.st_size;
        }
        if (!in->lines)
                goto fail;
        if (ho_lines_peek(in->lines, 4, &head, &got, errstr, errstr_size) != HO_OK) {
                char why[512];
                snprintf(why, sizeof(why), "%s", errstr);
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "\"%s\": %s", in->name, why);
                goto fail;
        }
        if (got == 4 && memcmp(head, "Obj\x01", 4) == 0) {
                if (is_stdin || follow) {
                        ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                  "\"%s\" is an Avro container file: give it by name, without "
                                  "--follow",
                                  in->name);
                        goto fail;
                }
                ho_lines_destroy(in->lines);
                in->lines = NULL;
                in->format = HO_FORMAT_AVRO;
                if (input_open_avro(in, path, errstr, errstr_size) != HO_OK)
                        goto fail;
        }
        return in;
fail:
        ho_input_destroy(in);
        return NULL;
}

/* avro-c 1.11.1's avro_file_reader_get_writer_schema() returns a new
 * reference (its header does not say so; found with ASan and valgrind: 9 KB
 * per file); later releases return a borrowed one. Release it only where it
 * was handed over. */
static bool avro_writer_schema_is_ours(void) {
#ifdef HO_AVRO_VERSION
        return strcmp(HO_AVRO_VERSION, "1.11.1") == 0;
#else
        return false;
#endif
}

void ho_input_destroy(ho_input_t *in) {
        if (!in)
                return;
        ho_lines_destroy(in->lines);
        if (in->have_values)
                avro_value_decref(&in->rvalue);
        if (in->rclass)
                avro_value_iface_decref(in->rclass);
        if (in->wschema && avro_writer_schema_is_ours())
                avro_schema_decref(in->wschema);
        if (in->afr)
                avro_file_reader_close(in->afr);
        if (in->fp)
                fclose(in->fp);
        free(in->name);
        free(in);
}

ho_format_t ho_input_format(const ho_input_t *in) {
        return in->format;
}

const char *ho_input_name(const ho_input_t *in) {
        return in->name;
}

const char *ho_input_last_line(const ho_input_t *in, size_t *len) {
        *len = in->last_line ? in->last_len : 0;
        return in->last_line;
}

uint64_t ho_input_bytes_read(const ho_input_t *in) {
        if (in->lines)
                return ho_lines_bytes_read(in->lines);
        if (in->fp) {
                long off = ftell(in->fp);
                return off > 0 ? (uint64_t)off : 0;
        }
        return 0;
}

void ho_input_follow_events(const ho_input_t *in, unsigned *reopens, unsigned *truncations) {
        *reopens = in->lines ? ho_lines_reopens(in->lines) : 0;
        *truncations = in->lines ? ho_lines_truncations(in->lines) : 0;
}

int64_t ho_input_size(const ho_input_t *in) {
        return in->size;
}

unsigned ho_input_index(const ho_input_t *in) {
        return in->index;
}

ho_lines_t *ho_input_lines(ho_input_t *in) {
        return in->lines;
}

static ho_input_status_t input_next_avro(ho_input_t *in, ho_report_t *out, ho_pos_t *pos,
                                         char *errstr, size_t errstr_size) {
        char why[512];

        if (in->records_read >= in->records_total)
                return HO_INPUT_EOF;
        avro_value_reset(&in->rvalue);
        in->records_read++;
        *pos = HO_POS(in->index, in->records_read);
        if (avro_file_reader_read_value(in->afr, &in->rvalue) != 0) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOT_AVRO,
                          "cannot read record %" PRIu64 ": %s", in->records_read, avro_strerror());
                return HO_INPUT_ERROR;
        }
        if (ho_codec_value_to_report(in->codec, &in->rvalue, out, why, sizeof(why)) != HO_OK ||
            ho_report_validate(out, why, sizeof(why)) != HO_OK) {
                ho_report_clear(out);
                ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "%s", why);
                return HO_INPUT_BAD;
        }
        return HO_INPUT_REPORT;
}

/* A Kafka message timestamp of 0 tells librdkafka "now", and one before the
 * epoch is no timestamp at all, so a report at or before 1970-01-01T00:00:00Z
 * would reach the topic with a time it does not have, and handover-replay's
 * --until (which windows by message timestamp) would place it wrongly: such a
 * report is refused. */
static ho_err_t report_time_ok(const ho_report_t *r, char *errstr, size_t errstr_size) {
        if (r->reported_at > 0)
                return HO_OK;
        return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                         "field \"reported_at\": %" PRId64 " ms is at or before "
                         "1970-01-01T00:00:00Z (expected a later time: a Kafka message "
                         "timestamp cannot carry it)",
                         r->reported_at);
}

/* One JSON line to a report. Two things a JSON parser names badly are
 * caught first: a UTF-8 byte order mark (jansson points at three invisible
 * bytes) and a NUL byte (jansson takes it for the end of the text and says
 * "'}' expected near end of file"). */
ho_err_t ho_input_parse_line(const char *line, size_t len, ho_report_t *out, char *errstr,
                             size_t errstr_size) {
        const char *nul;
        if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "the line starts with a UTF-8 byte order mark (bytes EF BB BF): "
                                 "JSON Lines are UTF-8 without one (save the file without a "
                                 "BOM)");
        if ((nul = memchr(line, '\0', len)))
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                 "a NUL byte (0x00) at column %zu: JSON text cannot hold one "
                                 "(a binary or UTF-16 file?)",
                                 (size_t)(nul - line) + 1);
        ho_err_t err = ho_report_from_json(line, len, out, errstr, errstr_size);
        return err ? err : report_time_ok(out, errstr, errstr_size);
}

ho_input_status_t ho_input_next(ho_input_t *in, ho_report_t *out, ho_pos_t *pos, char *errstr,
                                size_t errstr_size) {
        ho_report_clear(out);
        in->last_line = NULL;
        in->last_len = 0;
        if (in->format == HO_FORMAT_AVRO) {
                ho_input_status_t st = input_next_avro(in, out, pos, errstr, errstr_size);
                if (st == HO_INPUT_REPORT && report_time_ok(out, errstr, errstr_size))
                        return HO_INPUT_BAD;
                return st;
        }
        for (;;) {
                const char *line = NULL;
                size_t len = 0;
                uint64_t lineno = 0;
                ho_line_status_t st = ho_lines_next(in->lines, &line, &len, &lineno, errstr,
                                                    errstr_size);

                switch (st) {
                case HO_LINE_OK:
                        if (ho_line_is_blank(line, len))
                                continue;
                        in->last_line = line;
                        in->last_len = len;
                        *pos = HO_POS(in->index, lineno);
                        if (ho_input_parse_line(line, len, out, errstr, errstr_size) != HO_OK)
                                return HO_INPUT_BAD;
                        return HO_INPUT_REPORT;
                case HO_LINE_TOO_LONG:
                        *pos = HO_POS(in->index, lineno);
                        ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "line longer than %u bytes",
                                  HO_LINE_MAX_DEFAULT);
                        return HO_INPUT_BAD;
                case HO_LINE_EOF:
                        return HO_INPUT_EOF;
                case HO_LINE_AGAIN:
                        return HO_INPUT_AGAIN;
                case HO_LINE_ERROR:
                default:
                        return HO_INPUT_ERROR;
                }
        }
}
