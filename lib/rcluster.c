/* rcluster.c: the slot of a key and the node that owns it (see rcluster.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/log.h"
#include "handover/rcluster.h"

uint16_t ho_rcluster_crc16(const void *buf, size_t len) {
        const uint8_t *p = buf;
        uint16_t crc = 0;
        for (size_t i = 0; i < len; i++) {
                crc ^= (uint16_t)(p[i] << 8);
                for (int b = 0; b < 8; b++)
                        crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        }
        return crc;
}

int ho_rcluster_slot(const char *key, size_t len) {
        const char *open = memchr(key, '{', len);
        if (open) {
                size_t after = (size_t)(open - key) + 1;
                const char *close = memchr(open + 1, '}', len - after);
                if (close && close > open + 1)
                        return ho_rcluster_crc16(open + 1, (size_t)(close - open - 1)) &
                               (HO_RCLUSTER_SLOTS - 1);
        }
        return ho_rcluster_crc16(key, len) & (HO_RCLUSTER_SLOTS - 1);
}

/* "host:port" (IPv6 in [] or bare, the port after the last ':') of len
 * bytes into *n; an empty host becomes from_host; without a port, 6379
 * unless need_port. -1 when malformed. */
static int node_parse(const char *s, size_t len, const char *from_host, int need_port,
                      ho_rcluster_node_t *n) {
        const char *colon = NULL;
        for (size_t i = len; i-- > 0;)
                if (s[i] == ':') {
                        colon = s + i;
                        break;
                }
        if (!colon || memchr(colon, ']', len - (size_t)(colon - s))) {
                if (need_port)
                        return -1;
                /* no port: the default, as the URL parser takes it */
                colon = s + len;
        }
        char digits[8] = "6379";
        if (colon < s + len) {
                size_t dl = len - (size_t)(colon + 1 - s);
                /* cluster-bus forms: "host:port@busport" */
                const char *bus = memchr(colon + 1, '@', dl);
                if (bus)
                        dl = (size_t)(bus - colon - 1);
                if (dl == 0 || dl >= sizeof(digits))
                        return -1;
                memcpy(digits, colon + 1, dl);
                digits[dl] = '\0';
        }
        char *end;
        errno = 0;
        long port = strtol(digits, &end, 10);
        if (errno || *end || port <= 0 || port > 65535)
                return -1;
        const char *h = s;
        size_t hl = (size_t)(colon - s);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
                h++;
                hl -= 2;
        }
        if (hl == 0) {
                h = from_host ? from_host : "127.0.0.1";
                hl = strlen(h);
        }
        if (hl >= sizeof(n->host))
                return -1;
        memcpy(n->host, h, hl);
        n->host[hl] = '\0';
        n->port = (int)port;
        return 0;
}

ho_rcluster_redirect_t ho_rcluster_redirect(const char *msg, const char *from_host, int *slot,
                                            ho_rcluster_node_t *to) {
        ho_rcluster_redirect_t kind;
        if (!msg)
                return HO_RCLUSTER_NONE;
        if (!strncmp(msg, "MOVED ", 6))
                kind = HO_RCLUSTER_MOVED;
        else if (!strncmp(msg, "ASK ", 4))
                kind = HO_RCLUSTER_ASK;
        else
                return HO_RCLUSTER_NONE;
        const char *p = strchr(msg, ' ') + 1;
        char *end;
        errno = 0;
        long s = strtol(p, &end, 10);
        if (errno || end == p || *end != ' ' || s < 0 || s >= HO_RCLUSTER_SLOTS)
                return HO_RCLUSTER_NONE;
        const char *addr = end + 1;
        if (node_parse(addr, strlen(addr), from_host, 1, to))
                return HO_RCLUSTER_NONE;
        *slot = (int)s;
        return kind;
}

ho_err_t ho_rcluster_slots_owner(const redisReply *r, int slot, const char *from_host,
                                 ho_rcluster_node_t *out, char *errstr, size_t errstr_size) {
        if (!r || r->type != REDIS_REPLY_ARRAY)
                return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                 "CLUSTER SLOTS: expected an array of slot ranges");
        for (size_t i = 0; i < r->elements; i++) {
                const redisReply *e = r->element[i];
                /* [start, end, [host, port, id, ...] (the master), replicas...] */
                if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
                    e->element[0]->type != REDIS_REPLY_INTEGER ||
                    e->element[1]->type != REDIS_REPLY_INTEGER ||
                    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
                    e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
                    e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
                        return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                         "CLUSTER SLOTS: range %zu: expected [start, end, "
                                         "[host, port, ...], ...]",
                                         i + 1);
                if (slot < e->element[0]->integer || slot > e->element[1]->integer)
                        continue;
                const redisReply *m = e->element[2];
                const char *h = m->element[0]->str;
                /* "" or "?": the node does not know its address; the one asked does */
                if (!*h || !strcmp(h, "?"))
                        h = from_host ? from_host : "127.0.0.1";
                long long port = m->element[1]->integer;
                if (strlen(h) >= sizeof(out->host) || port <= 0 || port > 65535)
                        return ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                                         "CLUSTER SLOTS: the master of slot %d has a bad address",
                                         slot);
                snprintf(out->host, sizeof(out->host), "%s", h);
                out->port = (int)port;
                return HO_OK;
        }
        return ho_seterr(errstr, errstr_size, HO_ERR_NOT_FOUND,
                         "CLUSTER SLOTS: no node serves slot %d (the cluster is not fully "
                         "covered)",
                         slot);
}

