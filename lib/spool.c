/*
 * spool.c: the temporary file between handover-produce's two passes (see
 * spool.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "handover/buf.h"
#include "handover/spool.h"

/* Pass 2 reads the spool through a read-only mapping, and each record's
 * value is handed to librdkafka in place (no copy: pass 2 spent a third of
 * its CPU in malloc, memcpy and read copies). The mapping is cut into
 * windows; a window's pages leave the resident set (madvise) once the
 * reader has passed it and every message taken from it has been released
 * (delivered or failed), so memory stays bounded by what is in flight
 * (windows go in any order: partitions deliver independently).
 * Dropping pages never loses data: they are the file's, read again if
 * touched. */

#define HO_SPOOL_IOBUF (1u << 20)
#define HO_SPOOL_WINDOW (256u << 10)

struct ho_spool_s {
        FILE *fp;
        char *iobuf;
        bool reading;
        uint64_t count;
        ho_buf_t rec;
        /* reading through the mapping */
        const char *map;
        size_t map_len, cursor;
        uint32_t *held; /* per window: messages taken and not released */
        size_t n_windows;
};

ho_spool_t *ho_spool_new(char *errstr, size_t errstr_size) {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        ho_spool_t *sp = calloc(1, sizeof(*sp));
        int fd;

        if (!sp) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        snprintf(path, sizeof(path), "%s/handover-produce.XXXXXX", dir && *dir ? dir : "/tmp");
        fd = mkstemp(path);
        if (fd < 0) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot create a spool file \"%s\": %s",
                          path, strerror(errno));
                free(sp);
                return NULL;
        }
        unlink(path); /* gone with the process, whatever happens */
        sp->fp = fdopen(fd, "w+b");
        sp->iobuf = malloc(HO_SPOOL_IOBUF);
        if (!sp->fp || !sp->iobuf) {
                if (sp->fp)
                        fclose(sp->fp);
                else
                        close(fd);
                free(sp->iobuf);
                free(sp);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        setvbuf(sp->fp, sp->iobuf, _IOFBF, HO_SPOOL_IOBUF);
        ho_buf_init(&sp->rec);
        return sp;
}

void ho_spool_destroy(ho_spool_t *sp) {
        if (!sp)
                return;
        if (sp->map)
                munmap((void *)sp->map, sp->map_len);
        free(sp->held);
        fclose(sp->fp);
        free(sp->iobuf);
        ho_buf_free(&sp->rec);
        free(sp);
}

/* A write to the spool failed (errno says why): a full or read-only $TMPDIR. */
static ho_err_t spool_write_failed(char *errstr, size_t errstr_size) {
        return ho_seterr(errstr, errstr_size, HO_ERR_IO,
                         "cannot write the spool file (in $TMPDIR or /tmp): %s", strerror(errno));
}

ho_err_t ho_spool_put(ho_spool_t *sp, ho_pos_t pos, int64_t timestamp, const void *key,
                      size_t key_len, const void *value, size_t value_len, char *errstr,
                      size_t errstr_size) {
        ho_spool_hdr_t h = {pos, timestamp, (uint32_t)key_len, (uint32_t)value_len};

        if (sp->reading)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "spool is being read");
        if (key_len > UINT32_MAX || value_len > UINT32_MAX)
                return ho_seterr(errstr, errstr_size, HO_ERR_INVALID, "message too large");
        if (fwrite(&h, sizeof(h), 1, sp->fp) != 1 || fwrite(key, 1, key_len, sp->fp) != key_len ||
            fwrite(value, 1, value_len, sp->fp) != value_len)
                return spool_write_failed(errstr, errstr_size);
        sp->count++;
        return HO_OK;
}

ho_err_t ho_spool_put_block(ho_spool_t *sp, const void *data, size_t len, uint64_t n, char *errstr,
                            size_t errstr_size) {
        if (sp->reading)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "spool is being read");
        if (len > 0 && fwrite(data, 1, len, sp->fp) != len)
                return spool_write_failed(errstr, errstr_size);
        sp->count += n;
        return HO_OK;
}

/* Map the written spool for reading; on any failure the spool is read with
 * stdio instead (the same records, copied). */
