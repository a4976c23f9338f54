"""The Lua scripts behind the run records (records.py) and the target locks.

Each state change of a run is one script, so it is atomic and checks the
state it leaves. Keys are passed in KEYS except the ``<lock>:fifo`` lists
and the records of other runs, derived from names (fine on a single Redis;
not Redis Cluster).
"""

from __future__ import annotations

# Per-target order. Every run is appended, when it is created, to the FIFO
# ``<lock>:fifo`` of each of its target locks, and leaves them when it ends.
# A run may start only at the head of all of them (and with its locks free),
# so requests for one target run in submission order whatever happens to
# workers; runs that must wait are parked in the hash ``parked`` (run id ->
# message) and the run that ends before them releases the new head. Runs are
# pushed onto every FIFO in one script and FIFOs only lose their heads, so
# they agree on the order of any two runs: the oldest unfinished run is the
# head of all its FIFOs, and nothing can deadlock.
#
# Shared helpers, prepended to the scripts that use them. ``prefix`` is the
# run keys' prefix (``ssw:run:``): the head's record is read by name, so these
# scripts suit a single Redis, not Redis Cluster.
_ORDER = """
local function live_head(lock, prefix)
  local fifo = lock .. ':fifo'
  local head = redis.call('LINDEX', fifo, 0)
  for _ = 1, 1000 do
    if not head then return false end
    local state = redis.call('HGET', prefix .. head, 'state')
    if state == 'queued' or state == 'running' then return head end
    -- a run that ended (or expired) without leaving its FIFO
    redis.call('LPOP', fifo)
    head = redis.call('LINDEX', fifo, 0)
  end
  return head
end
local function blocker(id, lock, prefix)
  local holder = redis.call('GET', lock)
  if holder and holder ~= id then return holder end
  if redis.call('LPOS', lock .. ':fifo', id) then
    local head = live_head(lock, prefix)
    if head and head ~= id then return head end
  end
  return false
end
local function wake(lock, parked, queue, prefix)
  local head = live_head(lock, prefix)
  if not head then return 0 end
  local message = redis.call('HGET', parked, head)
  if not message then return 0 end
  local locks = redis.call('HGET', prefix .. head, 'lock_keys') or ''
  for key in string.gmatch(locks, '%S+') do
    if blocker(head, key, prefix) then return 0 end
  end
  redis.call('HDEL', parked, head)
  -- RPUSH: the consuming end of the list (kombu BRPOPs), so it runs next;
  -- on the run's own queue (another queue's workers must not run it)
  local own = redis.call('HGET', prefix .. head, 'queue')
  if own and own ~= '' then queue = own end
  redis.call('RPUSH', queue, message)
  return 1
end
"""

# The record and its Celery message are written together or not at all; the
# run gets its submission number and its place in its targets' FIFOs.
# KEYS: run, params, index, stream, queue list, seq counter, FIFO set, lock
# keys... ARGV: id, created, params json, event json, maxlen, ttl seconds,
# message, lock keys (space-separated), the record's field/value pairs (a
# JSON array of strings: one argument to send instead of two per field).
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, ''} end
local fields = cjson.decode(ARGV[9])
local n = #fields
fields[n + 1], fields[n + 2] = 'seq', redis.call('INCR', KEYS[6])
fields[n + 3], fields[n + 4] = 'lock_keys', ARGV[8]
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
for i = 8, #KEYS do
  redis.call('RPUSH', KEYS[i] .. ':fifo', ARGV[1])
  redis.call('SADD', KEYS[7], KEYS[i])
