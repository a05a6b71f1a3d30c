/* redrive.c: listing dead letters and sending corrected reports (see redrive.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "handover/clock.h"
#include "handover/buf.h"
#include "handover/codec.h"
#include "handover/jreport.h"
#include "handover/kafka.h"
#include "handover/log.h"
#include "handover/input.h"
#include "handover/ktopic.h"
#include "handover/producer.h"
#include "handover/redrive.h"
#include "handover/report.h"

#define RD_POLL_MS 200
#define RD_HEX_TEXT_MAX 64 /* value bytes shown as hex in the text listing */

/* The partition ids of topic, from fresh metadata. *ids is malloc'ed. */
static ho_err_t rd_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t **ids,
                              int *n, char *errstr, size_t errstr_size) {
        rd_kafka_resp_err_t kerr;
        ho_err_t err = ho_ktopic_meta(rk, topic, timeout_ms, ids, n, &kerr, errstr, errstr_size);
        if (err == HO_ERR_NOT_FOUND)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "topic \"%s\" does not exist on the brokers (%s)", topic,
                                 rd_kafka_err2str(kerr));
        if (err == HO_ERR_KAFKA)
                return ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                 "cannot read the metadata of \"%s\": %s (is -b right?)", topic,
                                 rd_kafka_err2str(kerr));
        return err;
}

/* ---- listing ---- */

static const char *rd_header(rd_kafka_headers_t *h, const char *name, char *buf, size_t size) {
        const void *v = NULL;
        size_t n = 0;
        if (!h || rd_kafka_header_get_last(h, name, &v, &n) || !v) {
                snprintf(buf, size, "?");
                return buf;
        }
        snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), (const char *)v);
        return buf;
}

static void rd_hex(ho_buf_t *b, const unsigned char *p, size_t n) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
                ho_buf_append(b, two, 2);
        }
}

/* A JSON string of the bytes when they are UTF-8 text (no control
 * characters but tab and line ends: a JSON line sent by mistake), else NULL. */
static json_t *rd_text(const void *p, size_t n) {
        const unsigned char *s = p;
        for (size_t i = 0; i < n; i++)
                if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') || s[i] == 0x7f)
                        return NULL;
        return json_stringn(p, n); /* NULL when not UTF-8 */
}

/* A header holding a decimal (the source partition and offset) as a JSON
 * integer, anything else as a string. */
static json_t *rd_num(const char *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        return *s && !*end ? json_integer((json_int_t)v) : json_string(s);
}

static ho_err_t rd_list_one(ho_codec_t *codec, ho_report_t *r, const rd_kafka_message_t *m,
                            ho_redrive_format_t fmt, FILE *out) {
        rd_kafka_headers_t *h = NULL;
        char err[64], msg[1024], st[256], sp[32], so[32], worker[300];
        rd_kafka_message_headers(m, &h);
        rd_header(h, "handover.error", err, sizeof(err));
        rd_header(h, "handover.error.message", msg, sizeof(msg));
        rd_header(h, "handover.source.topic", st, sizeof(st));
        rd_header(h, "handover.source.partition", sp, sizeof(sp));
        rd_header(h, "handover.source.offset", so, sizeof(so));
        rd_header(h, "handover.worker", worker, sizeof(worker));
        char derr[512];
        json_t *report = NULL;
        if (m->len && ho_codec_decode(codec, m->payload, m->len, r, derr, sizeof(derr)) == HO_OK)
                report = ho_report_to_json(r);
        json_t *text = rd_text(m->payload, m->len);
        json_t *key = m->key ? rd_text(m->key, m->key_len) : NULL;
        ho_buf_t hex;
        ho_buf_init(&hex);
        const char *dlq = rd_kafka_topic_name(m->rkt);
        ho_err_t res = HO_OK;
        if (fmt == HO_REDRIVE_JSON) {
                rd_hex(&hex, m->payload, m->len);
                json_t *o = json_pack("{s:s,s:i,s:I,s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:s,s:o,s:o}",
                                      "dlq_topic", dlq, "dlq_partition", (int)m->partition,
                                      "dlq_offset", (json_int_t)m->offset, "source_topic", st,
                                      "source_partition", rd_num(sp), "source_offset", rd_num(so),
                                      "error", err, "message", msg, "worker", worker, "key",
                                      key ? key : json_null(), "value_hex",
                                      hex.data ? hex.data : "", "value_text",
                                      text ? text : json_null(), "report",
                                      report ? report : json_null());
                key = text = report = NULL; /* taken by json_pack's "o" */
                char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                if (s)
                        fprintf(out, "%s\n", s);
                else
                        res = HO_ERR_NOMEM;
                free(s);
                json_decref(o);
        } else {
                size_t shown = m->len < RD_HEX_TEXT_MAX ? m->len : RD_HEX_TEXT_MAX;
                rd_hex(&hex, m->payload, shown);
                fprintf(out,
                        "%s [%" PRId32 "] offset %" PRId64 ": from %s [%s] offset %s, %s: %s\n",
                        dlq, m->partition, m->offset, st, sp, so, err, msg);
                fprintf(out, "  worker %s, key %s%.*s%s, %zu value bytes\n", worker,
                        m->key ? "\"" : "", m->key ? (int)m->key_len : 4,
                        m->key ? (const char *)m->key : "none", m->key ? "\"" : "", m->len);
                fprintf(out, "  hex:  %s%s\n", hex.data ? hex.data : "",
                        shown < m->len ? "..." : "");
                if (text) {
                        const char *t = json_string_value(text);
                        size_t tl = json_string_length(text);
                        while (tl && (t[tl - 1] == '\n' || t[tl - 1] == '\r'))
                                tl--;
                        fprintf(out, "  text: %.*s\n", (int)tl, t);
                }
                if (report) {
                        char *s = json_dumps(report, JSON_COMPACT);
                        if (s)
                                fprintf(out, "  report: %s\n", s);
                        free(s);
                }
        }
        json_decref(key);
        json_decref(text);
        json_decref(report);
        ho_buf_free(&hex);
        return res;
}

