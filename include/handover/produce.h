/*
 * produce.h: the logic of handover-produce, where tests can reach it.
 *
 *   ho_lines_t     a bounded line reader over a file descriptor: lines of
 *                  any count in constant memory, a cap on one line's length,
 *                  and a follow mode (tail -F: waits at EOF, reopens a
 *                  rotated file, restarts a truncated one).
 *   ho_input_t     one input (a path or "-"): JSON Lines or an Avro object
 *                  container file (told apart by the "Obj\x01" magic), read
 *                  as a sequence of validated reports or per-record errors.
 *   ho_badlist_t   the "FILE:LINE: message" listing of bad records with a cap.
 *   ho_spool_t     encoded messages parked in an unlinked temporary file
 *                  between the validation pass and the send pass, so a file
 *                  is validated whole without holding it in memory.
 *   ho_tset_t      a set of transfer ids (64-bit hashes) to count distinct
 *                  transfers in bounded memory.
 *   ho_producer_t  librdkafka with the delivery bookkeeping: every delivery
 *                  report is checked, a failure is kept with its input
 *                  position so it can be listed as FILE:LINE.
 *
 * Positions: a ho_pos_t packs (input index, line or record number) so it can
 * ride in librdkafka's per-message opaque without an allocation.
 */
#ifndef HO_PRODUCE_H
#define HO_PRODUCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "handover/codec.h"
#include "handover/err.h"
#include "handover/report.h"

/* ---- positions ---------------------------------------------------------- */

typedef uint64_t ho_pos_t;
#define HO_POS_LINE_BITS 48
#define HO_POS_MAX_INPUTS 65535u
#define HO_POS(input, line)                                                                        \
        (((uint64_t)(input) << HO_POS_LINE_BITS) | ((uint64_t)(line) & ((1ULL << HO_POS_LINE_BITS) - 1)))
#define HO_POS_INPUT(pos) ((unsigned)((pos) >> HO_POS_LINE_BITS))
#define HO_POS_LINE(pos) ((uint64_t)((pos) & ((1ULL << HO_POS_LINE_BITS) - 1)))

/* "NAME:LINE" for pos, with names[HO_POS_INPUT(pos)] (or "?" when out of range). */
void ho_pos_format(ho_pos_t pos, const char *const *names, size_t n_names, char *out,
                   size_t out_size);

/* ---- line reader -------------------------------------------------------- */

#define HO_LINE_MAX_DEFAULT (4u << 20) /* 4 MiB: a report with 1000 long persons fits */

typedef enum {
        HO_LINE_OK = 0,   /* *line, *len, *lineno set; the line has no '\n' (nor a final '\r') */
        HO_LINE_EOF,      /* no more lines (never in follow mode) */
        HO_LINE_AGAIN,    /* nothing complete yet: no data within wait_ms, EINTR, or (follow) EOF */
        HO_LINE_TOO_LONG, /* line *lineno exceeded the cap; it was skipped whole */
        HO_LINE_ERROR,    /* read error; errstr says which */
} ho_line_status_t;

typedef struct ho_lines_s ho_lines_t;

/* A reader over fd (not closed by the reader unless path was given to
 * ho_lines_open). wait_ms: how long ho_lines_next may wait in poll() for a
 * pipe or terminal before returning HO_LINE_AGAIN (regular files never wait).
 * max_line 0 means HO_LINE_MAX_DEFAULT. NULL + errstr on failure. */
ho_lines_t *ho_lines_new_fd(int fd, size_t max_line, int wait_ms, char *errstr,
                            size_t errstr_size);
/* Open path (read-only). follow: at EOF return HO_LINE_AGAIN instead of
 * HO_LINE_EOF, keep a partial last line until its '\n' arrives, reopen the
 * path when it was replaced (rotation) and restart from the top when it
 * shrank (truncation); line numbers restart at 1 in either case. */
ho_lines_t *ho_lines_open(const char *path, bool follow, size_t max_line, char *errstr,
                          size_t errstr_size);
void ho_lines_destroy(ho_lines_t *lr);

/* The next line. *line points into the reader's buffer and stays valid until
 * the next call. Without follow, a last line lacking its '\n' is still a
 * line. */
ho_line_status_t ho_lines_next(ho_lines_t *lr, const char **line, size_t *len, uint64_t *lineno,
                               char *errstr, size_t errstr_size);