end
local sid = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[4])
if ARGV[7] ~= '' then redis.call('LPUSH', KEYS[5], ARGV[7]) end
return {1, sid}
"""

# The fast path of a delivery in one round trip (see runner.py): take the
# heartbeat (owner: worker token) and the target locks (owner: run id) with the
# semantics of locks.RedisLock, then mark the run running. ``locked``: a lock
# is held by another run, or an older run of the same target is unfinished.
# ``mismatch``: the record is of another operation (its name third), or its
# parameters are not, byte for byte, the message's (the recorded JSON fourth;
# the worker compares them as values and claims again with ARGV[11] empty if
# only their spelling differs). Nothing is changed then.
# KEYS: run, heartbeat, active, stream, parked, lock keys... ARGV: id, worker
# token, heartbeat ttl ms, lock ttl ms, max deliveries, now, started event
# json, maxlen, run key prefix, the message's operation and params json
# (each '' skips its check), the lock-wait seconds hash (metrics). A run that
# was parked (``waiting_since``) adds the time it waited to that hash when
# it takes its locks.
CLAIM = (
    _ORDER
    + """
local run = redis.call('HMGET', KEYS[1], 'state', 'op', 'params', 'deliveries',
                      'waiting_since', 'started_at')
local state, op = run[1], run[2] or ''
if state == false then return {'missing', 0, '', ''} end
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then
  return {'done', 0, '', ''}
end
if ARGV[10] ~= '' and op ~= ARGV[10] then return {'mismatch', 0, op, ''} end
if ARGV[11] ~= '' then
  local params = run[3] or ''
  if params ~= ARGV[11] then return {'mismatch', 0, op, params} end
end
local beat = redis.call('GET', KEYS[2])
if beat ~= false and beat ~= ARGV[2] then return {'duplicate', 0, beat, ''} end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
for i = 6, #KEYS do
  -- The run is live (its state was read above): at the head of the FIFO,
  -- nothing older waits for the target, and blocker()'s walk is not needed.
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[1] then return {'locked', 0, holder, KEYS[i]} end
  if redis.call('LINDEX', KEYS[i] .. ':fifo', 0) ~= ARGV[1] then
    holder = blocker(ARGV[1], KEYS[i], ARGV[9])
    if holder then return {'locked', 0, holder, KEYS[i]} end
  end
end
for i = 6, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[4]) end
redis.call('HDEL', KEYS[5], ARGV[1])
local since = run[5]
if since then
  redis.call('HDEL', KEYS[1], 'waiting_since')
  redis.call('HINCRBYFLOAT', ARGV[12], op, math.max(tonumber(ARGV[6]) - tonumber(since), 0))
end
local deliveries = tonumber(run[4] or '0')
if deliveries >= tonumber(ARGV[5]) then return {'exhausted', deliveries, '', ''} end
deliveries = deliveries + 1
if run[6] then
  redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[2], 'deliveries', deliveries)
else
  redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[2], 'deliveries', deliveries,
             'started_at', ARGV[6])
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'event', ARGV[7])
return {'started', deliveries, '', ''}
"""
)

# KEYS: run, params, active, stream, heartbeat, queue, parked, FIFO set, lock
# keys... ARGV: id, state, now, result json, error, error type, event json,
# maxlen, ttl seconds, allowed previous states (csv), worker token, run key
# prefix. Whatever the outcome, releases the heartbeat and locks that are
# still ours; a run that is over leaves its FIFOs, and the runs now at their
# heads are released if they were parked.
FINISH = (
    _ORDER
    + """
local function release()
  if redis.call('GET', KEYS[5]) == ARGV[11] then redis.call('DEL', KEYS[5]) end
  for i = 9, #KEYS do
    if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
  end
end
local function leave_and_wake(over)
  local locks = {}
  for i = 9, #KEYS do table.insert(locks, KEYS[i]) end
  if over then
    redis.call('HDEL', KEYS[7], ARGV[1])
    local mine = redis.call('HGET', KEYS[1], 'lock_keys') or ''
    for key in string.gmatch(mine, '%S+') do
      redis.call('LREM', key .. ':fifo', 0, ARGV[1])
      if redis.call('LLEN', key .. ':fifo') == 0 then redis.call('SREM', KEYS[8], key) end
      table.insert(locks, key)
    end
  end
  for _, key in ipairs(locks) do wake(key, KEYS[7], KEYS[6], ARGV[12]) end
