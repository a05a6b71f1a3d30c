/*
 * spool.h: encoded messages parked in an unlinked temporary file between
 * handover-produce's validation pass and its send pass, so a file is
 * validated whole without holding it in memory. Read back through a
 * read-only mapping whose pages leave memory as their messages are
 * delivered.
 *
 * Dependencies: pos.h, err.h (used by validate.c, producer.c, produce.c).
 */
#ifndef HO_SPOOL_H
#define HO_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/err.h"
#include "handover/pos.h"

typedef struct ho_spool_s ho_spool_t;

/* A record as the spool file holds it: this header, the key, the value. */
typedef struct ho_spool_hdr_s {
        uint64_t pos;
        int64_t timestamp;
        uint32_t key_len;
        uint32_t value_len;
} ho_spool_hdr_t;

typedef struct ho_spool_rec_s {
        ho_pos_t pos;
        int64_t timestamp; /* ms */
        const char *key;   /* into the spool: see mapped */
        size_t key_len;
        const char *value;
        size_t value_len;
        /* true: key and value point into the spool's read-only mapping and stay
         * valid until ho_spool_destroy(); give the record back with
         * ho_spool_release() once done with it (delivered or failed), so its
         * pages can leave memory. false: into a buffer, valid until the next
         * get (the mapping could not be made). */
        bool mapped;
} ho_spool_rec_t;

/* An unlinked temporary file in $TMPDIR (or /tmp). */
ho_spool_t *ho_spool_new(char *errstr, size_t errstr_size);
void ho_spool_destroy(ho_spool_t *sp);
ho_err_t ho_spool_put(ho_spool_t *sp, ho_pos_t pos, int64_t timestamp, const void *key,
                      size_t key_len, const void *value, size_t value_len, char *errstr,
                      size_t errstr_size);
/* n records already in the spool's format (ho_spool_hdr_t, key, value), back
 * to back in data[0..len): one write for a validation batch instead of three
 * per record. The caller vouches for the format. */
ho_err_t ho_spool_put_block(ho_spool_t *sp, const void *data, size_t len, uint64_t n, char *errstr,
                            size_t errstr_size);
/* Switch from writing to reading from the first record. */
ho_err_t ho_spool_rewind(ho_spool_t *sp, char *errstr, size_t errstr_size);
/* HO_OK and *rec, HO_ERR_NOT_FOUND at the end, HO_ERR_IO on a damaged spool. */
ho_err_t ho_spool_get(ho_spool_t *sp, ho_spool_rec_t *rec, char *errstr, size_t errstr_size);
/* A mapped record's value (rec->value) is no longer used. Anything else
 * (NULL, a copy, a pointer from elsewhere) is ignored. Pages are given back
 * in file order, once the reader has passed them and every record taken
 * from them was released; a record never released only costs memory. */
void ho_spool_release(ho_spool_t *sp, const void *value);
uint64_t ho_spool_count(const ho_spool_t *sp);

#endif
