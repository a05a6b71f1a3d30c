/*
 * produce.c: the logic of handover-produce (see produce.h): reading inputs
 * in bounded memory, the validation pass's listing, the spool between the
 * two passes of a file, and librdkafka's delivery bookkeeping.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <avro.h>
#include "handover/conf.h"
#include "handover/jreport.h"
#include "handover/kafka.h"
#include "handover/ktopic.h"
#include "handover/log.h"
#include "handover/produce.h"

_Static_assert(sizeof(uintptr_t) >= sizeof(ho_pos_t), "positions ride in a pointer-sized opaque");

void ho_pos_format(ho_pos_t pos, const char *const *names, size_t n_names, char *out,
                   size_t out_size) {
        unsigned in = HO_POS_INPUT(pos);
        snprintf(out, out_size, "%s:%" PRIu64, in < n_names && names[in] ? names[in] : "?",
                 HO_POS_LINE(pos));
}

/* ==== line reader ======================================================== */

#define HO_LINES_CHUNK (64u << 10)

struct ho_lines_s {
        int fd;
        bool own_fd;
        char *path; /* follow mode: the name to watch */
        bool follow;
        bool is_reg; /* regular files are never poll()ed */
        int wait_ms;
        char *buf;
        size_t cap, start, end;
        size_t scan; /* bytes after start already searched for '\n' */
        size_t max_line;
        uint64_t lineno;
        uint64_t offset; /* bytes read from the current file */
        uint64_t total;  /* bytes read, all files */
        bool eof;
        bool skipping; /* dropping an over-long line up to its '\n' */
        dev_t dev;
        ino_t ino;
        unsigned reopens, truncations;
};

static ho_lines_t *lines_alloc(int fd, size_t max_line, int wait_ms, char *errstr,
                               size_t errstr_size) {
        ho_lines_t *lr = calloc(1, sizeof(*lr));
        struct stat st;

        if (!lr) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        lr->fd = fd;
        lr->wait_ms = wait_ms;
        lr->max_line = max_line ? max_line : HO_LINE_MAX_DEFAULT;
        lr->cap = HO_LINES_CHUNK;
        lr->buf = malloc(lr->cap);
        if (!lr->buf) {
                free(lr);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        if (fstat(fd, &st) == 0) {
                lr->is_reg = S_ISREG(st.st_mode);
                lr->dev = st.st_dev;
                lr->ino = st.st_ino;
        }
        return lr;
}

ho_lines_t *ho_lines_new_fd(int fd, size_t max_line, int wait_ms, char *errstr,
                            size_t errstr_size) {
        return lines_alloc(fd, max_line, wait_ms, errstr, errstr_size);
}

ho_lines_t *ho_lines_open(const char *path, bool follow, size_t max_line, char *errstr,
                          size_t errstr_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ho_lines_t *lr;

        struct stat st;
        if (fd < 0) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot open \"%s\": %s", path,
                          strerror(errno));
                return NULL;
        }
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                close(fd);
                ho_seterr(errstr, errstr_size, HO_ERR_IO,
                          "\"%s\" is a directory (expected a JSON Lines or Avro file)", path);
                return NULL;
        }
        lr = lines_alloc(fd, max_line, 100, errstr, errstr_size);
        if (!lr) {
                close(fd);
                return NULL;
        }
        lr->own_fd = true;
        lr->follow = follow;
        if (follow && !(lr->path = strdup(path))) {
                ho_lines_destroy(lr);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        return lr;
}

void ho_lines_destroy(ho_lines_t *lr) {
        if (!lr)
                return;
        if (lr->own_fd && lr->fd >= 0)
                close(lr->fd);
        free(lr->path);
        free(lr->buf);
        free(lr);
}

uint64_t ho_lines_bytes_read(const ho_lines_t *lr) {
        return lr->total;
}

unsigned ho_lines_reopens(const ho_lines_t *lr) {
        return lr->reopens;
}

unsigned ho_lines_truncations(const ho_lines_t *lr) {
        return lr->truncations;
}

static void lines_restart(ho_lines_t *lr) {
        lr->start = lr->end = lr->scan = 0;
        lr->skipping = false;
        lr->offset = 0;
        lr->lineno = 0;
}

/* Make room for at least one more read at buf[end]. The buffer never needs
 * more than max_line + a chunk: a longer partial line is dropped first. */
static ho_err_t lines_room(ho_lines_t *lr) {
        if (lr->start > 0 && (lr->end == lr->cap || lr->start >= lr->cap / 2)) {
                memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
                lr->end -= lr->start;
                lr->start = 0;
        }
        if (lr->end == lr->cap) {
                size_t ncap = lr->cap * 2;
                char *nb;
                if (ncap > lr->max_line + HO_LINES_CHUNK)
                        ncap = lr->max_line + HO_LINES_CHUNK;
                if (ncap <= lr->cap)
                        return HO_ERR_NOMEM; /* cannot happen: see above */
                nb = realloc(lr->buf, ncap);
                if (!nb)
                        return HO_ERR_NOMEM;
                lr->buf = nb;
                lr->cap = ncap;
        }
        return HO_OK;
}

/* Follow mode at EOF: was the file replaced or cut short? */
static void lines_follow_check(ho_lines_t *lr) {
        struct stat st;
        int fd;

        if (stat(lr->path, &st) != 0)
                return; /* gone for now (mid-rotation): keep the old file */
        if (st.st_dev == lr->dev && st.st_ino == lr->ino) {
                if ((uint64_t)st.st_size < lr->offset && lseek(lr->fd, 0, SEEK_SET) == 0) {
                        lines_restart(lr);
                        lr->truncations++;
                }
                return;
        }
        fd = open(lr->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (fstat(fd, &st) != 0) {
                close(fd);
                return;
        }
        close(lr->fd);
        lr->fd = fd;
        lr->dev = st.st_dev;
        lr->ino = st.st_ino;
        lines_restart(lr);
        lr->reopens++;
}

ho_line_status_t ho_lines_next(ho_lines_t *lr, const char **line, size_t *len, uint64_t *lineno,
                               char *errstr, size_t errstr_size) {
        for (;;) {
                size_t have = lr->end - lr->start;
                ssize_t n;

                if (have > lr->scan) {
                        char *l = lr->buf + lr->start;
                        char *nl = memchr(l + lr->scan, '\n', have - lr->scan);
                        if (nl) {
                                size_t ln = (size_t)(nl - l);
                                lr->start += ln + 1;
                                lr->scan = 0;
                                *lineno = ++lr->lineno;
                                if (lr->skipping || ln > lr->max_line) {
                                        lr->skipping = false;
                                        return HO_LINE_TOO_LONG;
                                }
                                if (ln > 0 && l[ln - 1] == '\r')
                                        ln--;
                                *line = l;
                                *len = ln;
                                return HO_LINE_OK;
                        }
                        lr->scan = have;
                }
                if (have > lr->max_line) {
                        /* Over-long: drop what is buffered, keep dropping up to the '\n'. */
                        lr->skipping = true;
                        lr->start = lr->end = lr->scan = 0;
                        have = 0;
                }
                if (lr->eof) {
                        if (have == 0 && !lr->skipping)
                                return HO_LINE_EOF;
                        *lineno = ++lr->lineno;
                        *line = lr->buf + lr->start;
                        *len = have;
                        lr->start = lr->end = lr->scan = 0;
                        if (lr->skipping) {
                                lr->skipping = false;
                                return HO_LINE_TOO_LONG;
                        }
                        /* The last line lacks its '\n': still a line. The buffer is
                         * not touched until the next call, so the pointer stays good. */
                        if (have > 0 && (*line)[have - 1] == '\r')
                                (*len)--;
                        return HO_LINE_OK;
                }
                if (lines_room(lr) != HO_OK) {
                        ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                        return HO_LINE_ERROR;
                }
                if (!lr->is_reg && lr->wait_ms >= 0) {
                        struct pollfd pfd = {.fd = lr->fd, .events = POLLIN};
                        int r = poll(&pfd, 1, lr->wait_ms);
                        if (r == 0 || (r < 0 && errno == EINTR))
                                return HO_LINE_AGAIN;
                }
                n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
                if (n > 0) {
                        lr->end += (size_t)n;
                        lr->offset += (uint64_t)n;
                        lr->total += (uint64_t)n;
                        continue;
                }
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                return HO_LINE_AGAIN;
                        ho_seterr(errstr, errstr_size, HO_ERR_IO, "read error: %s",
                                  strerror(errno));
                        return HO_LINE_ERROR;
                }
                if (!lr->follow) {
                        lr->eof = true;
                        continue;
                }
                /* Follow mode at EOF. A partial line stays buffered until its '\n'
                 * arrives, unless the file was replaced: then it is the old file's
                 * last line, and is ended here before switching. */
                {
                        unsigned events = lr->reopens + lr->truncations;
                        struct stat st;
                        if (lr->end > lr->start && stat(lr->path, &st) == 0 &&
                            (st.st_dev != lr->dev || st.st_ino != lr->ino)) {
                                lr->buf[lr->end++] = '\n'; /* lines_room left space */
                                continue;
                        }
                        lines_follow_check(lr);
                        if (lr->reopens + lr->truncations != events)
                                continue; /* read the new file (or the top) right away */
                }
                return HO_LINE_AGAIN;
        }
}

