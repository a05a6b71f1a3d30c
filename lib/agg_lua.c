/*
 * agg_lua.c: the one Lua script that applies a folded batch atomically (see
 * docs/aggregate.md, "The apply script"). Embedded as a C string because
 * a .lua file under lib/ would not be built in; loaded with SCRIPT LOAD and run with
 * EVALSHA by lib/agg.c, which builds ARGV in exactly this layout.
 *
 * KEYS: ho_agg_key_names in order, all "{P}:" NS name (one hash slot).
 * ARGV:
 *   1 offsets field "topic:partition"   2 start offset (-1: absent)
 *   3 next offset                       4 updated_at (ms, from the caller, so
 *   5 channel  6 message to publish       the script is deterministic)
 *   7..12 totals deltas: transfers inmates reports aircraft persons rejected
 *   13 nx, then nx x {tid, expected rev ("0": absent), new rev, state JSON}
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
        "local p = 13\n"
        "local nx = tonumber(ARGV[p])\n"
        "local xb = p + 1\n"
        "p = xb + 4 * nx\n"
        "local t = 0\n"
        "while t < nx do\n"
        "  local last = math.min(nx, t + 1000)\n"
        "  local args = {}\n"
        "  for u = t, last - 1 do args[#args + 1] = ARGV[xb + 4 * u] end\n"
        "  local revs = redis.call('HMGET', KEYS[K_REVS], unpack(args))\n"
        "  for u = t, last - 1 do\n"
        "    local got = revs[u - t + 1]\n"
        "    if not got then got = '0' end\n"
        "    if got ~= ARGV[xb + 4 * u + 1] then return {'conflict', ARGV[xb + 4 * u]} end\n"
        "  end\n"
        "  t = last\n"
        "end\n"
        "local function each(cmd, key, base, count, stride, offs)\n"
        "  local per = math.floor(1000 / #offs)\n"
        "  local i = 0\n"
        "  while i < count do\n"
        "    local last = math.min(count, i + per)\n"
        "    local args = {}\n"
        "    for u = i, last - 1 do\n"
        "      for _, o in ipairs(offs) do args[#args + 1] = ARGV[base + stride * u + o] end\n"
        "    end\n"
        "    redis.call(cmd, key, unpack(args))\n"
        "    i = last\n"
        "  end\n"
        "end\n"
        "each('HSET', KEYS[K_TRANSFERS], xb, nx, 4, {0, 3})\n"
        "each('HSET', KEYS[K_REVS], xb, nx, 4, {0, 2})\n"
        "local nz = tonumber(ARGV[p])\n"
        "each('ZADD', KEYS[K_LARGEST], p + 1, nz, 2, {0, 1})\n"
        "p = p + 1 + 2 * nz\n"
        "local nm = tonumber(ARGV[p])\n"
        "each('SADD', KEYS[K_IDS], p + 1, nm, 1, {0})\n"
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
