import { LuaScript } from './redis-connection.js';

/*
 * The directory's atomic operations. Key layout under the prefix P (ARGV[1]):
 *   P:rooms                 set of room ids
 *   P:room:<id>             hash maxPeers, metadata (JSON), createdAt, emptyTimeoutMs (optional)
 *   P:room:<id>:members     hash peerId → member JSON
 *   P:room:<id>:users       hash userId → peerId (one session per user and room)
 *   P:peer:<peerId>         member JSON (the peer directory)
 *   P:nodepeers:<nodeId>    set of the node's peer ids (to clean up after a lost node)
 *   P:claims:<space>        hash name → owner JSON (`claim`; Pixel Streaming's streamer ids: space `streamers`)
 *   P:seq:<name>            counters
 * P is a hash tag (`{hg}`), so on a Redis Cluster every key is in one slot; scripts derive keys
 * inside Lua and declare only KEYS[1] = P:rooms, which routes them to that slot.
 */
const PRELUDE = `
local p = ARGV[1]
local function rk(id) return p .. ':room:' .. id end
local function record(id)
  local h = redis.call('HMGET', rk(id), 'maxPeers', 'metadata', 'createdAt', 'emptyTimeoutMs')
  if not h[1] then return false end
  return { h[1], h[2], h[3], redis.call('HLEN', rk(id) .. ':members'), h[4] }
end
local function unlink(m)
  redis.call('HDEL', rk(m.roomId) .. ':members', m.peerId)
  if redis.call('HGET', rk(m.roomId) .. ':users', m.userId) == m.peerId then
    redis.call('HDEL', rk(m.roomId) .. ':users', m.userId)
  end
  redis.call('DEL', p .. ':peer:' .. m.peerId)
  redis.call('SREM', p .. ':nodepeers:' .. m.nodeId, m.peerId)
end
`;

const script = (body: string): LuaScript => new LuaScript(PRELUDE + body);

/** ARGV: p, id, maxPeers, metadata, createdAt, emptyTimeoutMs or '' → { created, record }. */
export const CREATE_ROOM = script(`
local id = ARGV[2]
local created = 0
if redis.call('EXISTS', rk(id)) == 0 then
  redis.call('HSET', rk(id), 'maxPeers', ARGV[3], 'metadata', ARGV[4], 'createdAt', ARGV[5])
  if ARGV[6] and ARGV[6] ~= '' then redis.call('HSET', rk(id), 'emptyTimeoutMs', ARGV[6]) end
  redis.call('SADD', p .. ':rooms', id)
  created = 1
end
return { created, record(id) }
`);

/** ARGV: p, id → record or nil. */
export const GET_ROOM = script(`return record(ARGV[2])`);

/** ARGV: p, id, metadata JSON or '', maxPeers or '' → record; ROOM_NOT_FOUND. */
export const UPDATE_ROOM = script(`
local id = ARGV[2]
if redis.call('EXISTS', rk(id)) == 0 then
  return redis.error_reply('ROOM_NOT_FOUND No room "' .. id .. '"')
end
if ARGV[3] ~= '' then redis.call('HSET', rk(id), 'metadata', ARGV[3]) end
if ARGV[4] ~= '' then
  local n = math.max(tonumber(ARGV[4]), redis.call('HLEN', rk(id) .. ':members'))
  redis.call('HSET', rk(id), 'maxPeers', n)
end
return record(id)
`);

/** ARGV: p, id, onlyIfEmpty ('1'/'0') → { deleted, member JSONs }. */
export const DELETE_ROOM = script(`
local id = ARGV[2]
local mk = rk(id) .. ':members'
if redis.call('EXISTS', rk(id)) == 0 then return { 0, {} } end
if ARGV[3] == '1' and redis.call('HLEN', mk) > 0 then return { 0, {} } end
local all = redis.call('HVALS', mk)
for _, j in ipairs(all) do unlink(cjson.decode(j)) end
redis.call('DEL', rk(id), mk, rk(id) .. ':users')
redis.call('SREM', p .. ':rooms', id)
return { 1, all }
`);

/**
 * ARGV: p, member JSON, restore ('1'/'0') → { room record, replaced JSON or false };
 * ROOM_NOT_FOUND, ROOM_FULL. When restoring, a newer session of the same user wins: CONFLICT.
 */