ho_err_t ho_lines_peek(ho_lines_t *lr, size_t n, const char **data, size_t *got, char *errstr,
                       size_t errstr_size) {
        while (lr->end - lr->start < n && !lr->eof) {
                ssize_t r;
                if (lines_room(lr) != HO_OK)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                r = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
                if (r > 0) {
                        lr->end += (size_t)r;
                        lr->offset += (uint64_t)r;
                        lr->total += (uint64_t)r;
                } else if (r == 0) {
                        if (!lr->follow)
                                lr->eof = true;
                        break;
                } else if (errno == EINTR || errno == EAGAIN) {
                        break;
                } else {
                        return ho_seterr(errstr, errstr_size, HO_ERR_IO, "read error: %s",
                                         strerror(errno));
                }
        }
        *data = lr->buf + lr->start;
        *got = lr->end - lr->start < n ? lr->end - lr->start : n;
        return HO_OK;
}

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
                                         "block %" PRIu64 ": negative record count or size",
                                         block);
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
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "read error: %s",
                                 strerror(errno));
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
        err = ho_schema_check_compat_json(wjson.data, wjson.len, newest->json,
                                          strlen(newest->json), why, sizeof(why));
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

static bool is_blank(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return false;
        return true;
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
                ho_seterr(errstr, errstr_size, HO_ERR_NOT_AVRO, "cannot read record %" PRIu64 ": %s",
                          in->records_read, avro_strerror());
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
static ho_err_t line_to_report(const char *line, size_t len, ho_report_t *out, char *errstr,
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
                ho_line_status_t st =
                        ho_lines_next(in->lines, &line, &len, &lineno, errstr, errstr_size);

                switch (st) {
                case HO_LINE_OK:
                        if (is_blank(line, len))
                                continue;
                        in->last_line = line;
                        in->last_len = len;
                        *pos = HO_POS(in->index, lineno);
                        if (line_to_report(line, len, out, errstr, errstr_size) != HO_OK)
                                return HO_INPUT_BAD;
                        return HO_INPUT_REPORT;
                case HO_LINE_TOO_LONG:
                        *pos = HO_POS(in->index, lineno);
                        ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                  "line longer than %u bytes", HO_LINE_MAX_DEFAULT);
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

/* ==== bad records and rejects ============================================ */

void ho_badlist_init(ho_badlist_t *bl, FILE *out, size_t cap) {
        bl->out = out;
        bl->cap = cap;
        bl->count = 0;
}

void ho_badlist_add(ho_badlist_t *bl, const char *where, const char *msg) {
        if (bl->count++ < bl->cap)
                fprintf(bl->out, "%s: %s\n", where, msg);
}

void ho_badlist_finish(ho_badlist_t *bl) {
        if (bl->count > bl->cap)
                fprintf(bl->out, "and %" PRIu64 " more bad line%s\n", bl->count - bl->cap,
                        bl->count - bl->cap == 1 ? "" : "s");
}

int ho_reject_write(FILE *fp, const char *where, const char *reason, const char *line,
                    size_t len) {
        errno = 0;
        fputs(where, fp);
        fputc('\t', fp);
        for (const char *s = reason; *s; s++)
                fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, fp);
        fputc('\t', fp);
        if (line)
                fwrite(line, 1, len, fp);
        fputc('\n', fp);
        if (fflush(fp) != 0 || ferror(fp))
                return errno ? errno : EIO;
        return 0;
}

int ho_rejects_sync(FILE *fp) {
        errno = 0;
        if (fflush(fp) != 0 || ferror(fp))
                return errno ? errno : EIO;
        if (fsync(fileno(fp)) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
                return errno;
        return 0;
}

/* ==== the validation pass ================================================ */

/* a spool record: this header, the key, the value */
typedef struct spool_hdr_s {
        uint64_t pos;
        int64_t timestamp;
        uint32_t key_len;
        uint32_t value_len;
} spool_hdr_t;

/* One valid record: spool it, count it. */
static ho_err_t validate_keep(ho_validate_t *v, ho_pos_t pos, int64_t ts, const char *key,
                              size_t key_len, const char *value, size_t value_len, char *errstr,
                              size_t errstr_size) {
        if (v->spool) {
                ho_err_t err = ho_spool_put(v->spool, pos, ts, key, key_len, value, value_len,
                                            errstr, errstr_size);
                if (err)
                        return err;
        }
        if (v->transfers)
                ho_tset_add(v->transfers, key, key_len);
        v->valid++;
        v->bytes += value_len;
        return HO_OK;
}

/* One bad record: list it, or write it to the rejects file. */
static void validate_bad(ho_validate_t *v, ho_pos_t pos, const char *why, const char *line,
                         size_t len) {
        char where[1200];

        ho_pos_format(pos, v->names, v->n_names, where, sizeof(where));
        if (v->rejects) {
                int e = ho_reject_write(v->rejects, where, why, line, len);
                if (e && !v->rejects_errno)
                        v->rejects_errno = e;
                v->skipped++;
        } else {
                ho_badlist_add(v->bad, where, why);
        }
}

static ho_err_t validate_parallel(ho_validate_t *v, ho_input_t *in, unsigned threads,
                                  uint64_t *records, char *errstr, size_t errstr_size);

static unsigned validate_threads(const ho_validate_t *v) {
        long n = v->threads ? (long)v->threads : sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
                n = 1;
        return n > 4 ? 4 : (unsigned)n;
}

ho_err_t ho_validate_input(ho_validate_t *v, const char *path, unsigned index,
                           uint64_t *records, uint64_t *bytes_read, char *errstr,
                           size_t errstr_size) {
        char why[1024];
        ho_input_t *in = ho_input_open(path, index, false, v->codec, errstr, errstr_size);
        ho_report_t r;
        ho_buf_t value = HO_BUF_INIT;
        ho_pos_t pos = 0;
        uint64_t n = 0;
        ho_err_t err = HO_OK;
        bool done = false;

        if (records)
                *records = 0;
        if (bytes_read)
                *bytes_read = 0;
        if (!in)
                return HO_ERR_IO;
        if (in->format == HO_FORMAT_JSONL && validate_threads(v) > 1) {
                err = validate_parallel(v, in, validate_threads(v), records, errstr,
                                        errstr_size);
                if (bytes_read)
                        *bytes_read = ho_input_bytes_read(in);
                ho_input_destroy(in);
                return err;
        }
        ho_report_init(&r);
        while (!done) {
                const char *line;
                size_t len;
                ho_input_status_t st;

                if (v->stop && *v->stop) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED, "interrupted");
                        break;
                }
                st = ho_input_next(in, &r, &pos, why, sizeof(why));
                if (st == HO_INPUT_REPORT) {
                        ho_buf_reset(&value);
                        if (ho_codec_encode(v->codec, &r, &value, why, sizeof(why)) != HO_OK)
                                st = HO_INPUT_BAD;
                }
                switch (st) {
                case HO_INPUT_REPORT:
                        err = validate_keep(v, pos, r.reported_at, r.transfer_id,
                                            strlen(r.transfer_id), value.data, value.len, errstr,
                                            errstr_size);
                        if (err) {
                                done = true;
                                break;
                        }
                        if ((++n & 255) == 0 && v->progress)
                                v->progress(v->opaque, v->valid, ho_input_bytes_read(in));
                        break;
                case HO_INPUT_BAD:
                        line = ho_input_last_line(in, &len);
                        validate_bad(v, pos, why, line, len);
                        break;
                case HO_INPUT_AGAIN:
                        break; /* EINTR: the stop flag is checked above */
                case HO_INPUT_EOF:
                        done = true;
                        break;
                case HO_INPUT_ERROR:
                default:
                        err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "\"%s\": %s",
                                        ho_input_name(in), why);
                        done = true;
                        break;
                }
        }
        if (records)
                *records = n;
        if (bytes_read)
                *bytes_read = ho_input_bytes_read(in);
        ho_report_clear(&r);
        ho_buf_free(&value);
        ho_input_destroy(in);
        return err;
}

