"""The Lua scripts behind the run records (records.py) and the target locks.

Each state change of a run is one script, so it is atomic and checks the
state it leaves. Keys are passed in KEYS except the ``<lock>:waiting`` lists,
derived from their lock's key (fine on a single Redis; not Redis Cluster).
"""

from __future__ import annotations

# The record and its Celery message are written together or not at all.
# KEYS: run, params, index, stream, queue list. ARGV: id, created, params json,
# event json, maxlen, ttl seconds, message, then field/value pairs of the record.
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, ''} end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
local sid = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[4])
if ARGV[7] ~= '' then redis.call('LPUSH', KEYS[5], ARGV[7]) end
return {1, sid}
"""

# The fast path of a delivery in one round trip (see runner.py): take the
# heartbeat (owner: worker token) and the target locks (owner: run id) with the
# semantics of locks.RedisLock, then mark the run running.
# KEYS: run, heartbeat, active, stream, lock keys... ARGV: id, worker token,
# heartbeat ttl ms, lock ttl ms, max deliveries, now, started event json, maxlen.
CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == false then return {'missing', 0, '', ''} end
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then
  return {'done', 0, '', ''}
end
local beat = redis.call('GET', KEYS[2])
if beat ~= false and beat ~= ARGV[2] then return {'duplicate', 0, beat, ''} end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
for i = 5, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder ~= false and holder ~= ARGV[1] then return {'locked', 0, holder, KEYS[i]} end
end
for i = 5, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[4]) end
local deliveries = tonumber(redis.call('HGET', KEYS[1], 'deliveries') or '0')
if deliveries >= tonumber(ARGV[5]) then return {'exhausted', deliveries, '', ''} end
deliveries = redis.call('HINCRBY', KEYS[1], 'deliveries', 1)
redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[2])
redis.call('HSETNX', KEYS[1], 'started_at', ARGV[6])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'event', ARGV[7])
return {'started', deliveries, '', ''}
"""

# KEYS: run, params, active, stream, heartbeat, queue, lock keys... ARGV: id,
# state, now, result json, error, error type, event json, maxlen, ttl seconds,
# allowed previous states (csv), worker token. Whatever the outcome, releases
# the heartbeat and locks that are still ours and puts the runs parked on
# those locks back on the queue (``<lock>:waiting``, see PARK).
FINISH = """
local function release()
  if redis.call('GET', KEYS[5]) == ARGV[11] then redis.call('DEL', KEYS[5]) end
  for i = 7, #KEYS do
    if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
    local waiting = KEYS[i] .. ':waiting'
    while redis.call('LMOVE', waiting, KEYS[6], 'LEFT', 'LEFT') do end
  end
end
local state = redis.call('HGET', KEYS[1], 'state')
if state == false then release() return 'missing' end
if not string.find(',' .. ARGV[10] .. ',', ',' .. state .. ',', 1, true) then
  release()
  return state
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'finished_at', ARGV[3], 'result', ARGV[4],
           'error', ARGV[5], 'error_type', ARGV[6])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[9])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'event', ARGV[7])
release()
return 'ok'
"""

# A run whose target lock is busy waits off the worker: its message is parked
# on ``<lock>:waiting`` (FIFO) and the lock's holder puts it back on the queue
# when it finishes. If the lock was freed meanwhile, nothing is parked (0):
# claim again. KEYS: busy lock, heartbeat, active. ARGV: id, worker token,
# message, waiting-lists set.
PARK = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[1] .. ':waiting', ARGV[3])
redis.call('SADD', ARGV[4], KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
redis.call('SREM', KEYS[3], ARGV[1])
return 1
"""

# The recovery pass's safety net: a lock that is free (its holder expired
# without finishing) must not strand the runs parked on it.
# KEYS: waiting-lists set, queue. ARGV: none.
UNPARK_FREE = """
local moved = 0
for _, lock in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', lock) == 0 then
    while redis.call('LMOVE', lock .. ':waiting', KEYS[2], 'LEFT', 'LEFT') do
      moved = moved + 1
    end
    redis.call('SREM', KEYS[1], lock)
  end
end
return moved
"""

# KEYS: run. ARGV: note, field to increment or ''.
NOTE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local raw = redis.call('HGET', KEYS[1], 'notes')
local notes = {}
if raw and raw ~= '' then notes = cjson.decode(raw) end
if #notes < 50 then table.insert(notes, ARGV[1]) end
redis.call('HSET', KEYS[1], 'notes', cjson.encode(notes))
if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[1], ARGV[2], 1) end
return 1
"""

# KEYS: run, heartbeat, active, suspect. ARGV: id, now, grace seconds.
# A run is orphaned when its heartbeat has been missing on two passes at least
# ``grace`` apart: a single miss may be a worker reconnecting after a Redis
# restart, which re-creates its heartbeat at once. Only looks: taking the run
# out of the active set is REQUEUE_ORPHAN's, together with its new message.
ORPHANED = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == false or state == 'succeeded' or state == 'failed' or state == 'cancelled' then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('DEL', KEYS[4])
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('DEL', KEYS[4])
  return 0
end
local seen = redis.call('GET', KEYS[4])
if seen == false then
  redis.call('SET', KEYS[4], ARGV[2], 'EX', 600)
  return 0
end
if tonumber(ARGV[2]) - tonumber(seen) < tonumber(ARGV[3]) then return 0 end
return 1
"""

# Re-queue an orphaned run: leave the active set, push its new message and
# note why, all at once. Two separate steps would strand the run for good if
# the recovering worker died between them (no longer active, so no pass looks
# at it again, and no message to start it). The active set is the gate: of
# two workers recovering the same run, one pushes. A heartbeat that is back
# (a new claim got there first) or a finished run leaves everything alone.
# KEYS: run, heartbeat, active, suspect, queue. ARGV: id, message, note.
REQUEUE_ORPHAN = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' and state ~= 'queued' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('SREM', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[4])
redis.call('LPUSH', KEYS[5], ARGV[2])
local raw = redis.call('HGET', KEYS[1], 'notes')
local notes = {}
if raw and raw ~= '' then notes = cjson.decode(raw) end
if #notes < 50 then table.insert(notes, ARGV[3]) end
redis.call('HSET', KEYS[1], 'notes', cjson.encode(notes))
return 1
"""
