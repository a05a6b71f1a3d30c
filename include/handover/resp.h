/*
 * resp.h: Redis requests written as RESP into a caller's buffer, and sent on
 * a hiredis context's socket in one go. The apply path builds megabyte
 * pipelines every batch; hiredis's redisCommandArgv formats each into a
 * fresh sds that it frees after the write, so every batch paid for a new
 * multi-megabyte allocation and its page faults. Here the buffer is the
 * caller's and is kept across batches; replies are still read with
 * redisGetReply.
 */
#ifndef HO_RESP_H
#define HO_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "handover/buf.h"
#include "handover/err.h"

/* Append "*argc\r\n": a command of argc arguments follows. */
ho_err_t ho_resp_cmd(ho_buf_t *b, size_t argc);
/* Append one argument: bytes, a C string, a signed integer in decimal. */
ho_err_t ho_resp_arg(ho_buf_t *b, const void *p, size_t len);
ho_err_t ho_resp_str(ho_buf_t *b, const char *s);
ho_err_t ho_resp_ll(ho_buf_t *b, int64_t v);
/* Begin an argument of len bytes whose content the caller then appends with
 * ho_buf_append, and end it with ho_resp_arg_end. */
ho_err_t ho_resp_arg_begin(ho_buf_t *b, size_t len);
ho_err_t ho_resp_arg_end(ho_buf_t *b);

/* Write b's bytes to c's socket (blocking, bounded by the context's
 * timeout). Anything hiredis still holds in its output buffer is written
 * first, so requests stay in order. HO_ERR_REDIS on failure (the context is
 * unusable then: free it). */
ho_err_t ho_resp_send(redisContext *c, const ho_buf_t *b, char *errstr, size_t errstr_size);

#endif