/* ---- the same, in parallel ------------------------------------------------
 *
 * The calling thread reads lines into numbered batches; worker threads each
 * take the next batch, parse, validate and encode its lines with their own
 * codec, and leave the results in the batch; the calling thread consumes
 * finished batches strictly in number order, so the spool, the listing and
 * the rejects come out exactly as the sequential loop writes them. At most
 * VB_SLOTS batches exist: memory stays bounded whatever the input's size. */

#define VB_LINES 512
#define VB_BYTES (512u << 10)
#define VB_SLOTS 8

static ho_err_t spool_put_block(ho_spool_t *sp, const void *data, size_t len, uint64_t n,
                                char *errstr, size_t errstr_size);

typedef struct vbatch_s {
        ho_buf_t text;      /* the lines, back to back */
        size_t off[VB_LINES], len[VB_LINES];
        uint64_t lineno[VB_LINES];
        bool too_long[VB_LINES];
        size_t n;
        ho_buf_t out;       /* valid records, as the spool holds them (spool_hdr_t) */
        ho_buf_t bad;       /* bad records: see vb_put() */
        size_t n_ok, n_bad;
        uint64_t value_bytes; /* of the valid records */
        bool in_map;        /* off[] are into vpool_t.map, not text */
        size_t map_end;     /* in_map: where the input stood after the last line */
        bool oom;           /* out or bad could not grow: results incomplete */
        bool done;
} vbatch_t;

typedef struct vpool_s {
        pthread_mutex_t mu;
        pthread_mutex_t avro_mu; /* see vworker() */
        pthread_cond_t work, finished;
        vbatch_t slot[VB_SLOTS];
        uint64_t filled;    /* batches handed to workers */
        uint64_t taken;     /* batches taken by a worker */
        bool closing;
        ho_err_t werr;      /* a worker that could not start */
        char werrstr[1100];
        const char *writer_spec;
        unsigned index;     /* input number, for positions */
        const char *map;    /* the input file, mapped (NULL: lines are copied) */
} vpool_t;

/* Valid records go to vbatch_t.out exactly as the spool stores them, so a
 * batch is spooled with one write; bad records to vbatch_t.bad:
 *   u64 pos, u32 why_len, u32 line_len (or UINT32_MAX: no line), why, line.
 * The two lists are consumed independently: the spool and the listing each
 * keep input order. */
static void vb_put(vbatch_t *b, ho_buf_t *to, const void *p, size_t n) {
        if (!b->oom && ho_buf_append(to, p, n) != HO_OK)
                b->oom = true;
}

/* The embedded schema version (1 or 2) the codec's writer is coded
 * directly for, or 0 (through avro-c, or unknown). */
static int direct_writer_version(ho_codec_t *codec) {
        const ho_schema_t *w = ho_codec_writer(codec);
        const ho_schema_registry_t *reg = ho_codec_registry(codec);

        if (!ho_codec_is_direct(codec, w))
                return 0;
        if (w == ho_schema_registry_version(reg, 2))
                return 2;
        if (w == ho_schema_registry_version(reg, 1))
                return 1;
        return 0;
}

/* What ho_codec_encode() writes for a direct writer, less its check of the
 * report's validation stamp: r was made by ho_report_from_json() a moment
 * ago in this thread, so hashing it again (a tenth of a worker's
 * instructions went to the two stamps) would only repeat that call's. */
static ho_err_t encode_fresh(const ho_report_t *r, int version, uint64_t fp, ho_buf_t *out) {
        unsigned char *h;

        if (ho_buf_reserve(out, HO_SOE_HEADER) != HO_OK)
                return HO_ERR_NOMEM;
        h = (unsigned char *)out->data + out->len;
        h[0] = HO_SOE_MAGIC0;
        h[1] = HO_SOE_MAGIC1;
        for (int i = 0; i < 8; i++)
                h[2 + i] = (unsigned char)(fp >> (8 * i));
        out->len += HO_SOE_HEADER;
        return ho_codec_datum(r, r->report_id, version, out);
}

