/*
 * redrive.h: the dead letter topic, for operators (handover-redrive).
 *
 * Listing reads a dead letter topic from its first offset to the end it has
 * when the listing begins (no consumer group, nothing committed, nothing
 * changed) and prints each dead letter: where it is, where it came from (the
 * handover.source.* headers), why it was refused (handover.error and
 * handover.error.message), who refused it, its key, and its value as hex, as
 * text when it is UTF-8 (a raw JSON line sent by mistake), and as a report
 * when it decodes.
 *
 * Sending takes corrected reports from a JSON Lines file (or an Avro
 * container file), validates the whole file by handover-produce's rules
 * first (one bad record: nothing sent), checks that the topic exists, and
 * produces them to the main topic as handover-produce does (key =
 * transfer_id, timestamp = reported_at, idempotent, acks=all), each delivery
 * checked. A corrected report keeps its report_id, or derives one from its
 * content, so sending the same fix twice still counts once.
 */
#ifndef HO_REDRIVE_H
#define HO_REDRIVE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "handover/err.h"

typedef enum {
        HO_REDRIVE_TEXT = 0, /* a block of lines per dead letter, for people */
        HO_REDRIVE_JSON,     /* one JSON object per dead letter (JSON Lines) */
} ho_redrive_format_t;

typedef struct ho_redrive_conf_s {
        const char *topic;                 /* the main topic (send) */
        const char *dlq_topic;             /* the dead letter topic (list) */
        int timeout_ms;                    /* bound on each metadata / watermark request */
        const volatile sig_atomic_t *stop; /* optional: checked while polling */
} ho_redrive_conf_t;

/* List conf->dlq_topic to out. kconf (ho_kafka_conf_new's HO_KAFKA_READER) is
 * taken and freed in every case. *count (may be NULL) gets the dead letters
 * listed. HO_ERR_KAFKA + errstr when the topic is missing or unreachable;
 * HO_ERR_INTERRUPTED when *stop was set first. */
ho_err_t ho_redrive_list(const ho_redrive_conf_t *conf, rd_kafka_conf_t *kconf,
                         ho_redrive_format_t fmt, FILE *out, uint64_t *count, char *errstr,
                         size_t errstr_size);

/* Validate every record of path, then send them to conf->topic. kconf (HO_KAFKA_PRODUCER) is
 * taken and freed in every case. Bad records and failed deliveries are
 * listed on diag ("FILE:LINE: message"). *sent (may be NULL) gets the
 * reports acknowledged. HO_OK when every record was valid and delivered;
 * HO_ERR_INVALID (nothing sent) when a record was bad; HO_ERR_IO when path
 * cannot be read; HO_ERR_KAFKA when the topic is missing or a delivery
 * failed; HO_ERR_INTERRUPTED when *stop was set before everything was sent. */
ho_err_t ho_redrive_send(const ho_redrive_conf_t *conf, rd_kafka_conf_t *kconf, const char *path,
                         FILE *diag, uint64_t *sent, char *errstr, size_t errstr_size);

#endif
