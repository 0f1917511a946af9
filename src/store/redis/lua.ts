/**
 * The Lua scripts behind Redis timelines: one script per atomic step, each over the keys of the
 * feeds of one hash-tag bucket (or of any feeds on a single Redis). Layout in `keys.ts`.
 *
 * Entries are members of a sorted set whose scores are all 0, so members sort byte by byte:
 * `<sk>` for a direct entry, `<sk>|<origin>` for one that came through a follow. Sort keys are
 * lowercase hex (below `|`) and members never hold byte 255, so `[sk` .. `(sk\255` is exactly
 * the one entry of `sk`, and cursors are exact lexicographic bounds (a sort key is 124 bits, which
 * no double score holds).
 *
 * Every write is idempotent per (feed, sk): an add finds the entry first and changes nothing
 * (group counters included) when it exists; a remove of an absent entry changes nothing. So a
 * chunk that runs twice, on two workers or after a failover retried it, delivers once.
 */
import { luaGroupFieldLocals } from '../shared/group-state.js'

/**
 * A feed's version counter (data-version.ts): `<prefix>:{bN}:v:<feed>` beside its entry set
 * `<prefix>:{bN}:e:<feed>` (same slot; prefixes hold no brace). A missing counter starts at the
 * clock in microseconds, above any value it held before it was lost (a feed changes less than
 * once a microsecond), so no version repeats.
 */
export const VERSION_HELPERS = `
local function vkey(e)
  local j = string.find(e, '}', 1, true)
  return string.sub(e, 1, j + 1) .. 'v' .. string.sub(e, j + 3)
end

local function seed()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2]))
end

local function bump(v)
  if redis.call('EXISTS', v) == 0 then redis.call('SET', v, seed()) end
  redis.call('INCR', v)
end
`

// The group tuple's slots, named as GroupState names them (G1–G4 in ../shared/group-state.ts).
const PRELUDE = `
${luaGroupFieldLocals()}
${VERSION_HELPERS}
local SEP = '|'
local HI = '\\255'
local NUL = '\\0'

local function find(e, sk)
  return redis.call('ZRANGEBYLEX', e, '[' .. sk, '(' .. sk .. HI, 'LIMIT', 0, 1)[1]
end

local function split(member)
  local i = string.find(member, SEP, 1, true)
  if i then return string.sub(member, 1, i - 1), string.sub(member, i + 1) end
  return member, nil
end

local function cut0(s)
  local i = string.find(s, NUL, 1, true)
  return string.sub(s, 1, i - 1), string.sub(s, i + 1)
end

local function ids(g, id)
  local raw = redis.call('HGET', g, 'i' .. id)
  if raw then return cjson.decode(raw) end
  return {}
end

local function groupRange(grp)
  return '[' .. grp .. NUL, '(' .. grp .. NUL .. HI
end
`