static void *vworker(void *arg) {
        vpool_t *vp = arg;
        char err[1024];
        ho_codec_t *codec = ho_codec_new(err, sizeof(err));
        ho_report_t r;
        ho_buf_t value = HO_BUF_INIT;

        if (codec && vp->writer_spec &&
            ho_codec_set_writer(codec, vp->writer_spec, err, sizeof(err)) != HO_OK) {
                ho_codec_destroy(codec);
                codec = NULL;
        }
        /* see the encoding below: the direct coder never calls avro-c */
        bool take_turns = !codec || !ho_codec_is_direct(codec, ho_codec_writer(codec));
        int direct = codec ? direct_writer_version(codec) : 0;
        uint64_t fp = direct ? ho_codec_writer(codec)->fingerprint : 0;
        ho_report_init(&r);
        pthread_mutex_lock(&vp->mu);
        if (!codec && !vp->werr) {
                vp->werr = HO_ERR_NOMEM;
                snprintf(vp->werrstr, sizeof(vp->werrstr), "validation thread: %s", err);
                pthread_cond_broadcast(&vp->finished);
        }
        for (;;) {
                vbatch_t *b;
                while (!vp->closing && vp->taken == vp->filled)
                        pthread_cond_wait(&vp->work, &vp->mu);
                if (vp->closing)
                        break;
                b = &vp->slot[vp->taken++ % VB_SLOTS];
                pthread_mutex_unlock(&vp->mu);

                ho_buf_reset(&b->out);
                ho_buf_reset(&b->bad);
                b->n_ok = b->n_bad = 0;
                b->value_bytes = 0;
                b->oom = false;
                for (size_t i = 0; i < b->n; i++) {
                        const char *line = (b->in_map ? vp->map : b->text.data) + b->off[i];
                        uint64_t pos = HO_POS(vp->index, b->lineno[i]);
                        ho_err_t e = HO_OK;

                        if (!codec) {
                                e = HO_ERR_NOMEM;
                                snprintf(err, sizeof(err), "no codec");
                        } else if (b->too_long[i]) {
                                e = HO_ERR_INVALID;
                                snprintf(err, sizeof(err), "line longer than %u bytes",
                                         HO_LINE_MAX_DEFAULT);
                        } else if ((e = line_to_report(line, b->len[i], &r, err,
                                                       sizeof(err))) == HO_OK) {
                                /* avro-c 1.11.1 keeps its error message in one
                                 * process-wide buffer, written even on paths that
                                 * succeed (a field the writer schema lacks):
                                 * encoding, the only avro-c call here, takes turns,
                                 * unless the writer has the direct coder (no avro-c) */
                                ho_buf_reset(&value);
                                if (direct) {
                                        if ((e = encode_fresh(&r, direct, fp, &value)))
                                                snprintf(err, sizeof(err), "out of memory");
                                } else {
                                        if (take_turns)
                                                pthread_mutex_lock(&vp->avro_mu);
                                        e = ho_codec_encode(codec, &r, &value, err, sizeof(err));
                                        if (take_turns)
                                                pthread_mutex_unlock(&vp->avro_mu);
                                }
                        }
                        if (e == HO_OK) {
                                size_t kl = strlen(r.transfer_id);
                                spool_hdr_t h = {pos, r.reported_at, (uint32_t)kl,
                                                 (uint32_t)value.len};
                                if (kl > UINT32_MAX || value.len > UINT32_MAX) {
                                        b->oom = true; /* cannot be: ids and values are small */
                                        continue;
                                }
                                if (!b->oom && ho_buf_reserve(&b->out, sizeof(h) + kl +
                                                                               value.len) != HO_OK)
                                        b->oom = true;
                                vb_put(b, &b->out, &h, sizeof(h));
                                vb_put(b, &b->out, r.transfer_id, kl);
                                vb_put(b, &b->out, value.data, value.len);
                                b->n_ok++;
                                b->value_bytes += value.len;
                        } else {
                                uint32_t wl = (uint32_t)strlen(err);
                                uint32_t ll = b->too_long[i] ? UINT32_MAX : (uint32_t)b->len[i];
                                vb_put(b, &b->bad, &pos, 8);
                                vb_put(b, &b->bad, &wl, 4);
                                vb_put(b, &b->bad, &ll, 4);
                                vb_put(b, &b->bad, err, wl);
                                if (ll != UINT32_MAX)
                                        vb_put(b, &b->bad, line, ll);
                                b->n_bad++;
                        }
                }
                pthread_mutex_lock(&vp->mu);
                b->done = true;
                pthread_cond_broadcast(&vp->finished);
        }
        pthread_mutex_unlock(&vp->mu);
        ho_report_clear(&r);
        ho_buf_free(&value);
        ho_codec_destroy(codec);
        return NULL;
}

/* Consume batch b's results in order. A result buffer that could not grow
 * (out of memory) is reported, never half-applied. */
static ho_err_t vb_consume(ho_validate_t *v, vbatch_t *b, uint64_t *kept, char *errstr,
                           size_t errstr_size) {
        const char *p, *end;

        if (b->oom || b->n_ok + b->n_bad != b->n)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM,
                                 "out of memory while validating");
        if (v->spool) {
                ho_err_t err = spool_put_block(v->spool, b->out.data, b->out.len, b->n_ok,
                                               errstr, errstr_size);
                if (err)
                        return err;
        }
        if (v->transfers) {
                for (p = b->out.data, end = p + b->out.len; p < end;) {
                        spool_hdr_t h;
                        memcpy(&h, p, sizeof(h));
                        ho_tset_add(v->transfers, p + sizeof(h), h.key_len);
                        p += sizeof(h) + (size_t)h.key_len + h.value_len;
                }
        }
        v->valid += b->n_ok;
        v->bytes += b->value_bytes;
        *kept += b->n_ok;
        for (p = b->bad.data, end = p + b->bad.len; p < end;) {
                uint64_t pos;
                uint32_t wl, ll;
                char why[1024];
                memcpy(&pos, p, 8);
                memcpy(&wl, p + 8, 4);
                memcpy(&ll, p + 12, 4);
                snprintf(why, sizeof(why), "%.*s", (int)wl, p + 16);
                validate_bad(v, pos, why, ll == UINT32_MAX ? NULL : p + 16 + wl,
                             ll == UINT32_MAX ? 0 : ll);
                p += 16 + (size_t)wl + (ll == UINT32_MAX ? 0 : ll);
        }
        return HO_OK;
}

/* A named regular file is read through a mapping: lines go to the workers
 * as offsets into it, with no read() copy and no copy into the batch (a
 * fifth of the reading thread's time). The lines are the ones ho_lines_next()
 * gives: split at '\n', one trailing '\r' dropped, longer than max_line
 * (before the '\r' is dropped) too long, a last line without '\n' still a
 * line. Pages behind the batches consumed leave memory (madvise). */
typedef struct maplines_s {
        const char *p;
        size_t len, at;
        uint64_t lineno;
        size_t max_line;
} maplines_t;

static ho_line_status_t maplines_next(maplines_t *ml, const char **line, size_t *len,
                                      uint64_t *lineno) {
        const char *l = ml->p + ml->at, *nl;
        size_t have = ml->len - ml->at, ln;

        if (have == 0)
                return HO_LINE_EOF;
        nl = memchr(l, '\n', have);
        ln = nl ? (size_t)(nl - l) : have;
        ml->at += nl ? ln + 1 : ln;
        *lineno = ++ml->lineno;
        if (ln > ml->max_line)
                return HO_LINE_TOO_LONG;
        if (ln > 0 && l[ln - 1] == '\r')
                ln--;
        *line = l;
        *len = ln;
        return HO_LINE_OK;
}

