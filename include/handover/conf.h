/*
 * conf.h: configuration the way kcat takes it. Flags first, then HANDOVER_*
 * environment variables, then defaults; librdkafka settings from -X
 * key=value (repeatable) and -c FILE (Java-style properties: key=value lines,
 * '#' comments). Errors name the file and line.
 */
#ifndef HO_CONF_H
#define HO_CONF_H

#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "handover/err.h"

#define HO_DEFAULT_TOPIC "handover.transfers"
#define HO_DEFAULT_DLQ_SUFFIX ".dlq" /* dead letters go to TOPIC + ".dlq" */
#define HO_DEFAULT_PREFIX "handover"
#define HO_DEFAULT_GROUP "handover-aggregate"

/* Exit codes shared by every program (documented in the README). */
#define HO_EXIT_OK 0
#define HO_EXIT_FAIL 1  /* runtime failure: something was not done */
#define HO_EXIT_USAGE 2 /* bad flags or arguments */

/* getenv(name) when set and non-empty, else def (which may be NULL). */
const char *ho_env(const char *name, const char *def);

/* Apply one "key=value" to conf. "-X list" is the caller's job
 * (ho_conf_kafka_list). */
ho_err_t ho_conf_kafka_set(rd_kafka_conf_t *conf, const char *kv, char *errstr, size_t errstr_size);
/* Apply every key=value of a properties file; errors say "FILE:LINE: ...". */
ho_err_t ho_conf_kafka_file(rd_kafka_conf_t *conf, const char *path, char *errstr,
                            size_t errstr_size);
/* Print librdkafka's property table (for "-X list"). */
void ho_conf_kafka_list(FILE *fp);
/* Print "PROG handover X.Y.Z (librdkafka A, avro-c B, hiredis C, jansson D)" for -V. */
void ho_print_version(FILE *fp, const char *prog);

#endif
