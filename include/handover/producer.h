/*
 * producer.h: librdkafka with handover-produce's delivery bookkeeping: every
 * delivery report is checked, a failure is kept with its input position so it
 * can be listed as FILE:LINE, and spooled values are sent in place.
 *
 * Dependencies: spool.h, tset.h, pos.h, badlist.h (its cap), codec.h (the
 * Confluent framing), conf.h, log.h
 * (used by produce.c, redrive.c).
 */
#ifndef HO_PRODUCER_H
#define HO_PRODUCER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "handover/err.h"
#include "handover/pos.h"
#include "handover/spool.h"

/* The settings handover-produce starts from, before -c and -X: kafka.c's
 * HO_KAFKA_PRODUCER table and client.id handover-produce. */
ho_err_t ho_producer_conf_defaults(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);

typedef struct ho_producer_s ho_producer_t;

typedef struct ho_producer_stats_s {
        uint64_t enqueued;  /* handed to librdkafka */
        uint64_t delivered; /* acknowledged by the broker */
        uint64_t failed;    /* delivery reports with an error (purged ones included) */
        uint64_t bytes;     /* value bytes delivered */
        uint64_t transfers; /* distinct keys delivered */
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
