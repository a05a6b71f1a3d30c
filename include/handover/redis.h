/*
 * redis.h: Redis URLs and connections. URLs are
 * redis://[user:password@]host:port[/db] or unix:///path/to/socket[?db=N]
 * (a password alone: redis://:secret@host:port). Connecting runs AUTH and
 * SELECT as the URL asks, so callers get a ready context or an error.
 * redis+cluster://[user:password@]host:port[,host:port...] names the seed
 * nodes of a Redis Cluster (database 0 only): ho_redis_connect_key reaches
 * the master that owns a key's slot (lib/rcluster.c, docs/aggregate.md).
 * rediss:// (TLS) is there only when built against hiredis >= 1.0 with
 * hiredis_ssl (HO_HAVE_HIREDIS_SSL; the CA, client certificate and key from
 * HANDOVER_REDIS_TLS_CA, _CERT, _KEY); otherwise a TLS Redis is reached
 * through a stunnel tunnel (docs/security.md).
 */
#ifndef HO_REDIS_H
#define HO_REDIS_H

#include <hiredis/hiredis.h>
#include "handover/err.h"

typedef struct ho_redis_url_s {
        char *host; /* NULL for unix sockets */
        int port;
        char *unix_path; /* NULL for TCP */
        char *user;      /* NULL: default user */
        char *password;  /* NULL: no AUTH */
        int db;
        int tls;     /* rediss://: only with HO_HAVE_HIREDIS_SSL (hiredis >= 1.0) */
        int cluster; /* redis+cluster://: host and port are the first seed */
        char *seeds; /* cluster only: "host:port,host:port" as given (IPv6 in []) */
} ho_redis_url_t;

/* Parse a URL into out (cleared first; free with ho_redis_url_clear). Error
 * messages show the URL redacted (ho_redis_url_redact), never its password. */
ho_err_t ho_redis_url_parse(const char *url, ho_redis_url_t *out, char *errstr, size_t errstr_size);
void ho_redis_url_clear(ho_redis_url_t *u);
/* Deep copy of src into dst (cleared first). HO_ERR_NOMEM leaves dst empty. */
ho_err_t ho_redis_url_copy(ho_redis_url_t *dst, const ho_redis_url_t *src);
/* The URL without its password, for logs: "redis://127.0.0.1:6379/0" or
 * "redis://user:***@127.0.0.1:6379/0". Caller frees. */
char *ho_redis_url_display(const ho_redis_url_t *u);
/* Copy url into buf (size bytes, always terminated) with whatever the parser
 * would take for a password replaced by "***", also when the URL is malformed:
 * the text between "scheme://" (or the start) and the last '@', after its
 * first ':' (all of it without a ':'). Returns buf. */
char *ho_redis_url_redact(const char *url, char *buf, size_t size);
/* Where that password is in url: its offset, and its length in *len (0 and
 * *len 0 when the URL has no '@'). */
size_t ho_redis_url_password_at(const char *url, size_t *len);

/* The programs' way to a URL: spec is a URL, or "@PATH" for a file whose one
 * line is the URL (so a password need not sit on the command line). source
 * names where spec came from ("-r", "HANDOVER_REDIS") and starts every error.
 * password_file (HANDOVER_REDIS_PASSWORD_FILE; NULL or "" for none) is a file
 * whose one line is the password, for a URL that carries none: a URL with a
 * password of its own and a password file is a usage error. */
ho_err_t ho_redis_url_load(const char *spec, const char *source, const char *password_file,
                           ho_redis_url_t *out, char *errstr, size_t errstr_size);

/* Connect, AUTH, SELECT. NULL and errstr on failure (HO_ERR_REDIS class:
 * retriable). timeout_ms bounds connect and every command. Free with redisFree().
 * For a cluster URL: the first seed that answers (enough for PING and for
 * SUBSCRIBE, which a cluster delivers on every node); keyed work goes
 * through ho_redis_connect_key. */
redisContext *ho_redis_connect(const ho_redis_url_t *u, int timeout_ms, char *errstr,
                               size_t errstr_size);
/* The connection that serves key: for a cluster URL the master that owns its
 * slot (asked of the seeds with CLUSTER SLOTS, MOVED followed); otherwise
 * ho_redis_connect. Same errors and ownership as ho_redis_connect. */
redisContext *ho_redis_connect_key(const ho_redis_url_t *u, const char *key, int timeout_ms,
                                   char *errstr, size_t errstr_size);
/* One node at host:port with u's credentials and TLS (no SELECT for a
 * cluster URL). Same errors and ownership as ho_redis_connect. */
redisContext *ho_redis_connect_at(const ho_redis_url_t *u, const char *host, int port,
                                  int timeout_ms, char *errstr, size_t errstr_size);

/* An error reply after which the connection must be dropped and the retry
 * reconnect (through ho_redis_connect_key, so to wherever the key lives
 * now): a replica after a failover (READONLY), a loading or cut-off server
 * (LOADING, MASTERDOWN), and a cluster's MOVED, ASK, TRYAGAIN and
 * CLUSTERDOWN. All are retriable. */
int ho_redis_error_reconnects(const char *msg);

/* Run one command (argv form); returns the reply (caller frees with
 * freeReplyObject) or NULL with errstr filled, for connection errors and for
 * Redis error replies alike. */
redisReply *ho_redis_cmd(redisContext *c, char *errstr, size_t errstr_size, int argc,
                         const char **argv, const size_t *argvlen);

#endif
