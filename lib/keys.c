/* keys.c: the Redis key layout of one prefix (see keys.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/keys.h"

const char *const ho_key_names[HO_KEY__COUNT + 1] = {
        [HO_KEY_TOTALS] = "totals",
        [HO_KEY_INMATES_BY_MONTH] = "inmates_by_month",
        [HO_KEY_INMATES_BY_ROUTE] = "inmates_by_route",
        [HO_KEY_TRANSFERS_BY_DEST] = "transfers_by_destination",
        [HO_KEY_INMATES_BY_DEST] = "inmates_by_destination",
        [HO_KEY_PERSONS_BY_AFFIL] = "persons_by_affiliation",
        [HO_KEY_LARGEST] = "largest_transfers",
        [HO_KEY_TRANSFERS] = "transfers",
        [HO_KEY_OFFSETS] = "offsets",
        [HO_KEY_TRANSFER_IDS] = "transfer_ids",
        [HO_KEY_BY_DATE] = "transfers_by_date",
        [HO_KEY_DATES] = "transfer_dates",
        [HO_KEY__COUNT] = NULL,
};

const char *const ho_key_legacy_names[] = {"transfer_revs", "report_ids", NULL};

const char *const ho_key_total_names[HO_TOTAL__COUNT + 1] = {
        [HO_TOTAL_TRANSFERS] = "transfers", [HO_TOTAL_INMATES] = "inmates",
        [HO_TOTAL_REPORTS] = "reports",     [HO_TOTAL_AIRCRAFT] = "aircraft",
        [HO_TOTAL_PERSONS] = "persons",     [HO_TOTAL_REJECTED] = "rejected",
        [HO_TOTAL__COUNT] = NULL,
};

const char *ho_key_type(ho_key_t k) {
        return k == HO_KEY_LARGEST || k == HO_KEY_DATES ? "zset" : "hash";
}

int ho_key_name_ok(const char *s) {
        return s && !strpbrk(s, "{}");
}

ho_err_t ho_key_format(char *out, size_t out_size, const char *prefix, const char *ns,
                       const char *name) {
        int n = snprintf(out, out_size, "{%s}:%s%s", prefix, ns ? ns : HO_KEY_NS_LIVE, name);
        if (n < 0 || (size_t)n >= out_size) {
                if (out_size)
                        out[0] = '\0';
                return HO_ERR_USAGE;
        }
        return HO_OK;
}

char *ho_key_new(const char *prefix, const char *ns, const char *name) {
        size_t n = strlen(prefix) + (ns ? strlen(ns) : 0) + strlen(name) + 4;
        char *k = malloc(n);
        if (k && ho_key_format(k, n, prefix, ns, name)) {
                free(k);
                return NULL;
        }
        return k;
}