/*
 * A mapped file that shrinks under us (truncated by someone else while it is
 * validated) turns every read past its new end into SIGBUS, on whichever
 * thread touches the page. Nothing is sent during validation, so the one safe
 * answer is to stop the whole run there and say which file it was: the
 * handler writes a message prepared when the file was mapped and exits 1.
 * A SIGBUS outside the mapping is not ours: the default action runs.
 */
static const char *volatile map_lo, *volatile map_hi;
static char map_msg[1300];
static volatile size_t map_msg_len;

static void map_sigbus(int sig, siginfo_t *si, void *uctx) {
        (void)uctx;
        const char *a = si->si_addr;
        if (map_lo && a >= map_lo && a < map_hi) {
                ssize_t w = write(STDERR_FILENO, map_msg, map_msg_len);
                (void)w;
                _exit(1);
        }
        signal(sig, SIG_DFL);
        raise(sig);
}

static void map_guard(const char *p, size_t len, const char *name) {
        static bool installed;
        if (!installed) {
                struct sigaction sa;
                memset(&sa, 0, sizeof(sa));
                sa.sa_sigaction = map_sigbus;
                sa.sa_flags = SA_SIGINFO;
                sigemptyset(&sa.sa_mask);
                sigaction(SIGBUS, &sa, NULL);
                installed = true;
        }
        int n = snprintf(map_msg, sizeof(map_msg),
                         "%s: \"%s\" was truncated while it was read (SIGBUS past its new "
                         "end): nothing sent\n",
                         program_invocation_short_name, name);
        map_msg_len = n < 0 ? 0 : (size_t)n >= sizeof(map_msg) ? sizeof(map_msg) - 1 : (size_t)n;
        map_hi = p + len;
        map_lo = p;
}

static void map_unguard(void) {
        map_lo = map_hi = NULL;
}

/* Map in's file when it is a regular file this process opened by name and
 * nothing of it was consumed yet; false: read it with ho_lines_next(). */
static bool maplines_open(maplines_t *ml, ho_input_t *in) {
        ho_lines_t *lr = in->lines;
        struct stat st;
        void *m;

        memset(ml, 0, sizeof(*ml));
        if (!lr || !lr->own_fd || !lr->is_reg || lr->follow || lr->lineno != 0 ||
            fstat(lr->fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX)
                return false;
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, lr->fd, 0);
        if (m == MAP_FAILED)
                return false;
        madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
        map_guard(m, (size_t)st.st_size, in->name);
        ml->p = m;
        ml->len = (size_t)st.st_size;
        ml->max_line = lr->max_line;
        return true;
}

static ho_err_t validate_parallel(ho_validate_t *v, ho_input_t *in, unsigned threads,
                                  uint64_t *records, char *errstr, size_t errstr_size) {
        maplines_t ml;
        bool mapped = maplines_open(&ml, in);
        size_t page = (size_t)sysconf(_SC_PAGESIZE), dropped = 0;
        vpool_t *vp = calloc(1, sizeof(*vp));
        pthread_t tid[4];
        unsigned started = 0;
        uint64_t emitted = 0, kept = 0, last_progress = 0;
        ho_err_t err = HO_OK;
        bool eof = false;

        if (!vp)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        pthread_mutex_init(&vp->mu, NULL);
        pthread_mutex_init(&vp->avro_mu, NULL);
        pthread_cond_init(&vp->work, NULL);
        pthread_cond_init(&vp->finished, NULL);
        vp->writer_spec = v->writer_spec;
        vp->index = in->index;
        vp->map = mapped ? ml.p : NULL;
        for (size_t i = 0; i < VB_SLOTS; i++) {
                ho_buf_init(&vp->slot[i].text);
                ho_buf_init(&vp->slot[i].out);
                ho_buf_init(&vp->slot[i].bad);
        }
        for (unsigned t = 0; t < threads; t++)
                if (pthread_create(&tid[started], NULL, vworker, vp) == 0)
                        started++;
        if (started == 0) {
                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM,
                                "cannot start validation threads");
                goto out;
        }

        while (err == HO_OK) {
                vbatch_t *b;
                /* emit finished batches in order; wait when every slot is in use
                 * or the input is done */
                pthread_mutex_lock(&vp->mu);
                for (;;) {
                        bool full = vp->filled - emitted == VB_SLOTS;
                        bool drain = eof && emitted < vp->filled;
                        vbatch_t *e = &vp->slot[emitted % VB_SLOTS];
                        if (vp->werr) {
                                err = ho_seterr(errstr, errstr_size, vp->werr, "%s", vp->werrstr);
                                break;
                        }
                        if (emitted < vp->filled && e->done) {
                                pthread_mutex_unlock(&vp->mu);
                                err = vb_consume(v, e, &kept, errstr, errstr_size);
                                /* in steps of 4 MB: each call interrupts every
                                 * CPU running a thread of ours (TLB shootdown) */
                                if (e->in_map && e->map_end / page * page >= dropped + (4u << 20)) {
                                        size_t upto = e->map_end / page * page;
                                        madvise((void *)(ml.p + dropped), upto - dropped,
                                                MADV_DONTNEED);
                                        dropped = upto;
                                }
                                pthread_mutex_lock(&vp->mu);
                                e->done = false;
                                emitted++;
                                if (err)
                                        break;
                                continue;
                        }
                        if (!full && !drain)
                                break;
                        pthread_cond_wait(&vp->finished, &vp->mu);
                }
                pthread_mutex_unlock(&vp->mu);
                if (err || (eof && emitted == vp->filled))
                        break;
                if (v->progress && kept - last_progress >= 256) {
                        last_progress = kept;
                        v->progress(v->opaque, v->valid,
                                    mapped ? ml.at : ho_input_bytes_read(in));
                }
                if (v->stop && *v->stop) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED, "interrupted");
                        break;
                }
                /* fill the next slot (free: fewer than VB_SLOTS are out) */
                b = &vp->slot[vp->filled % VB_SLOTS];
                ho_buf_reset(&b->text);
                b->n = 0;
                b->in_map = mapped;
                for (size_t bytes = 0; b->n < VB_LINES && bytes < VB_BYTES;) {
                        const char *line = NULL;
                        size_t len = 0;
                        uint64_t lineno = 0;
                        char why[512];
                        ho_line_status_t st =
                                mapped ? maplines_next(&ml, &line, &len, &lineno)
                                       : ho_lines_next(in->lines, &line, &len, &lineno, why,
                                                       sizeof(why));
                        if (st == HO_LINE_AGAIN) {
                                if (v->stop && *v->stop)
                                        break;
                                continue;
                        }
                        if (st == HO_LINE_EOF) {
                                eof = true;
                                break;
                        }
                        if (st == HO_LINE_ERROR) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "\"%s\": %s",
                                                in->name, why);
                                break;
                        }
                        if (st == HO_LINE_OK && is_blank(line, len))
                                continue;
                        b->off[b->n] = mapped && st == HO_LINE_OK ? (size_t)(line - ml.p)
                                                                  : b->text.len;
                        b->len[b->n] = st == HO_LINE_OK ? len : 0;
                        b->lineno[b->n] = lineno;
                        b->too_long[b->n] = st == HO_LINE_TOO_LONG;
                        if (st == HO_LINE_OK && !mapped &&
                            ho_buf_append(&b->text, line, len) != HO_OK) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM,
                                                "out of memory");
                                break;
                        }
                        bytes += b->len[b->n];
                        b->n++;
                }
                b->map_end = ml.at;
                if (err)
                        break;
                if (b->n > 0) {
                        pthread_mutex_lock(&vp->mu);
                        b->done = false;
                        vp->filled++;
                        pthread_cond_signal(&vp->work);
                        pthread_mutex_unlock(&vp->mu);
                }
        }
