/*
 * produce.c: handover-produce's run (see produce.h): pass 1 validates every
 * named file into the spool, pass 2 sends it input by input, streams are
 * validated and sent line by line, and the summary says what was delivered.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "handover/clock.h"
#include "handover/buf.h"
#include "handover/log.h"
#include "handover/produce.h"

#define STOP_FLUSH_MS 10000 /* flush bound after *stop */
/* bound on asking whether the topic exists: a reachable cluster answers in
 * milliseconds; an unreachable one is left to the delivery reports, so the
 * check adds at most this to a run that fails anyway (and starts a stream
 * almost at once) */
#define TOPIC_CHECK_MS 1000

/* Delivery reports are served (rd_kafka_poll) every SPOOL_POLL_EVERY messages
 * of a file, not after each one: a poll costs a lock and a queue check, and
 * a batch holds thousands of messages anyway. A full queue is served at once
 * (ho_producer_send). A stream polls after each line: it is never this fast. */
#define SPOOL_POLL_EVERY 1024

/* CPU seconds of the whole process (every thread), for the debug timings */
static double cpu_s(void) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) != 0)
                return 0;
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- progress line (on a terminal) -------------------------------------- */

typedef struct progress_s {
        bool on;
        FILE *out;
        const char *prog;
        double t0, last;
        bool shown;
} progress_t;

/* done/total in "units" (bytes or reports) give the percentage and ETA when
 * total > 0. */
static void progress(progress_t *pg, const char *what, uint64_t n, uint64_t done, uint64_t total,
                     bool force) {
        double t = now_s(), el;
        if (!pg->on || (!force && t - pg->last < 0.5))
                return;
        pg->last = t;
        el = t - pg->t0;
        fprintf(pg->out, "\r%s: %s %" PRIu64 " reports, %.0f/s", pg->prog, what, n,
                el > 0 ? (double)n / el : 0.0);
        if (total > 0 && done <= total) {
                double frac = (double)done / (double)total;
                fprintf(pg->out, ", %.0f%%", frac * 100.0);
                if (frac > 0.01)
                        fprintf(pg->out, ", ETA %.0f s", el / frac - el);
        }
        fputs("\033[K", pg->out);
        pg->shown = true;
}

static void progress_clear(progress_t *pg) {
        if (pg->shown)
                fputs("\r\033[K", pg->out);
        pg->shown = false;
}

/* ---- the run ------------------------------------------------------------ */

typedef struct run_s {
        const ho_produce_conf_t *pc;
        FILE *err;
        const char **names; /* paths as positions show them ("<stdin>" for "-") */
        int timeout_ms;     /* message.timeout.ms */
        char brokers[1024];
        ho_producer_t *producer;
        ho_spool_t *spool;
        uint64_t *spooled;  /* per input: records in the spool */
        ho_tset_t *dry_set; /* dry run: distinct transfers */
        uint64_t dry_n, dry_bytes;
        uint64_t valid, invalid;
        uint64_t skipped;    /* invalid records written to rejects */
        uint64_t unsent;     /* file records never handed to Kafka (interrupted) */
        bool failed;         /* a runtime failure other than delivery */
        bool rejects_failed; /* a write to the rejects file failed (said once) */
        ho_err_t code;       /* the first failure's kind */
        ho_report_t report;
        ho_buf_t value;
        progress_t pg;
        double t0;
        uint64_t total_bytes, done_bytes; /* pass 1 progress over named files */
} run_t;

static bool stopped(const run_t *run) {
        return run->pc->stop && *run->pc->stop;
}

/* Record that the run failed, with code as its kind unless one was set. */
static void fail(run_t *run, ho_err_t code) {
        run->failed = true;
        if (!run->code)
                run->code = code;
}

