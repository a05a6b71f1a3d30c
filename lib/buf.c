/* buf.c: growable byte buffer (see buf.h). */
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/buf.h"

void ho_buf_init(ho_buf_t *b) {
        b->data = NULL;
        b->len = b->cap = 0;
}

void ho_buf_free(ho_buf_t *b) {
        free(b->data);
        ho_buf_init(b);
}

void ho_buf_reset(ho_buf_t *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

ho_err_t ho_buf_reserve(ho_buf_t *b, size_t extra) {
        size_t need = b->len + extra + 1; /* room for the NUL */
        if (need < b->len)
                return HO_ERR_NOMEM;
        if (need <= b->cap)
                return HO_OK;
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
                cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
                return HO_ERR_NOMEM;
        b->data = p;
        b->cap = cap;
        return HO_OK;
}

ho_err_t ho_buf_append(ho_buf_t *b, const void *p, size_t n) {
        if (ho_buf_reserve(b, n))
                return HO_ERR_NOMEM;
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return HO_OK;
}

ho_err_t ho_buf_append_str(ho_buf_t *b, const char *s) {
        return ho_buf_append(b, s, strlen(s));
}

ho_err_t ho_buf_printf(ho_buf_t *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || ho_buf_reserve(b, (size_t)n))
                return HO_ERR_NOMEM;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
        return HO_OK;
}

char *ho_buf_steal(ho_buf_t *b, size_t *lenp) {
        char *p = b->data;
        if (lenp)
                *lenp = b->len;
        if (!p)
                p = calloc(1, 1);
        ho_buf_init(b);
        return p;
}

size_t ho_fmt_ll(char *out, int64_t v) {
        char tmp[24];
        size_t n = 0, len = 0;
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        do {
                tmp[n++] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                out[len++] = '-';
        while (n)
                out[len++] = tmp[--n];
        out[len] = '\0';
        return len;
}

ho_err_t ho_buf_slurp(ho_buf_t *b, const char *path, size_t max, char *errstr, size_t errstr_size) {
        FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        char tmp[65536];
        size_t n;
        ho_err_t err = HO_OK;

        if (!fp)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot open \"%s\": %s", path,
                                 strerror(errno));
        while (!err && (n = fread(tmp, 1, sizeof(tmp), fp)) > 0) {
                if (max && b->len + n > max)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_IO,
                                        "\"%s\": larger than %zu MB", path, max >> 20);
                else if (ho_buf_append(b, tmp, n))
                        err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "\"%s\": out of memory",
                                        path);
        }
        if (!err && ferror(fp))
                err = ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot read \"%s\": %s", path,
                                strerror(errno));
        if (fp != stdin)
                fclose(fp);
        if (!err && !b->data && ho_buf_append(b, "", 0))
                err = ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "\"%s\": out of memory", path);
        return err;
}
