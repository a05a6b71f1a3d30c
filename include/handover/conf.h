/*
 * conf.h: the pieces of configuration the way kcat takes it: librdkafka
 * settings from -X key=value (repeatable) and -c FILE (Java-style
 * properties: key=value lines, '#' comments), HANDOVER_* environment
 * variables, secrets kept out of messages and ps. Errors name the file and
 * line. cli.h puts them in their one precedence; kafka.h makes clients.
 */
#ifndef HO_CONF_H
#define HO_CONF_H

#include <stdbool.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "handover/err.h"

#define HO_DEFAULT_TOPIC "handover.transfers"
#define HO_DEFAULT_DLQ_SUFFIX ".dlq" /* dead letters go to TOPIC + ".dlq" */
#define HO_DEFAULT_PREFIX "handover"
#define HO_DEFAULT_GROUP "handover-aggregate"

/* getenv(name) when set and non-empty, else def (which may be NULL). */
const char *ho_env(const char *name, const char *def);

/* Whether a property holds a secret: its name has "password", "secret" or
 * "user.info" (the registry's basic.auth.user.info) in it (any case), or it is
 * a private key or OAuth configuration (ssl.key.pem, sasl.oauthbearer.config).
 * Its value is never shown. */
bool ho_conf_key_is_secret(const char *key);

/* Apply one "key=value" to conf. "-X list" is the caller's job
 * (ho_conf_kafka_list). Errors quote the setting ("-X \"key=value\": ..."),
 * with "***" for the value of a secret key. */
ho_err_t ho_conf_kafka_set(rd_kafka_conf_t *conf, const char *kv, char *errstr, size_t errstr_size);
/* Apply every key=value of a properties file; errors say "FILE:LINE: ..."
 * and never quote a secret value (nor the rest of a line without '='). */
ho_err_t ho_conf_kafka_file(rd_kafka_conf_t *conf, const char *path, char *errstr,
                            size_t errstr_size);

/* One -X key=value (-b BROKERS is "bootstrap.servers=BROKERS") or -c FILE,
 * in command-line order. */
typedef struct ho_conf_kprop_s {
        bool is_file;
        const char *value;
} ho_conf_kprop_t;
/* Apply one: the file or the key=value. */
ho_err_t ho_conf_kafka_prop(rd_kafka_conf_t *conf, const ho_conf_kprop_t *kp, char *errstr,
                            size_t errstr_size);
/* The default -c file: $HANDOVER_KAFKA_CONFIG when kp has no -c of its own,
 * else NULL (a -c replaces the default, as kcat's -F replaces $KCAT_CONFIG). */
const char *ho_conf_kafka_default_file(const ho_conf_kprop_t *kp, size_t n);
/* Apply the default file (if any), then each file of kp in order, then
 * each flag (-X, -b) of kp in order: files < flags, as cli.h says. */
ho_err_t ho_conf_kafka_apply(rd_kafka_conf_t *conf, const ho_conf_kprop_t *kp, size_t n,
                             char *errstr, size_t errstr_size);

/* Overwrite, in the process's own argument memory (what ps and
 * /proc/PID/cmdline show), every secret the arguments carry with '*': the
 * password of a URL (scheme://user:PASSWORD@host) and the value of
 * [-X]key=value for a secret key. Call it once the program has copied what
 * it needs from argv: anything still pointing into argv sees the stars. */
void ho_conf_hide_argv(int argc, char **argv);
/* Kafka errors that retrying cannot fix, so a program stops on them (exit 1)
 * instead of retrying forever: the broker refused the SASL credentials
 * (RD_KAFKA_RESP_ERR__AUTHENTICATION), or TLS failed (RD_KAFKA_RESP_ERR__SSL:
 * the broker's certificate did not verify against ssl.ca.location, no shared
 * protocol, ...). librdkafka reports disconnects during a handshake as
 * transport errors, which stay retriable. */
bool ho_kafka_err_is_auth(int err);

/* "kafka: authentication failed: REASON ..." or "kafka: TLS failed: ...", with
 * the settings to check, into buf. */
void ho_kafka_auth_format(int err, const char *reason, char *buf, size_t size);

/* Print librdkafka's property table (for "-X list"). */
void ho_conf_kafka_list(FILE *fp);
/* Print "PROG handover X.Y.Z (librdkafka A, avro-c B, hiredis C, jansson D)" for -V. */
void ho_print_version(FILE *fp, const char *prog);

#endif