const WRITE_HELPERS = `
local function idAdd(g, id, grp)
  local list = ids(g, id)
  list[#list + 1] = grp
  redis.call('HSET', g, 'i' .. id, cjson.encode(list))
end

local function idRemove(g, id, grp)
  local keep = {}
  for _, x in ipairs(ids(g, id)) do if x ~= grp then keep[#keep + 1] = x end end
  if #keep == 0 then redis.call('HDEL', g, 'i' .. id)
  else redis.call('HSET', g, 'i' .. id, cjson.encode(keep)) end
end

-- K: e, ge, go, g, us, ur. Returns 1 when the entry is new. G2: only a new entry joins its
-- group: one more activity, one more actor when its tally was 0, bounds widened, unseen and unread.
local function addEntry(K, sk, origin, grouped, grp, actor, gid)
  if redis.call('ZLEXCOUNT', K[1], '[' .. sk, '(' .. sk .. HI) > 0 then return 0 end
  local member = sk
  if origin ~= '' then member = sk .. SEP .. origin end
  redis.call('ZADD', K[1], 0, member)
  if not grouped then return 1 end
  local g = K[4]
  redis.call('HSET', g, 'e' .. sk, grp .. NUL .. actor)
  redis.call('ZADD', K[2], 0, grp .. NUL .. member)
  local raw = redis.call('HGET', g, 'g' .. grp)
  local st
  if raw then
    st = cjson.decode(raw)
    st[ACTIVITY_COUNT] = st[ACTIVITY_COUNT] + 1
    if sk < st[FIRST_SK] then st[FIRST_SK] = sk end
    if sk > st[LAST_SK] then
      redis.call('ZREM', K[3], st[LAST_SK] .. SEP .. grp)
      st[LAST_SK] = sk
      redis.call('ZADD', K[3], 0, sk .. SEP .. grp)
    end
  else
    -- G2: a new group, named by its first entry (slots: LUA_GROUP_FIELDS)
    st = {gid, sk, sk, 1, 0}
    idAdd(g, gid, grp)
    redis.call('ZADD', K[3], 0, sk .. SEP .. grp)
  end
  if redis.call('HINCRBY', g, 'a' .. grp .. NUL .. actor, 1) == 1 then st[ACTOR_COUNT] = st[ACTOR_COUNT] + 1 end
  redis.call('HSET', g, 'g' .. grp, cjson.encode(st))
  redis.call('SADD', K[5], grp)
  redis.call('SADD', K[6], grp)
  return 1
end

-- G3/G4: a group dropped whole, with its entries, tallies, id and flags.
local function dropGroup(K, grp)
  local g = K[4]
  local lo, hi = groupRange(grp)
  local members = redis.call('ZRANGEBYLEX', K[2], lo, hi)
  for _, m in ipairs(members) do
    local member = string.sub(m, #grp + 2)
    local sk = split(member)
    redis.call('ZREM', K[1], member)
    local info = redis.call('HGET', g, 'e' .. sk)
    if info then
      local _, actor = cut0(info)
      redis.call('HDEL', g, 'e' .. sk, 'a' .. grp .. NUL .. actor)
    end
  end
  if #members > 0 then redis.call('ZREMRANGEBYLEX', K[2], lo, hi) end
  local raw = redis.call('HGET', g, 'g' .. grp)
  if raw then
    local st = cjson.decode(raw)
    idRemove(g, st[ID], grp)
    redis.call('ZREM', K[3], st[LAST_SK] .. SEP .. grp)
    redis.call('HDEL', g, 'g' .. grp)
  end
  redis.call('SREM', K[5], grp)
  redis.call('SREM', K[6], grp)
end

-- Removes entry member (of sort key sk) and takes it out of its group, if the feed has groups.
-- G3: one activity less, one actor less at its last entry, bounds moved, an empty group dropped.
local function removeMember(K, member, sk)
  redis.call('ZREM', K[1], member)
  if #K == 1 then return end
  local g = K[4]
  local info = redis.call('HGET', g, 'e' .. sk)
  if not info then return end
  redis.call('HDEL', g, 'e' .. sk)
  local grp, actor = cut0(info)
  redis.call('ZREM', K[2], grp .. NUL .. member)
  local st = cjson.decode(redis.call('HGET', g, 'g' .. grp))
  st[ACTIVITY_COUNT] = st[ACTIVITY_COUNT] - 1
  local af = 'a' .. grp .. NUL .. actor
  if redis.call('HINCRBY', g, af, -1) <= 0 then
    redis.call('HDEL', g, af)
    st[ACTOR_COUNT] = st[ACTOR_COUNT] - 1
  end
  if st[ACTIVITY_COUNT] <= 0 then
    redis.call('HDEL', g, 'g' .. grp)
    idRemove(g, st[ID], grp)
    redis.call('ZREM', K[3], st[LAST_SK] .. SEP .. grp)
    redis.call('SREM', K[5], grp)
    redis.call('SREM', K[6], grp)
    return
  end
  local lo, hi = groupRange(grp)
  if sk == st[FIRST_SK] then
    st[FIRST_SK] = split(string.sub(redis.call('ZRANGEBYLEX', K[2], lo, hi, 'LIMIT', 0, 1)[1], #grp + 2))
  end
  if sk == st[LAST_SK] then
    redis.call('ZREM', K[3], st[LAST_SK] .. SEP .. grp)
    st[LAST_SK] = split(string.sub(redis.call('ZREVRANGEBYLEX', K[2], hi, lo, 'LIMIT', 0, 1)[1], #grp + 2))
    redis.call('ZADD', K[3], 0, st[LAST_SK] .. SEP .. grp)
  end
  redis.call('HSET', g, 'g' .. grp, cjson.encode(st))
end
`

/**
 * Applies one batch to the feeds of one bucket (any feeds on a single Redis), in the seam's
 * order per feed: adds, removes, removals by origin, then the trim. ARGV[1] is JSON
 * `{ c: cap, f: [[keyCount, grouped, adds, removes, origins, maxLength], ...] }` and KEYS holds
 * each feed's keys in turn (1 for a flat feed that only gains entries, else all 6). An add is
 * `[sk, origin or '', group, actor, groupId]`, a remove `[sk, origin or '' for any]`. Returns
 * how many entries were new, or with `r: 1` in ARGV[1] the positions in `f` (from 1) of the
 * feeds that gained one.
 */
