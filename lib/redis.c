/* redis.c: Redis URL parsing and ready-to-use connections (see redis.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "handover/log.h"
#include "handover/rcluster.h"
#include "handover/redis.h"
#include "handover/util.h"
#ifdef HO_HAVE_HIREDIS_SSL
#include <pthread.h>
#include <hiredis/hiredis_ssl.h>
#endif

void ho_redis_url_clear(ho_redis_url_t *u) {
        free(u->host);
        free(u->unix_path);
        free(u->user);
        free(u->password);
        free(u->seeds);
        memset(u, 0, sizeof(*u));
}

ho_err_t ho_redis_url_copy(ho_redis_url_t *dst, const ho_redis_url_t *src) {
        memset(dst, 0, sizeof(*dst));
        dst->port = src->port;
        dst->db = src->db;
        dst->tls = src->tls;
        dst->cluster = src->cluster;
#define HO_DUP(f)                                                                                  \
        if (src->f && !(dst->f = strdup(src->f)))                                                  \
                goto nomem;
        HO_DUP(host)
        HO_DUP(unix_path)
        HO_DUP(user)
        HO_DUP(password)
        HO_DUP(seeds)
#undef HO_DUP
        return HO_OK;
nomem:
        ho_redis_url_clear(dst);
        return HO_ERR_NOMEM;
}

static char *strndup_pct(const char *s, size_t n) {
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

static int parse_db(const char *s, int *db) {
        return ho_parse_int(s, 0, 65535, db) ? -1 : 0;
}

size_t ho_redis_url_password_at(const char *url, size_t *len) {
        *len = 0;
        /* whatever the parser could take for userinfo: after "scheme://" (or
         * from the start) up to the last '@'; its password is after the first
         * ':' in it, or all of it when there is no ':' (redis://secret@host) */
        const char *p = strstr(url, "://");
        p = p ? p + 3 : url;
        const char *at = strrchr(p, '@');
        if (!at)
                return 0;
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *cut = colon ? colon + 1 : p;
        *len = (size_t)(at - cut);
        return (size_t)(cut - url);
}

char *ho_redis_url_redact(const char *url, char *buf, size_t size) {
        if (!size)
                return buf;
        buf[0] = '\0';
        if (!url)
                return buf;
        size_t len, at = ho_redis_url_password_at(url, &len);
        if (at == 0 && len == 0)
                snprintf(buf, size, "%s", url);
        else
                snprintf(buf, size, "%.*s***%s", (int)at, url, url + at + len);
        return buf;
}

/* host[:port] (IPv6 literal in []) of len bytes into *host (malloc'd) and
 * *port (6379 when absent). NULL, or what is wrong. */
static const char *parse_hostport(const char *s, size_t len, char **host, int *port) {
        char hostport[512];
        if (len == 0 || len >= sizeof(hostport))
                return "missing host";
        memcpy(hostport, s, len);
        hostport[len] = '\0';
        *port = 6379;
        char *colon = strrchr(hostport, ':');
        if (colon && !strchr(colon, ']')) {
                *colon = '\0';
                char *end;
                long v = strtol(colon + 1, &end, 10);
                if (end == colon + 1 || *end || v <= 0 || v > 65535)
                        return "port must be 1..65535";
                *port = (int)v;
        }
        char *h = hostport;
        size_t hl = strlen(h);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [::1] */
                h[hl - 1] = '\0';
                h++;
        }
        *host = strdup(*h ? h : "127.0.0.1");
        return *host ? NULL : "out of memory";
}

/* The seed list of a cluster URL: host:port[,host:port...], each checked;
 * out->host/port get the first, out->seeds the list as given. */
static ho_err_t parse_seeds(const char *p, size_t len, ho_redis_url_t *out, const char *shown,
                            char *errstr, size_t errstr_size) {
        size_t i = 0, n = 0;
        while (i <= len) {
                const char *comma = memchr(p + i, ',', len - i);
                size_t seg = comma ? (size_t)(comma - (p + i)) : len - i;
                char *host = NULL;
                int port;
                const char *why = parse_hostport(p + i, seg, &host, &port);
                if (why) {
                        if (!strcmp(why, "out of memory"))
                                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "%s", why);
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "Redis URL \"%s\": seed %zu: %s (expected "
                                         "host:port[,host:port...])",
                                         shown, n + 1, why);
                }
                if (n++ == 0) {
                        out->host = host;
                        out->port = port;
                } else {
                        free(host);
                }
                if (n > HO_RCLUSTER_MAX_SEEDS)
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "Redis URL \"%s\": more than %d seeds", shown,
                                         HO_RCLUSTER_MAX_SEEDS);
                i += seg + 1;
        }
        out->seeds = strndup(p, len);
        return out->seeds ? HO_OK : ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
}

