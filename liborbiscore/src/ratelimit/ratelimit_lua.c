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
 * of a script that read TIME; later versions always do.  The optional
 * KEYS[2] rides along so that asking whether a session was revoked costs
 * no round trip of its own; a revoked caller is not counted.  Callers
 * that pass one key get the four numbers they always got.
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
    "local limit = int(ARGV[1])\n"
    "local period = int(ARGV[2])\n"
    "local burst = int(ARGV[3])\n"
    "if limit == nil or period == nil or burst == nil\n"
    "   or limit < 1 or limit > 4294967295\n"
    "   or period < 1 or period > 4294967295\n"
    "   or burst < 0 or burst > 1000000 then\n"
    "  return redis.error_reply('ERR orbis ratelimit: bad arguments')\n"
    "end\n"
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  return {0, 0, 0, 0, 1}\n"
    "end\n"
    "if burst == 0 then burst = limit end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local interval = math.floor((period + limit - 1) / limit)\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]))\n"
    "if tat == nil or tat < now then tat = now end\n"
    "local new_tat = tat + interval\n"
    "local allow_at = new_tat - interval * burst\n"
    "if now < allow_at then\n"
    "  return reply({0, 0, tat - now, allow_at - now})\n"
    "end\n"
    "redis.call('SET', KEYS[1], string.format('%d', new_tat),\n"
    "           'PX', string.format('%d', new_tat - now))\n"
    "return reply({1, math.floor((now - allow_at) / interval),\n"
    "              new_tat - now, 0})\n";


const char *
orbis_ratelimit_lua(void)
{
    return orbis_ratelimit_script;
}
