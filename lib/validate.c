/*
 * validate.c: handover-produce's validation pass (see validate.h): one input
 * read, each record validated and encoded, in the calling thread or by a pool
 * of workers whose batches are consumed strictly in input order.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "handover/input.h"
#include "handover/lines.h"
#include "handover/validate.h"

/* One valid record: spool it, count it. */
static ho_err_t validate_keep(ho_validate_t *v, ho_pos_t pos, int64_t ts, const char *key,
                              size_t key_len, const char *value, size_t value_len, char *errstr,
                              size_t errstr_size) {
        if (v->spool) {
                ho_err_t err = ho_spool_put(v->spool, pos, ts, key, key_len, value, value_len,
                                            errstr, errstr_size);
                if (err)
                        return err;
        }
        if (v->transfers)
                ho_tset_add(v->transfers, key, key_len);
        v->valid++;
        v->bytes += value_len;
        return HO_OK;
}

/* One bad record: list it, or write it to the rejects file. */
static void validate_bad(ho_validate_t *v, ho_pos_t pos, const char *why, const char *line,
                         size_t len) {
        char where[1200];

        ho_pos_format(pos, v->names, v->n_names, where, sizeof(where));
        if (v->rejects) {
                int e = ho_reject_write(v->rejects, where, why, line, len);
                if (e && !v->rejects_errno)
                        v->rejects_errno = e;
                v->skipped++;
        } else {
                ho_badlist_add(v->bad, where, why);
        }
}

static ho_err_t validate_parallel(ho_validate_t *v, ho_input_t *in, unsigned threads,
                                  uint64_t *records, char *errstr, size_t errstr_size);

static unsigned validate_threads(const ho_validate_t *v) {
        long n = v->threads ? (long)v->threads : sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
                n = 1;
        return n > 4 ? 4 : (unsigned)n;
}

ho_err_t ho_validate_input(ho_validate_t *v, const char *path, unsigned index, uint64_t *records,
                           uint64_t *bytes_read, char *errstr, size_t errstr_size) {
        char why[1024];
        ho_input_t *in = ho_input_open(path, index, false, v->codec, errstr, errstr_size);
        ho_report_t r;
        ho_buf_t value = HO_BUF_INIT;
        ho_pos_t pos = 0;
        uint64_t n = 0;
        ho_err_t err = HO_OK;
        bool done = false;

        if (records)
                *records = 0;
        if (bytes_read)
                *bytes_read = 0;
        if (!in)
                return HO_ERR_IO;
        if (ho_input_format(in) == HO_FORMAT_JSONL && validate_threads(v) > 1) {
                err = validate_parallel(v, in, validate_threads(v), records, errstr, errstr_size);
                if (bytes_read)
                        *bytes_read = ho_input_bytes_read(in);
                ho_input_destroy(in);
                return err;
        }
        ho_report_init(&r);
        while (!done) {
                const char *line;
                size_t len;
                ho_input_status_t st;

                if (v->stop && *v->stop) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED, "interrupted");
                        break;
                }
                st = ho_input_next(in, &r, &pos, why, sizeof(why));
                if (st == HO_INPUT_REPORT) {
                        ho_buf_reset(&value);
                        if (ho_codec_encode(v->codec, &r, &value, why, sizeof(why)) != HO_OK)
                                st = HO_INPUT_BAD;
                }
                switch (st) {
                case HO_INPUT_REPORT:
                        err = validate_keep(v, pos, r.reported_at, r.transfer_id,
                                            strlen(r.transfer_id), value.data, value.len, errstr,
                                            errstr_size);
                        if (err) {
                                done = true;
                                break;
                        }
                        if ((++n & 255) == 0 && v->progress)
                                v->progress(v->opaque, v->valid, ho_input_bytes_read(in));
                        break;
                case HO_INPUT_BAD:
                        line = ho_input_last_line(in, &len);
                        validate_bad(v, pos, why, line, len);
                        break;
                case HO_INPUT_AGAIN:
                        break; /* EINTR: the stop flag is checked above */
                case HO_INPUT_EOF:
                        done = true;
                        break;
                case HO_INPUT_ERROR:
                default:
                        err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "\"%s\": %s",
                                        ho_input_name(in), why);
                        done = true;
                        break;
                }
        }
        if (records)
                *records = n;
        if (bytes_read)
                *bytes_read = ho_input_bytes_read(in);
        ho_report_clear(&r);
        ho_buf_free(&value);
        ho_input_destroy(in);
        return err;
}