export const APPLY = `${PRELUDE}${WRITE_HELPERS}
local req = cjson.decode(ARGV[1])
local cap = req.c
local k = 1
local added = 0
local fresh = {}
for fi, f in ipairs(req.f) do
  local before = added
  local K = {}
  for i = 1, f[1] do K[i] = KEYS[k + i - 1] end
  k = k + f[1]
  local grouped = f[2] == 1
  for _, a in ipairs(f[3]) do
    added = added + addEntry(K, a[1], a[2], grouped, a[3], a[4], a[5])
  end
  if added > before then fresh[#fresh + 1] = fi end
  -- The feed's version (data-version.ts): flat adds show in its size; anything else bumps it.
  local moved = grouped or #f[4] > 0 or #f[5] > 0
  for _, r in ipairs(f[4]) do
    local member = find(K[1], r[1])
    if member then
      local _, origin = split(member)
      if r[2] == '' or r[2] == origin then removeMember(K, member, r[1]) end
    end
  end
  for _, o in ipairs(f[5]) do
    for _, m in ipairs(redis.call('ZRANGE', K[1], 0, -1)) do
      local sk, origin = split(m)
      if origin == o then removeMember(K, m, sk) end
    end
  end
  if #f[3] > 0 then
    local keep = cap
    if f[6] > 0 and f[6] < keep then keep = f[6] end
    if grouped then
      -- G4: the newest groups by last sort key stay.
      local n = redis.call('ZCARD', K[3])
      if n > keep then
        for _, m in ipairs(redis.call('ZRANGE', K[3], 0, n - keep - 1)) do
          local _, grp = split(m)
          dropGroup(K, grp)
        end
      end
    else
      -- A no-op below the cap; one call instead of ZCARD and a trim once the feed is full.
      if redis.call('ZREMRANGEBYRANK', K[1], 0, -keep - 1) > 0 then moved = true end
    end
  end
  if moved then bump(vkey(K[1])) end
end
if req.r == 1 then return fresh end
return added
`

/**
 * A fan-out chunk's common case, without JSON: entry ARGV[1] (origin ARGV[2], '' for none) added
 * to each flat feed of KEYS that lacks it; with ARGV[4] = '1', each feed is then trimmed to its
 * newest ARGV[3] entries. The same as APPLY for such feeds, in two or three calls per feed.
 * Returns how many entries were new, or with ARGV[5] = '1' the positions in KEYS (from 1) of
 * the feeds that gained it.
 */
export const FANOUT = `${VERSION_HELPERS}
local sk, origin, keep, trim, report = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1', ARGV[5] == '1'
local member = sk
if origin ~= '' then member = sk .. '|' .. origin end
local lo, hi = '[' .. sk, '(' .. sk .. '\\255'
local added = 0
local fresh = {}
-- ZLEXCOUNT answers a number where ZRANGEBYLEX builds a table: ~15 % of the script's time.
local call = redis.call
for i = 1, #KEYS do
  local key = KEYS[i]
  if call('ZLEXCOUNT', key, lo, hi) == 0 then
    call('ZADD', key, 0, member)
    added = added + 1
    if report then fresh[added] = i end
  end
  -- An add shows in the feed's size (its version, data-version.ts); a trim has to bump it.
  if trim and call('ZREMRANGEBYRANK', key, 0, -keep - 1) > 0 then bump(vkey(key)) end
end
if report then return fresh end
return added
`

/**
 * A flat page: ZREVRANGEBYLEX KEYS[1] from ARGV[1] down to ARGV[2], offset ARGV[3], count
 * ARGV[4]. A short page also returns what a read past the cap needs: the set's size, its oldest
 * member and how many members lie within the bounds.
 */
export const FLAT = `
local page = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
if #page >= tonumber(ARGV[4]) then return { page } end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1] or ''
return { page, redis.call('ZCARD', KEYS[1]), oldest, redis.call('ZLEXCOUNT', KEYS[1], ARGV[2], ARGV[1]) }
`

/** The members (`sk` or `sk|origin`) of the given sort keys in KEYS[1], '' for absent ones. */
export const ENTRIES = `${PRELUDE}
local out = {}
for i, sk in ipairs(ARGV) do out[i] = find(KEYS[1], sk) or '' end
return out
`

/**
 * A page of groups with counts and marks, in one atomic step (one snapshot, marks after the
 * read). KEYS: the feed's 6 keys. ARGV[1] is JSON `{ l: limit, o: offset, p: perGroup,
 * b: { lt: [id, sk], ... }, c: counts 0|1, s: seen, r: read, k: cap }` (a mark is true, a list of
 * ids, or false). A cursor stands for the newest activity of the groups with that id, else for
 * its sort key. Returns JSON `{ groups: [[group, id, first, last, count, actors, unseen, unread,
 * [member...]], ...], unseen, unread, past }`; `past` (`{ oldest, within, bounds }`, see
 * `PastCapBound` in store.ts) only when the page is short and the feed holds `k` groups.
 */
