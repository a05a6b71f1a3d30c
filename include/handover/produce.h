/*
 * produce.h: handover-produce's run, where tests can reach it: the inputs
 * validated and sent to Kafka, each report once, keyed by transfer_id,
 * timestamped with reported_at.
 *
 * Named files are validated whole before anything is sent (pass 1 encodes
 * every record into a spool, pass 2 sends the spool), so a file with one bad
 * line sends nothing. Standard input and follow mode are streams: each line
 * is validated, then sent.
 *
 * The pieces, one module each: pos.h (record positions), lines.h (the line
 * reader), input.h (an input, JSON Lines or an Avro container), badlist.h
 * (the bad-record listing and the rejects file), validate.h (pass 1),
 * spool.h (between the passes), tset.h (distinct transfers), producer.h
 * (librdkafka and its delivery reports).
 *
 * Dependencies: those modules, codec.h, log.h (used by handover-produce).
 */
#ifndef HO_PRODUCE_H
#define HO_PRODUCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "handover/badlist.h"
#include "handover/codec.h"
#include "handover/err.h"
#include "handover/input.h"
#include "handover/lines.h"
#include "handover/pos.h"
#include "handover/producer.h"
#include "handover/spool.h"
#include "handover/tset.h"
#include "handover/validate.h"

/* What one run does; every pointer is borrowed for the run's length. */
typedef struct ho_produce_conf_s {
        const char *prog; /* prefix of the messages on err ("handover-produce") */
        const char *topic;
        const char *const *paths; /* inputs, in order ("-": standard input), at least one */
        size_t n_paths;           /* at most HO_POS_MAX_INPUTS */
        ho_codec_t *codec;        /* with its writer set */
        const char *writer_spec;  /* the writer as ho_codec_set_writer() took it (NULL:
                                    * newest): the validation threads make their own codecs */
        unsigned threads;         /* validation threads (ho_validate_t.threads; 0: automatic) */
        bool dry_run;             /* validate and encode everything, send nothing */
        bool follow;              /* the one path is followed (tail -F) until *stop */
        bool skip_invalid;        /* bad records go to rejects and the run goes on */
        FILE *rejects;            /* with skip_invalid: where they go */
        const char *rejects_path; /* its name for messages (NULL: standard error) */
        bool confluent;           /* values in the Confluent framing with schema_id */
        int32_t schema_id;
        bool progress;                     /* a progress line on err (a terminal) */
        const volatile sig_atomic_t *stop; /* set: stop reading, flush, report (NULL: never) */
        FILE *err;                         /* diagnostics and the summary (NULL: stderr) */
} ho_produce_conf_t;

/* What the run did. */
typedef struct ho_produce_result_s {
        uint64_t valid;     /* records valid in pass 1 (named files) */
        uint64_t invalid;   /* bad records listed (not the skipped ones) */
        uint64_t skipped;   /* bad records written to rejects */
        uint64_t enqueued;  /* handed to librdkafka */
        uint64_t delivered; /* acknowledged by the brokers (dry run: valid and encoded) */
        uint64_t failed;    /* not delivered */
        uint64_t unsent;    /* validated but never handed over (interrupted) */
        uint64_t transfers; /* distinct transfer ids delivered (dry run: valid) */
        bool transfers_exact;
        uint64_t bytes; /* value bytes delivered (dry run: encoded) */
} ho_produce_result_t;

/* Run: pass 1 over the named files, then pass 2 and the streams, in input
 * order; then flush and print the summary on pc->err. kconf (librdkafka
 * settings, bootstrap.servers among them unless dry_run) is taken on every
 * path. res (may be NULL) is filled on every path.
 *
 * HO_OK when every report was delivered (dry run: every record valid). Else
 * the first failure's kind, each already explained on pc->err:
 * HO_ERR_INVALID (bad records: a named file's send nothing, a stream stops at
 * the first unless skip_invalid), HO_ERR_INTERRUPTED (*stop during pass 1:
 * nothing sent), HO_ERR_KAFKA (not delivered, or the topic does not exist),
 * HO_ERR_IO (an input, the spool or the rejects file could not be read or
 * written), HO_ERR_NOMEM. */
ho_err_t ho_produce_run(const ho_produce_conf_t *pc, rd_kafka_conf_t *kconf,
                        ho_produce_result_t *res);

#endif