/* ---- the same, in parallel ------------------------------------------------
 *
 * The calling thread reads lines into numbered batches; worker threads each
 * take the next batch, parse, validate and encode its lines with their own
 * codec, and leave the results in the batch; the calling thread consumes
 * finished batches strictly in number order, so the spool, the listing and
 * the rejects come out exactly as the sequential loop writes them. At most
 * VB_SLOTS batches exist: memory stays bounded whatever the input's size. */

#define VB_LINES 512
#define VB_BYTES (512u << 10)
#define VB_SLOTS 8

typedef struct vbatch_s {
        ho_buf_t text; /* the lines, back to back */
        size_t off[VB_LINES], len[VB_LINES];
        uint64_t lineno[VB_LINES];
        bool too_long[VB_LINES];
        size_t n;
        ho_buf_t out; /* valid records, as the spool holds them (ho_spool_hdr_t) */
        ho_buf_t bad; /* bad records: see vb_put() */
        size_t n_ok, n_bad;
        uint64_t value_bytes; /* of the valid records */
        bool in_map;          /* off[] are into vpool_t.map, not text */
        size_t map_end;       /* in_map: where the input stood after the last line */
        bool oom;             /* out or bad could not grow: results incomplete */
        bool done;
} vbatch_t;

typedef struct vpool_s {
        pthread_mutex_t mu;
        pthread_mutex_t avro_mu; /* see vworker() */
        pthread_cond_t work, finished;
        vbatch_t slot[VB_SLOTS];
        uint64_t filled; /* batches handed to workers */
        uint64_t taken;  /* batches taken by a worker */
        bool closing;
        ho_err_t werr; /* a worker that could not start */
        char werrstr[1100];
        const char *writer_spec;
        unsigned index;  /* input number, for positions */
        const char *map; /* the input file, mapped (NULL: lines are copied) */
} vpool_t;

/* Valid records go to vbatch_t.out exactly as the spool stores them, so a
 * batch is spooled with one write; bad records to vbatch_t.bad:
 *   u64 pos, u32 why_len, u32 line_len (or UINT32_MAX: no line), why, line.
 * The two lists are consumed independently: the spool and the listing each
 * keep input order. */
static void vb_put(vbatch_t *b, ho_buf_t *to, const void *p, size_t n) {
        if (!b->oom && ho_buf_append(to, p, n) != HO_OK)
                b->oom = true;
}

/* The embedded schema version (1 or 2) the codec's writer is coded
 * directly for, or 0 (through avro-c, or unknown). */
static int direct_writer_version(ho_codec_t *codec) {
        const ho_schema_t *w = ho_codec_writer(codec);
        const ho_schema_registry_t *reg = ho_codec_registry(codec);

        if (!ho_codec_is_direct(codec, w))
                return 0;
        if (w == ho_schema_registry_version(reg, 2))
                return 2;
        if (w == ho_schema_registry_version(reg, 1))
                return 1;
        return 0;
}

/* What ho_codec_encode() writes for a direct writer, less its check of the
 * report's validation stamp: r was made by ho_report_from_json() a moment
 * ago in this thread, so hashing it again (a tenth of a worker's
 * instructions went to the two stamps) would only repeat that call's. */
static ho_err_t encode_fresh(const ho_report_t *r, int version, uint64_t fp, ho_buf_t *out) {
        unsigned char *h;

        if (ho_buf_reserve(out, HO_SOE_HEADER) != HO_OK)
                return HO_ERR_NOMEM;
        h = (unsigned char *)out->data + out->len;
        h[0] = HO_SOE_MAGIC0;
        h[1] = HO_SOE_MAGIC1;
        for (int i = 0; i < 8; i++)
                h[2 + i] = (unsigned char)(fp >> (8 * i));
        out->len += HO_SOE_HEADER;
        return ho_codec_datum(r, r->report_id, version, out);
}