/* Look at up to n bytes ahead without consuming them (fewer at EOF). Blocks
 * on pipes until n bytes or EOF. Used to tell Avro from JSON. */
ho_err_t ho_lines_peek(ho_lines_t *lr, size_t n, const char **data, size_t *got, char *errstr,
                       size_t errstr_size);
/* Bytes read from the descriptor(s) so far (all files, in follow mode). */
uint64_t ho_lines_bytes_read(const ho_lines_t *lr);
/* Follow mode: how often the file was reopened (rotation) / restarted (truncation). */
unsigned ho_lines_reopens(const ho_lines_t *lr);
unsigned ho_lines_truncations(const ho_lines_t *lr);

/* ---- inputs ------------------------------------------------------------- */

typedef enum { HO_FORMAT_JSONL = 0, HO_FORMAT_AVRO } ho_format_t;

typedef enum {
        HO_INPUT_REPORT = 0, /* *out holds a valid report */
        HO_INPUT_BAD,        /* this record is invalid: errstr says why; reading may go on */
        HO_INPUT_EOF,
        HO_INPUT_AGAIN,      /* nothing yet (pipe without data, follow at EOF, EINTR) */
        HO_INPUT_ERROR,      /* the input cannot be read further: errstr says why */
} ho_input_status_t;

typedef struct ho_input_s ho_input_t;

/* Open path ("-" = standard input). index is the input's number in
 * positions. The codec is borrowed (must outlive the input) and is used to
 * turn Avro records into reports. Avro container files must be named files
 * (not standard input, not follow mode). NULL + errstr on failure. */
ho_input_t *ho_input_open(const char *path, unsigned index, bool follow, ho_codec_t *codec,
                          char *errstr, size_t errstr_size);
void ho_input_destroy(ho_input_t *in);

/* The next record into out (ho_report_clear()ed first). *pos is its
 * position (line number for JSON Lines, record number for Avro). Blank lines
 * are skipped. */
ho_input_status_t ho_input_next(ho_input_t *in, ho_report_t *out, ho_pos_t *pos, char *errstr,
                                size_t errstr_size);
ho_format_t ho_input_format(const ho_input_t *in);
const char *ho_input_name(const ho_input_t *in); /* "<stdin>" for "-" */
/* The raw text of the last JSON line returned (for rejects files); NULL for
 * Avro records and skipped over-long lines. Valid until the next call. */
const char *ho_input_last_line(const ho_input_t *in, size_t *len);
uint64_t ho_input_bytes_read(const ho_input_t *in);
/* Follow mode: how often the file was replaced / truncated so far. */
void ho_input_follow_events(const ho_input_t *in, unsigned *reopens, unsigned *truncations);
/* Total bytes when known (regular files), else -1: for progress ETAs. */
int64_t ho_input_size(const ho_input_t *in);

/* Check the block structure of an Avro object container file and count its
 * records, without decoding them (avro-c cannot tell a clean end of file
 * from a truncated block, nor open a file with no blocks). */
ho_err_t ho_avro_container_scan(FILE *fp, uint64_t *records, char *errstr, size_t errstr_size);

/* ---- bad-record listing ------------------------------------------------- */

#define HO_BADLIST_CAP 100

typedef struct ho_badlist_s {
        FILE *out;       /* where lines go (stderr in the program) */
        size_t cap;      /* lines printed at most */
        uint64_t count;  /* bad records seen */
} ho_badlist_t;

void ho_badlist_init(ho_badlist_t *bl, FILE *out, size_t cap);
/* Print "where: msg" while under the cap; always count. */
void ho_badlist_add(ho_badlist_t *bl, const char *where, const char *msg);
/* Print "and N more bad lines" when some were not printed. */
void ho_badlist_finish(ho_badlist_t *bl);

/* A rejects-file line: "position<TAB>reason<TAB>line\n", tabs and newlines
 * in reason replaced by spaces so the line stays three fields. Flushed at
 * once. 0 when it reached the file, else the errno of the failed write
 * (ENOSPC on a full disk); a stream that failed once keeps failing. */
int ho_reject_write(FILE *fp, const char *where, const char *reason, const char *line,
                    size_t len);

/* Make what was written to a rejects file durable: flush, then fsync (a
 * terminal, pipe or character device that cannot be synced is fine). 0 or
 * the errno of what failed. */
int ho_rejects_sync(FILE *fp);

/* ---- the validation pass ------------------------------------------------ */

