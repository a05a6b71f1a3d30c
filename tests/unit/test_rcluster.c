/* test_rcluster.c: the cluster's key hash (against the specification's
 * published values), hash tags, MOVED/ASK replies, CLUSTER SLOTS replies,
 * and redis+cluster:// URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include "handover/rcluster.h"
#include "handover/redis.h"

#define SECRET "s3cr3t-Pw"

static int slot_of(const char *k) {
        return ho_rcluster_slot(k, strlen(k));
}

static void test_crc16(void **state) {
        (void)state;
        /* the Redis Cluster specification, "Keys distribution model" */
        assert_int_equal(ho_rcluster_crc16("123456789", 9), 0x31C3);
        assert_int_equal(ho_rcluster_crc16("", 0), 0);
        /* what CLUSTER KEYSLOT answers on redis-server 7.0 */
        assert_int_equal(slot_of("foo"), 12182);
        assert_int_equal(slot_of("bar"), 5061);
        assert_int_equal(slot_of("hello"), 866);
        assert_int_equal(slot_of("123456789"), 0x31C3 & 16383);
}

static void test_hash_tags(void **state) {
        (void)state;
        /* the specification's examples */
        assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
        assert_int_equal(slot_of("{user1000}.followers"), slot_of("user1000"));
        assert_int_equal(slot_of("foo{}{bar}"), ho_rcluster_crc16("foo{}{bar}", 10) & 16383);
        assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
        assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
        assert_int_equal(slot_of("{"), ho_rcluster_crc16("{", 1) & 16383);
        assert_int_equal(slot_of("}{"), ho_rcluster_crc16("}{", 2) & 16383);
        /* every key of a prefix lands where its tag does */
        assert_int_equal(slot_of("{ho}:totals"), slot_of("ho"));
        assert_int_equal(slot_of("{ho}:staging:layout"), slot_of("ho"));
        assert_int_equal(slot_of("{ho}:fence:17"), slot_of("{ho}:offsets"));
        /* bytes past a NUL count: the length rules, not strlen */
        assert_int_equal(ho_rcluster_slot("{a\0b}", 5), ho_rcluster_crc16("a\0b", 3) & 16383);
}

static void test_redirect(void **state) {
        (void)state;
        int slot = -1;
        ho_rcluster_node_t to;
        assert_int_equal(ho_rcluster_redirect("MOVED 3999 127.0.0.1:6381", NULL, &slot, &to),
                         HO_RCLUSTER_MOVED);
        assert_int_equal(slot, 3999);
        assert_string_equal(to.host, "127.0.0.1");
        assert_int_equal(to.port, 6381);
        assert_int_equal(ho_rcluster_redirect("ASK 16383 [::1]:7002", NULL, &slot, &to),
                         HO_RCLUSTER_ASK);
        assert_int_equal(slot, 16383);
        assert_string_equal(to.host, "::1");
        assert_int_equal(to.port, 7002);
        /* a node that does not know its own address: the one that answered */
        assert_int_equal(ho_rcluster_redirect("MOVED 1 :7005", "10.1.2.3", &slot, &to),
                         HO_RCLUSTER_MOVED);
        assert_string_equal(to.host, "10.1.2.3");
        assert_int_equal(to.port, 7005);
        static const char *const other[] = {"TRYAGAIN Multiple keys request during rehashing",
                                            "CLUSTERDOWN The cluster is down",
                                            "MOVED",
                                            "MOVED x 127.0.0.1:1",
                                            "MOVED 16384 127.0.0.1:1",
                                            "MOVED 5 127.0.0.1:0",
                                            "MOVED 5 127.0.0.1",
                                            "ERR unknown command",
                                            NULL};
        for (int i = 0; other[i]; i++)
                assert_int_equal(ho_rcluster_redirect(other[i], NULL, &slot, &to),
                                 HO_RCLUSTER_NONE);
        assert_int_equal(ho_rcluster_redirect(NULL, NULL, &slot, &to), HO_RCLUSTER_NONE);
        /* the engine drops its connection on each of these */
        assert_true(ho_redis_error_reconnects("MOVED 3999 127.0.0.1:6381"));
        assert_true(ho_redis_error_reconnects("ASK 3999 127.0.0.1:6381"));
        assert_true(ho_redis_error_reconnects("TRYAGAIN Multiple keys request during rehashing"));
        assert_true(ho_redis_error_reconnects("CLUSTERDOWN The cluster is down"));
        assert_true(
                ho_redis_error_reconnects("READONLY You can't write against a read only replica."));
        assert_false(ho_redis_error_reconnects("ERR wrong number of arguments"));
        assert_false(ho_redis_error_reconnects("WRONGTYPE Operation against a key"));
}

/* A reply as hiredis would hand it over, from RESP bytes. */
static redisReply *parse_resp(const char *resp) {
        redisReader *rd = redisReaderCreate();
        assert_non_null(rd);
        assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
        void *r = NULL;
        assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
        assert_non_null(r);
        redisReaderFree(rd);
        return r;
}