static void *vworker(void *arg) {
        vpool_t *vp = arg;
        char err[1024];
        ho_codec_t *codec = ho_codec_new(err, sizeof(err));
        ho_report_t r;
        ho_buf_t value = HO_BUF_INIT;

        if (codec && vp->writer_spec &&
            ho_codec_set_writer(codec, vp->writer_spec, err, sizeof(err)) != HO_OK) {
                ho_codec_destroy(codec);
                codec = NULL;
        }
        /* see the encoding below: the direct coder never calls avro-c */
        bool take_turns = !codec || !ho_codec_is_direct(codec, ho_codec_writer(codec));
        int direct = codec ? direct_writer_version(codec) : 0;
        uint64_t fp = direct ? ho_codec_writer(codec)->fingerprint : 0;
        ho_report_init(&r);
        pthread_mutex_lock(&vp->mu);
        if (!codec && !vp->werr) {
                vp->werr = HO_ERR_NOMEM;
                snprintf(vp->werrstr, sizeof(vp->werrstr), "validation thread: %s", err);
                pthread_cond_broadcast(&vp->finished);
        }
        for (;;) {
                vbatch_t *b;
                while (!vp->closing && vp->taken == vp->filled)
                        pthread_cond_wait(&vp->work, &vp->mu);
                if (vp->closing)
                        break;
                b = &vp->slot[vp->taken++ % VB_SLOTS];
                pthread_mutex_unlock(&vp->mu);

                ho_buf_reset(&b->out);
                ho_buf_reset(&b->bad);
                b->n_ok = b->n_bad = 0;
                b->value_bytes = 0;
                b->oom = false;
                for (size_t i = 0; i < b->n; i++) {
                        const char *line = (b->in_map ? vp->map : b->text.data) + b->off[i];
                        uint64_t pos = HO_POS(vp->index, b->lineno[i]);
                        ho_err_t e = HO_OK;

                        if (!codec) {
                                e = HO_ERR_NOMEM;
                                snprintf(err, sizeof(err), "no codec");
                        } else if (b->too_long[i]) {
                                e = HO_ERR_INVALID;
                                snprintf(err, sizeof(err), "line longer than %u bytes",
                                         HO_LINE_MAX_DEFAULT);
                        } else if ((e = ho_input_parse_line(line, b->len[i], &r, err,
                                                            sizeof(err))) == HO_OK) {
                                /* avro-c 1.11.1 keeps its error message in one
                                 * process-wide buffer, written even on paths that
                                 * succeed (a field the writer schema lacks):
                                 * encoding, the only avro-c call here, takes turns,
                                 * unless the writer has the direct coder (no avro-c) */
                                ho_buf_reset(&value);
                                if (direct) {
                                        if ((e = encode_fresh(&r, direct, fp, &value)))
                                                snprintf(err, sizeof(err), "out of memory");
                                } else {
                                        if (take_turns)
                                                pthread_mutex_lock(&vp->avro_mu);
                                        e = ho_codec_encode(codec, &r, &value, err, sizeof(err));
                                        if (take_turns)
                                                pthread_mutex_unlock(&vp->avro_mu);
                                }
                        }
                        if (e == HO_OK) {
                                size_t kl = strlen(r.transfer_id);
                                ho_spool_hdr_t h = {pos, r.reported_at, (uint32_t)kl,
                                                    (uint32_t)value.len};
                                if (kl > UINT32_MAX || value.len > UINT32_MAX) {
                                        b->oom = true; /* cannot be: ids and values are small */
                                        continue;
                                }
                                if (!b->oom &&
                                    ho_buf_reserve(&b->out, sizeof(h) + kl + value.len) != HO_OK)
                                        b->oom = true;
                                vb_put(b, &b->out, &h, sizeof(h));
                                vb_put(b, &b->out, r.transfer_id, kl);
                                vb_put(b, &b->out, value.data, value.len);
                                b->n_ok++;
                                b->value_bytes += value.len;
                        } else {
                                uint32_t wl = (uint32_t)strlen(err);
                                uint32_t ll = b->too_long[i] ? UINT32_MAX : (uint32_t)b->len[i];
                                vb_put(b, &b->bad, &pos, 8);
                                vb_put(b, &b->bad, &wl, 4);
                                vb_put(b, &b->bad, &ll, 4);
                                vb_put(b, &b->bad, err, wl);
                                if (ll != UINT32_MAX)
                                        vb_put(b, &b->bad, line, ll);
                                b->n_bad++;
                        }
                }
                pthread_mutex_lock(&vp->mu);
                b->done = true;
                pthread_cond_broadcast(&vp->finished);
        }
        pthread_mutex_unlock(&vp->mu);
        ho_report_clear(&r);
        ho_buf_free(&value);
        ho_codec_destroy(codec);
        return NULL;
}