out:
        pthread_mutex_lock(&vp->mu);
        vp->closing = true;
        pthread_cond_broadcast(&vp->work);
        pthread_mutex_unlock(&vp->mu);
        for (unsigned t = 0; t < started; t++)
                pthread_join(tid[t], NULL);
        for (size_t i = 0; i < VB_SLOTS; i++) {
                ho_buf_free(&vp->slot[i].text);
                ho_buf_free(&vp->slot[i].out);
                ho_buf_free(&vp->slot[i].bad);
        }
        pthread_cond_destroy(&vp->work);
        pthread_cond_destroy(&vp->finished);
        pthread_mutex_destroy(&vp->mu);
        pthread_mutex_destroy(&vp->avro_mu);
        free(vp);
        if (mapped) {
                in->lines->total = ml.at; /* what ho_input_bytes_read() says */
                map_unguard();
                munmap((void *)ml.p, ml.len);
        }
        if (records)
                *records = kept;
        return err;
}

/* ==== spool ============================================================== */

/* Pass 2 reads the spool through a read-only mapping, and each record's
 * value is handed to librdkafka in place (no copy: pass 2 spent a third of
 * its CPU in malloc, memcpy and read copies). The mapping is cut into
 * windows; a window's pages leave the resident set (madvise) once the
 * reader has passed it and every message taken from it has been released
 * (delivered or failed), so memory stays bounded by what is in flight
 * (windows go in any order: partitions deliver independently).
 * Dropping pages never loses data: they are the file's, read again if
 * touched. */

#define HO_SPOOL_IOBUF (1u << 20)
#define HO_SPOOL_WINDOW (256u << 10)

struct ho_spool_s {
        FILE *fp;
        char *iobuf;
        bool reading;
        uint64_t count;
        ho_buf_t rec;
        /* reading through the mapping */
        const char *map;
        size_t map_len, cursor;
        uint32_t *held;      /* per window: messages taken and not released */
        size_t n_windows;
};

ho_spool_t *ho_spool_new(char *errstr, size_t errstr_size) {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        ho_spool_t *sp = calloc(1, sizeof(*sp));
        int fd;

        if (!sp) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        snprintf(path, sizeof(path), "%s/handover-produce.XXXXXX", dir && *dir ? dir : "/tmp");
        fd = mkstemp(path);
        if (fd < 0) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot create a spool file \"%s\": %s",
                          path, strerror(errno));
                free(sp);
                return NULL;
        }
        unlink(path); /* gone with the process, whatever happens */
        sp->fp = fdopen(fd, "w+b");
        sp->iobuf = malloc(HO_SPOOL_IOBUF);
        if (!sp->fp || !sp->iobuf) {
                if (sp->fp)
                        fclose(sp->fp);
                else
                        close(fd);
                free(sp->iobuf);
                free(sp);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        setvbuf(sp->fp, sp->iobuf, _IOFBF, HO_SPOOL_IOBUF);
        ho_buf_init(&sp->rec);
        return sp;
}

void ho_spool_destroy(ho_spool_t *sp) {
        if (!sp)
                return;
        if (sp->map)
                munmap((void *)sp->map, sp->map_len);
        free(sp->held);
        fclose(sp->fp);
        free(sp->iobuf);
        ho_buf_free(&sp->rec);
        free(sp);
}

/* A write to the spool failed (errno says why): a full or read-only $TMPDIR. */
static ho_err_t spool_write_failed(char *errstr, size_t errstr_size) {
        return ho_seterr(errstr, errstr_size, HO_ERR_IO,
                         "cannot write the spool file (in $TMPDIR or /tmp): %s", strerror(errno));
}

ho_err_t ho_spool_put(ho_spool_t *sp, ho_pos_t pos, int64_t timestamp, const void *key,
                      size_t key_len, const void *value, size_t value_len, char *errstr,
                      size_t errstr_size) {
        spool_hdr_t h = {pos, timestamp, (uint32_t)key_len, (uint32_t)value_len};

        if (sp->reading)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "spool is being read");
        if (key_len > UINT32_MAX || value_len > UINT32_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "message too large");
        if (fwrite(&h, sizeof(h), 1, sp->fp) != 1 || fwrite(key, 1, key_len, sp->fp) != key_len ||
            fwrite(value, 1, value_len, sp->fp) != value_len)
                return spool_write_failed(errstr, errstr_size);
        sp->count++;
        return HO_OK;
}

/* n records already in the spool's format (spool_hdr_t, key, value), back
 * to back: one write for a validation batch instead of three per record. */
static ho_err_t spool_put_block(ho_spool_t *sp, const void *data, size_t len, uint64_t n,
                                char *errstr, size_t errstr_size) {
        if (sp->reading)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "spool is being read");
        if (len > 0 && fwrite(data, 1, len, sp->fp) != len)
                return spool_write_failed(errstr, errstr_size);
        sp->count += n;
        return HO_OK;
}

/* Map the written spool for reading; on any failure the spool is read with
 * stdio instead (the same records, copied). */
static void spool_map(ho_spool_t *sp, size_t len) {
        void *m;

        if (len == 0 || (off_t)len < 0)
                return;
        sp->n_windows = (len + HO_SPOOL_WINDOW - 1) / HO_SPOOL_WINDOW;
        sp->held = calloc(sp->n_windows, sizeof(*sp->held));
        if (!sp->held)
                return;
        m = mmap(NULL, len, PROT_READ, MAP_SHARED, fileno(sp->fp), 0);
        if (m == MAP_FAILED) {
                free(sp->held);
                sp->held = NULL;
                return;
        }
        madvise(m, len, MADV_SEQUENTIAL);
        sp->map = m;
        sp->map_len = len;
}

ho_err_t ho_spool_rewind(ho_spool_t *sp, char *errstr, size_t errstr_size) {
        long end;

        if (fflush(sp->fp) != 0 || ferror(sp->fp))
                return spool_write_failed(errstr, errstr_size);
        end = ftell(sp->fp);
        if (fseek(sp->fp, 0, SEEK_SET) != 0)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot rewind the spool: %s",
                                 strerror(errno));
        if (!sp->reading && end > 0)
                spool_map(sp, (size_t)end);
        sp->reading = true;
        return HO_OK;
}

/* Give back window w's pages: the reader has passed it and no message
 * taken from it is in flight. Each window qualifies once (nothing is taken
 * from a window the reader has left). */
static void spool_drop(ho_spool_t *sp, size_t w) {
        size_t off = w * HO_SPOOL_WINDOW;
        size_t len = sp->map_len - off < HO_SPOOL_WINDOW ? sp->map_len - off : HO_SPOOL_WINDOW;

        madvise((void *)(sp->map + off), len, MADV_DONTNEED);
}

