/*
 * redis.h: Redis URLs and connections. URLs are
 * redis://[user:password@]host:port[/db] or unix:///path/to/socket[?db=N]
 * (a password alone: redis://:secret@host:port). Connecting runs AUTH and
 * SELECT as the URL asks, so callers get a ready context or an error.
 */
#ifndef HO_REDIS_H
#define HO_REDIS_H

#include <hiredis/hiredis.h>
#include "handover/err.h"

typedef struct ho_redis_url_s {
        char *host;      /* NULL for unix sockets */
        int port;
        char *unix_path; /* NULL for TCP */
        char *user;      /* NULL: default user */
        char *password;  /* NULL: no AUTH */
        int db;
} ho_redis_url_t;

ho_err_t ho_redis_url_parse(const char *url, ho_redis_url_t *out, char *errstr, size_t errstr_size);
void ho_redis_url_clear(ho_redis_url_t *u);
/* The URL without its password, for logs: "redis://127.0.0.1:6379/0". Caller frees. */
char *ho_redis_url_display(const ho_redis_url_t *u);

/* Connect, AUTH, SELECT. NULL and errstr on failure (HO_ERR_REDIS class:
 * retriable). timeout_ms bounds connect and every command. Free with redisFree(). */
redisContext *ho_redis_connect(const ho_redis_url_t *u, int timeout_ms, char *errstr,
                               size_t errstr_size);

/* Run one command (argv form); returns the reply (caller frees with
 * freeReplyObject) or NULL with errstr filled, for connection errors and for
 * Redis error replies alike. */
redisReply *ho_redis_cmd(redisContext *c, char *errstr, size_t errstr_size, int argc,
                         const char **argv, const size_t *argvlen);

#endif