export const GROUPS = `${PRELUDE}
local req = cjson.decode(ARGV[1])
local K = KEYS
local function lastOf(bound)
  local best = nil
  for _, grp in ipairs(ids(K[4], bound[1])) do
    local raw = redis.call('HGET', K[4], 'g' .. grp)
    if raw then
      local last = cjson.decode(raw)[LAST_SK]
      if not best or last > best then best = last end
    end
  end
  return best or bound[2]
end
local max, lo, loEx = nil, nil, false
local function upper(s) if not max or s < max then max = s end end
local function lower(s, ex) if not lo or s > lo or (s == lo and ex) then lo, loEx = s, ex end end
local b = req.b
local resolved = {}
for _, name in ipairs({ 'lt', 'lte', 'gt', 'gte' }) do
  if b[name] then resolved[name] = lastOf(b[name]) end
end
if resolved.lt then upper(resolved.lt) end
if resolved.lte then upper(resolved.lte .. HI) end
if resolved.gt then lower(resolved.gt .. HI, true) end
if resolved.gte then lower(resolved.gte, false) end
local top, bottom = '+', '-'
if max then top = '(' .. max end
if lo then bottom = (loEx and '(' or '[') .. lo end
local out = { groups = {} }
if req.c == 1 then
  out.unseen = redis.call('SCARD', K[5])
  out.unread = redis.call('SCARD', K[6])
end
if req.l > 0 then
  for _, m in ipairs(redis.call('ZREVRANGEBYLEX', K[3], top, bottom, 'LIMIT', req.o, req.l)) do
    local _, grp = split(m)
    local st = cjson.decode(redis.call('HGET', K[4], 'g' .. grp))
    local items = {}
    if req.p > 0 then
      local glo, ghi = groupRange(grp)
      items = redis.call('ZREVRANGEBYLEX', K[2], ghi, glo, 'LIMIT', 0, req.p)
      for i, x in ipairs(items) do items[i] = string.sub(x, #grp + 2) end
    end
    out.groups[#out.groups + 1] = { grp, st[ID], st[FIRST_SK], st[LAST_SK], st[ACTIVITY_COUNT], st[ACTOR_COUNT],
      redis.call('SISMEMBER', K[5], grp), redis.call('SISMEMBER', K[6], grp), items }
  end
end
-- A short page of a feed that reached the cap: where the held groups end, for a read past them.
if req.l > 0 and #out.groups < req.l and req.k and redis.call('ZCARD', K[3]) >= req.k then
  local oldest = split(redis.call('ZRANGE', K[3], 0, 0)[1])
  out.past = { oldest = oldest, within = redis.call('ZLEXCOUNT', K[3], bottom, top), bounds = resolved }
end
-- G5: true marks every group, a list every group of those ids.
local function mark(target, set)
  if target == true then
    redis.call('DEL', set)
  elseif type(target) == 'table' then
    for _, id in ipairs(target) do
      for _, grp in ipairs(ids(K[4], id)) do redis.call('SREM', set, grp) end
    end
  end
end
mark(req.s, K[5])
mark(req.r, K[6])
-- Marks change what the feed's next pages show (data-version.ts).
if req.s or req.r then bump(vkey(K[1])) end
return cjson.encode(out)
`

/**
 * Feed versions for page caches (data-version.ts): with ARGV[1] = '1', KEYS[1] is the shared
 * counter, returned first (created at the clock when missing); then for each entry set of KEYS,
 * `<counter>.<size>` (its counter created when missing). Adds show in the size, everything else
 * moves the counter, so the pair changes with every change a page of the feed could show.
 */
export const VERSIONS = `${VERSION_HELPERS}
local out = {}
local from = 1
local function current(v)
  local c = redis.call('GET', v)
  if not c then
    c = seed()
    redis.call('SET', v, c, 'NX')
    c = redis.call('GET', v)
  end
  return c
end
if ARGV[1] == '1' then
  out[1] = current(KEYS[1])
  from = 2
end
for i = from, #KEYS do
  local e = KEYS[i]
  out[#out + 1] = current(vkey(e)) .. '.' .. redis.call('ZCARD', e)
end
return out
`

/** Moves on the counters of KEYS (the shared one, or feeds' `v` keys), each created when missing. */
export const BUMP = `${VERSION_HELPERS}
for i = 1, #KEYS do bump(KEYS[i]) end
return #KEYS
`
