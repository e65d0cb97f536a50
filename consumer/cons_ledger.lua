#!lua name=partner_incentives
--[[
cons_ledger.lua — the Redis half of the delivery protocol (CONTRACT §7, README "Delivery protocol").

Loaded by cons_ledger.c with FUNCTION LOAD REPLACE; the C side is the only caller and
builds the argument lists below. Per input partition p there are two keys:

  KEYS[1]  <ns>:ledger:<p>  hash: fence (the fencing token), seq (entries ever appended),
                            off:<topic> (next offset to consume, per input topic)
  KEYS[2]  <ns>:outbox:<p>  list of outbox entries (cons_outbox.h), oldest first

Errors are Redis errors whose first word is fixed: FENCED (the caller's token is not the
current one), CONFLICT (stored offsets differ from the caller's expectation), STALE (a
value the batch was computed from changed meanwhile: an EXPECT op failed; the caller
redoes the batch), BADOP (a malformed call: a bug in the caller, never retried).

Functions do not roll back when a command fails half-way, so every function checks all
of its arguments and every condition a write could fail on (key types, integer fields)
before its first write.

Numbers: Lua numbers are doubles. Offsets and tokens stay canonical decimal strings and
are compared as strings (exactly: length first, then digits), never converted. tonumber
is used only for small counts (n, seq, body length) and for HINCRBY operands, which must
stay within ±(2^53 - 1) where doubles are exact. Money is never computed here: the
caller sends absolute values or integer HINCRBY increments.
]]

local MAX_TOPICS = 8
local SAFE_INT = 9007199254740991 -- 2^53 - 1: the largest integer a double holds exactly
local HEADER_MAX = 320            -- CONS_OUTBOX_HEADER_MAX

-- A canonical non-negative integer: "0" or no leading zero, at most 19 digits.
local function is_uint(s)
  return type(s) == 'string' and #s <= 19 and (s == '0' or string.match(s, '^[1-9]%d*$') ~= nil)
end

-- A canonical signed integer as Redis's string2ll accepts it (no '+', no leading zero).
local function is_int(s)
  if type(s) ~= 'string' then return false end
  if string.sub(s, 1, 1) == '-' then return s ~= '-0' and is_uint(string.sub(s, 2)) end
  return is_uint(s)
end

-- An offset: a next offset to consume, or -1 for "never consumed".
local function is_offset(s)
  return s == '-1' or is_uint(s)
end

-- a <= b for two offsets, exactly (no conversion to double).
local function off_le(a, b)
  if a == '-1' then return true end
  if b == '-1' then return false end
  if #a ~= #b then return #a < #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return true
end

-- A small count argument in [lo, hi], or nil.
local function count_arg(s, lo, hi)
  if not is_uint(s) or #s > 9 then return nil end
  local v = tonumber(s)
  if v < lo or v > hi then return nil end
  return v
end

-- An error reply; `redis` is only complete at call time, so look it up then.
local function fail(msg)
  return redis.error_reply(msg)
end

local function key_type(k)
  return redis.call('TYPE', k)['ok']
end

