// The Lua scripts of the Redis registry. A content has two keys in one hash slot (the {content}
// hash tag): a sorted set of member ids scored by expiry (ms) and a hash of member records
// "seq|partnerCount|reachability|port|host" (the host last, whatever it holds). Each script trims at most TRIM_LIMIT expired members
// (lazy expiry: no global sweep) and does one content's work in one round trip.

/** Most expired members one script call removes (bounded work per call). */
export const TRIM_LIMIT = 64;

const TRIM = `
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ${TRIM_LIMIT})
if #dead > 0 then
  redis.call('ZREM', KEYS[1], unpack(dead))
  redis.call('HDEL', KEYS[2], unpack(dead))
end
`;

/**
 * JOIN: KEYS zset, hash; ARGV now, expiresAt, peerId, port, host, sample, threshold, maxPartners.
 * Registers the joiner (keeping what its Membership told), returns
 * {others, deputyIndex (0: none), id1, rec1, exp1, id2, rec2, exp2, ...} for up to `sample` random
 * live members other than the joiner (ZRANDMEMBER: server-side, no scan of the set).
 */
export const JOIN_SCRIPT = `${TRIM}
local now = tonumber(ARGV[1])
local me = ARGV[3]
local others = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], me) then others = others - 1 end
local n = tonumber(ARGV[6])
local out = {others, 0}
if n > 0 and others > 0 then
  local drawn = redis.call('ZRANDMEMBER', KEYS[1], n + 1, 'WITHSCORES')
  local ids, exps = {}, {}
  for i = 1, #drawn, 2 do
    if drawn[i] ~= me and tonumber(drawn[i + 1]) > now and #ids < n then
      ids[#ids + 1] = drawn[i]
      exps[#exps + 1] = drawn[i + 1]
    end
  end
  if #ids > 0 then
    local recs = redis.call('HMGET', KEYS[2], unpack(ids))
    local threshold = tonumber(ARGV[7])
    local maxPartners = tonumber(ARGV[8])
    local deputy, fallback = 0, 0
    for i = 1, #ids do
      local rec = recs[i]
      if rec then
        out[#out + 1] = ids[i]
        out[#out + 1] = rec
        out[#out + 1] = exps[i]
        if threshold > 0 and others >= threshold and deputy == 0 then
          local pc, reach = string.match(rec, '^[^|]*|([^|]*)|([^|]*)|')
          pc = tonumber(pc) or 0
          if pc < maxPartners and reach ~= 'nat' then
            local k = (#out) / 3
            if pc > 0 then deputy = k elseif fallback == 0 then fallback = k end
          end
        end
      end
    end
    if deputy == 0 then deputy = fallback end
    out[2] = deputy
  end
end
local old = redis.call('HGET', KEYS[2], me)
local head = old and string.match(old, '^([^|]*|[^|]*|[^|]*)|') or '0|0|unknown'
redis.call('HSET', KEYS[2], me, head .. '|' .. ARGV[4] .. '|' .. ARGV[5])
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], me)
return out
`;

/** ANNOUNCE: KEYS zset, hash; ARGV now, expiresAt, peerId, record. Refreshes the member (newer seq wins). */
export const ANNOUNCE_SCRIPT = `${TRIM}
local old = redis.call('HGET', KEYS[2], ARGV[3])
local oldSeq = old and tonumber(string.match(old, '^([^|]*)|')) or -1
local seq = tonumber(string.match(ARGV[4], '^([^|]*)|')) or 0
if seq >= oldSeq then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[3])
return 1
`;

/** LEAVE: KEYS zset, hash; ARGV now, peerId. */
export const LEAVE_SCRIPT = `${TRIM}
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
`;

/** MEMBERS: KEYS zset, hash; ARGV now, limit. Returns {id1, rec1, exp1, ...} of live members. */
export const MEMBERS_SCRIPT = `${TRIM}
local drawn = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
if #drawn == 0 then return out end
local ids = {}
for i = 1, #drawn, 2 do ids[#ids + 1] = drawn[i] end
local recs = redis.call('HMGET', KEYS[2], unpack(ids))
for i = 1, #ids do
  if recs[i] then
    out[#out + 1] = ids[i]
    out[#out + 1] = recs[i]
    out[#out + 1] = drawn[2 * i]
  end
end
return out
`;
