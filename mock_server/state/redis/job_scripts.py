"""The job store's Lua scripts: each write of a job (and each step of its engine work) is one of them, so
a job's document, its lookup key and its indexes always change together. Key names: `job_store.py`.
"""

from __future__ import annotations

__all__ = [
    "BY_FILE",
    "CLAIM",
    "CREATE",
    "POLL",
    "PROBE",
    "PURGE",
    "PUT_IMAGES",
    "RELEASE",
    "RESERVE",
    "SAVE",
    "UNFINISHED",
]

# New jobs, any number in one call (the group commit). ARGV: ttl ms, the key prefix, then per job: id,
# file prefix, doc, created_at, pending score ("" when the job does not count towards its key's queue),
# key digest, engine work ("1" when an eager engine still has to render it). Every file prefix is checked
# before anything is written, so a clash writes no job.
CREATE = """
local ttl, p = ARGV[1], ARGV[2]
for i = 3, #ARGV, 7 do
  local owner = redis.call('GET', p .. ':file:' .. ARGV[i + 1])
  if owner and owner ~= ARGV[i] then
    return redis.error_reply('file_prefix ' .. ARGV[i + 1] .. ' belongs to job ' .. owner)
  end
end
for i = 3, #ARGV, 7 do
  local id, job = ARGV[i], p .. ':job:' .. ARGV[i]
  redis.call('HSET', job, 'doc', ARGV[i + 2], 'polls', 0)
  redis.call('PEXPIRE', job, ttl)
  redis.call('SET', p .. ':file:' .. ARGV[i + 1], id, 'PX', ttl)
  redis.call('ZADD', p .. ':jobs', ARGV[i + 3], id)
  redis.call('ZADD', p .. ':jobs:by_id', id, id)
  if ARGV[i + 4] ~= '' then
    local pending = p .. ':pending:' .. ARGV[i + 5]
    -- entries whose time has passed no longer count: drop them as new ones come, so the set stays small
    redis.call('ZREMRANGEBYSCORE', pending, '-inf', ARGV[i + 3])
    redis.call('ZADD', pending, ARGV[i + 4], id)
    redis.call('PEXPIRE', pending, ttl)
  end
  if ARGV[i + 6] == '1' then redis.call('ZADD', p .. ':engine:unclaimed', ARGV[i + 3], id) end
end
return (#ARGV - 2) / 7
"""

# A job changed (finished, or a reserved id filled). KEYS: job, file, jobs index, pending, ids index,
# engine unclaimed, engine leased, engine owners. ARGV: doc, id, created_at, pending score ("" when the
# job no longer counts towards its key's queue), engine work ("1" while still to render). Keeps the
# expiry. A job that is no longer engine work leaves the engine sets, lease and all, in the same step.
SAVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', left) end
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[5], 'NX', ARGV[2], ARGV[2])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[4], ARGV[2])
else
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
end
if ARGV[5] ~= '1' then
  redis.call('ZREM', KEYS[6], ARGV[2])
  redis.call('ZREM', KEYS[7], ARGV[2])
  redis.call('HDEL', KEYS[8], ARGV[2])
end
return 1
"""

# Take or renew a lease. KEYS: job, engine unclaimed, leased, owners. ARGV: id, owner, now, until.
CLAIM = """
local doc = redis.call('HGET', KEYS[1], 'doc')
if not doc or doc == '' then
  -- no such job (never made, or expired): no engine work either
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
  return 0
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  local lease_until = redis.call('ZSCORE', KEYS[3], ARGV[1])
  if not lease_until then return 0 end
  local holder = redis.call('HGET', KEYS[4], ARGV[1])
  if holder and holder ~= ARGV[2] and tonumber(lease_until) > tonumber(ARGV[3]) then return 0 end
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
return 1
"""

# KEYS: engine unclaimed, leased, owners. ARGV: unclaimed created by (now - grace), now, limit, prefix.
# Returns {id, doc, polls} for up to `limit` jobs no lease holds, oldest id first.
UNFINISHED = """
local limit = tonumber(ARGV[3])
local ids = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)) do
  table.insert(ids, tonumber(id))
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, limit)) do
  table.insert(ids, tonumber(id))
end
table.sort(ids)
local found = {}
for _, id in ipairs(ids) do
  if #found == limit then break end
  local row = redis.call('HMGET', ARGV[4] .. ':job:' .. id, 'doc', 'polls')
  if row[1] and row[1] ~= '' then
    table.insert(found, {id, row[1], row[2]})
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
return found
"""

# Give a lease back: due again at once. KEYS: engine leased, owners. ARGV: id, owner.
RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], 'XX', 0, ARGV[1])
return 1
"""

# The health probe, which also reads the secret (made here by whoever comes first). KEYS: health, secret.
# ARGV: now, a fresh random secret (used only when the store has none).
PROBE = """
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'NX')
return redis.call('GET', KEYS[2])
"""

# A reserved id: an empty placeholder (not a job yet) that `save` fills. KEYS: job. ARGV: ttl ms.
RESERVE = "redis.call('HSET', KEYS[1], 'doc', '', 'polls', 0) redis.call('PEXPIRE', KEYS[1], ARGV[1])"

POLL = """
local doc = redis.call('HGET', KEYS[1], 'doc')
if not doc or doc == '' then return false end
return {doc, redis.call('HINCRBY', KEYS[1], 'polls', 1)}
"""

# KEYS: file key. ARGV: the key prefix.
BY_FILE = """
local id = redis.call('GET', KEYS[1])
if not id then return false end
local found = redis.call('HMGET', ARGV[1] .. ':job:' .. id, 'doc', 'polls')
if not found[1] or found[1] == '' then return false end
return found
"""

# KEYS: file key, images key. ARGV: fallback ttl ms, then index, png pairs.
PUT_IMAGES = """
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
local left = redis.call('PTTL', KEYS[1])
redis.call('PEXPIRE', KEYS[2], left > 0 and left or ARGV[1])
return 1
"""

# KEYS: jobs index. ARGV: before, batch size, the key prefix. Deletes the batch's jobs, files, images and
# engine work.
PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local job = ARGV[3] .. ':job:' .. id
  local doc = redis.call('HGET', job, 'doc')
  if doc and doc ~= '' then
    local decoded = cjson.decode(doc)
    local file_prefix = decoded.file_prefix
    redis.call('DEL', ARGV[3] .. ':file:' .. file_prefix, ARGV[3] .. ':images:' .. file_prefix)
    if type(decoded.extra) == 'table' and type(decoded.extra.key) == 'string' then
      redis.call('ZREM', ARGV[3] .. ':pending:' .. decoded.extra.key, id)
    end
  end
  redis.call('DEL', job)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', ARGV[3] .. ':jobs:by_id', id)
  redis.call('ZREM', ARGV[3] .. ':engine:unclaimed', id)
  redis.call('ZREM', ARGV[3] .. ':engine:leased', id)
  redis.call('HDEL', ARGV[3] .. ':engine:owners', id)
end
return #ids
"""
