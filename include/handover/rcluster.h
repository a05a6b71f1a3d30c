/*
 * rcluster.h: handover's routing over Redis Cluster, on top of hiredis 0.14
 * (which has none). Every key of a prefix P is "{P}:...", so all of a
 * prefix's work goes to one slot; routing only needs that slot's owner:
 * CRC16 of the key's hash tag (the Redis Cluster specification), the
 * owner from CLUSTER SLOTS on a seed, and MOVED followed on connect. What
 * the engine does on MOVED, ASK, TRYAGAIN and a failover is in
 * docs/aggregate.md ("Redis Cluster").
 */
#ifndef HO_RCLUSTER_H
#define HO_RCLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "handover/err.h"
#include "handover/redis.h"

#define HO_RCLUSTER_SLOTS 16384
#define HO_RCLUSTER_MAX_SEEDS 64
/* MOVED hops followed on one connect before giving up (a map in flux) */
#define HO_RCLUSTER_MAX_HOPS 5

/* CRC16-CCITT (XModem: polynomial 0x1021, initial 0), the cluster's key
 * hash: "123456789" gives 0x31C3. */
uint16_t ho_rcluster_crc16(const void *buf, size_t len);

/* The slot of a key of len bytes: CRC16 mod 16384 of its hash tag (the
 * bytes between the first '{' and the first '}' after it, when that is not
 * empty) or of the whole key. */
int ho_rcluster_slot(const char *key, size_t len);

typedef struct ho_rcluster_node_s {
        char host[256];
        int port;
} ho_rcluster_node_t;

typedef enum ho_rcluster_redirect_e {
        HO_RCLUSTER_NONE = 0,
        HO_RCLUSTER_MOVED, /* the slot lives at *to now: ask it, and refresh the map */
        HO_RCLUSTER_ASK,   /* the slot is migrating: this one key is at *to (ASKING first) */
} ho_rcluster_redirect_t;

/* Read an error reply "MOVED 3999 127.0.0.1:6381" or "ASK ...": its slot
 * and target. An empty host (a node that does not know its own address)
 * becomes from_host. HO_RCLUSTER_NONE for any other message. */
ho_rcluster_redirect_t ho_rcluster_redirect(const char *msg, const char *from_host, int *slot,
                                            ho_rcluster_node_t *to);

/* From a CLUSTER SLOTS reply, the master serving slot (an empty host
 * becomes from_host). HO_ERR_NOT_FOUND when no range covers the slot,
 * HO_ERR_REDIS for a reply of another shape; errstr says which. */
ho_err_t ho_rcluster_slots_owner(const redisReply *r, int slot, const char *from_host,
                                 ho_rcluster_node_t *out, char *errstr, size_t errstr_size);

/* A connection for key on u's cluster (u->cluster set): each seed in turn
 * until one answers CLUSTER SLOTS; then the slot's master, checked with
 * EXISTS key and MOVED followed up to HO_RCLUSTER_MAX_HOPS times (an ASK
 * there is accepted: the node is still the slot's owner). key NULL: the
 * first seed that answers, unchecked. NULL and errstr (HO_ERR_REDIS,
 * retriable) when no seed answers or the slot has no owner. Free with
 * redisFree(). */
redisContext *ho_rcluster_connect(const ho_redis_url_t *u, const char *key, int timeout_ms,
                                  char *errstr, size_t errstr_size);

#endif