static ho_err_t spool_get_mapped(ho_spool_t *sp, ho_spool_rec_t *rec, char *errstr,
                                 size_t errstr_size) {
        spool_hdr_t h;
        size_t at = sp->cursor, body;

        if (at == sp->map_len)
                return HO_ERR_NOT_FOUND;
        if (sp->map_len - at < sizeof(h))
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        memcpy(&h, sp->map + at, sizeof(h));
        body = (size_t)h.key_len + h.value_len;
        if (sp->map_len - at - sizeof(h) < body)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        rec->pos = h.pos;
        rec->timestamp = h.timestamp;
        rec->key = sp->map + at + sizeof(h);
        rec->key_len = h.key_len;
        rec->value = rec->key + h.key_len;
        rec->value_len = h.value_len;
        rec->mapped = true;
        /* held by its value's window: what ho_spool_release() is given */
        sp->held[(size_t)(rec->value - sp->map) / HO_SPOOL_WINDOW]++;
        sp->cursor = at + sizeof(h) + body;
        /* the spool left the cache in pass 1: ask for the records ahead */
        if (sp->map_len - sp->cursor > 4096)
                __builtin_prefetch(sp->map + sp->cursor + 4096);
        for (size_t w = at / HO_SPOOL_WINDOW; w < sp->cursor / HO_SPOOL_WINDOW; w++)
                if (sp->held[w] == 0)
                        spool_drop(sp, w);
        return HO_OK;
}

ho_err_t ho_spool_get(ho_spool_t *sp, ho_spool_rec_t *rec, char *errstr, size_t errstr_size) {
        spool_hdr_t h;
        size_t n, body;

        if (sp->map)
                return spool_get_mapped(sp, rec, errstr, errstr_size);
        n = fread(&h, 1, sizeof(h), sp->fp);
        if (n == 0 && feof(sp->fp))
                return HO_ERR_NOT_FOUND;
        if (n != sizeof(h))
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        body = (size_t)h.key_len + h.value_len;
        ho_buf_reset(&sp->rec);
        if (ho_buf_reserve(&sp->rec, body) != HO_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if (fread(sp->rec.data, 1, body, sp->fp) != body)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        rec->pos = h.pos;
        rec->timestamp = h.timestamp;
        rec->key = sp->rec.data;
        rec->key_len = h.key_len;
        rec->value = sp->rec.data + h.key_len;
        rec->value_len = h.value_len;
        rec->mapped = false;
        return HO_OK;
}

void ho_spool_release(ho_spool_t *sp, const void *value) {
        const char *v = value;
        size_t w;

        if (!sp || !sp->map || v < sp->map || v >= sp->map + sp->map_len)
                return;
        w = (size_t)(v - sp->map) / HO_SPOOL_WINDOW;
        if (sp->held[w] > 0 && --sp->held[w] == 0 && w < sp->cursor / HO_SPOOL_WINDOW)
                spool_drop(sp, w);
}

uint64_t ho_spool_count(const ho_spool_t *sp) {
        return sp->count;
}

/* ==== distinct transfers ================================================= */

struct ho_tset_s {
        uint64_t *slots; /* 0 = empty */
        size_t mask;
        uint64_t count;
        bool exact;
};

static uint64_t hash64(const void *p, size_t n) {
        const unsigned char *s = p;
        uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a full-avalanche finish */

        for (size_t i = 0; i < n; i++) {
                h ^= s[i];
                h *= 1099511628211ULL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return h ? h : 1;
}

ho_tset_t *ho_tset_new(void) {
        ho_tset_t *ts = calloc(1, sizeof(*ts));

        if (!ts)
                return NULL;
        ts->mask = 1023;
        ts->slots = calloc(ts->mask + 1, sizeof(uint64_t));
        ts->exact = true;
        if (!ts->slots) {
                free(ts);
                return NULL;
        }
        return ts;
}

void ho_tset_destroy(ho_tset_t *ts) {
        if (!ts)
                return;
        free(ts->slots);
        free(ts);
}

static bool tset_insert(uint64_t *slots, size_t mask, uint64_t h) {
        size_t i = (size_t)h & mask;

        while (slots[i]) {
                if (slots[i] == h)
                        return false;
                i = (i + 1) & mask;
        }
        slots[i] = h;
        return true;
}

bool ho_tset_add(ho_tset_t *ts, const void *id, size_t len) {
        uint64_t h = hash64(id, len);

        if ((ts->count + 1) * 2 > ts->mask + 1) {
                size_t nmask = ts->mask * 2 + 1;
                uint64_t *ns = NULL;
                if (ts->count < HO_TSET_MAX)
                        ns = calloc(nmask + 1, sizeof(uint64_t));
                if (!ns) {
                        /* Full (or no memory): answer "seen" for known ids and stop
                         * counting new ones exactly. Lookups still work. */
                        size_t i = (size_t)h & ts->mask;
                        while (ts->slots[i]) {
                                if (ts->slots[i] == h)
                                        return false;
                                i = (i + 1) & ts->mask;
                        }
                        ts->exact = false;
                        return false;
                }
                for (size_t i = 0; i <= ts->mask; i++)
                        if (ts->slots[i])
                                tset_insert(ns, nmask, ts->slots[i]);
                free(ts->slots);
                ts->slots = ns;
                ts->mask = nmask;
        }
        if (!tset_insert(ts->slots, ts->mask, h))
                return false;
        ts->count++;
        return true;
}

uint64_t ho_tset_count(const ho_tset_t *ts) {
        return ts->count;
}

bool ho_tset_exact(const ho_tset_t *ts) {
        return ts->exact;
}

/* ==== producer =========================================================== */

typedef struct failure_s {
        ho_pos_t pos;
        rd_kafka_resp_err_t err;
} failure_t;

struct ho_producer_s {
        rd_kafka_t *rk;
        rd_kafka_topic_t *rkt;
        char *topic;
        const char *const *names;
        size_t n_names;
        ho_producer_stats_t st;
        ho_tset_t *tset;
        ho_spool_t *spool; /* borrowed: values sent in place are released to it */
        failure_t fails[HO_BADLIST_CAP];
        size_t n_fails;
        bool fatal;             /* a send refused for good; kw.fatal: the client's (kafka.h) */
        ho_kafka_watch_t kw;
        bool confluent;         /* values are reframed 00 + id before they are sent */
        int32_t confluent_id;
        ho_buf_t frame;
};

ho_err_t ho_producer_conf_defaults(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size) {
        return ho_kafka_conf_defaults(HO_KAFKA_PRODUCER, "handover-produce", conf, errstr,
                                      errstr_size);
}

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
        ho_producer_t *p = ho_kafka_opaque(opaque);

        (void)rk;
        if (p->spool)
                ho_spool_release(p->spool, rkm->payload);
        if (rkm->err) {
                p->st.failed++;
                if (p->n_fails < HO_BADLIST_CAP) {
                        p->fails[p->n_fails].pos = (ho_pos_t)(uintptr_t)rkm->_private;
                        p->fails[p->n_fails].err = rkm->err;
                        p->n_fails++;
                }
                return;
        }
        p->st.delivered++;
        p->st.bytes += rkm->len;
        if (rkm->key)
                ho_tset_add(p->tset, rkm->key, rkm->key_len);
}

ho_producer_t *ho_producer_new(rd_kafka_conf_t *conf, const char *topic, const char *const *names,
                               size_t n_names, char *errstr, size_t errstr_size) {
        ho_producer_t *p = calloc(1, sizeof(*p));

        if (!p || !(p->tset = ho_tset_new()) || !(p->topic = strdup(topic))) {
                rd_kafka_conf_destroy(conf);
                if (p)
                        ho_tset_destroy(p->tset);
                free(p);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        p->names = names;
        p->n_names = n_names;
        ho_kafka_conf_watch(conf, &p->kw, p);
        rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
        p->rk = ho_kafka_new(RD_KAFKA_PRODUCER, conf, "the kafka producer", errstr, errstr_size);
        if (!p->rk) {
                ho_producer_destroy(p);
                return NULL;
        }
        p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
        if (!p->rkt) {
                ho_seterr(errstr, errstr_size, HO_ERR_KAFKA, "topic \"%s\": %s", topic,
                          rd_kafka_err2str(rd_kafka_last_error()));
                ho_producer_destroy(p);
                return NULL;
        }
        return p;
}

void ho_producer_destroy(ho_producer_t *p) {
        if (!p)
                return;
        if (p->rkt)
                rd_kafka_topic_destroy(p->rkt);
        if (p->rk)
                rd_kafka_destroy(p->rk);
        ho_tset_destroy(p->tset);
        ho_buf_free(&p->frame);
        free(p->topic);
        free(p);
}

ho_err_t ho_producer_check_topic(ho_producer_t *p, int timeout_ms, char *errstr,
                                 size_t errstr_size) {
        rd_kafka_resp_err_t kerr;
        int n;
        char why[512];
        ho_err_t err = ho_ktopic_meta(p->rk, p->topic, timeout_ms, NULL, &n, &kerr, why,
                                      sizeof(why));
        if (err == HO_ERR_NOT_FOUND)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "topic \"%s\" does not exist on the brokers (%s): create it "
                                 "(handover-topic create) or give another with -t",
                                 p->topic, rd_kafka_err2str(kerr));
        if (err)
                ho_debug("%s (the delivery reports will tell)", why);
        return HO_OK;
}

rd_kafka_t *ho_producer_handle(ho_producer_t *p) {
        return p->rk;
}

void ho_producer_set_confluent(ho_producer_t *p, int32_t id) {
        p->confluent = true;
        p->confluent_id = id;
}

static ho_err_t producer_send(ho_producer_t *p, const void *key, size_t key_len,
                              const void *value, size_t value_len, int64_t timestamp,
                              ho_pos_t pos, int msgflags, const volatile sig_atomic_t *stop,
                              char *errstr, size_t errstr_size) {
        if (p->confluent) {
                /* the same datum behind the registry's header; librdkafka copies it */
                ho_buf_reset(&p->frame);
                ho_err_t e = ho_confluent_frame(value, value_len, p->confluent_id, &p->frame);
                if (e)
                        return ho_seterr(errstr, errstr_size, e == HO_ERR_NOMEM ? e : HO_ERR_INVALID,
                                         "cannot reframe a value for the registry: %s",
                                         ho_err2str(e));
                value = p->frame.data;
                value_len = p->frame.len;
                msgflags = RD_KAFKA_MSG_F_COPY;
        }
        for (;;) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_MSGFLAGS(msgflags),
                        RD_KAFKA_V_KEY((void *)key, key_len),
                        RD_KAFKA_V_VALUE((void *)value, value_len),
                        RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)pos),
                        RD_KAFKA_V_END);
                if (!err) {
                        p->st.enqueued++;
                        return HO_OK;
                }
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        /* Back-pressure: serve delivery reports until there is room. */
                        if (stop && *stop)
                                return ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED,
                                                 "interrupted while the queue was full");
                        rd_kafka_poll(p->rk, 100);
                        continue;
                }
                if (err == RD_KAFKA_RESP_ERR__FATAL) {
                        char fatal[512];
                        rd_kafka_fatal_error(p->rk, fatal, sizeof(fatal));
                        p->fatal = true;
                        return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                         "cannot send to topic \"%s\": fatal error: %s", p->topic,
                                         fatal);
                }
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "cannot send to topic \"%s\": %s", p->topic,
                                 rd_kafka_err2str(err));
        }
}