ho_err_t ho_redis_url_parse(const char *url, ho_redis_url_t *out, char *errstr,
                            size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        if (!url || !*url)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "no Redis URL (give -r URL or set HANDOVER_REDIS)");
        /* every message below shows the URL as ho_redis_url_redact() leaves it */
        char shown[1024];
        ho_redis_url_redact(url, shown, sizeof(shown));
        if (!strncmp(url, "unix://", 7)) {
                const char *p = url + 7, *q = strchr(p, '?');
                size_t n = q ? (size_t)(q - p) : strlen(p);
                if (n == 0 || p[0] != '/')
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "Redis URL \"%s\": expected unix:///path/to/socket",
                                         shown);
                out->unix_path = strndup(p, n);
                if (q) {
                        if (strncmp(q, "?db=", 4) || parse_db(q + 4, &out->db)) {
                                ho_redis_url_clear(out);
                                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                                 "Redis URL \"%s\": expected ?db=N", shown);
                        }
                }
                return out->unix_path ? HO_OK : HO_ERR_NOMEM;
        }
        /* the scheme: redis, rediss, and either with "+cluster" */
        static const struct {
                const char *scheme;
                int tls, cluster;
        } schemes[] = {{"redis://", 0, 0},
                       {"rediss://", 1, 0},
                       {"redis+cluster://", 0, 1},
                       {"rediss+cluster://", 1, 1}};
        const char *p = NULL;
        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && !p; i++)
                if (!strncmp(url, schemes[i].scheme, strlen(schemes[i].scheme))) {
                        p = url + strlen(schemes[i].scheme);
                        out->tls = schemes[i].tls;
                        out->cluster = schemes[i].cluster;
                }
        if (!p)
                return ho_seterr(
                        errstr, errstr_size, HO_ERR_USAGE,
                        "Redis URL \"%s\": expected redis://[user:password@]host:port[/db], "
                        "redis+cluster://[user:password@]host:port[,host:port...] "
                        "or unix:///path",
                        shown);
#ifndef HO_HAVE_HIREDIS_SSL
        if (out->tls) {
                int cl = out->cluster;
                memset(out, 0, sizeof(*out));
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "Redis URL \"%s\": %s (TLS) needs hiredis >= 1.0 with "
                                 "hiredis_ssl, and this build has hiredis %d.%d.%d: %s",
                                 shown, cl ? "rediss+cluster://" : "rediss://", HIREDIS_MAJOR,
                                 HIREDIS_MINOR, HIREDIS_PATCH,
                                 cl ? "a cluster's nodes name themselves, so a local tunnel "
                                      "cannot stand in for them (docs/security.md)"
                                    : "connect through a local stunnel tunnel instead "
                                      "(docs/security.md)");
        }
#endif
        const char *at = strrchr(p, '@');
        if (at) {
                const char *colon = memchr(p, ':', (size_t)(at - p));
                if (colon) {
                        if (colon > p)
                                out->user = strndup_pct(p, (size_t)(colon - p));
                        out->password = strndup_pct(colon + 1, (size_t)(at - colon - 1));
                } else {
                        /* redis://secret@host: a password alone, as redis-cli takes it */
                        out->password = strndup_pct(p, (size_t)(at - p));
                }
                p = at + 1;
        }
        const char *slash = strchr(p, '/');
        size_t hostport_len = slash ? (size_t)(slash - p) : strlen(p);
        if (out->cluster) {
                ho_err_t err = parse_seeds(p, hostport_len, out, shown, errstr, errstr_size);
                if (err) {
                        ho_redis_url_clear(out);
                        return err;
                }
        } else {
                const char *why = parse_hostport(p, hostport_len, &out->host, &out->port);
                if (why) {
                        ho_redis_url_clear(out);
                        if (!strcmp(why, "out of memory"))
                                return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "%s", why);
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "Redis URL \"%s\": %s",
                                         shown, why);
                }
        }
        if (slash && slash[1] && parse_db(slash + 1, &out->db)) {
                ho_redis_url_clear(out);
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "Redis URL \"%s\": database must be a number", shown);
        }
        if (out->cluster && out->db) {
                ho_redis_url_clear(out);
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "Redis URL \"%s\": a Redis Cluster has database 0 only", shown);
        }
        return HO_OK;
}