/* Consume batch b's results in order. A result buffer that could not grow
 * (out of memory) is reported, never half-applied. */
static ho_err_t vb_consume(ho_validate_t *v, vbatch_t *b, uint64_t *kept, char *errstr,
                           size_t errstr_size) {
        const char *p, *end;

        if (b->oom || b->n_ok + b->n_bad != b->n)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM,
                                 "out of memory while validating");
        if (v->spool) {
                ho_err_t err = ho_spool_put_block(v->spool, b->out.data, b->out.len, b->n_ok,
                                                  errstr, errstr_size);
                if (err)
                        return err;
        }
        if (v->transfers) {
                for (p = b->out.data, end = p + b->out.len; p < end;) {
                        ho_spool_hdr_t h;
                        memcpy(&h, p, sizeof(h));
                        ho_tset_add(v->transfers, p + sizeof(h), h.key_len);
                        p += sizeof(h) + (size_t)h.key_len + h.value_len;
                }
        }
        v->valid += b->n_ok;
        v->bytes += b->value_bytes;
        *kept += b->n_ok;
        for (p = b->bad.data, end = p + b->bad.len; p < end;) {
                uint64_t pos;
                uint32_t wl, ll;
                char why[1024];
                memcpy(&pos, p, 8);
                memcpy(&wl, p + 8, 4);
                memcpy(&ll, p + 12, 4);
                snprintf(why, sizeof(why), "%.*s", (int)wl, p + 16);
                validate_bad(v, pos, why, ll == UINT32_MAX ? NULL : p + 16 + wl,
                             ll == UINT32_MAX ? 0 : ll);
                p += 16 + (size_t)wl + (ll == UINT32_MAX ? 0 : ll);
        }
        return HO_OK;
}

