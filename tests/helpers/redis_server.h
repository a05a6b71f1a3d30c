/*
 * redis_server.h: a private redis-server for the unit tests that need a
 * real one: a free loopback port, no persistence, stopped by the test. It
 * needs redis-server on PATH; without it, starting fails with a message.
 */
#ifndef HO_TEST_REDIS_SERVER_H
#define HO_TEST_REDIS_SERVER_H

#include <sys/types.h>

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

#endif
