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
#include <librdkafka/rdkafka.h>
#include "handover/err.h"

/* *partitions = the topic's partition count, or 0 when it does not exist.
 * HO_ERR_KAFKA (retriable: brokers unreachable, timeout) with errstr. */
ho_err_t ho_ktopic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, int *partitions,
                              char *errstr, size_t errstr_size);

/* Create the topic (replication -1: the broker's default.replication.factor)
 * and wait until metadata shows it, within timeout_ms. A topic that exists
 * already (another worker created it first) is HO_OK. HO_ERR_KAFKA with the
 * broker's reason otherwise. */
ho_err_t ho_ktopic_create(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                          char *errstr, size_t errstr_size);

#endif
