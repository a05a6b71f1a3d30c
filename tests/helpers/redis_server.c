/* redis_server.c: a private redis-server for unit tests (redis_server.h). */
#include "redis_server.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <hiredis/hiredis.h>
#include "handover/clock.h"

#define START_MS 10000

int ho_test_free_port(void) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int port = -1;
        if (s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof(a)) &&
            !getsockname(s, (struct sockaddr *)&a, &len))
                port = ntohs(a.sin_port);
        if (s >= 0)
                close(s);
        return port;
}

/* Whether the server on port answers PING now. */
static int answers(int port) {
        struct timeval tv = {1, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
        int ok = 0;
        if (c && !c->err) {
                redisReply *r = redisCommand(c, "PING");
                ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
                if (r)
                        freeReplyObject(r);
        }
        if (c)
                redisFree(c);
        return ok;
}

int ho_test_redis_start(ho_test_redis_t *s, const char *who) {
        memset(s, 0, sizeof(*s));
        s->port = ho_test_free_port();
        if (s->port <= 0) {
                fprintf(stderr, "%s: no free port for redis-server\n", who);
                return -1;
        }
        char port[16];
        snprintf(port, sizeof(port), "%d", s->port);
        snprintf(s->url, sizeof(s->url), "redis://127.0.0.1:%d/0", s->port);
        s->pid = fork();
        if (s->pid < 0) {
                fprintf(stderr, "%s: fork: %s\n", who, strerror(errno));
                s->pid = 0;
                return -1;
        }
        if (s->pid == 0) {
                int devnull = open("/dev/null", O_WRONLY);
                if (devnull >= 0)
                        dup2(devnull, STDOUT_FILENO); /* its shutdown chatter */
                execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
                       "--save", "", "--appendonly", "no", "--loglevel", "warning", (char *)NULL);
                fprintf(stderr, "%s: cannot run \"redis-server\": %s\n", who, strerror(errno));
                _exit(127);
        }
        int64_t deadline = ho_mono_ms() + START_MS;
        while (ho_mono_ms() < deadline) {
                if (answers(s->port))
                        return 0;
                if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
                        fprintf(stderr, "%s: redis-server exited at start\n", who);
                        s->pid = 0;
                        return -1;
                }
                nanosleep(&(struct timespec){0, 20000000L}, NULL); /* the next PING */
        }
        fprintf(stderr, "%s: redis-server on port %d never answered\n", who, s->port);
        ho_test_redis_stop(s);
        return -1;
}

void ho_test_redis_stop(ho_test_redis_t *s) {
        if (s->pid > 0) {
                kill(s->pid, SIGTERM);
                waitpid(s->pid, NULL, 0);
        }
        s->pid = 0;
}

int ho_test_redis_open(ho_test_redis_t *s, const char *who, redisContext **rc,
                       ho_redis_url_t *url) {
        char err[256];
        *rc = NULL;
        if (ho_test_redis_start(s, who))
                return -1;
        struct timeval tv = {1, 0};
        *rc = redisConnectWithTimeout("127.0.0.1", s->port, tv);
        if (!*rc || (*rc)->err) {
                fprintf(stderr, "%s: connect: %s\n", who, *rc ? (*rc)->errstr : "no memory");
                ho_test_redis_close(s, rc, NULL);
                return -1;
        }
        if (ho_redis_url_parse(s->url, url, err, sizeof(err))) {
                fprintf(stderr, "%s: %s\n", who, err);
                ho_test_redis_close(s, rc, NULL);
                return -1;
        }
        return 0;
}

void ho_test_redis_close(ho_test_redis_t *s, redisContext **rc, ho_redis_url_t *url) {
        if (*rc)
                redisFree(*rc);
        *rc = NULL;
        if (url)
                ho_redis_url_clear(url);
        ho_test_redis_stop(s);
}