ho_err_t ho_redrive_list(const ho_redrive_conf_t *conf, rd_kafka_conf_t *kconf,
                         ho_redrive_format_t fmt, FILE *out, uint64_t *count, char *errstr,
                         size_t errstr_size) {
        char rderr[512];
        uint64_t n_out = 0;
        if (count)
                *count = 0;
        /* no group: read only, nothing committed */
        rd_kafka_conf_set(kconf, "group.id", "handover-redrive", rderr, sizeof(rderr));
        rd_kafka_conf_set(kconf, "enable.auto.commit", "false", rderr, sizeof(rderr));
        rd_kafka_conf_set(kconf, "enable.auto.offset.store", "false", rderr, sizeof(rderr));
        ho_kafka_watch_t kw;
        ho_kafka_conf_watch(kconf, &kw, NULL);
        rd_kafka_t *rk = ho_kafka_new(RD_KAFKA_CONSUMER, kconf, "the kafka consumer", errstr,
                                      errstr_size);
        if (!rk)
                return HO_ERR_CLIENT;
        rd_kafka_poll_set_consumer(rk);
        int32_t *ids = NULL;
        int np = 0;
        int64_t *end = NULL, *next = NULL;
        ho_codec_t *codec = NULL;
        ho_report_t r;
        ho_report_init(&r);
        rd_kafka_topic_partition_list_t *l = NULL;
        ho_err_t err = rd_partitions(rk, conf->dlq_topic, conf->timeout_ms, &ids, &np, errstr,
                                     errstr_size);
        if (err)
                goto out;
        if (!(codec = ho_codec_new(errstr, errstr_size))) {
                err = HO_ERR_NOMEM;
                goto out;
        }
        end = calloc((size_t)np + 1, sizeof(*end));
        next = calloc((size_t)np + 1, sizeof(*next));
        l = rd_kafka_topic_partition_list_new(np ? np : 1);
        if (!end || !next || !l) {
                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                goto out;
        }
        int open = 0;
        for (int i = 0; i < np; i++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t kerr = rd_kafka_query_watermark_offsets(rk, conf->dlq_topic,
                                                                            ids[i], &lo, &hi,
                                                                            conf->timeout_ms);
                if (kerr) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                        "watermarks of \"%s\" [%" PRId32 "]: %s", conf->dlq_topic,
                                        ids[i], rd_kafka_err2str(kerr));
                        goto out;
                }
                end[i] = hi;
                next[i] = lo;
                if (hi > lo) {
                        rd_kafka_topic_partition_list_add(l, conf->dlq_topic, ids[i])->offset = lo;
                        open++;
                }
        }
        if (open && (err = rd_kafka_assign(rk, l) ? HO_ERR_KAFKA : HO_OK)) {
                ho_seterr(errstr, errstr_size, err, "cannot read \"%s\"", conf->dlq_topic);
                goto out;
        }
        /* up to each partition's end as it was when the listing began; the
         * messages come in offset order per partition */
        int64_t idle_since = ho_mono_ms();
        while (open > 0) {
                if (conf->stop && *conf->stop) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED, "interrupted");
                        goto out;
                }
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, RD_POLL_MS);
                if (!m) {
                        if (ho_mono_ms() - idle_since > (int64_t)conf->timeout_ms) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_TIMEOUT,
                                                "no message from \"%s\" for %d ms (%d partitions "
                                                "not read to their end)",
                                                conf->dlq_topic, conf->timeout_ms, open);
                                goto out;
                        }
                        continue;
                }
                idle_since = ho_mono_ms();
                if (m->err) {
                        ho_warn("kafka: %s", rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                int i = 0;
                while (i < np && ids[i] != m->partition)
                        i++;
                if (i < np && m->offset >= next[i] && m->offset < end[i]) {
                        if ((err = rd_list_one(codec, &r, m, fmt, out))) {
                                ho_seterr(errstr, errstr_size, err, "out of memory");
                                rd_kafka_message_destroy(m);
                                goto out;
                        }
                        n_out++;
                        next[i] = m->offset + 1;
                        if (next[i] >= end[i])
                                open--;
                }
                rd_kafka_message_destroy(m);
        }
        if (fflush(out) != 0)
                err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot write the listing");
out:
        if (count)
                *count = n_out;
        if (l)
                rd_kafka_topic_partition_list_destroy(l);
        free(ids);
        free(end);
        free(next);
        ho_report_clear(&r);
        if (codec)
                ho_codec_destroy(codec);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return err;
}