-- Parses the ASCII line of an outbox entry. @returns a table {seq, ends[1..n],
-- body_len, line_len} or nil and a reason.
local function entry_header(entry, n)
  local line = string.match(string.sub(entry, 1, HEADER_MAX), '^PIO1 ([^\n]*)\n')
  if not line then return nil, 'no PIO1 header line' end
  local t = {}
  for w in string.gmatch(line, '[^ ]+') do t[#t + 1] = w end
  if #t ~= n + 5 or t[2] ~= tostring(n) then
    return nil, 'header has ' .. tostring(t[2]) .. ' end offsets, expected ' .. n
  end
  local h = { seq = t[1], ends = {}, body_len = t[n + 4], line_len = #line + 6 }
  if not is_uint(h.seq) or not is_uint(h.body_len) then return nil, 'bad seq or length' end
  for i = 1, n do
    if not is_offset(t[2 + i]) then return nil, 'bad end offset ' .. tostring(t[2 + i]) end
    h.ends[i] = t[2 + i]
  end
  return h
end

-- Reads `n` topic names starting at args[i]. @returns the list or nil, reason.
local function topic_args(args, i, n)
  local topics, seen = {}, {}
  for j = 0, n - 1 do
    local t = args[i + j]
    if type(t) ~= 'string' or t == '' then return nil, 'missing topic name' end
    if seen[t] then return nil, 'duplicate topic ' .. t end
    seen[t] = true
    topics[j + 1] = t
  end
  return topics
end

local function offset_args(args, i, n, what)
  local offs = {}
  for j = 0, n - 1 do
    local o = args[i + j]
    if not is_offset(o) then return nil, 'bad ' .. what .. ' offset ' .. tostring(o) end
    offs[j + 1] = o
  end
  return offs
end

local function hmget_offsets(ledger, topics)
  local fields = {}
  for j = 1, #topics do fields[j] = 'off:' .. topics[j] end
  local stored = redis.call('HMGET', ledger, unpack(fields))
  for j = 1, #topics do
    if not stored[j] then stored[j] = '-1' end
  end
  return stored
end

local function check_fence(ledger, token)
  local fence = redis.call('HGET', ledger, 'fence')
  if fence ~= token then
    return 'FENCED token ' .. token .. ' is not the current one (' .. tostring(fence or 'none') .. ')'
  end
  return nil
end

local function ledger_type_ok(ledger, outbox)
  local lt = key_type(ledger)
  if lt ~= 'hash' and lt ~= 'none' then return 'BADOP ' .. ledger .. ' is a ' .. lt .. ', not a hash' end
  if outbox then
    local ot = key_type(outbox)
    if ot ~= 'list' and ot ~= 'none' then return 'BADOP ' .. outbox .. ' is a ' .. ot .. ', not a list' end
  end
  return nil
end

--[[
pi_acquire: takes a new fencing token for the partition and reads its state.
  KEYS: ledger
  ARGV: n, topic_1 .. topic_n
  @returns { token (integer), seq (string), off_1 .. off_n (strings, "-1" if none) }
]]
-- The number of head entries of the outbox whose end offsets are all <= committed
-- (Kafka has them), or nil and why. Reads only.
local function published_head(outbox, n, committed)
  local count = 0
  while true do
    local e = redis.call('LINDEX', outbox, count)
    if not e then return count end
    local h, why = entry_header(e, n)
    if not h then return nil, 'outbox entry ' .. count .. ': ' .. why end
    for j = 1, n do
      if not off_le(h.ends[j], committed[j]) then return count end
    end
    count = count + 1
  end
end

local function pi_acquire(keys, args)
  if #keys ~= 1 then return fail('BADOP pi_acquire takes 1 key') end
  local n = count_arg(args[1], 1, MAX_TOPICS)
  if not n or #args ~= 1 + n then return fail('BADOP pi_acquire: bad topic count') end
  local topics, why = topic_args(args, 2, n)
  if not topics then return fail('BADOP ' .. why) end
  local ledger = keys[1]
  local err = ledger_type_ok(ledger, nil)
  if err then return fail(err) end
  local fence = redis.call('HGET', ledger, 'fence')
  if fence and not is_uint(fence) then return fail('BADOP stored fence is not an integer') end

  local token = redis.call('HINCRBY', ledger, 'fence', 1)
  local seq = redis.call('HGET', ledger, 'seq') or '0'
  local out = { token, seq }
  local stored = hmget_offsets(ledger, topics)
  for j = 1, n do out[2 + j] = stored[j] end
  return out
end

--[[
pi_commit: applies one partition batch atomically.
  KEYS: ledger, outbox, then one key per keyed op, in op order
  ARGV: token, n, topic_1..n, expected_1..n, next_1..n, published_1..n,
        entry ("" = none), n_ops,
        then per op its name and arguments (the key comes from KEYS):
          SET value | ZADD m score_1 member_1 .. score_m member_m |
          HSET m field_1 value_1 .. field_m value_m |
          HDEL m field_1 .. field_m | HINCRBY field increment | DEL |
          PUBLISH channel message (no key) |
          EXPECT value (the string key must hold exactly value; "" = must not exist: an
          optimistic check of shared state such as a deal claim, written by other workers)
  published: offsets the caller has seen committed in Kafka (-1: none); the head entries
  they cover are trimmed first, as pi_trim would, so the trim of the last batch costs
  no round trip of its own.
  @returns the ledger's seq after the call (incremented when an entry was appended)
]]
local function pi_commit(keys, args)
  local ledger, outbox = keys[1], keys[2]
  if not ledger or not outbox then return fail('BADOP pi_commit takes the ledger and outbox keys') end
  local token = args[1]
  if not is_uint(token) then return fail('BADOP bad token') end
  local n = count_arg(args[2], 1, MAX_TOPICS)
  if not n then return fail('BADOP bad topic count') end
  local topics, why = topic_args(args, 3, n)
  if not topics then return fail('BADOP ' .. why) end
  local expected
  expected, why = offset_args(args, 3 + n, n, 'expected')
  if not expected then return fail('BADOP ' .. why) end
  local nexts
  nexts, why = offset_args(args, 3 + 2 * n, n, 'next')
  if not nexts then return fail('BADOP ' .. why) end
  local published
  published, why = offset_args(args, 3 + 3 * n, n, 'published')
  if not published then return fail('BADOP ' .. why) end
  local advanced = false
  for j = 1, n do
    if not off_le(expected[j], nexts[j]) then
      return fail('BADOP next offset ' .. nexts[j] .. ' of ' .. topics[j] .. ' is before ' .. expected[j])
    end
    if expected[j] ~= nexts[j] then advanced = true end
  end
  -- Without an advancing offset a replayed batch could not be told from a new one.
  if not advanced then return fail('BADOP a batch must advance at least one offset') end
  local entry = args[3 + 4 * n]
  if type(entry) ~= 'string' then return fail('BADOP missing outbox entry argument') end
  local n_ops = count_arg(args[4 + 4 * n], 0, 100000000)
  if not n_ops then return fail('BADOP bad op count') end

  -- Parse the ops: whitelist and arity. ops[i] = { name, key, a = first arg index, m }
  -- incr_keys: keys with an HINCRBY, the only ones whose HSET/HDEL fields the dry run
  -- must follow (a partner's state hash gets many fields and never an HINCRBY).
  local ops, ai, ki, incr_keys = {}, 5 + 4 * n, 3, {}
  for i = 1, n_ops do
    local name = args[ai]
    local op = { name = name, a = ai + 1 }
    if name == 'SET' then
      op.key, ki = keys[ki], ki + 1
      if not args[ai + 1] then return fail('BADOP SET without a value') end
      ai = ai + 2
    elseif name == 'ZADD' then
      op.key, ki = keys[ki], ki + 1
      op.m = count_arg(args[ai + 1], 1, 50000000)
      if not op.m or not args[ai + 1 + 2 * op.m] then
        return fail('BADOP ZADD needs m >= 1 score/member pairs')
      end
      for j = 0, op.m - 1 do
        if not is_int(args[ai + 2 + 2 * j]) then return fail('BADOP ZADD needs integer scores') end
      end
      ai = ai + 2 + 2 * op.m
    elseif name == 'HSET' then
      op.key, ki = keys[ki], ki + 1
      op.m = count_arg(args[ai + 1], 1, 50000000)
      if not op.m or not args[ai + 1 + 2 * op.m] then
        return fail('BADOP HSET needs m >= 1 field/value pairs')
      end
      ai = ai + 2 + 2 * op.m
    elseif name == 'HDEL' then
      op.key, ki = keys[ki], ki + 1
      op.m = count_arg(args[ai + 1], 1, 50000000)
      if not op.m or not args[ai + 1 + op.m] then
        return fail('BADOP HDEL needs m >= 1 fields')
      end
      ai = ai + 2 + op.m
    elseif name == 'HINCRBY' then
      op.key, ki = keys[ki], ki + 1
      local inc = args[ai + 2]
      if not args[ai + 1] or not is_int(inc) or math.abs(tonumber(inc)) > SAFE_INT then
        return fail('BADOP HINCRBY needs a field and an integer increment within +-(2^53-1)')
      end
      if op.key then incr_keys[op.key] = true end
      ai = ai + 3
    elseif name == 'DEL' then
      op.key, ki = keys[ki], ki + 1
      ai = ai + 1
    elseif name == 'EXPECT' then
      op.key, ki = keys[ki], ki + 1
      if not args[ai + 1] then return fail('BADOP EXPECT without a value') end
      ai = ai + 2
    elseif name == 'PUBLISH' then
      if not args[ai + 1] or not args[ai + 2] then
        return fail('BADOP PUBLISH needs a channel and a message')
      end
      ai = ai + 3
    else
      return fail('BADOP op ' .. tostring(name) .. ' is not allowed (SET ZADD HSET HDEL HINCRBY DEL PUBLISH EXPECT)')
    end
    if name ~= 'PUBLISH' then
      if not op.key then return fail('BADOP fewer keys than keyed ops') end
      if op.key == ledger or op.key == outbox then
        return fail('BADOP an op may not write the ledger or outbox key')
      end
    end
    ops[i] = op
  end
  if ai ~= #args + 1 then return fail('BADOP ' .. (#args + 1 - ai) .. ' arguments left after the ops') end
  if ki ~= #keys + 1 then return fail('BADOP ' .. (#keys + 1 - ki) .. ' keys left after the ops') end

  -- Fencing, then the offsets.
  local err = ledger_type_ok(ledger, outbox)
  if err then return fail(err) end
  err = check_fence(ledger, token)
  if err then return fail(err) end
  local stored = hmget_offsets(ledger, topics)
  for j = 1, n do
    if stored[j] ~= expected[j] then
      return fail('CONFLICT topic ' .. topics[j] .. ': stored next offset ' .. stored[j] ..
        ', expected ' .. expected[j])
    end
  end
  -- Shared state the batch was computed from must be unchanged (before any write).
  for i = 1, n_ops do
    local op = ops[i]
    if op.name == 'EXPECT' then
      local t = key_type(op.key)
      if t ~= 'string' and t ~= 'none' then return fail('BADOP EXPECT on ' .. op.key .. ', a ' .. t) end
      local cur = (t == 'string') and redis.call('GET', op.key) or ''
      if cur ~= args[op.a] then return fail('STALE ' .. op.key .. ' changed since the batch read it') end
    end
  end
  local n_trim
  n_trim, why = published_head(outbox, n, published)
  if not n_trim then return fail('BADOP ' .. why) end
  local seq_s = redis.call('HGET', ledger, 'seq') or '0'
  if not is_uint(seq_s) then return fail('BADOP stored seq is not an integer') end
  local seq = tonumber(seq_s) -- < 2^53: one per batch

  if entry ~= '' then
    local h
    h, why = entry_header(entry, n)
    if not h then return fail('BADOP outbox entry: ' .. why) end
    if tonumber(h.seq) ~= seq + 1 then
      return fail('BADOP outbox entry seq ' .. h.seq .. ' is not ' .. (seq + 1))
    end
    if tonumber(h.body_len) ~= #entry - h.line_len then return fail('BADOP outbox entry length mismatch') end
    for j = 1, n do
      if h.ends[j] ~= nexts[j] then
        return fail('BADOP outbox entry end offset ' .. h.ends[j] .. ' of ' .. topics[j] ..
          ' is not the next offset ' .. nexts[j])
      end
    end
  end

  -- Dry run of the ops against the current key types and integer fields, so no
  -- write below can fail (WRONGTYPE, "not an integer", overflow).
  local state = {}
  local function st(k)
    local s = state[k]
    if not s then
      s = { type = key_type(k), fresh = false, f = {} }
      state[k] = s
    end
    return s
  end
  for i = 1, n_ops do
    local op = ops[i]
    local name, k, a = op.name, op.key, op.a
    if name == 'SET' then
      state[k] = { type = 'string', fresh = true, f = {} }
    elseif name == 'DEL' then
      state[k] = { type = 'none', fresh = true, f = {} }
    elseif name == 'ZADD' then
      local s = st(k)
      if s.type ~= 'zset' and s.type ~= 'none' then return fail('BADOP ZADD on ' .. k .. ', a ' .. s.type) end
      s.type = 'zset'
    elseif name == 'HDEL' then
      local s = st(k)
      if s.type ~= 'hash' and s.type ~= 'none' then return fail('BADOP HDEL on ' .. k .. ', a ' .. s.type) end
      if incr_keys[k] then
        for j = 1, op.m do s.f[args[a + j]] = false end -- a later HINCRBY starts from 0
      end
    elseif name == 'HSET' or name == 'HINCRBY' then
      local s = st(k)
      if s.type ~= 'hash' and s.type ~= 'none' then
        return fail('BADOP ' .. name .. ' on ' .. k .. ', a ' .. s.type)
      end
      s.type = 'hash'
      if name == 'HSET' then
        if incr_keys[k] then
          for j = 0, op.m - 1 do s.f[args[a + 1 + 2 * j]] = args[a + 2 + 2 * j] end
        end
      else
        local field = args[a]
        local cur = s.f[field]
        if cur == nil then
          cur = (not s.fresh) and redis.call('HGET', k, field) or false
        end
        if cur == false then
          cur = 0
        elseif type(cur) == 'string' then
          if not is_int(cur) or math.abs(tonumber(cur)) > SAFE_INT then
            return fail('BADOP HINCRBY ' .. k .. ' ' .. field ..
              ': stored value is not an integer within +-(2^53-1)')
          end
          cur = tonumber(cur)
        end
        local v = cur + tonumber(args[a + 1])
        if math.abs(v) > SAFE_INT then
          return fail('BADOP HINCRBY ' .. k .. ' ' .. field .. ' would leave +-(2^53-1)')
        end
        s.f[field] = v
      end
    end
  end

  -- Writes: nothing below can fail.
  if n_trim > 0 then redis.call('LTRIM', outbox, n_trim, -1) end
  for i = 1, n_ops do
    local op = ops[i]
    local name, k, a = op.name, op.key, op.a
    if name == 'SET' then
      redis.call('SET', k, args[a])
    elseif name == 'ZADD' then
      local j = 0
      while j < op.m do
        local last = math.min(j + 200, op.m) - 1
        redis.call('ZADD', k, unpack(args, a + 1 + 2 * j, a + 2 + 2 * last))
        j = last + 1
      end
    elseif name == 'HSET' then
      -- unpack() is bounded by the Lua C stack: write in chunks of 200 pairs.
      local j = 0
      while j < op.m do
        local last = math.min(j + 200, op.m) - 1
        redis.call('HSET', k, unpack(args, a + 1 + 2 * j, a + 2 + 2 * last))
        j = last + 1
      end
    elseif name == 'HDEL' then
      local j = 0
      while j < op.m do
        local last = math.min(j + 200, op.m)
        redis.call('HDEL', k, unpack(args, a + 1 + j, a + last))
        j = last
      end
    elseif name == 'HINCRBY' then
      redis.call('HINCRBY', k, args[a], args[a + 1])
    elseif name == 'DEL' then
      redis.call('DEL', k)
    elseif name == 'PUBLISH' then
      redis.call('PUBLISH', args[a], args[a + 1])
    end
  end
  if entry ~= '' then
    redis.call('RPUSH', outbox, entry)
    seq = redis.call('HINCRBY', ledger, 'seq', 1)
  end
  local hs = {}
  for j = 1, n do
    hs[2 * j - 1] = 'off:' .. topics[j]
    hs[2 * j] = nexts[j]
  end
  redis.call('HSET', ledger, unpack(hs))
  return seq
end

--[[
pi_trim: removes the outbox entries Kafka already has.
  KEYS: ledger, outbox
  ARGV: token, n, committed_1 .. committed_n (Kafka's committed offsets, topic order;
        -1 when none)
  Pops head entries whose end offsets are all <= the committed ones; stops at the
  first entry that is not. @returns the number of entries removed.
]]
local function pi_trim(keys, args)
  if #keys ~= 2 then return fail('BADOP pi_trim takes 2 keys') end
  local ledger, outbox = keys[1], keys[2]
  local token = args[1]
  if not is_uint(token) then return fail('BADOP bad token') end
  local n = count_arg(args[2], 1, MAX_TOPICS)
  if not n or #args ~= 2 + n then return fail('BADOP bad topic count') end
  local committed, why = offset_args(args, 3, n, 'committed')
  if not committed then return fail('BADOP ' .. why) end
  local err = ledger_type_ok(ledger, outbox)
  if err then return fail(err) end
  err = check_fence(ledger, token)
  if err then return fail(err) end

  local count
  count, why = published_head(outbox, n, committed)
  if not count then return fail('BADOP ' .. why) end
  if count > 0 then redis.call('LTRIM', outbox, count, -1) end
  return count
end

redis.register_function('pi_acquire', pi_acquire)
redis.register_function('pi_commit', pi_commit)
redis.register_function('pi_trim', pi_trim)