ho_err_t ho_producer_send(ho_producer_t *p, const void *key, size_t key_len, const void *value,
                          size_t value_len, int64_t timestamp, ho_pos_t pos,
                          const volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
        return producer_send(p, key, key_len, value, value_len, timestamp, pos,
                             RD_KAFKA_MSG_F_COPY, stop, errstr, errstr_size);
}

ho_err_t ho_producer_send_spooled(ho_producer_t *p, ho_spool_t *sp, const ho_spool_rec_t *rec,
                                  const volatile sig_atomic_t *stop, char *errstr,
                                  size_t errstr_size) {
        ho_err_t err;

        p->spool = sp;
        /* librdkafka always copies the key; a mapped value is only pointed to */
        err = producer_send(p, rec->key, rec->key_len, rec->value, rec->value_len,
                            rec->timestamp, rec->pos, rec->mapped ? 0 : RD_KAFKA_MSG_F_COPY, stop,
                            errstr, errstr_size);
        /* a reframed value was copied: the mapped one is free at once */
        if ((err || p->confluent) && rec->mapped)
                ho_spool_release(sp, rec->value);
        return err;
}

void ho_producer_poll(ho_producer_t *p, int timeout_ms) {
        rd_kafka_poll(p->rk, timeout_ms);
}

uint64_t ho_producer_flush(ho_producer_t *p, int timeout_ms) {
        uint64_t before = p->st.failed;

        /* in slices, so an error nothing can fix (conf.h) ends the wait at once */
        for (int left = timeout_ms; left > 0 && !p->fatal && !p->kw.fatal &&
                                    rd_kafka_outq_len(p->rk) > 0;
             left -= 100)
                rd_kafka_flush(p->rk, left < 100 ? left : 100);
        if (rd_kafka_outq_len(p->rk) == 0)
                return 0;
        /* Out of time: take back what is still queued or in flight, so each
         * such message gets a delivery report (an error) and is counted. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (int i = 0; i < 50 && rd_kafka_outq_len(p->rk) > 0; i++)
                rd_kafka_poll(p->rk, 100);
        return p->st.failed - before;
}

void ho_producer_stats(const ho_producer_t *p, ho_producer_stats_t *out) {
        *out = p->st;
        out->transfers = ho_tset_count(p->tset);
        out->transfers_exact = ho_tset_exact(p->tset);
}

bool ho_producer_failed(const ho_producer_t *p) {
        return p->fatal || p->kw.fatal || p->st.failed > 0;
}

void ho_producer_print_failures(const ho_producer_t *p, FILE *out) {
        char where[1100];

        for (size_t i = 0; i < p->n_fails; i++) {
                ho_pos_format(p->fails[i].pos, p->names, p->n_names, where, sizeof(where));
                fprintf(out, "%s: not delivered to \"%s\": %s\n", where, p->topic,
                        rd_kafka_err2str(p->fails[i].err));
        }
        if (p->st.failed > p->n_fails)
                fprintf(out, "and %" PRIu64 " more not delivered\n", p->st.failed - p->n_fails);
}

const char *ho_producer_last_error(const ho_producer_t *p) {
        return p->kw.fatal ? p->kw.reason : p->kw.last;
}
