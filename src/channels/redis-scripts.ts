/**
 * The Lua scripts of the Redis channel store. Each runs atomically on the server, so ids (from Redis's
 * own clock, shared by every instance), the buffer and the subscriber counts agree across instances.
 *
 * Keys of one channel share a hash tag (`prefix:{id}:m`, `:i`, `:s`), so they live on one Cluster node:
 * `m` the buffer (a list of entries), `i` a hash (`t`/`g` the last id, `r` the last request time),
 * `s` a hash of subscriber counts, one field per instance, each `count:expiresAtSeconds`.
 * An entry is `m<time>:<tag>:<publishedAtMs>\n<meta JSON>\n<data>`; a deletion is published as `d`.
 */

const COMMON = `
local function trim_expired(key, now_ms, ttl_ms)
  if ttl_ms <= 0 then return end
  while true do
    local first = redis.call('LINDEX', key, 0)
    if not first then return end
    local ms = tonumber(string.match(first, '^m%d+:%d+:(%d+)'))
    if ms and ms + ttl_ms <= now_ms then redis.call('LPOP', key) else return end
  end
end
local function subscribers(key, now)
  local total = 0
  local fields = redis.call('HGETALL', key)
  for i = 2, #fields, 2 do
    local count, expires = string.match(fields[i], '^(%d+):(%d+)$')
    if count and tonumber(expires) > now then total = total + tonumber(count) end
  end
  return total
end
local function keep(keys, ttl_ms)
  if ttl_ms > 0 then
    local seconds = math.ceil(ttl_ms / 1000) + 60
    for _, key in ipairs(keys) do redis.call('EXPIRE', key, seconds) end
  end
end
local clock = redis.call('TIME')
local now = tonumber(clock[1])
local now_ms = now * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** KEYS m i s; ARGV payload, max messages, ttl ms, pubsub channel. Returns time, tag, ms, messages, subscribers, requested. */
export const PUBLISH = `${COMMON}
local last_t = tonumber(redis.call('HGET', KEYS[2], 't') or '-1')
local last_g = tonumber(redis.call('HGET', KEYS[2], 'g') or '-1')
local time, tag = now, 0
if now <= last_t then time, tag = last_t, last_g + 1 end
redis.call('HSET', KEYS[2], 't', time, 'g', tag)
local entry = 'm' .. time .. ':' .. tag .. ':' .. now_ms .. '\\n' .. ARGV[1]
local max = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
if max > 0 then
  redis.call('RPUSH', KEYS[1], entry)
  redis.call('LTRIM', KEYS[1], -max, -1)
end
trim_expired(KEYS[1], now_ms, ttl)
keep({KEYS[1], KEYS[2]}, ttl)
redis.call('PUBLISH', ARGV[4], entry)
return {time, tag, now_ms, redis.call('LLEN', KEYS[1]), subscribers(KEYS[3], now), tonumber(redis.call('HGET', KEYS[2], 'r') or '0')}
`;

/** KEYS m i s; ARGV ttl ms. Returns messages, subscribers, requested, time, tag; nil for no channel. */
export const INFO = `${COMMON}
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
trim_expired(KEYS[1], now_ms, tonumber(ARGV[1]))
return {redis.call('LLEN', KEYS[1]), subscribers(KEYS[3], now), tonumber(redis.call('HGET', KEYS[2], 'r') or '0'),
  tonumber(redis.call('HGET', KEYS[2], 't') or '-1'), tonumber(redis.call('HGET', KEYS[2], 'g') or '-1')}
`;

/** KEYS m i s; ARGV ttl ms, pubsub channel. The info before deleting, as INFO; nil for no channel. */
export const DELETE = `${COMMON}
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
trim_expired(KEYS[1], now_ms, tonumber(ARGV[1]))
local info = {redis.call('LLEN', KEYS[1]), subscribers(KEYS[3], now), tonumber(redis.call('HGET', KEYS[2], 'r') or '0'),
  tonumber(redis.call('HGET', KEYS[2], 't') or '-1'), tonumber(redis.call('HGET', KEYS[2], 'g') or '-1')}
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('PUBLISH', ARGV[2], 'd')
return info
`;

/**
 * KEYS m i s; ARGV instance, its count here, ttl ms, whether this is a request (1: sets the last request
 * time). Registers the count, creates the channel, returns the buffered entries.
 */
export const SUBSCRIBE = `${COMMON}
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. ':' .. (now + 15))
else
  redis.call('HDEL', KEYS[3], ARGV[1])
end
if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'r', now) else redis.call('HSETNX', KEYS[2], 'r', now) end
keep({KEYS[1], KEYS[2], KEYS[3]}, ttl)
trim_expired(KEYS[1], now_ms, ttl)
return redis.call('LRANGE', KEYS[1], 0, -1)
`;

/** How long an instance's subscriber count stands without a refresh (SUBSCRIBE writes now + 15). */
export const COUNT_REFRESH_MS = 5000;
