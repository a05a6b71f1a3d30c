/* redis.c: Redis URL parsing and ready-to-use connections (see redis.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "handover/redis.h"

void ho_redis_url_clear(ho_redis_url_t *u) {
        free(u->host);
        free(u->unix_path);
        free(u->user);
        free(u->password);
        memset(u, 0, sizeof(*u));
}

static char *ho_strndup_pct(const char *s, size_t n) {
        /* userinfo may be percent-encoded (a password with '@' or ':') */
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%' && i + 2 < n) {
                        char hex[3] = {s[i + 1], s[i + 2], 0}, *end;
                        long v = strtol(hex, &end, 16);
                        if (end == hex + 2) {
                                *o++ = (char)v;
                                i += 2;
                                continue;
                        }
                }
                *o++ = s[i];
        }
        *o = '\0';
        return out;
}

static int ho_parse_db(const char *s, int *db) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < 0 || v > 65535)
                return -1;
        *db = (int)v;
        return 0;
}

ho_err_t ho_redis_url_parse(const char *url, ho_redis_url_t *out, char *errstr,
                            size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        if (!url || !*url)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "no Redis URL (give -r URL or set HANDOVER_REDIS)");
        if (!strncmp(url, "unix://", 7)) {
                const char *p = url + 7, *q = strchr(p, '?');
                size_t n = q ? (size_t)(q - p) : strlen(p);
                if (n == 0 || p[0] != '/')
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "Redis URL \"%s\": expected unix:///path/to/socket", url);
                out->unix_path = strndup(p, n);
                if (q) {
                        if (strncmp(q, "?db=", 4) || ho_parse_db(q + 4, &out->db)) {
                                ho_redis_url_clear(out);
                                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                                 "Redis URL \"%s\": expected ?db=N", url);
                        }
                }
                return out->unix_path ? HO_OK : HO_ERR_NOMEM;
        }
        if (strncmp(url, "redis://", 8))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "Redis URL \"%s\": expected redis://[user:password@]host:port[/db] "
                                 "or unix:///path",
                                 url);
        const char *p = url + 8;
        const char *at = strrchr(p, '@');
        if (at) {
                const char *colon = memchr(p, ':', (size_t)(at - p));
                if (colon) {
                        if (colon > p)
                                out->user = ho_strndup_pct(p, (size_t)(colon - p));
                        out->password = ho_strndup_pct(colon + 1, (size_t)(at - colon - 1));
                } else {
                        /* redis://secret@host: a password alone, as redis-cli takes it */
                        out->password = ho_strndup_pct(p, (size_t)(at - p));
                }
                p = at + 1;
        }
        const char *slash = strchr(p, '/');
        size_t hostport_len = slash ? (size_t)(slash - p) : strlen(p);
        char hostport[512];
        if (hostport_len == 0 || hostport_len >= sizeof(hostport)) {
                ho_redis_url_clear(out);
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "Redis URL \"%s\": missing host", url);
        }
        memcpy(hostport, p, hostport_len);
        hostport[hostport_len] = '\0';
        out->port = 6379;
        char *colon = strrchr(hostport, ':');
        if (colon && !strchr(colon, ']')) {
                *colon = '\0';
                char *end;
                long port = strtol(colon + 1, &end, 10);
                if (end == colon + 1 || *end || port <= 0 || port > 65535) {
                        ho_redis_url_clear(out);
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "Redis URL \"%s\": port must be 1..65535", url);
                }
                out->port = (int)port;
        }
        char *h = hostport;
        size_t hl = strlen(h);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [::1] */
                h[hl - 1] = '\0';
                h++;
        }
        out->host = strdup(*h ? h : "127.0.0.1");
        if (slash && slash[1] && ho_parse_db(slash + 1, &out->db)) {
                ho_redis_url_clear(out);
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "Redis URL \"%s\": database must be a number", url);
        }
        return out->host ? HO_OK : HO_ERR_NOMEM;
}

char *ho_redis_url_display(const ho_redis_url_t *u) {
        char buf[1024];
        const char *auth = u->password ? "***@" : "";
        if (u->unix_path)
                snprintf(buf, sizeof(buf), "unix://%s?db=%d", u->unix_path, u->db);
        else if (u->host && strchr(u->host, ':')) /* IPv6 literal */
                snprintf(buf, sizeof(buf), "redis://%s[%s]:%d/%d", auth, u->host, u->port, u->db);
        else
                snprintf(buf, sizeof(buf), "redis://%s%s:%d/%d", auth, u->host ? u->host : "",
                         u->port, u->db);
        return strdup(buf);
}

redisReply *ho_redis_cmd(redisContext *c, char *errstr, size_t errstr_size, int argc,
                         const char **argv, const size_t *argvlen) {
        redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
        if (!r) {
                ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis: %s",
                          c->errstr[0] ? c->errstr : "connection lost");
                return NULL;
        }
        if (r->type == REDIS_REPLY_ERROR) {
                ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "redis: %s %s", argv[0], r->str);
                freeReplyObject(r);
                return NULL;
        }
        return r;
}

redisContext *ho_redis_connect(const ho_redis_url_t *u, int timeout_ms, char *errstr,
                               size_t errstr_size) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        redisContext *c = u->unix_path ? redisConnectUnixWithTimeout(u->unix_path, tv)
                                       : redisConnectWithTimeout(u->host, u->port, tv);
        char *where = ho_redis_url_display(u);
        if (!c || c->err) {
                ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "cannot connect to Redis at %s: %s",
                          where ? where : "?", c ? c->errstr : "out of memory");
                free(where);
                if (c)
                        redisFree(c);
                return NULL;
        }
        redisSetTimeout(c, tv);
        char cerr[512];
        if (u->password) {
                const char *argv[3] = {"AUTH", u->user ? u->user : u->password, u->password};
                int argc = u->user ? 3 : 2;
                redisReply *r = ho_redis_cmd(c, cerr, sizeof(cerr), argc, argv, NULL);
                if (!r)
                        goto fail;
                freeReplyObject(r);
        }
        if (u->db) {
                char db[16];
                snprintf(db, sizeof(db), "%d", u->db);
                const char *argv[2] = {"SELECT", db};
                redisReply *r = ho_redis_cmd(c, cerr, sizeof(cerr), 2, argv, NULL);
                if (!r)
                        goto fail;
                freeReplyObject(r);
        }
        free(where);
        return c;
fail:
        ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "Redis at %s: %s", where ? where : "?", cerr);
        free(where);
        redisFree(c);
        return NULL;
}
