/*
 * agg_lua.c: the one Lua script that applies a folded batch atomically (see
 * docs/aggregate.md, "The apply script"). Embedded as a C string because
 * a .lua file under lib/ would not be built in; loaded with SCRIPT LOAD and run with
 * EVALSHA by lib/agg.c, which builds ARGV in exactly this layout.
 *
 * KEYS: ho_agg_key_names in order, all "{P}:" NS name (one hash slot).
 * ARGV, in contiguous sections so that every variadic call is an
 * unpack(ARGV, i, j) with no Lua loop building tables:
 *   1 offsets field "topic:partition"   2 start offset (-1: absent)
 *   3 next offset                       4 updated_at (ms, from the caller, so
 *   5 channel  6 message to publish       the script is deterministic)
 *   7..12 totals deltas: transfers inmates reports aircraft persons rejected
 *   13 nx, then nx tids, then nx expected revs ("0": absent),
 *      then nx x {tid, state JSON}, then nx x {tid, new rev}
 *   then nz, nz x {score, tid}          (largest_transfers)
 *   then nm, nm x {"tid rid"}           (report_ids)
 *   then nd, nd x {key index (1-based), field, delta}   (breakdown hashes)
 *   then nt, nt x {YYYY-MM-DD, days since epoch, delta} (transfers_by_date)
 * Returns {"ok", next} | {"applied", stored} | {"fenced", stored} |
 *         {"conflict", tid}; nothing is written unless "ok".
 * Variadic calls are chunked to <= 1000 arguments (Lua's unpack limit).
 */
#include "handover/agg_fold.h"

const char ho_agg_lua[] =
        "local K_TOTALS, K_LARGEST, K_TRANSFERS, K_OFFSETS = 1, 7, 8, 9\n"
        "local K_REVS, K_IDS, K_BYDATE, K_DATES = 10, 11, 12, 13\n"
        "local field, start, nxt, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
        "local cur = redis.call('HGET', KEYS[K_OFFSETS], field)\n"
        "if not cur then cur = '-1' end\n"
        "if cur == nxt then return {'applied', cur} end\n"
        "if cur ~= start then return {'fenced', cur} end\n"
        /* call cmd key ARGV[first .. first+count-1], <= 1000 at a time,
         * never splitting a group of `group` arguments */
        "local function each(cmd, key, first, count, group)\n"
        "  local step = 1000 - 1000 % group\n"
        "  local i = 0\n"
        "  while i < count do\n"
        "    local last = math.min(count, i + step)\n"
        "    redis.call(cmd, key, unpack(ARGV, first + i, first + last - 1))\n"
        "    i = last\n"
        "  end\n"
        "end\n"
        "local nx = tonumber(ARGV[13])\n"
        "local tids, exp = 14, 14 + nx\n"
        "local i = 0\n"
        "while i < nx do\n"
        "  local last = math.min(nx, i + 1000)\n"
        "  local revs = redis.call('HMGET', KEYS[K_REVS], unpack(ARGV, tids + i, tids + last - 1))\n"
        "  for u = 1, last - i do\n"
        "    if (revs[u] or '0') ~= ARGV[exp + i + u - 1] then\n"
        "      return {'conflict', ARGV[tids + i + u - 1]}\n"
        "    end\n"
        "  end\n"
        "  i = last\n"
        "end\n"
        "local p = 14 + 2 * nx\n"
        "each('HSET', KEYS[K_TRANSFERS], p, 2 * nx, 2)\n"
        "p = p + 2 * nx\n"
        "each('HSET', KEYS[K_REVS], p, 2 * nx, 2)\n"
        "p = p + 2 * nx\n"
        "local nz = tonumber(ARGV[p])\n"
        "each('ZADD', KEYS[K_LARGEST], p + 1, 2 * nz, 2)\n"
        "p = p + 1 + 2 * nz\n"
        "local nm = tonumber(ARGV[p])\n"
        "each('SADD', KEYS[K_IDS], p + 1, nm, 1)\n"
        "p = p + 1 + nm\n"
        "local nd = tonumber(ARGV[p])\n"
        "p = p + 1\n"
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
        "local names = {'transfers', 'inmates', 'reports', 'aircraft', 'persons', 'rejected'}\n"
        "for i = 1, 6 do redis.call('HINCRBY', KEYS[K_TOTALS], names[i], ARGV[6 + i]) end\n"
        "local first = redis.call('ZRANGE', KEYS[K_DATES], 0, 0)\n"
        "local final = redis.call('ZRANGE', KEYS[K_DATES], -1, -1)\n"
        "redis.call('HSET', KEYS[K_TOTALS], 'first_transfer_on', first[1] or '',\n"
        "           'last_transfer_on', final[1] or '', 'updated_at', now)\n"
        "redis.call('HSET', KEYS[K_OFFSETS], field, nxt)\n"
        "redis.call('PUBLISH', ARGV[5], ARGV[6])\n"
        "return {'ok', nxt}\n";