static ho_err_t validate_parallel(ho_validate_t *v, ho_input_t *in, unsigned threads,
                                  uint64_t *records, char *errstr, size_t errstr_size) {
        ho_linemap_t ml;
        bool mapped = ho_lines_map(ho_input_lines(in), ho_input_name(in), &ml);
        size_t page = (size_t)sysconf(_SC_PAGESIZE), dropped = 0;
        vpool_t *vp = calloc(1, sizeof(*vp));
        pthread_t tid[4];
        unsigned started = 0;
        uint64_t emitted = 0, kept = 0, last_progress = 0;
        ho_err_t err = HO_OK;
        bool eof = false;

        if (!vp)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        pthread_mutex_init(&vp->mu, NULL);
        pthread_mutex_init(&vp->avro_mu, NULL);
        pthread_cond_init(&vp->work, NULL);
        pthread_cond_init(&vp->finished, NULL);
        vp->writer_spec = v->writer_spec;
        vp->index = ho_input_index(in);
        vp->map = mapped ? ml.p : NULL;
        for (size_t i = 0; i < VB_SLOTS; i++) {
                ho_buf_init(&vp->slot[i].text);
                ho_buf_init(&vp->slot[i].out);
                ho_buf_init(&vp->slot[i].bad);
        }
        for (unsigned t = 0; t < threads; t++)
                if (pthread_create(&tid[started], NULL, vworker, vp) == 0)
                        started++;
        if (started == 0) {
                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM,
                                "cannot start validation threads");
                goto out;
        }

        while (err == HO_OK) {
                vbatch_t *b;
                /* emit finished batches in order; wait when every slot is in use
                 * or the input is done */
                pthread_mutex_lock(&vp->mu);
                for (;;) {
                        bool full = vp->filled - emitted == VB_SLOTS;
                        bool drain = eof && emitted < vp->filled;
                        vbatch_t *e = &vp->slot[emitted % VB_SLOTS];
                        if (vp->werr) {
                                err = ho_seterr(errstr, errstr_size, vp->werr, "%s", vp->werrstr);
                                break;
                        }
                        if (emitted < vp->filled && e->done) {
                                pthread_mutex_unlock(&vp->mu);
                                err = vb_consume(v, e, &kept, errstr, errstr_size);
                                /* in steps of 4 MB: each call interrupts every
                                 * CPU running a thread of ours (TLB shootdown) */
                                if (e->in_map && e->map_end / page * page >= dropped + (4u << 20)) {
                                        size_t upto = e->map_end / page * page;
                                        madvise((void *)(ml.p + dropped), upto - dropped,
                                                MADV_DONTNEED);
                                        dropped = upto;
                                }
                                pthread_mutex_lock(&vp->mu);
                                e->done = false;
                                emitted++;
                                if (err)
                                        break;
                                continue;
                        }
                        if (!full && !drain)
                                break;
                        pthread_cond_wait(&vp->finished, &vp->mu);
                }
                pthread_mutex_unlock(&vp->mu);
                if (err || (eof && emitted == vp->filled))
                        break;
                if (v->progress && kept - last_progress >= 256) {
                        last_progress = kept;
                        v->progress(v->opaque, v->valid, mapped ? ml.at : ho_input_bytes_read(in));
                }
                if (v->stop && *v->stop) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_INTERRUPTED, "interrupted");
                        break;
                }
                /* fill the next slot (free: fewer than VB_SLOTS are out) */
                b = &vp->slot[vp->filled % VB_SLOTS];
                ho_buf_reset(&b->text);
                b->n = 0;
                b->in_map = mapped;
                for (size_t bytes = 0; b->n < VB_LINES && bytes < VB_BYTES;) {
                        const char *line = NULL;
                        size_t len = 0;
                        uint64_t lineno = 0;
                        char why[512];
                        ho_line_status_t st = mapped ? ho_linemap_next(&ml, &line, &len, &lineno)
                                                     : ho_lines_next(ho_input_lines(in), &line,
                                                                     &len, &lineno, why,
                                                                     sizeof(why));
                        if (st == HO_LINE_AGAIN) {
                                if (v->stop && *v->stop)
                                        break;
                                continue;
                        }
                        if (st == HO_LINE_EOF) {
                                eof = true;
                                break;
                        }
                        if (st == HO_LINE_ERROR) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "\"%s\": %s",
                                                ho_input_name(in), why);
                                break;
                        }
                        if (st == HO_LINE_OK && ho_line_is_blank(line, len))
                                continue;
                        b->off[b->n] = mapped && st == HO_LINE_OK ? (size_t)(line - ml.p)
                                                                  : b->text.len;
                        b->len[b->n] = st == HO_LINE_OK ? len : 0;
                        b->lineno[b->n] = lineno;
                        b->too_long[b->n] = st == HO_LINE_TOO_LONG;
                        if (st == HO_LINE_OK && !mapped &&
                            ho_buf_append(&b->text, line, len) != HO_OK) {
                                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                                break;
                        }
                        bytes += b->len[b->n];
                        b->n++;
                }
                b->map_end = ml.at;
                if (err)
                        break;
                if (b->n > 0) {
                        pthread_mutex_lock(&vp->mu);
                        b->done = false;
                        vp->filled++;
                        pthread_cond_signal(&vp->work);
                        pthread_mutex_unlock(&vp->mu);
                }
        }
out:
        pthread_mutex_lock(&vp->mu);
        vp->closing = true;
        pthread_cond_broadcast(&vp->work);
        pthread_mutex_unlock(&vp->mu);
        for (unsigned t = 0; t < started; t++)
                pthread_join(tid[t], NULL);
        for (size_t i = 0; i < VB_SLOTS; i++) {
                ho_buf_free(&vp->slot[i].text);
                ho_buf_free(&vp->slot[i].out);
                ho_buf_free(&vp->slot[i].bad);
        }
        pthread_cond_destroy(&vp->work);
        pthread_cond_destroy(&vp->finished);
        pthread_mutex_destroy(&vp->mu);
        pthread_mutex_destroy(&vp->avro_mu);
        free(vp);
        if (mapped)
                ho_lines_unmap(ho_input_lines(in), &ml); /* bytes read: what was consumed */
        if (records)
                *records = kept;
        return err;
}
