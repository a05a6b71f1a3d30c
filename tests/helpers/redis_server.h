/*
 * redis_server.h: a private redis-server for the unit tests that need a
 * real one: a free loopback port, no persistence, stopped by the test. It
 * needs redis-server on PATH; without it, starting fails with a message.
 */
#ifndef HO_TEST_REDIS_SERVER_H
#define HO_TEST_REDIS_SERVER_H

#include <sys/types.h>
#include <hiredis/hiredis.h>
#include "handover/redis.h"

typedef struct ho_test_redis_s {
        pid_t pid;    /* the server, 0 when none */
        int port;     /* on 127.0.0.1 */
        char url[64]; /* "redis://127.0.0.1:PORT/0" */
} ho_test_redis_t;

/* A loopback TCP port free at the moment of asking, or -1. */
int ho_test_free_port(void);

/* Start the server and wait (at most 10 s) until it answers PING.
 * 0, or -1 with "WHO: why" on stderr and nothing left running. */
int ho_test_redis_start(ho_test_redis_t *s, const char *who);

/* Stop it (SIGTERM) and reap it; a zeroed or stopped s is fine. */
void ho_test_redis_stop(ho_test_redis_t *s);

/* ho_test_redis_start, then the test's own connection (1 s timeout) in *rc
 * and the server's URL parsed into *url. 0, or -1 with "WHO: why" on stderr
 * and nothing left running or allocated. */
int ho_test_redis_open(ho_test_redis_t *s, const char *who, redisContext **rc, ho_redis_url_t *url);

/* Undo ho_test_redis_open: free *rc and *url, stop the server. */
void ho_test_redis_close(ho_test_redis_t *s, redisContext **rc, ho_redis_url_t *url);

#endif
