/*
 * Copyright (C) Orbis
 */


#include <orbiscore/ratelimit.h>


/*
 * The arithmetic of orbis_gcra_check() in Redis's Lua 5.1.  Numbers are
 * doubles there, exact for integers below 2^53, which the argument checks
 * keep every value under.  Lua turns numbers into strings with "%.14g",
 * so values written back to Redis go through string.format('%d').
 * redis.replicate_commands() lets Redis before 5.0 replicate the writes
 * of a script that read TIME; later versions always do.
 *
 * Two forms share the arithmetic (gcra() below).  The first, of old: one
 * bucket and an optional KEYS[2] that rides along so that asking whether
 * a session was revoked costs no round trip of its own; a revoked caller
 * is not counted.  Callers that pass one key get the four numbers they
 * always got.  The second ("multi") takes several buckets, the revoke
 * key and a set of live calls at once, and writes nothing unless every
 * one of them has room: see orbiscore/ratelimit.h.
 */
static const char  orbis_ratelimit_script[] =
    "local function int(v)\n"
    "  local n = tonumber(v)\n"
    "  if n == nil or n ~= math.floor(n) then return nil end\n"
    "  return n\n"
    "end\n"
    "local function reply(r)\n"
    "  if KEYS[2] then r[5] = 0 end\n"
    "  return r\n"
    "end\n"
    "local function bad(limit, period, burst)\n"
    "  return limit == nil or period == nil or burst == nil\n"
    "   or limit < 1 or limit > 4294967295\n"
    "   or period < 1 or period > 4294967295\n"
    "   or burst < 0 or burst > 1000000\n"
    "end\n"
    "local function clock()\n"
    "  local t = redis.call('TIME')\n"
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "end\n"
    "local function gcra(key, limit, period, burst, now)\n"
    "  if burst == 0 then burst = limit end\n"
    "  local interval = math.floor((period + limit - 1) / limit)\n"
    "  local tat = tonumber(redis.call('GET', key))\n"
    "  if tat == nil or tat < now then tat = now end\n"
    "  local new_tat = tat + interval\n"
    "  local allow_at = new_tat - interval * burst\n"
    "  if now < allow_at then\n"
    "    return {0, 0, tat - now, allow_at - now}\n"
    "  end\n"
    "  return {1, math.floor((now - allow_at) / interval),\n"
    "          new_tat - now, 0, new_tat}\n"
    "end\n"
    "local function store(key, r, now)\n"
    "  redis.call('SET', key, string.format('%d', r[5]),\n"
    "             'PX', string.format('%d', r[5] - now))\n"
    "end\n"
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "if ARGV[1] ~= 'multi' then\n"
    "  local limit = int(ARGV[1])\n"
    "  local period = int(ARGV[2])\n"
    "  local burst = int(ARGV[3])\n"
    "  if bad(limit, period, burst) then\n"
    "    return redis.error_reply('ERR orbis ratelimit: bad arguments')\n"
    "  end\n"
    "  if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "    return {0, 0, 0, 0, 1}\n"
    "  end\n"
    "  local now = clock()\n"
    "  local r = gcra(KEYS[1], limit, period, burst, now)\n"
    "  if r[1] == 1 then store(KEYS[1], r, now) end\n"
    "  return reply({r[1], r[2], r[3], r[4]})\n"
    "end\n"
    "local nb = int(ARGV[2])\n"
    "local flags = ARGV[3] or ''\n"
    "if nb == nil or nb < 1 or nb > 8 then\n"
    "  return redis.error_reply('ERR orbis ratelimit: bad arguments')\n"
    "end\n"
    "local k = nb\n"
    "local revoke, live\n"
    "if string.find(flags, 'r', 1, true) then k = k + 1; revoke = KEYS[k] end\n"
    "if string.find(flags, 'l', 1, true) then k = k + 1; live = KEYS[k] end\n"
    "local commit = string.find(flags, 'c', 1, true) ~= nil\n"
    "if revoke and redis.call('EXISTS', revoke) == 1 then\n"
    "  return {0, 0, 0, 0, 1, 0, 0}\n"
    "end\n"
    "local now = clock()\n"
    "local rs = {}\n"
    "local hit = 0\n"
    "for i = 1, nb do\n"
    "  local limit = int(ARGV[1 + 3 * i])\n"
    "  local period = int(ARGV[2 + 3 * i])\n"
    "  local burst = int(ARGV[3 + 3 * i])\n"
    "  if bad(limit, period, burst) then\n"
    "    return redis.error_reply('ERR orbis ratelimit: bad arguments')\n"
    "  end\n"
    "  rs[i] = gcra(KEYS[i], limit, period, burst, now)\n"
    "  if hit == 0 and rs[i][1] == 0 then hit = i end\n"
    "end\n"
    "local n = 0\n"
    "local a = 4 + 3 * nb\n"
    "if live then\n"
    "  local max_live = int(ARGV[a])\n"
    "  local left = int(ARGV[a + 1])\n"
    "  local lease = int(ARGV[a + 2])\n"
    "  if max_live == nil or left == nil or lease == nil or lease < 1\n"
    "     or ARGV[a + 3] == nil then\n"
    "    return redis.error_reply('ERR orbis ratelimit: bad arguments')\n"
    "  end\n"
    "  redis.call('ZREMRANGEBYSCORE', live, '-inf',\n"
    "             string.format('%d', now))\n"
    "  n = redis.call('ZCARD', live)\n"
    "  if hit == 0 and n >= left then hit = -1\n"
    "  elseif hit == 0 and max_live > 0 and n >= max_live then hit = -2 end\n"
    "  if hit == 0 and commit then\n"
    "    redis.call('ZADD', live, string.format('%d', now + lease),\n"
    "               ARGV[a + 3])\n"
    "    redis.call('PEXPIRE', live, string.format('%d', 2 * lease))\n"
    "  end\n"
    "end\n"
    "if hit == 0 and commit then\n"
    "  for i = 1, nb do store(KEYS[i], rs[i], now) end\n"
    "end\n"
    "local r = rs[hit > 0 and hit or 1]\n"
    "return {hit == 0 and 1 or 0, r[2], r[3], r[4], 0, hit, n}\n";


/*
 * A call's place in its tenant's set of live calls (the "multi" form
 * above takes it) is a lease: kept while its worker refreshes it, given
 * back when the call is saved, and lost by itself when the worker dies.
 */
static const char  orbis_lease_script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local lease = tonumber(ARGV[2])\n"
    "local gone = {}\n"
    "for i = 3, #ARGV - 1, 2 do\n"
    "  local tenant, id = ARGV[i], ARGV[i + 1]\n"
    "  if tenant == '' then\n"
    "    tenant = redis.call('HGET', 'session:' .. id, 'tenant')\n"
    "  end\n"
    "  if tenant then\n"
    "    local live = 'calls:live:{' .. tenant .. '}'\n"
    "    if ARGV[1] == 'release' then\n"
    "      redis.call('ZREM', live, id)\n"
    "    elseif redis.call('ZSCORE', live, id) then\n"
    "      redis.call('ZADD', live, string.format('%d', now + lease), id)\n"
    "      redis.call('PEXPIRE', live, string.format('%d', 2 * lease))\n"
    "    else\n"
    "      gone[#gone + 1] = id\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return gone\n";


const char *
orbis_ratelimit_lua(void)
{
    return orbis_ratelimit_script;
}


const char *
orbis_lease_lua(void)
{
    return orbis_lease_script;
}
