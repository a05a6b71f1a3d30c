/*
 * buf.h: a growable byte buffer. Reused across messages to avoid a malloc per
 * message on hot paths: ho_buf_reset() keeps the allocation.
 */
#ifndef HO_BUF_H
#define HO_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "handover/err.h"

typedef struct ho_buf_s {
        char *data; /* owned; NUL-terminated after every append (not counted in len) */
        size_t len;
        size_t cap;
} ho_buf_t;

#define HO_BUF_INIT                                                                                \
        { NULL, 0, 0 }

void ho_buf_init(ho_buf_t *b);
void ho_buf_free(ho_buf_t *b);  /* frees data, leaves b empty and reusable */
void ho_buf_reset(ho_buf_t *b); /* len = 0, keeps the allocation */
ho_err_t ho_buf_reserve(ho_buf_t *b, size_t extra);
ho_err_t ho_buf_append(ho_buf_t *b, const void *p, size_t n);
ho_err_t ho_buf_append_str(ho_buf_t *b, const char *s);
ho_err_t ho_buf_printf(ho_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the data to the caller (who frees it with free()); b is left empty. */
/* The whole of the file at path, or of stdin when path is "-", appended to
 * b (b's own on error too: the caller frees it). max (0: none) bounds the
 * size. HO_ERR_IO (open or read failed, or over max) or HO_ERR_NOMEM, with
 * the file named in errstr. */
ho_err_t ho_buf_slurp(ho_buf_t *b, const char *path, size_t max, char *errstr, size_t errstr_size);
/* The decimal digits of v into out (at least 21 bytes, NUL-terminated);
 * returns the length. printf's machinery costs more than the digits. */
size_t ho_fmt_ll(char *out, int64_t v);
char *ho_buf_steal(ho_buf_t *b, size_t *lenp);

#endif