typedef struct ho_spool_s ho_spool_t;
typedef struct ho_tset_s ho_tset_t;

/* Pass 1 over named inputs: every record validated and encoded; valid ones
 * go to the spool, bad ones to the listing (or, with rejects, to the rejects
 * file). Set the borrowed members, zero the counters, then call
 * ho_validate_input() for each named input in order. */
typedef struct ho_validate_s {
        ho_codec_t *codec;        /* borrowed */
        ho_spool_t *spool;        /* NULL: encode and count only (dry run) */
        ho_badlist_t *bad;        /* listing of bad records */
        FILE *rejects;            /* non-NULL (--skip-invalid): bad records go here instead */
        const char *const *names; /* position names, by input index */
        size_t n_names;
        ho_tset_t *transfers;     /* optional: distinct transfer ids of valid records */
        const volatile sig_atomic_t *stop; /* optional: checked between records */
        /* called about every 256 valid records, and with the bytes read of this input */
        void (*progress)(void *opaque, uint64_t valid, uint64_t input_bytes);
        void *opaque;
        /* JSON Lines are parsed, validated and encoded by this many threads
         * (0: one per online CPU, at most 4; 1: in the calling thread), each
         * with its own codec made from writer_spec (NULL: the newest schema,
         * else as ho_codec_set_writer() takes it). The results are the same,
         * in the same order, whatever the count. */
        unsigned threads;
        const char *writer_spec;
        /* counters, added to by every call */
        uint64_t valid;   /* records valid (and spooled) */
        uint64_t skipped; /* records written to rejects */
        uint64_t bytes;   /* encoded value bytes of the valid records */
        int rejects_errno; /* the first failed write to rejects (errno), 0 when none */
} ho_validate_t;

/* Validate one named input (path, input number index). *records (may be
 * NULL) gets the valid records of this input. HO_OK when the input was read
 * to its end (bad records are counted in v->bad->count, not errors);
 * HO_ERR_INTERRUPTED when *stop was set; any other code (errstr says which
 * input and why) when the input or the spool cannot be read or written. */
ho_err_t ho_validate_input(ho_validate_t *v, const char *path, unsigned index,
                           uint64_t *records, uint64_t *bytes_read, char *errstr,
                           size_t errstr_size);

/* ---- spool -------------------------------------------------------------- */

typedef struct ho_spool_rec_s {
        ho_pos_t pos;
        int64_t timestamp; /* ms */
        const char *key;   /* into the spool: see mapped */
        size_t key_len;
        const char *value;
        size_t value_len;
        /* true: key and value point into the spool's read-only mapping and stay
         * valid until ho_spool_destroy(); give the record back with
         * ho_spool_release() once done with it (delivered or failed), so its
         * pages can leave memory. false: into a buffer, valid until the next
         * get (the mapping could not be made). */
        bool mapped;
} ho_spool_rec_t;

/* An unlinked temporary file in $TMPDIR (or /tmp). */
ho_spool_t *ho_spool_new(char *errstr, size_t errstr_size);
void ho_spool_destroy(ho_spool_t *sp);
ho_err_t ho_spool_put(ho_spool_t *sp, ho_pos_t pos, int64_t timestamp, const void *key,
                      size_t key_len, const void *value, size_t value_len, char *errstr,
                      size_t errstr_size);
/* Switch from writing to reading from the first record. */
ho_err_t ho_spool_rewind(ho_spool_t *sp, char *errstr, size_t errstr_size);
/* HO_OK and *rec, HO_ERR_NOT_FOUND at the end, HO_ERR_IO on a damaged spool. */
ho_err_t ho_spool_get(ho_spool_t *sp, ho_spool_rec_t *rec, char *errstr, size_t errstr_size);
/* A mapped record's value (rec->value) is no longer used. Anything else
 * (NULL, a copy, a pointer from elsewhere) is ignored. Pages are given back
 * in file order, once the reader has passed them and every record taken
 * from them was released; a record never released only costs memory. */
void ho_spool_release(ho_spool_t *sp, const void *value);
uint64_t ho_spool_count(const ho_spool_t *sp);

/* ---- distinct transfers ------------------------------------------------- */

/* Exact up to collisions of a 64-bit hash (about n^2 / 2^65: 3e-8 for a
 * million ids); 16 bytes of memory per distinct id at worst. Beyond
 * HO_TSET_MAX distinct ids it stops growing and the count becomes a lower
 * bound (ho_tset_exact() false). */
