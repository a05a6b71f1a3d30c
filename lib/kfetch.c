/* kfetch.c: see kfetch.h. */
#include "handover/kfetch.h"
#include "handover/log.h"

void ho_kfetch_wake(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *at) {
        if (!at || at->cnt == 0)
                return;
        rd_kafka_error_t *e = rd_kafka_seek_partitions(rk, at, 0);
        if (e) {
                ho_debug("kafka: cannot wake the fetcher: %s", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
        }
}