end
local state = redis.call('HGET', KEYS[1], 'state')
if state == false then release() leave_and_wake(false) return 'missing' end
if not string.find(',' .. ARGV[10] .. ',', ',' .. state .. ',', 1, true) then
  release()
  leave_and_wake(state == 'succeeded' or state == 'failed' or state == 'cancelled')
  return state
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'finished_at', ARGV[3], 'result', ARGV[4],
           'error', ARGV[5], 'error_type', ARGV[6])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[9])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'event', ARGV[7])
release()
leave_and_wake(true)
return 'ok'
"""
)

# A run that may not start yet waits off the worker: its message is parked
# and the run that ends before it releases it (FINISH). If nothing blocks it
# any more, nothing is parked (0): claim again. The first time a run is
# parked it is counted, by operation, in the lock-waits hash (metrics), and
# its record keeps ``waiting_since`` until CLAIM ends the wait.
# KEYS: heartbeat, active, parked, lock keys... ARGV: id, worker token,
# message, run key prefix, lock-waits hash, now.
PARK = (
    _ORDER
    + """
local blocked = false
for i = 4, #KEYS do
  if blocker(ARGV[1], KEYS[i], ARGV[4]) then blocked = true end
end
if not blocked then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
local run = ARGV[4] .. ARGV[1]
if redis.call('EXISTS', run) == 1 and redis.call('HSETNX', run, 'waiting_since', ARGV[6]) == 1 then
  redis.call('HINCRBY', ARGV[5], redis.call('HGET', run, 'op') or '', 1)
end
if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""
)

# The recovery pass's safety net: the head of a FIFO that is parked with
# nothing blocking it any more (the run before it expired without finishing)
# is released; parked messages of runs that ended are dropped; messages parked
# by the previous version on ``<lock>:waiting`` lists go back on the queue.
# KEYS: FIFO set, parked, queue, legacy waiting-lists set. ARGV: run key prefix.
SWEEP = (
    _ORDER
    + """
local moved = 0
for _, lock in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  moved = moved + wake(lock, KEYS[2], KEYS[3], ARGV[1])
  if redis.call('LLEN', lock .. ':fifo') == 0 then redis.call('SREM', KEYS[1], lock) end
end
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
  local state = redis.call('HGET', ARGV[1] .. id, 'state')
  if state ~= 'queued' and state ~= 'running' then redis.call('HDEL', KEYS[2], id) end
end
for _, lock in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  while redis.call('LMOVE', lock .. ':waiting', KEYS[3], 'LEFT', 'LEFT') do
    moved = moved + 1
  end
  redis.call('SREM', KEYS[4], lock)
end
return moved
"""
)

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

# The heartbeat thread's refresh of a running run: extend its heartbeat
# (owner: worker token) and target locks (owner: run id), taking back any
# that expired and are free, but only while the record says ``running``:
# refreshing a run that finished a moment ago would re-create its target
# lock, and every later run of that target would wait for it to expire.
# Returns 1, 0 if a key is held by another owner now, -1 if the run is not
# running. KEYS: run, heartbeat, lock keys... ARGV: worker token, run id,
# heartbeat ttl ms, lock ttl ms.
REFRESH = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return -1 end
local kept = 1
for i = 2, #KEYS do
  local owner, ttl = ARGV[2], ARGV[4]
  if i == 2 then owner, ttl = ARGV[1], ARGV[3] end
  local holder = redis.call('GET', KEYS[i])
  if holder == owner then
    redis.call('PEXPIRE', KEYS[i], ttl)
  elseif holder == false then
    redis.call('SET', KEYS[i], owner, 'PX', ttl)
  else
    kept = 0
  end
end
return kept
"""
