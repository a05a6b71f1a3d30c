/*
 * agg_lua.c: the counters script that runs inside each batch's MULTI/EXEC
 * (see docs/aggregate.md, "The exactly-once design"). The per-transfer
 * writes (states, digests, scores) are plain variadic commands in the same
 * transaction; this script holds only what needs a decision per field and
 * is small per batch: the summed breakdown deltas with the zero rule, the
 * date index, the totals. Sent with EVAL (Redis caches it by its SHA1), so
 * a flushed script cache can never make one command of a transaction fail.
 *
 * KEYS: ho_key_names in order, all "{P}:" NS name (one hash slot).
 * ARGV:
 *   1..3 KEYS indexes (1-based) of totals, transfers_by_date, transfer_dates
 *   4 updated_at (ms, from the caller, so the script is deterministic)
 *   5..10 totals deltas, in ho_key_total_names order
 *   11 the totals field names, space-separated, in that order
 *   12 nd, then nd x {KEYS index, field, delta}      (breakdown hashes)
 *   then nt, nt x {YYYY-MM-DD, days since epoch, delta} (transfers_by_date)
 * Returns "ok".
 */
#include "handover/agg_fold.h"

const char ho_agg_lua[] =
        "local K_TOTALS, K_BYDATE, K_DATES = tonumber(ARGV[1]), tonumber(ARGV[2]), "
        "tonumber(ARGV[3])\n"
        "local now = ARGV[4]\n"
        "local p = 13\n"
        "local nd = tonumber(ARGV[12])\n"
        "for u = 1, nd do\n"
        "  local k, f = KEYS[tonumber(ARGV[p])], ARGV[p + 1]\n"
        "  if redis.call('HINCRBY', k, f, ARGV[p + 2]) == 0 then redis.call('HDEL', k, f) end\n"
        "  p = p + 3\n"
        "end\n"
        "local nt = tonumber(ARGV[p])\n"
        "p = p + 1\n"
        "for u = 1, nt do\n"
        "  local f, d = ARGV[p], tonumber(ARGV[p + 2])\n"
        "  local v = redis.call('HINCRBY', KEYS[K_BYDATE], f, d)\n"
        "  if v == 0 then\n"
        "    redis.call('HDEL', KEYS[K_BYDATE], f)\n"
        "    redis.call('ZREM', KEYS[K_DATES], f)\n"
        "  elseif v == d then\n"
        "    redis.call('ZADD', KEYS[K_DATES], ARGV[p + 1], f)\n"
        "  end\n"
        "  p = p + 3\n"
        "end\n"
        "local i = 5\n"
        "for name in string.gmatch(ARGV[11], '%S+') do\n"
        "  redis.call('HINCRBY', KEYS[K_TOTALS], name, ARGV[i])\n"
        "  i = i + 1\n"
        "end\n"
        "local first = redis.call('ZRANGE', KEYS[K_DATES], 0, 0)\n"
        "local final = redis.call('ZRANGE', KEYS[K_DATES], -1, -1)\n"
        "redis.call('HSET', KEYS[K_TOTALS], 'first_transfer_on', first[1] or '',\n"
        "           'last_transfer_on', final[1] or '', 'updated_at', now)\n"
        "return 'ok'\n";
