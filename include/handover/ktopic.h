/*
 * ktopic.h: whether a Kafka topic exists, and creating one, for start-up
 * checks. Existence is read from a metadata request for all topics, which
 * never auto-creates the topic it asks about (a request naming it may, on a
 * broker with auto.create.topics.enable).
 */
#ifndef HO_KTOPIC_H
#define HO_KTOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "handover/err.h"

/* *partitions = the topic's partition count, or 0 when it does not exist.
 * HO_ERR_KAFKA (retriable: brokers unreachable, timeout) with errstr. */
ho_err_t ho_ktopic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, int *partitions,
                              char *errstr, size_t errstr_size);

/* One topic's partitions, from a metadata request naming it (on a broker
 * with auto.create.topics.enable that request may create it: use
 * ho_ktopic_partitions where that matters).
 *   HO_OK: *n partitions, their ids in *ids (malloc'ed, the caller frees;
 *          ids may be NULL when only the count is wanted);
 *   HO_ERR_NOT_FOUND: the brokers say the topic does not exist;
 *   HO_ERR_KAFKA: no answer (brokers unreachable, timeout) or the topic's
 *          own error (leader not available...): retriable;
 *   HO_ERR_NOMEM.
 * *kerr (may be NULL) gets librdkafka's code, for callers with their own
 * message; errstr says "metadata of topic \"T\": REASON". */
ho_err_t ho_ktopic_meta(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t **ids, int *n,
                        rd_kafka_resp_err_t *kerr, char *errstr, size_t errstr_size);

/* Create the topic (replication -1: the broker's default.replication.factor)
 * and wait until metadata shows it, within timeout_ms. A topic that exists
 * already (another worker created it first) is HO_OK. HO_ERR_KAFKA with the
 * broker's reason otherwise. */
ho_err_t ho_ktopic_create(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                          char *errstr, size_t errstr_size);

#endif