static void test_slots_owner(void **state) {
        (void)state;
        /* three masters, the second with a replica, the third with an empty host */
        redisReply *r = parse_resp(
                "*3\r\n"
                "*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
                "*4\r\n:5461\r\n:10922\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\n"
                "id\r\n*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$2\r\nid\r\n"
                "*3\r\n:10923\r\n:16383\r\n*3\r\n$0\r\n\r\n:7002\r\n$2\r\nid\r\n");
        ho_rcluster_node_t n;
        char e[256];
        assert_int_equal(ho_rcluster_slots_owner(r, 0, "h", &n, e, sizeof(e)), HO_OK);
        assert_string_equal(n.host, "127.0.0.1");
        assert_int_equal(n.port, 7000);
        assert_int_equal(ho_rcluster_slots_owner(r, 5461, "h", &n, e, sizeof(e)), HO_OK);
        assert_int_equal(n.port, 7001); /* the master, not its replica */
        assert_int_equal(ho_rcluster_slots_owner(r, 16383, "seed.example", &n, e, sizeof(e)),
                         HO_OK);
        assert_string_equal(n.host, "seed.example");
        assert_int_equal(n.port, 7002);
        freeReplyObject(r);

        /* a gap: slot 100 has no owner */
        r = parse_resp("*1\r\n*3\r\n:101\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n");
        assert_int_equal(ho_rcluster_slots_owner(r, 100, NULL, &n, e, sizeof(e)), HO_ERR_NOT_FOUND);
        assert_non_null(strstr(e, "slot 100"));
        freeReplyObject(r);

        /* shapes that are not CLUSTER SLOTS */
        r = parse_resp("*1\r\n*2\r\n:0\r\n:16383\r\n");
        assert_int_equal(ho_rcluster_slots_owner(r, 0, NULL, &n, e, sizeof(e)), HO_ERR_REDIS);
        assert_non_null(strstr(e, "range 1"));
        freeReplyObject(r);
        r = parse_resp("+OK\r\n");
        assert_int_equal(ho_rcluster_slots_owner(r, 0, NULL, &n, e, sizeof(e)), HO_ERR_REDIS);
        freeReplyObject(r);
}

static void test_cluster_urls(void **state) {
        (void)state;
        ho_redis_url_t u, c;
        char e[512];
        assert_int_equal(ho_redis_url_parse("redis+cluster://alice:" SECRET
                                            "@127.0.0.1:7000,127.0.0.1:7001,[::1]:7002",
                                            &u, e, sizeof(e)),
                         HO_OK);
        assert_true(u.cluster);
        assert_string_equal(u.host, "127.0.0.1");
        assert_int_equal(u.port, 7000);
        assert_string_equal(u.seeds, "127.0.0.1:7000,127.0.0.1:7001,[::1]:7002");
        assert_string_equal(u.user, "alice");
        assert_string_equal(u.password, SECRET);
        char *d = ho_redis_url_display(&u);
        assert_string_equal(d,
                            "redis+cluster://alice:***@127.0.0.1:7000,127.0.0.1:7001,[::1]:7002");
        free(d);
        assert_int_equal(ho_redis_url_copy(&c, &u), HO_OK);
        assert_true(c.cluster);
        assert_string_equal(c.seeds, u.seeds);
        assert_string_equal(c.password, SECRET);
        assert_ptr_not_equal(c.seeds, u.seeds);
        ho_redis_url_clear(&c);
        ho_redis_url_clear(&u);

        assert_int_equal(ho_redis_url_parse("redis+cluster://h1:7000/0", &u, e, sizeof(e)), HO_OK);
        assert_string_equal(u.seeds, "h1:7000");
        ho_redis_url_clear(&u);

        static const char *const bad[][2] = {
                {"redis+cluster://u:" SECRET "@127.0.0.1:7000/1", "database 0 only"},
                {"redis+cluster://u:" SECRET "@127.0.0.1:7000,,127.0.0.1:7001",
                 "seed 2: missing host"},
                {"redis+cluster://u:" SECRET "@127.0.0.1:7000,127.0.0.1:99999", "seed 2: port"},
                {"redis+cluster://u:" SECRET "@", "seed 1: missing host"},
                {"rediss+cluster://u:" SECRET "@127.0.0.1:7000", "tunnel cannot"},
                {"redis+clusterx://u:" SECRET "@127.0.0.1:7000", "expected redis://"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(ho_redis_url_parse(bad[i][0], &u, e, sizeof(e)), HO_ERR_USAGE);
                if (!strstr(e, bad[i][1]))
                        fail_msg("%s: got \"%s\", expected \"%s\"", bad[i][0], e, bad[i][1]);
                assert_null(strstr(e, SECRET));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crc16),        cmocka_unit_test(test_hash_tags),
                cmocka_unit_test(test_redirect),     cmocka_unit_test(test_slots_owner),
                cmocka_unit_test(test_cluster_urls),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