static void spool_map(ho_spool_t *sp, size_t len) {
        void *m;

        if (len == 0 || (off_t)len < 0)
                return;
        sp->n_windows = (len + HO_SPOOL_WINDOW - 1) / HO_SPOOL_WINDOW;
        sp->held = calloc(sp->n_windows, sizeof(*sp->held));
        if (!sp->held)
                return;
        m = mmap(NULL, len, PROT_READ, MAP_SHARED, fileno(sp->fp), 0);
        if (m == MAP_FAILED) {
                free(sp->held);
                sp->held = NULL;
                return;
        }
        madvise(m, len, MADV_SEQUENTIAL);
        sp->map = m;
        sp->map_len = len;
}

ho_err_t ho_spool_rewind(ho_spool_t *sp, char *errstr, size_t errstr_size) {
        long end;

        if (fflush(sp->fp) != 0 || ferror(sp->fp))
                return spool_write_failed(errstr, errstr_size);
        end = ftell(sp->fp);
        if (fseek(sp->fp, 0, SEEK_SET) != 0)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot rewind the spool: %s",
                                 strerror(errno));
        if (!sp->reading && end > 0)
                spool_map(sp, (size_t)end);
        sp->reading = true;
        return HO_OK;
}

/* Give back window w's pages: the reader has passed it and no message
 * taken from it is in flight. Each window qualifies once (nothing is taken
 * from a window the reader has left). */
static void spool_drop(ho_spool_t *sp, size_t w) {
        size_t off = w * HO_SPOOL_WINDOW;
        size_t len = sp->map_len - off < HO_SPOOL_WINDOW ? sp->map_len - off : HO_SPOOL_WINDOW;

        madvise((void *)(sp->map + off), len, MADV_DONTNEED);
}

static ho_err_t spool_get_mapped(ho_spool_t *sp, ho_spool_rec_t *rec, char *errstr,
                                 size_t errstr_size) {
        ho_spool_hdr_t h;
        size_t at = sp->cursor, body;

        if (at == sp->map_len)
                return HO_ERR_NOT_FOUND;
        if (sp->map_len - at < sizeof(h))
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        memcpy(&h, sp->map + at, sizeof(h));
        body = (size_t)h.key_len + h.value_len;
        if (sp->map_len - at - sizeof(h) < body)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        rec->pos = h.pos;
        rec->timestamp = h.timestamp;
        rec->key = sp->map + at + sizeof(h);
        rec->key_len = h.key_len;
        rec->value = rec->key + h.key_len;
        rec->value_len = h.value_len;
        rec->mapped = true;
        /* held by its value's window: what ho_spool_release() is given */
        sp->held[(size_t)(rec->value - sp->map) / HO_SPOOL_WINDOW]++;
        sp->cursor = at + sizeof(h) + body;
        /* the spool left the cache in pass 1: ask for the records ahead */
        if (sp->map_len - sp->cursor > 4096)
                __builtin_prefetch(sp->map + sp->cursor + 4096);
        for (size_t w = at / HO_SPOOL_WINDOW; w < sp->cursor / HO_SPOOL_WINDOW; w++)
                if (sp->held[w] == 0)
                        spool_drop(sp, w);
        return HO_OK;
}

ho_err_t ho_spool_get(ho_spool_t *sp, ho_spool_rec_t *rec, char *errstr, size_t errstr_size) {
        ho_spool_hdr_t h;
        size_t n, body;

        if (sp->map)
                return spool_get_mapped(sp, rec, errstr, errstr_size);
        n = fread(&h, 1, sizeof(h), sp->fp);
        if (n == 0 && feof(sp->fp))
                return HO_ERR_NOT_FOUND;
        if (n != sizeof(h))
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        body = (size_t)h.key_len + h.value_len;
        ho_buf_reset(&sp->rec);
        if (ho_buf_reserve(&sp->rec, body) != HO_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        if (fread(sp->rec.data, 1, body, sp->fp) != body)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "spool file damaged");
        rec->pos = h.pos;
        rec->timestamp = h.timestamp;
        rec->key = sp->rec.data;
        rec->key_len = h.key_len;
        rec->value = sp->rec.data + h.key_len;
        rec->value_len = h.value_len;
        rec->mapped = false;
        return HO_OK;
}

void ho_spool_release(ho_spool_t *sp, const void *value) {
        const char *v = value;
        size_t w;

        if (!sp || !sp->map || v < sp->map || v >= sp->map + sp->map_len)
                return;
        w = (size_t)(v - sp->map) / HO_SPOOL_WINDOW;
        if (sp->held[w] > 0 && --sp->held[w] == 0 && w < sp->cursor / HO_SPOOL_WINDOW)
                spool_drop(sp, w);
}

uint64_t ho_spool_count(const ho_spool_t *sp) {
        return sp->count;
}