char *ho_redis_url_display(const ho_redis_url_t *u) {
        char buf[1024], auth[300] = "";
        /* the user stays (it says which ACL user was refused), never the password */
        if (u->password)
                snprintf(auth, sizeof(auth), "%s:***@", u->user ? u->user : "");
        if (u->unix_path)
                snprintf(buf, sizeof(buf), "unix://%s?db=%d", u->unix_path, u->db);
        else if (u->cluster)
                snprintf(buf, sizeof(buf), "%s://%s%s", u->tls ? "rediss+cluster" : "redis+cluster",
                         auth, u->seeds ? u->seeds : "");
        else if (u->host && strchr(u->host, ':')) /* IPv6 literal */
                snprintf(buf, sizeof(buf), "%s://%s[%s]:%d/%d", u->tls ? "rediss" : "redis", auth,
                         u->host, u->port, u->db);
        else
                snprintf(buf, sizeof(buf), "%s://%s%s:%d/%d", u->tls ? "rediss" : "redis", auth,
                         u->host ? u->host : "", u->port, u->db);
        return strdup(buf);
}

/* Read a small secret file: its content without the trailing newline. NULL
 * and errstr when it cannot be read, is empty, or holds more than one line. */
static char *read_secret_file(const char *path, const char *what, char *errstr,
                              size_t errstr_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "%s \"%s\": %s", what, path,
                          strerror(errno));
                return NULL;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
                ho_warn("%s \"%s\" can be read by other users (chmod 600 it)", what, path);
        char buf[4097];
        size_t n = 0;
        ssize_t r;
        while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        ho_seterr(errstr, errstr_size, HO_ERR_IO, "%s \"%s\": %s", what, path,
                                  strerror(errno));
                        close(fd);
                        return NULL;
                }
                n += (size_t)r;
        }
        close(fd);
        if (n == sizeof(buf) - 1) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s \"%s\": longer than 4096 bytes",
                          what, path);
                return NULL;
        }
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = '\0';
        if (n == 0 || strlen(buf) != n || strchr(buf, '\n')) {
                ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s \"%s\": expected one line, %s",
                          what, path, n == 0 ? "the file is empty" : "found several (or a NUL)");
                return NULL;
        }
        char *out = strdup(buf);
        memset(buf, 0, sizeof(buf));
        if (!out)
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        return out;
}

ho_err_t ho_redis_url_load(const char *spec, const char *source, const char *password_file,
                           ho_redis_url_t *out, char *errstr, size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        if (!spec || !*spec)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "no Redis URL (give -r URL or set HANDOVER_REDIS)");
        char *fromfile = NULL, perr[1200];
        const char *url = spec;
        if (spec[0] == '@') {
                if (!(fromfile = read_secret_file(spec + 1, "Redis URL file", perr, sizeof(perr))))
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s: %s", source, perr);
                url = fromfile;
        }
        ho_err_t err = ho_redis_url_parse(url, out, perr, sizeof(perr));
        free(fromfile); /* parse copied what it keeps; the message is redacted */
        if (err)
                return ho_seterr(errstr, errstr_size, err, "%s%s%s: %s", source,
                                 spec[0] == '@' ? " " : "", spec[0] == '@' ? spec : "", perr);
        if (password_file && *password_file) {
                if (out->password) {
                        ho_redis_url_clear(out);
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                         "%s: the URL has a password and "
                                         "HANDOVER_REDIS_PASSWORD_FILE gives one too: keep one",
                                         source);
                }
                out->password = read_secret_file(password_file, "HANDOVER_REDIS_PASSWORD_FILE",
                                                 perr, sizeof(perr));
                if (!out->password) {
                        ho_redis_url_clear(out);
                        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s", perr);
                }
        }
        return HO_OK;
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