/* The owner of slot as the node at c sees it. */
static ho_err_t ask_owner(redisContext *c, const ho_rcluster_node_t *at, int slot,
                          ho_rcluster_node_t *owner, char *errstr, size_t errstr_size) {
        redisReply *r = redisCommand(c, "CLUSTER SLOTS");
        if (!r)
                return ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "%s:%d: CLUSTER SLOTS: %s",
                                 at->host, at->port, c->errstr[0] ? c->errstr : "connection lost");
        ho_err_t err;
        if (r->type == REDIS_REPLY_ERROR) {
                /* e.g. "ERR This instance has cluster support disabled" */
                err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "%s:%d: CLUSTER SLOTS: %s",
                                at->host, at->port, r->str);
        } else {
                char why[512];
                err = ho_rcluster_slots_owner(r, slot, at->host, owner, why, sizeof(why));
                if (err)
                        err = ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "%s:%d: %s", at->host,
                                        at->port, why);
        }
        freeReplyObject(r);
        return err;
}

/* Follow MOVED from *c (at *at) until a node serves key: EXISTS is the
 * cheapest keyed command. *c is replaced as it goes (NULL on failure). */
static ho_err_t follow(const ho_redis_url_t *u, redisContext **c, ho_rcluster_node_t *at,
                       const char *key, int timeout_ms, char *errstr, size_t errstr_size) {
        for (int hop = 0;; hop++) {
                const char *argv[2] = {"EXISTS", key};
                redisReply *r = redisCommandArgv(*c, 2, argv, NULL);
                if (!r) {
                        ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "%s:%d: %s", at->host,
                                  at->port, (*c)->errstr[0] ? (*c)->errstr : "connection lost");
                        goto fail;
                }
                if (r->type != REDIS_REPLY_ERROR) {
                        freeReplyObject(r);
                        return HO_OK;
                }
                int slot;
                ho_rcluster_node_t to;
                ho_rcluster_redirect_t kind = ho_rcluster_redirect(r->str, at->host, &slot, &to);
                if (kind == HO_RCLUSTER_ASK) {
                        /* migrating: this node still owns the slot; the engine
                         * backs off on ASK until the migration settles */
                        freeReplyObject(r);
                        return HO_OK;
                }
                if (kind != HO_RCLUSTER_MOVED || hop >= HO_RCLUSTER_MAX_HOPS) {
                        ho_seterr(errstr, errstr_size, HO_ERR_REDIS, "%s:%d: EXISTS %s: %s%s",
                                  at->host, at->port, key, r->str,
                                  kind == HO_RCLUSTER_MOVED ? " (too many redirections)" : "");
                        freeReplyObject(r);
                        goto fail;
                }
                freeReplyObject(r);
                ho_debug("redis cluster: slot %d moved to %s:%d", slot, to.host, to.port);
                redisFree(*c);
                *at = to;
                if (!(*c = ho_redis_connect_at(u, at->host, at->port, timeout_ms, errstr,
                                               errstr_size)))
                        return HO_ERR_REDIS;
        }
fail:
        redisFree(*c);
        *c = NULL;
        return HO_ERR_REDIS;
}

redisContext *ho_rcluster_connect(const ho_redis_url_t *u, const char *key, int timeout_ms,
                                  char *errstr, size_t errstr_size) {
        const char *seeds = u->seeds ? u->seeds : "";
        int slot = key ? ho_rcluster_slot(key, strlen(key)) : -1;
        char last[1024] = "no seed nodes";
        size_t tried = 0;
        for (const char *p = seeds; *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                ho_rcluster_node_t seed, owner;
                int bad = node_parse(p, len, NULL, 0, &seed);
                p += len + (comma ? 1 : 0);
                if (bad)
                        continue; /* the URL parser checked the seeds */
                tried++;
                redisContext *c = ho_redis_connect_at(u, seed.host, seed.port, timeout_ms, last,
                                                      sizeof(last));
                if (!c)
                        continue;
                if (!key)
                        return c;
                if (ask_owner(c, &seed, slot, &owner, last, sizeof(last))) {
                        redisFree(c);
                        continue;
                }
                if (strcmp(owner.host, seed.host) || owner.port != seed.port) {
                        redisFree(c);
                        if (!(c = ho_redis_connect_at(u, owner.host, owner.port, timeout_ms, last,
                                                      sizeof(last))))
                                continue; /* a dead master not yet replaced: ask another seed */
                }
                if (follow(u, &c, &owner, key, timeout_ms, last, sizeof(last)))
                        continue;
                return c;
        }
        char *shown = ho_redis_url_display(u);
        if (key)
                ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                          "redis cluster %s: cannot reach the master of slot %d of \"%s\" "
                          "(%zu seeds tried; last: %s)",
                          shown ? shown : "?", slot, key, tried, last);
        else
                ho_seterr(errstr, errstr_size, HO_ERR_REDIS,
                          "redis cluster %s: no seed answered (%zu tried; last: %s)",
                          shown ? shown : "?", tried, last);
        free(shown);
        return NULL;
}
