/* resp.c: RESP requests in a caller's buffer, sent on a hiredis socket (see resp.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <hiredis/sds.h>
#include "handover/resp.h"

static ho_err_t resp_head(ho_buf_t *b, char kind, size_t n) {
        char tmp[32];
        tmp[0] = kind;
        size_t len = 1 + ho_fmt_ll(tmp + 1, (int64_t)n);
        tmp[len++] = '\r';
        tmp[len++] = '\n';
        return ho_buf_append(b, tmp, len);
}

ho_err_t ho_resp_cmd(ho_buf_t *b, size_t argc) {
        return resp_head(b, '*', argc);
}

ho_err_t ho_resp_arg_begin(ho_buf_t *b, size_t len) {
        ho_err_t err = resp_head(b, '$', len);
        return err ? err : ho_buf_reserve(b, len + 2);
}

ho_err_t ho_resp_arg_end(ho_buf_t *b) {
        return ho_buf_append(b, "\r\n", 2);
}

ho_err_t ho_resp_arg(ho_buf_t *b, const void *p, size_t len) {
        ho_err_t err = ho_resp_arg_begin(b, len);
        if (!err && len)
                err = ho_buf_append(b, p, len);
        return err ? err : ho_resp_arg_end(b);
}

ho_err_t ho_resp_str(ho_buf_t *b, const char *s) {
        return ho_resp_arg(b, s, strlen(s));
}

ho_err_t ho_resp_ll(ho_buf_t *b, int64_t v) {
        char tmp[24];
        return ho_resp_arg(b, tmp, ho_fmt_ll(tmp, v));
}

static ho_err_t resp_write(redisContext *c, const char *p, size_t len, char *errstr,
                           size_t errstr_size) {
        while (len) {
                /* send, not write: a peer that closed must be an error, not SIGPIPE */
                ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        const char *why = n == 0 ? "closed"
                                          : errno == EAGAIN || errno == EWOULDBLOCK
                                                  ? "timed out"
                                                  : strerror(errno);
                        return ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis write: %s", why);
                }
                p += n;
                len -= (size_t)n;
        }
        return HO_OK;
}

ho_err_t ho_resp_send(redisContext *c, const ho_buf_t *b, char *errstr, size_t errstr_size) {
        if (c->err)
                return ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis: %s", c->errstr);
        if (c->obuf && sdslen(c->obuf)) {
                int done = 0;
                while (!done)
                        if (redisBufferWrite(c, &done) != REDIS_OK)
                                return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                                 "redis write: %s", c->errstr);
        }
        return resp_write(c, b->data, b->len, errstr, errstr_size);
}