#ifdef HO_HAVE_HIREDIS_SSL
/* One TLS context for the process (hiredis >= 1.0): every connection uses it,
 * so it lives until exit. Its files: HANDOVER_REDIS_TLS_CA (the CA that signed
 * the server's certificate; NULL: the system's), _CERT and _KEY (a client
 * certificate, when the server asks for one). */
static pthread_once_t ho_tls_once = PTHREAD_ONCE_INIT;
static redisSSLContext *ho_tls_ctx;
static redisSSLContextError ho_tls_err = REDIS_SSL_CTX_NONE;

static void tls_init(void) {
        redisInitOpenSSL();
        ho_tls_ctx = redisCreateSSLContext(getenv("HANDOVER_REDIS_TLS_CA"), NULL,
                                           getenv("HANDOVER_REDIS_TLS_CERT"),
                                           getenv("HANDOVER_REDIS_TLS_KEY"), NULL, &ho_tls_err);
}

static int redis_tls_start(redisContext *c, const char *host, char *errstr, size_t errstr_size) {
        (void)host; /* the server name: hiredis checks the certificate's chain, not its name */
        pthread_once(&ho_tls_once, tls_init);
        if (!ho_tls_ctx) {
                snprintf(errstr, errstr_size, "TLS: %s", redisSSLContextGetError(ho_tls_err));
                return -1;
        }
        if (redisInitiateSSLWithContext(c, ho_tls_ctx) != REDIS_OK) {
                snprintf(errstr, errstr_size, "TLS: %s",
                         c->errstr[0] ? c->errstr : "handshake failed");
                return -1;
        }
        return 0;
}
#endif

/* host:port (u's socket when host is NULL), then AUTH and SELECT. */
static redisContext *redis_open(const ho_redis_url_t *u, const char *host, int port, int timeout_ms,
                                char *errstr, size_t errstr_size) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        redisContext *c = !host ? redisConnectUnixWithTimeout(u->unix_path, tv)
                                : redisConnectWithTimeout(host, port, tv);
        char *where;
        if (u->cluster && host) {
                /* a cluster node: its address says which one failed */
                char node[600];
                snprintf(node, sizeof(node), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
                where = strdup(node);
        } else {
                where = ho_redis_url_display(u);
        }
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
#ifdef HO_HAVE_HIREDIS_SSL
        if (u->tls && redis_tls_start(c, host, cerr, sizeof(cerr)))
                goto fail;
#endif
        if (u->password) {
                const char *argv[3] = {"AUTH", u->user ? u->user : u->password, u->password};
                int argc = u->user ? 3 : 2;
                redisReply *r = ho_redis_cmd(c, cerr, sizeof(cerr), argc, argv, NULL);
                if (!r)
                        goto fail;
                freeReplyObject(r);
        }
        if (u->db && !u->cluster) {
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

redisContext *ho_redis_connect_at(const ho_redis_url_t *u, const char *host, int port,
                                  int timeout_ms, char *errstr, size_t errstr_size) {
        return redis_open(u, host, port, timeout_ms, errstr, errstr_size);
}

redisContext *ho_redis_connect(const ho_redis_url_t *u, int timeout_ms, char *errstr,
                               size_t errstr_size) {
        if (u->cluster)
                return ho_rcluster_connect(u, NULL, timeout_ms, errstr, errstr_size);
        return redis_open(u, u->unix_path ? NULL : u->host, u->port, timeout_ms, errstr,
                          errstr_size);
}

redisContext *ho_redis_connect_key(const ho_redis_url_t *u, const char *key, int timeout_ms,
                                   char *errstr, size_t errstr_size) {
        if (u->cluster)
                return ho_rcluster_connect(u, key, timeout_ms, errstr, errstr_size);
        return ho_redis_connect(u, timeout_ms, errstr, errstr_size);
}

int ho_redis_error_reconnects(const char *msg) {
        static const char *const drop[] = {"READONLY", "LOADING",  "MASTERDOWN", "MOVED ",
                                           "ASK ",     "TRYAGAIN", "CLUSTERDOWN"};
        if (!msg)
                return 0;
        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
                if (!strncmp(msg, drop[i], strlen(drop[i])))
                        return 1;
        return 0;
}