#define HO_TSET_MAX (4u << 20)
ho_tset_t *ho_tset_new(void);
void ho_tset_destroy(ho_tset_t *ts);
/* true when id was new. */
bool ho_tset_add(ho_tset_t *ts, const void *id, size_t len);
uint64_t ho_tset_count(const ho_tset_t *ts);
bool ho_tset_exact(const ho_tset_t *ts);

/* ---- producer ----------------------------------------------------------- */

/* The settings handover-produce starts from, before -c and -X: kafka.c's
 * HO_KAFKA_PRODUCER table and client.id handover-produce. */
ho_err_t ho_producer_conf_defaults(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);

typedef struct ho_producer_s ho_producer_t;

typedef struct ho_producer_stats_s {
        uint64_t enqueued;   /* handed to librdkafka */
        uint64_t delivered;  /* acknowledged by the broker */
        uint64_t failed;     /* delivery reports with an error (purged ones included) */
        uint64_t bytes;      /* value bytes delivered */
        uint64_t transfers;  /* distinct keys delivered */
        bool transfers_exact;
} ho_producer_stats_t;

/* Takes conf (freed or owned on every path: do not use it afterwards); the
 * delivery report callback and error callback are installed here. names
 * (n_names entries) is borrowed and must outlive the producer: it turns
 * positions into "NAME:LINE" in the failure listing. */
ho_producer_t *ho_producer_new(rd_kafka_conf_t *conf, const char *topic, const char *const *names,
                               size_t n_names, char *errstr, size_t errstr_size);
void ho_producer_destroy(ho_producer_t *p);
rd_kafka_t *ho_producer_handle(ho_producer_t *p);
/* Ask the brokers whether the topic exists before anything is sent (a
 * missing topic otherwise shows only as "Message timed out" after
 * message.timeout.ms). HO_ERR_KAFKA + errstr when the brokers answer that it
 * does not; HO_OK when it exists, and also when they do not answer within
 * timeout_ms (the delivery reports then say what is wrong). */
ho_err_t ho_producer_check_topic(ho_producer_t *p, int timeout_ms, char *errstr,
                                 size_t errstr_size);

/* Send every value in the Confluent framing (00, schema id, datum) instead
 * of the single-object one it is given: id is the writer schema's id in the
 * registry (the caller registered it). Values are then always copied. */
void ho_producer_set_confluent(ho_producer_t *p, int32_t id);
/* Enqueue one message (copied). A full local queue is waited out by polling;
 * *stop (may be NULL) ends the wait with HO_ERR_INTERRUPTED. HO_ERR_KAFKA for
 * anything else (a fatal idempotence error included). */
ho_err_t ho_producer_send(ho_producer_t *p, const void *key, size_t key_len, const void *value,
                          size_t value_len, int64_t timestamp, ho_pos_t pos,
                          const volatile sig_atomic_t *stop, char *errstr, size_t errstr_size);
/* Enqueue one spooled record as ho_producer_send() does, but a mapped
 * record's value is handed over in place, not copied: the spool (borrowed,
 * the same one on every call) must outlive the producer; the record is
 * released to it by its delivery report, or here when it is not enqueued. */
ho_err_t ho_producer_send_spooled(ho_producer_t *p, ho_spool_t *sp, const ho_spool_rec_t *rec,
                                  const volatile sig_atomic_t *stop, char *errstr,
                                  size_t errstr_size);
/* Serve delivery reports: rd_kafka_poll(timeout_ms). */
void ho_producer_poll(ho_producer_t *p, int timeout_ms);
/* Wait up to timeout_ms for everything in flight; what is still queued then
 * is purged and counted as failed. Returns the number not delivered in
 * the purge (0 when everything was reported). */
uint64_t ho_producer_flush(ho_producer_t *p, int timeout_ms);
void ho_producer_stats(const ho_producer_t *p, ho_producer_stats_t *out);
/* true once any delivery failed, or librdkafka raised a fatal error. */
bool ho_producer_failed(const ho_producer_t *p);
/* Print up to HO_BADLIST_CAP failures "NAME:LINE: not delivered: ERROR" and
 * "and N more". */
void ho_producer_print_failures(const ho_producer_t *p, FILE *out);
/* The last error librdkafka reported through its error callback ("" if none). */
const char *ho_producer_last_error(const ho_producer_t *p);

#endif