export const ADD_MEMBER = script(`
local m = cjson.decode(ARGV[2])
local k = rk(m.roomId)
if redis.call('EXISTS', k) == 0 then
  return redis.error_reply('ROOM_NOT_FOUND No room "' .. m.roomId .. '"')
end
local mk, uk = k .. ':members', k .. ':users'
local replaced = false
local prevId = redis.call('HGET', uk, m.userId)
if prevId and prevId ~= m.peerId then
  local prev = redis.call('HGET', mk, prevId)
  if prev then
    if ARGV[3] == '1' then
      return redis.error_reply('CONFLICT User "' .. m.userId .. '" has a newer session in room "' .. m.roomId .. '"')
    end
    unlink(cjson.decode(prev))
    replaced = prev
  end
end
local max = tonumber(redis.call('HGET', k, 'maxPeers'))
if redis.call('HEXISTS', mk, m.peerId) == 0 and redis.call('HLEN', mk) >= max then
  return redis.error_reply('ROOM_FULL Room "' .. m.roomId .. '" is full (' .. max .. ' peers)')
end
redis.call('HSET', mk, m.peerId, ARGV[2])
redis.call('HSET', uk, m.userId, m.peerId)
redis.call('SET', p .. ':peer:' .. m.peerId, ARGV[2])
redis.call('SADD', p .. ':nodepeers:' .. m.nodeId, m.peerId)
return { record(m.roomId), replaced }
`);

/** ARGV: p, peerId → member JSON or nil. */
export const REMOVE_MEMBER = script(`
local j = redis.call('GET', p .. ':peer:' .. ARGV[2])
if not j then return false end
unlink(cjson.decode(j))
return j
`);

/** ARGV: p, peerId, new member JSON, from nodeId → 1 if moved, 0 if `from` no longer holds it. */
export const MOVE_MEMBER = script(`
local j = redis.call('GET', p .. ':peer:' .. ARGV[2])
if not j then return 0 end
local old = cjson.decode(j)
if old.nodeId ~= ARGV[4] then return 0 end
local m = cjson.decode(ARGV[3])
redis.call('SREM', p .. ':nodepeers:' .. old.nodeId, old.peerId)
redis.call('HSET', rk(old.roomId) .. ':members', old.peerId, ARGV[3])
redis.call('SET', p .. ':peer:' .. old.peerId, ARGV[3])
redis.call('SADD', p .. ':nodepeers:' .. m.nodeId, old.peerId)
return 1
`);

/** ARGV: p, nodeId → member JSONs removed. */
export const REMOVE_NODE = script(`
local nk = p .. ':nodepeers:' .. ARGV[2]
local removed = {}
for _, peerId in ipairs(redis.call('SMEMBERS', nk)) do
  local j = redis.call('GET', p .. ':peer:' .. peerId)
  if j then
    unlink(cjson.decode(j))
    table.insert(removed, j)
  end
end
redis.call('DEL', nk)
return removed
`);

const CLAIMS = `
local sk = p .. ':claims:' .. ARGV[2]
local owner = cjson.decode(ARGV[4])
local function mine(j)
  if not j then return false end
  local o = cjson.decode(j)
  return o.nodeId == owner.nodeId and o.key == owner.key
end
local function free(name)
  local j = redis.call('HGET', sk, name)
  return not j or mine(j)
end
`;

/** A script over the claims of space ARGV[2] by owner ARGV[4]. */
const claimScript = (body: string): LuaScript => script(CLAIMS + body);

/** ARGV: p, space, requested name, owner JSON, policy → { name } or { name, replaced owner JSON }; CONFLICT. */
export const CLAIM = claimScript(`
local id = ARGV[3]
local replaced = false
if not free(id) then
  if ARGV[5] == 'reject' then
    return redis.error_reply('CONFLICT "' .. id .. '" is in use')
  elseif ARGV[5] == 'replace' then
    replaced = redis.call('HGET', sk, id)
  else
    local n = 1
    while not free(id .. n) do n = n + 1 end
    id = id .. n
  end
end
redis.call('HSET', sk, id, ARGV[4])
if replaced then return { id, replaced } end
return { id }
`);

/** ARGV: p, space, name, owner JSON → 1 if released. */
export const RELEASE = claimScript(`
if mine(redis.call('HGET', sk, ARGV[3])) then
  redis.call('HDEL', sk, ARGV[3])
  return 1
end
return 0
`);