/* ---- sending ---- */

typedef struct rd_rec_s {
        char *key;
        size_t key_len;
        char *value;
        size_t value_len;
        int64_t ts;
        ho_pos_t pos;
} rd_rec_t;

typedef struct rd_send_s {
        FILE *diag;
        const char *name;
        const char *topic;
        uint64_t delivered, failed;
} rd_send_t;

static void rd_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        rd_send_t *s = ho_kafka_opaque(opaque);
        if (m->err) {
                s->failed++;
                fprintf(s->diag, "%s:%" PRIu64 ": not delivered to \"%s\": %s\n", s->name,
                        (uint64_t)(uintptr_t)m->_private, s->topic, rd_kafka_err2str(m->err));
        } else {
                s->delivered++;
        }
}

ho_err_t ho_redrive_send(const ho_redrive_conf_t *conf, rd_kafka_conf_t *kconf, const char *path,
                         FILE *diag, uint64_t *sent, char *errstr, size_t errstr_size) {
        char rderr[512];
        rd_rec_t *recs = NULL;
        size_t n = 0, cap = 0;
        uint64_t bad = 0;
        rd_kafka_t *rk = NULL;
        ho_input_t *in = NULL;
        ho_report_t r;
        ho_buf_t val;
        ho_err_t err = HO_OK;
        rd_send_t st = {.diag = diag, .name = path, .topic = conf->topic};
        ho_kafka_watch_t kw;
        ho_report_init(&r);
        ho_buf_init(&val);
        if (sent)
                *sent = 0;
        ho_codec_t *codec = ho_codec_new(errstr, errstr_size);
        if (!codec) {
                rd_kafka_conf_destroy(kconf);
                return HO_ERR_NOMEM;
        }
        /* pass 1: every record valid and encoded, or nothing is sent */
        if (!(in = ho_input_open(path, 0, false, codec, errstr, errstr_size))) {
                err = HO_ERR_IO;
                goto out;
        }
        st.name = ho_input_name(in);
        for (;;) {
                ho_pos_t pos;
                char why[1024];
                ho_input_status_t s = ho_input_next(in, &r, &pos, why, sizeof(why));
                if (s == HO_INPUT_EOF)
                        break;
                if (s == HO_INPUT_AGAIN)
                        continue;
                if (s == HO_INPUT_ERROR) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "\"%s\": %s",
                                        ho_input_name(in), why);
                        goto out;
                }
                if (s == HO_INPUT_REPORT) {
                        ho_buf_reset(&val);
                        if (ho_codec_encode(codec, &r, &val, why, sizeof(why)) != HO_OK)
                                s = HO_INPUT_BAD;
                }
                if (s == HO_INPUT_BAD) {
                        fprintf(diag, "%s:%" PRIu64 ": %s\n", ho_input_name(in),
                                (uint64_t)HO_POS_LINE(pos), why);
                        bad++;
                        continue;
                }
                if (n == cap) {
                        size_t nc = cap ? cap * 2 : 16;
                        rd_rec_t *nr = realloc(recs, nc * sizeof(*nr));
                        if (!nr) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                                goto out;
                        }
                        recs = nr;
                        cap = nc;
                }
                rd_rec_t *rec = &recs[n];
                rec->key_len = strlen(r.transfer_id);
                rec->key = strdup(r.transfer_id);
                rec->value = ho_buf_steal(&val, &rec->value_len);
                rec->ts = r.reported_at;
                rec->pos = pos;
                if (!rec->key || !rec->value) {
                        free(rec->key);
                        free(rec->value);
                        err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                        goto out;
                }
                n++;
        }
        if (bad) {
                err = ho_seterr(errstr, errstr_size, HO_ERR_INVALID,
                                "%" PRIu64 " invalid report%s in \"%s\": nothing sent", bad,
                                bad == 1 ? "" : "s", ho_input_name(in));
                goto out;
        }
        /* pass 2: to the main topic, as handover-produce sends (kconf has its
         * defaults), written once */
        if (rd_kafka_conf_set(kconf, "enable.idempotence", "true", rderr, sizeof(rderr)) ||
            rd_kafka_conf_set(kconf, "acks", "all", rderr, sizeof(rderr))) {
                rd_kafka_conf_destroy(kconf);
                kconf = NULL;
                err = ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "producer settings: %s", rderr);
                goto out;
        }
        ho_kafka_conf_watch(kconf, &kw, &st);
        rd_kafka_conf_set_dr_msg_cb(kconf, rd_dr_cb);
        rk = ho_kafka_new(RD_KAFKA_PRODUCER, kconf, "the kafka producer", errstr, errstr_size);
        kconf = NULL; /* ho_kafka_new took it */
        if (!rk) {
                err = HO_ERR_CLIENT;
                goto out;
        }
        int32_t *ids = NULL;
        int np = 0;
        if ((err = rd_partitions(rk, conf->topic, conf->timeout_ms, &ids, &np, errstr,
                                 errstr_size))) {
                char why[512];
                snprintf(why, sizeof(why), "%s", errstr);
                ho_seterr(errstr, errstr_size, err, "%s: nothing sent", why);
                goto out;
        }
        free(ids);
        for (size_t i = 0; i < n; i++) {
                rd_rec_t *rec = &recs[i];
                rd_kafka_resp_err_t kerr;
                do {
                        kerr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(conf->topic),
                                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                 RD_KAFKA_V_KEY(rec->key, rec->key_len),
                                                 RD_KAFKA_V_VALUE(rec->value, rec->value_len),
                                                 RD_KAFKA_V_TIMESTAMP(rec->ts),
                                                 RD_KAFKA_V_OPAQUE(
                                                         (void *)(uintptr_t)HO_POS_LINE(rec->pos)),
                                                 RD_KAFKA_V_END);
                        if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 100);
                } while (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL);
                if (kerr) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                        "%s:%" PRIu64 ": cannot send to \"%s\": %s", st.name,
                                        (uint64_t)HO_POS_LINE(rec->pos), conf->topic,
                                        rd_kafka_err2str(kerr));
                        break;
                }
                rd_kafka_poll(rk, 0);
        }
        /* every delivery report comes within message.timeout.ms */
        while (rd_kafka_outq_len(rk) > 0 && !(conf->stop && *conf->stop))
                rd_kafka_poll(rk, 100);
        if (rd_kafka_outq_len(rk) > 0) {
                rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_poll(rk, 0);
                if (!err)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED,
                                        "interrupted: %" PRIu64 " of %zu reports delivered",
                                        st.delivered, n);
        }
        if (!err && st.failed)
                err = ho_seterr(errstr, errstr_size, HO_ERR_KAFKA,
                                "%" PRIu64 " of %zu reports not delivered to \"%s\"", st.failed, n,
                                conf->topic);
out:
        if (sent)
                *sent = st.delivered;
        if (rk)
                rd_kafka_destroy(rk);
        if (kconf)
                rd_kafka_conf_destroy(kconf);
        for (size_t i = 0; i < n; i++) {
                free(recs[i].key);
                free(recs[i].value);
        }
        free(recs);
        ho_input_destroy(in);
        ho_report_clear(&r);
        ho_buf_free(&val);
        ho_codec_destroy(codec);
        return err;
}