/* "PROG: " and the message on the diagnostics stream. */
static void say(run_t *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(run_t *run, const char *fmt, ...) {
        va_list ap;
        fprintf(run->err, "%s: ", run->pc->prog);
        va_start(ap, fmt);
        vfprintf(run->err, fmt, ap);
        va_end(ap);
}

static bool is_stream(const run_t *run, size_t i) {
        return run->pc->follow || strcmp(run->pc->paths[i], "-") == 0;
}

/* Encode run->report into run->value. */
static ho_err_t encode(run_t *run, char *errstr, size_t errstr_size) {
        ho_buf_reset(&run->value);
        return ho_codec_encode(run->pc->codec, &run->report, &run->value, errstr, errstr_size);
}

/* What a send returned: a failure other than an interruption is reported
 * and fails the run. */
static ho_err_t send_result(run_t *run, ho_err_t err, const char *errstr) {
        if (err && err != HO_ERR_INTERRUPTED) {
                say(run, "%s\n", errstr);
                fail(run, HO_ERR_KAFKA);
        }
        return err;
}

/* Send (or, dry run, count) one encoded message; poll: serve delivery reports. */
static ho_err_t emit(run_t *run, const char *key, size_t key_len, const char *value,
                     size_t value_len, int64_t ts, ho_pos_t pos, bool poll) {
        char errstr[512];
        ho_err_t err;

        if (run->pc->dry_run) {
                run->dry_n++;
                run->dry_bytes += value_len;
                ho_tset_add(run->dry_set, key, key_len);
                return HO_OK;
        }
        err = ho_producer_send(run->producer, key, key_len, value, value_len, ts, pos,
                               run->pc->stop, errstr, sizeof(errstr));
        send_result(run, err, errstr);
        if (poll)
                ho_producer_poll(run->producer, 0);
        return err;
}

static uint64_t sent_so_far(const run_t *run) {
        ho_producer_stats_t st;
        if (run->pc->dry_run)
                return run->dry_n;
        ho_producer_stats(run->producer, &st);
        return st.enqueued;
}

static bool should_stop(const run_t *run) {
        return stopped(run) || run->failed || (run->producer && ho_producer_failed(run->producer));
}

static void pass1_progress(void *opaque, uint64_t valid, uint64_t input_bytes) {
        run_t *run = opaque;
        progress(&run->pg, "validating", valid, run->done_bytes + input_bytes, run->total_bytes,
                 false);
}

/* Whether the rejects are not all on disk (err: a write's errno, or 0 to
 * flush and fsync now); says so once. Nothing may then claim they were. */
static bool rejects_failed(run_t *run, int err, const char *then) {
        if (!err)
                err = ho_rejects_sync(run->pc->rejects);
        if (!err)
                return false;
        if (!run->rejects_failed) {
                progress_clear(&run->pg);
                say(run,
                    "cannot write the rejects file \"%s\": %s: the invalid lines "
                    "are not all recorded; %s\n",
                    run->pc->rejects_path ? run->pc->rejects_path : "<stderr>", strerror(err),
                    then);
        }
        run->rejects_failed = true;
        fail(run, HO_ERR_IO);
        return true;
}

/* The listing kept aside while a progress line was on: printed now. */
static void listing_flush(run_t *run, FILE *out, char *listing) {
        if (out != run->err) {
                fclose(out);
                fputs(listing, run->err);
                free(listing);
        }
}

/* Pass 1 over every named file: validate and encode each record into the
 * spool; list every bad record (up to a cap). Returns false when a file has
 * bad records or cannot be read: then nothing is sent. */
static bool pass1(run_t *run) {
        const ho_produce_conf_t *pc = run->pc;
        char errstr[1024];
        ho_badlist_t bad;
        ho_validate_t v;
        char *listing = NULL;
        size_t listing_len = 0;
        FILE *out = run->err;

        /* With a progress line on the terminal, the listing (at most the cap's
         * lines) is kept aside and printed after the line is cleared. */
        if (run->pg.on && !(out = open_memstream(&listing, &listing_len)))
                out = run->err;
        ho_badlist_init(&bad, out, HO_BADLIST_CAP);
        memset(&v, 0, sizeof(v));
        v.codec = pc->codec;
        v.writer_spec = pc->writer_spec;
        v.threads = pc->threads;
        v.spool = run->spool;
        v.bad = &bad;
        v.rejects = pc->skip_invalid ? pc->rejects : NULL;
        v.names = run->names;
        v.n_names = pc->n_paths;
        v.transfers = pc->dry_run ? run->dry_set : NULL;
        v.stop = pc->stop;
        v.progress = pass1_progress;
        v.opaque = run;
        for (size_t i = 0; i < pc->n_paths; i++) {
                struct stat st;
                if (!is_stream(run, i) && stat(pc->paths[i], &st) == 0)
                        run->total_bytes += (uint64_t)st.st_size;
        }
        for (size_t i = 0; i < pc->n_paths; i++) {
                uint64_t read_bytes = 0;
                ho_err_t err;

                if (is_stream(run, i))
                        continue;
                err = ho_validate_input(&v, pc->paths[i], (unsigned)i, &run->spooled[i],
                                        &read_bytes, errstr, sizeof(errstr));
                run->done_bytes += read_bytes;
                if (err) {
                        progress_clear(&run->pg);
                        ho_badlist_finish(&bad);
                        listing_flush(run, out, listing);
                        run->invalid += bad.count;
                        if (err == HO_ERR_INTERRUPTED)
                                say(run, "interrupted while validating: nothing sent\n");
                        else
                                say(run, "%s\n", errstr);
                        fail(run,
                             err == HO_ERR_NOMEM || err == HO_ERR_INTERRUPTED ? err : HO_ERR_IO);
                        return false;
                }
        }
        progress_clear(&run->pg);
        ho_badlist_finish(&bad);
        listing_flush(run, out, listing);
        run->skipped += v.skipped;
        run->valid += v.valid;
        run->invalid += bad.count;
        if (pc->skip_invalid && rejects_failed(run, v.rejects_errno, "nothing sent"))
                return false;
        if (pc->dry_run) {
                run->dry_n += v.valid;
                run->dry_bytes += v.bytes;
        }
        if (bad.count > 0) {
                say(run, "%" PRIu64 " invalid report%s: nothing sent\n", bad.count,
                    bad.count == 1 ? "" : "s");
                fail(run, HO_ERR_INVALID);
                return false;
        }
        return true;
}

/* Pass 2 for named file i: send its spooled records. */
static void send_spooled(run_t *run, size_t i, uint64_t *sent_total, uint64_t spool_total) {
        char errstr[512];
        ho_spool_rec_t rec;
        ho_err_t err;
        uint64_t k;

        for (k = 0; k < run->spooled[i] && !should_stop(run); k++) {
                if (ho_spool_get(run->spool, &rec, errstr, sizeof(errstr)) != HO_OK) {
                        say(run, "%s\n", errstr);
                        fail(run, HO_ERR_IO);
                        break;
                }
                err = ho_producer_send_spooled(run->producer, run->spool, &rec, run->pc->stop,
                                               errstr, sizeof(errstr));
                if (send_result(run, err, errstr))
                        break;
                if ((*sent_total & (SPOOL_POLL_EVERY - 1)) == 0)
                        ho_producer_poll(run->producer, 0);
                ++*sent_total;
                if ((*sent_total & 255) == 0)
                        progress(&run->pg, "sending", sent_so_far(run), *sent_total, spool_total,
                                 false);
        }
        /* records of this file never handed over (the rest are counted below) */
        run->unsent += run->spooled[i] - k;
}

/* Wait ms, serving delivery reports meanwhile when there is a producer. */
static void idle(run_t *run, int ms) {
        if (run->producer)
                ho_producer_poll(run->producer, ms);
        else
                ho_sleep_ms(ms);
}

/* A stream (stdin, follow mode): validate each line, then send it. */
static void send_stream(run_t *run, size_t i) {
        const ho_produce_conf_t *pc = run->pc;
        char errstr[1024], where[1200];
        ho_input_t *in;
        unsigned reopens = 0, truncs = 0;
        ho_pos_t pos = 0;
        uint64_t n = 0;

        /* like tail -F, follow mode waits for a file that is not there yet */
        if (pc->follow && access(pc->paths[i], F_OK) != 0 && errno == ENOENT) {
                ho_info("waiting for \"%s\" to appear", pc->paths[i]);
                while (!stopped(run) && access(pc->paths[i], F_OK) != 0 && errno == ENOENT)
                        idle(run, 200);
                if (stopped(run))
                        return;
        }
        in = ho_input_open(pc->paths[i], (unsigned)i, pc->follow, pc->codec, errstr,
                           sizeof(errstr));
        if (!in) {
                say(run, "%s\n", errstr);
                fail(run, HO_ERR_IO);
                return;
        }
        if (ho_input_format(in) != HO_FORMAT_JSONL) {
                say(run, "\"%s\": only JSON Lines can be streamed\n", ho_input_name(in));
                fail(run, HO_ERR_IO);
                ho_input_destroy(in);
                return;
        }
        while (!should_stop(run)) {
                ho_input_status_t s = ho_input_next(in, &run->report, &pos, errstr, sizeof(errstr));
                const char *line;
                size_t len;

                if (s == HO_INPUT_REPORT && encode(run, errstr, sizeof(errstr)) != HO_OK)
                        s = HO_INPUT_BAD;
                if (s == HO_INPUT_REPORT) {
                        if (emit(run, run->report.transfer_id, strlen(run->report.transfer_id),
                                 run->value.data, run->value.len, run->report.reported_at, pos,
                                 true) != HO_OK)
                                break;
                        if ((++n & 255) == 0)
                                progress(&run->pg, "sending", sent_so_far(run),
                                         ho_input_bytes_read(in),
                                         ho_input_size(in) > 0 ? (uint64_t)ho_input_size(in) : 0,
                                         false);
                        continue;
                }
                if (s == HO_INPUT_BAD) {
                        ho_pos_format(pos, run->names, pc->n_paths, where, sizeof(where));
                        progress_clear(&run->pg);
                        if (pc->skip_invalid) {
                                line = ho_input_last_line(in, &len);
                                run->skipped++;
                                if (rejects_failed(run,
                                                   ho_reject_write(pc->rejects, where, errstr, line,
                                                                   len),
                                                   "stopped reading"))
                                        break;
                                continue;
                        }
                        fprintf(run->err, "%s: %s\n", where, errstr);
                        say(run, "stopped at the invalid report (--skip-invalid goes on)\n");
                        run->invalid++;
                        fail(run, HO_ERR_INVALID);
                        break;
                }
                if (s == HO_INPUT_AGAIN) {
                        unsigned r, t;
                        ho_input_follow_events(in, &r, &t);
                        if (r != reopens || t != truncs) {
                                progress_clear(&run->pg);
                                ho_info("\"%s\" was %s: reading it from the top", pc->paths[i],
                                        r != reopens ? "replaced" : "truncated");
                                reopens = r;
                                truncs = t;
                        }
                        if (pc->follow)
                                idle(run, 100); /* at EOF of a followed file */
                        else if (run->producer)
                                ho_producer_poll(run->producer, 0);
                        progress(&run->pg, "sending", sent_so_far(run), 0, 0, false);
                        continue;
                }
                if (s == HO_INPUT_EOF)
                        break;
                say(run, "\"%s\": %s\n", ho_input_name(in), errstr);
                fail(run, HO_ERR_IO);
                break;
        }
        ho_input_destroy(in);
}

static int conf_int(rd_kafka_conf_t *conf, const char *name, int def) {
        char v[64];
        size_t sz = sizeof(v);
        if (rd_kafka_conf_get(conf, name, v, &sz) != RD_KAFKA_CONF_OK)
                return def;
        return atoi(v);
}

/* The producer from kconf (taken); false + said when it cannot be made. */
static bool producer_make(run_t *run, rd_kafka_conf_t **kconf) {
        char errstr[1024];

        run->producer = ho_producer_new(*kconf, run->pc->topic, run->names, run->pc->n_paths,
                                        errstr, sizeof(errstr));
        *kconf = NULL; /* handed over */
        if (!run->producer) {
                say(run, "%s\n", errstr);
                fail(run, HO_ERR_KAFKA);
                return false;
        }
        if (run->pc->confluent)
                ho_producer_set_confluent(run->producer, run->pc->schema_id);
        return true;
}

static void print_skipped(run_t *run) {
        const char *rp = run->pc->rejects_path;
        if (run->skipped)
                say(run, "%" PRIu64 " invalid lines skipped%s%s\n", run->skipped,
                    run->rejects_failed ? ", NOT all written to "
                    : rp                ? ", written to "
                                        : "",
                    rp ? rp : "");
}

/* Flush what is in flight and say what was delivered. */
static void summary(run_t *run, double cpu1, ho_produce_result_t *res) {
        const ho_produce_conf_t *pc = run->pc;
        double secs;

        progress_clear(&run->pg);
        if (pc->skip_invalid && run->skipped && !run->rejects_failed)
                rejects_failed(run, 0, "the reports were sent");
        if (run->producer) {
                ho_producer_stats_t st;
                uint64_t purged;
                int bound = stopped(run) ? STOP_FLUSH_MS : run->timeout_ms + 5000;
                if (stopped(run))
                        say(run, "interrupted: flushing (at most %d s)\n", bound / 1000);
                secs = now_s();
                purged = ho_producer_flush(run->producer, bound);
                ho_debug("flush: %.3f s, %.3f CPU s", now_s() - secs, cpu_s() - cpu1);
                ho_producer_stats(run->producer, &st);
                ho_producer_print_failures(run->producer, run->err);
                if (st.failed > 0) {
                        const char *le = ho_producer_last_error(run->producer);
                        say(run,
                            "%" PRIu64 " of %" PRIu64 " reports not delivered to \"%s\" at "
                            "\"%s\"%s%s%s\n",
                            st.failed, st.enqueued, pc->topic, run->brokers,
                            purged ? " (still in flight when the flush ended)"
                                   : " (within message.timeout.ms)",
                            *le ? "; last broker error: " : "", le);
                        fail(run, HO_ERR_KAFKA);
                }
                if (run->unsent > 0) {
                        say(run, "%" PRIu64 " validated reports were not sent\n", run->unsent);
                        fail(run, HO_ERR_INTERRUPTED);
                }
                print_skipped(run);
                secs = now_s() - run->t0;
                say(run,
                    "sent %" PRIu64 " reports (%s%" PRIu64 " transfers, %" PRIu64
                    " bytes) in %.3f s\n",
                    st.delivered, st.transfers_exact ? "" : "at least ", st.transfers, st.bytes,
                    secs);
                res->enqueued = st.enqueued;
                res->delivered = st.delivered;
                res->failed = st.failed;
                res->transfers = st.transfers;
                res->transfers_exact = st.transfers_exact;
                res->bytes = st.bytes;
                return;
        }
        print_skipped(run);
        secs = now_s() - run->t0;
        if (pc->dry_run && !run->failed) {
                say(run,
                    "dry run, nothing sent: %" PRIu64 " reports valid and encoded (%s%" PRIu64
                    " transfers, %" PRIu64 " bytes) in %.3f s\n",
                    run->dry_n, ho_tset_exact(run->dry_set) ? "" : "at least ",
                    ho_tset_count(run->dry_set), run->dry_bytes, secs);
                res->delivered = run->dry_n;
                res->transfers = ho_tset_count(run->dry_set);
                res->transfers_exact = ho_tset_exact(run->dry_set);
                res->bytes = run->dry_bytes;
        } else {
                say(run, "sent 0 reports (0 transfers, 0 bytes) in %.3f s\n", secs);
        }
}

ho_err_t ho_produce_run(const ho_produce_conf_t *pc, rd_kafka_conf_t *kconf,
                        ho_produce_result_t *res) {
        char errstr[1024];
        ho_produce_result_t scratch;
        double cpu1 = 0;
        run_t run;

        if (!res)
                res = &scratch;
        memset(res, 0, sizeof(*res));
        memset(&run, 0, sizeof(run));
        run.pc = pc;
        run.err = pc->err ? pc->err : stderr;
        ho_report_init(&run.report);
        ho_buf_init(&run.value);
        run.pg.on = pc->progress;
        run.pg.out = run.err;
        run.pg.prog = pc->prog;
        run.t0 = run.pg.t0 = now_s();
        if (pc->n_paths == 0 || pc->n_paths > HO_POS_MAX_INPUTS) {
                say(&run, "%zu inputs (expected 1 to %u)\n", pc->n_paths, HO_POS_MAX_INPUTS);
                fail(&run, HO_ERR_USAGE);
                goto out;
        }
        run.timeout_ms = conf_int(kconf, "message.timeout.ms", 30000);
        {
                size_t sz = sizeof(run.brokers);
                if (rd_kafka_conf_get(kconf, "bootstrap.servers", run.brokers, &sz) !=
                    RD_KAFKA_CONF_OK)
                        run.brokers[0] = '\0';
        }
        run.spooled = calloc(pc->n_paths, sizeof(*run.spooled));
        run.names = calloc(pc->n_paths, sizeof(*run.names));
        for (size_t i = 0; run.names && i < pc->n_paths; i++)
                run.names[i] = strcmp(pc->paths[i], "-") == 0 ? "<stdin>" : pc->paths[i];
        run.dry_set = ho_tset_new();
        if (!run.spooled || !run.names || !run.dry_set) {
                say(&run, "out of memory\n");
                fail(&run, HO_ERR_NOMEM);
                goto out;
        }
        if (!pc->dry_run) {
                bool any_file = false;
                for (size_t i = 0; i < pc->n_paths; i++)
                        any_file |= !is_stream(&run, i);
                if (any_file && !(run.spool = ho_spool_new(errstr, sizeof(errstr)))) {
                        say(&run, "%s\n", errstr);
                        fail(&run, HO_ERR_IO);
                        goto out;
                }
        }

        /* With named files to validate, the producer is made first: librdkafka
         * connects, fetches metadata and its idempotent producer id while
         * pass 1 runs, instead of after it. Nothing is sent before pass 2. */
        if (!pc->dry_run && run.spool && !producer_make(&run, &kconf))
                goto out;

        /* pass 1: every named file, validated whole */
        if (!pass1(&run)) {
                /* nothing was handed to Kafka: no delivery summary */
                ho_producer_destroy(run.producer);
                run.producer = NULL;
                summary(&run, cpu1, res);
                goto out;
        }

        ho_debug("pass 1 (validate, encode, spool): %.3f s, %.3f CPU s", now_s() - run.t0, cpu_s());
        cpu1 = cpu_s();

        /* pass 2: send, input by input, in order */
        if (!pc->dry_run) {
                if (!run.producer && !producer_make(&run, &kconf))
                        goto out;
                if (ho_producer_check_topic(run.producer, TOPIC_CHECK_MS, errstr, sizeof(errstr)) !=
                    HO_OK) {
                        say(&run, "%s; nothing sent\n", errstr);
                        fail(&run, HO_ERR_KAFKA);
                        ho_producer_destroy(run.producer);
                        run.producer = NULL;
                        summary(&run, cpu1, res);
                        goto out;
                }
                if (run.spool && ho_spool_rewind(run.spool, errstr, sizeof(errstr)) != HO_OK) {
                        say(&run, "%s\n", errstr);
                        fail(&run, HO_ERR_IO);
                        goto out;
                }
        }
        {
                uint64_t sent_total = 0, spool_total = run.spool ? ho_spool_count(run.spool) : 0;
                run.pg.t0 = now_s();
                for (size_t i = 0; i < pc->n_paths; i++) {
                        if (should_stop(&run)) {
                                if (!is_stream(&run, i))
                                        run.unsent += run.spooled[i];
                                continue;
                        }
                        if (is_stream(&run, i))
                                send_stream(&run, i);
                        else if (!pc->dry_run) /* a dry run counted files in pass 1 */
                                send_spooled(&run, i, &sent_total, spool_total);
                }
                ho_debug("pass 2 (hand over to librdkafka): %.3f s, %.3f CPU s",
                         now_s() - run.pg.t0, cpu_s() - cpu1);
                cpu1 = cpu_s();
        }
        summary(&run, cpu1, res);

out:
        res->valid = run.valid;
        res->invalid = run.invalid;
        res->skipped = run.skipped;
        res->unsent = run.unsent;
        if (kconf)
                rd_kafka_conf_destroy(kconf);
        ho_producer_destroy(run.producer);
        ho_spool_destroy(run.spool);
        ho_tset_destroy(run.dry_set);
        free(run.spooled);
        free(run.names);
        ho_report_clear(&run.report);
        ho_buf_free(&run.value);
        return run.failed ? (run.code ? run.code : HO_ERR_IO) : HO_OK;
}
