import type { Redis } from 'ioredis';
import { RedisScript } from '../redis-script.js';
import { SEQ_GAP, seqOf, type AppendOutcome, type JoinOutcome, type MarkedRoom, type MemberRecord, type PendingFrames, type RoomDirectory, type TickClaim } from './directory.js';

/** Options of `RedisDirectory`. */
export interface RedisDirectoryOptions {
  redis: Redis;
  prefix: string;
  nodeId: string;
  replayLimit: number;
  /** Lifetime of replay buffers and sequence counters after their last write. */
  bufferTtlMs: number;
  /** Lifetime of a billing-tick claim. */
  tickTtlMs: number;
}

const SEQ_OF = `local function seqof(f) return tonumber(string.match(f, '^{"seq":(%d+),')) end`;

/**
 * Appends sequenced frames to a replay list, skipping those at or below the seq of its last frame
 * (stored already: a write that timed out but ran, a leave repeating frames the write-behind had
 * taken, a late write of frames a resumed socket numbered past), and raises the peer's counter to
 * their highest (never lowers it: a late write from a node presumed dead must not). The counter is
 * not the skip mark: a dead-node sweep raises it by a gap, above frames still to be stored. The
 * common case is four commands: LINDEX, SET … GET, RPUSH (its length says whether to trim) and
 * PEXPIRE; with no new frames (a leave, usually) only the counter's lifetime is renewed (a missing
 * counter reads as 0).
 */
const STORE = `
local function store(seqkey, listkey, maxlen, ttl, frames)
  local last = redis.call('LINDEX', listkey, -1)
  local floor = last and seqof(last) or 0
  local fresh, top = {}, 0
  for i = 1, #frames do
    local s = seqof(frames[i])
    if s and s > floor then
      fresh[#fresh + 1] = frames[i]
      if s > top then top = s end
    end
  end
  if #fresh == 0 then
    redis.call('PEXPIRE', seqkey, ttl)
    return
  end
  local before = tonumber(redis.call('SET', seqkey, top, 'PX', ttl, 'GET') or '0')
  if before > top then redis.call('SET', seqkey, before, 'PX', ttl) end
  local length = 0
  for i = 1, #fresh, 1000 do length = redis.call('RPUSH', listkey, unpack(fresh, i, math.min(i + 999, #fresh))) end
  if length > tonumber(maxlen) then redis.call('LTRIM', listkey, -tonumber(maxlen), -1) end
  redis.call('PEXPIRE', listkey, ttl)
end`;

/** KEYS: members, seq, list, grace, node rooms, nodes, parked; ARGV: peer, member json, lastSeq|-1, callId, nodeId, members ttl. */
const JOIN = new RedisScript(`${SEQ_OF}
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZREM', KEYS[4], ARGV[4] .. '\\n' .. ARGV[1])
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('SADD', KEYS[6], ARGV[5])
local all = redis.call('HGETALL', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local replay = {}
local last = tonumber(ARGV[3])
if last >= 0 then
  for _, item in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
    local s = seqof(item)
    if s and s > last then table.insert(replay, item) end
  end
end
local parked = redis.call('LRANGE', KEYS[7], 0, -1)
redis.call('DEL', KEYS[7])
return {prev or '', all, seq, replay, parked}`);

/** KEYS: members, grace, seq, list; ARGV: peer, conn, now, deadline, callId, max, ttl, frames… */
const LEAVE = new RedisScript(`${SEQ_OF}${STORE}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local rec = cjson.decode(cur)
if rec.conn ~= ARGV[2] then return 0 end
local frames = {}
for i = 8, #ARGV do frames[#frames + 1] = ARGV[i] end
store(KEYS[3], KEYS[4], ARGV[6], ARGV[7], frames)
rec.state = 'reconnecting'
rec.since = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(rec))
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5] .. '\\n' .. ARGV[1])
return 1`);

/**
 * ARGV: room key prefix (`<prefix>:room:`), max, ttl, and one blob of every peer's entry (see
 * `recordBlob`). The keys are built here from the prefix: passing two key names per peer made
 * the node build them and ioredis encode them, for every peer on every write-behind.
 */
const RECORD = new RedisScript(`${SEQ_OF}${STORE}
local base, blob = ARGV[1], ARGV[4]
local pos, size = 1, #blob
while pos <= size do
  local stop = string.find(blob, '\\30', pos, true) or (size + 1)
  local a = string.find(blob, '\\31', pos, true)
  local b = string.find(blob, '\\31', a + 1, true)
  local call, peer = string.sub(blob, pos, a - 1), string.sub(blob, a + 1, b - 1)
  local frames = {}
  local at = b + 1
  while at < stop do
    local nl = string.find(blob, '\\n', at, true)
    if not nl or nl > stop then nl = stop end
    frames[#frames + 1] = string.sub(blob, at, nl - 1)
    at = nl + 1
  end
  store(base .. call .. ':seq:' .. peer, base .. call .. ':replay:' .. peer, ARGV[2], ARGV[3], frames)
  pos = stop + 1
end
return 1`);

/** KEYS: members, seq, list; ARGV: peer, body, max, ttl */
const APPEND_OFFLINE = new RedisScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return {0} end
local rec = cjson.decode(cur)
if rec.state == 'connected' then return {1, rec.node} end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
redis.call('SET', KEYS[2], seq, 'PX', ARGV[4])
redis.call('RPUSH', KEYS[3], '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2))
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return {2, seq}`);

/** KEYS: parked; ARGV: body, max, ttl */
const PARK = new RedisScript(`
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`);

/** KEYS: tick keys; ARGV: node id, ttl. 1 for each key this call created, 0 for each that existed. */
const CLAIM_TICKS = new RedisScript(`
local won = {}
for i = 1, #KEYS do won[i] = redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0 end
return won`);

/** KEYS: grace; ARGV: now, limit, lease deadline */
const CLAIM_GRACE = new RedisScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], m) end
return due`);

/**
 * Rooms of a dead node marked per round trip. Their scripts go out pipelined and Redis runs them
 * back to back, so other clients' commands (a cross-node PUBLISH) wait behind at most this many.
 */
const SWEEP_ROOMS_PER_ROUND_TRIP = 50;

/**
 * KEYS: members, grace; ARGV: dead node, now, deadline, callId, seq key prefix, seq gap,
 * replay list key prefix, parked list key prefix, max, ttl.
 * The dead node may have delivered frames it never persisted, so each marked peer's counter
 * jumps by the gap: frames stored for it from now on sort after anything it may have seen.
 * Frames parked for the peer since its node stopped listening become replayable after the gap.
 */
const MARK_GONE = new RedisScript(`
local h = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #h, 2 do
  local rec = cjson.decode(h[i + 1])
  if rec.node == ARGV[1] and rec.state == 'connected' then
    rec.state = 'reconnecting'
    rec.since = tonumber(ARGV[2])
    redis.call('HSET', KEYS[1], h[i], cjson.encode(rec))
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4] .. '\\n' .. h[i])
    local seq = redis.call('INCRBY', ARGV[5] .. h[i], ARGV[6])
    local list = ARGV[7] .. h[i]
    for _, body in ipairs(redis.call('LRANGE', ARGV[8] .. h[i], 0, -1)) do
      seq = seq + 1
      redis.call('RPUSH', list, '{"seq":' .. seq .. ',' .. string.sub(body, 2))
    end
    redis.call('DEL', ARGV[8] .. h[i])
    redis.call('SET', ARGV[5] .. h[i], seq, 'PX', ARGV[10])
    redis.call('LTRIM', list, -tonumber(ARGV[9]), -1)
    redis.call('PEXPIRE', list, ARGV[10])
    table.insert(out, h[i])
  end
end
return out`);

const MEMBERS_TTL_MS = 24 * 60 * 60 * 1000;

const RECORD_SEPARATOR = 0x1e;
const UNIT_SEPARATOR = 0x1f;
const NEWLINE = 0x0a;

/**
 * The write-behind batch as one UTF-8 blob: entries `<call>\x1f<peer>\x1f<frames joined by \n>`
 * separated by \x1e. Frames are single-line JSON (`JSON.stringify` escapes every control
 * character), call ids are ULIDs and peers are slot names, so no separator occurs inside a field.
 * One Buffer argument keeps the frames' bytes off the V8 heap.
 */
function recordBlob(entries: readonly PendingFrames[]): Buffer {
  let size = 0;
  for (const { callId, peer, frames } of entries) {
    size += Buffer.byteLength(callId) + Buffer.byteLength(peer) + 2 + frames.length;
    for (const frame of frames) size += Buffer.byteLength(frame);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { callId, peer, frames } of entries) {
    if (at > 0) out[at++] = RECORD_SEPARATOR;
    at += out.write(callId, at);
    out[at++] = UNIT_SEPARATOR;
    at += out.write(peer, at);
    out[at++] = UNIT_SEPARATOR;
    for (let i = 0; i < frames.length; i += 1) {
      if (i > 0) out[at++] = NEWLINE;
      at += out.write(frames[i]!, at);
    }
  }
  return out.subarray(0, at);
}

function parseMembers(flat: string[]): Map<string, MemberRecord> {
  const members = new Map<string, MemberRecord>();
  for (let i = 0; i + 1 < flat.length; i += 2) members.set(flat[i]!, JSON.parse(flat[i + 1]!) as MemberRecord);
  return members;
}

/**
 * The room directory on Redis. Keys (all under `<prefix>:`): `room:<call>:members` (hash peer →
 * member JSON), `room:<call>:seq:<peer>` and `room:<call>:replay:<peer>` (counter and trimmed
 * list), `grace` (zset of `call\npeer` by deadline; once claimed, by the end of the claim's
 * lease), `node:<id>:rooms` (set), `signal:nodes` (set of nodes that registered members),
 * `tick:<call>:<minute>`. Every multi-key change is one Lua script, so it is atomic.
 */
export class RedisDirectory implements RoomDirectory {
  readonly #r: Redis;
  readonly #p: string;
  readonly #o: RedisDirectoryOptions;
  readonly #roomBase: string;
  readonly #replayLimit: string;
  readonly #bufferTtl: string;

  constructor(options: RedisDirectoryOptions) {
    this.#r = options.redis;
    this.#p = options.prefix;
    this.#o = options;
    this.#roomBase = `${options.prefix}:room:`;
    this.#replayLimit = String(options.replayLimit);
    this.#bufferTtl = String(options.bufferTtlMs);
  }

  async join(callId: string, peer: string, member: MemberRecord, lastSeq: number | undefined): Promise<JoinOutcome> {
    const [prev, all, seq, replay, parked] = (await JOIN.run(this.#r, 7,
      this.#members(callId), this.#seq(callId, peer), this.#list(callId, peer), this.#grace(), this.#nodeRooms(this.#o.nodeId), this.#nodes(), this.#parked(callId, peer),
      peer, JSON.stringify(member), String(lastSeq ?? -1), callId, this.#o.nodeId, String(MEMBERS_TTL_MS))) as [string, string[], number, string[], string[]];
    return { previous: prev ? (JSON.parse(prev) as MemberRecord) : null, members: parseMembers(all), seq: Number(seq), replay, parked };
  }

  async replayAfter(callId: string, peer: string, afterSeq: number): Promise<string[]> {
    return (await this.#r.lrange(this.#list(callId, peer), 0, -1)).filter((f) => seqOf(f) > afterSeq);
  }

  async leave(callId: string, peer: string, conn: string, now: number, graceDeadline: number, frames: string[]): Promise<boolean> {
    const done = await LEAVE.run(this.#r, 4, this.#members(callId), this.#grace(), this.#seq(callId, peer), this.#list(callId, peer),
      peer, conn, String(now), String(graceDeadline), callId, this.#replayLimit, this.#bufferTtl, ...frames);
    return Number(done) === 1;
  }

  async record(batch: readonly PendingFrames[]): Promise<void> {
    const entries = batch.filter((e) => e.frames.length > 0);
    if (entries.length === 0) return;
    await RECORD.run(this.#r, 0, this.#roomBase, this.#replayLimit, this.#bufferTtl, recordBlob(entries));
  }

  async appendOffline(callId: string, peer: string, body: string): Promise<AppendOutcome> {
    const [kind, value] = (await APPEND_OFFLINE.run(this.#r, 3, this.#members(callId), this.#seq(callId, peer), this.#list(callId, peer),
      peer, body, this.#replayLimit, this.#bufferTtl)) as [number, string | number | undefined];
    if (kind === 1) return { node: String(value) };
    if (kind === 2) return { seq: Number(value) };
    return { missing: true };
  }

  async park(callId: string, peer: string, body: string): Promise<void> {
    await PARK.run(this.#r, 1, this.#parked(callId, peer), body, this.#replayLimit, this.#bufferTtl);
  }

  async members(callId: string): Promise<Map<string, MemberRecord>> {
    return parseMembers(Object.entries(await this.#r.hgetall(this.#members(callId))).flat());
  }

  async claimExpiredGrace(now: number, limit: number, leaseMs: number): Promise<Array<{ callId: string; peer: string }>> {
    const due = (await CLAIM_GRACE.run(this.#r, 1, this.#grace(), String(now), String(limit), String(now + leaseMs))) as string[];
    return due.map((entry) => {
      const cut = entry.indexOf('\n');
      return { callId: entry.slice(0, cut), peer: entry.slice(cut + 1) };
    });
  }

  async releaseGrace(callId: string, peer: string): Promise<void> {
    await this.#r.zrem(this.#grace(), `${callId}\n${peer}`);
  }

  async clearRoom(callId: string, peers: readonly string[]): Promise<void> {
    const multi = this.#r.multi().del(this.#members(callId)).srem(this.#nodeRooms(this.#o.nodeId), callId);
    for (const peer of peers) multi.zrem(this.#grace(), `${callId}\n${peer}`);
    await multi.exec();
  }

  async forgetLocalRoom(callId: string): Promise<void> {
    await this.#r.srem(this.#nodeRooms(this.#o.nodeId), callId);
  }

  async claimTicks(ticks: readonly TickClaim[]): Promise<boolean[]> {
    if (ticks.length === 0) return [];
    const won = (await CLAIM_TICKS.run(this.#r, ticks.length, ...ticks.map((t) => `${this.#p}:tick:${t.callId}:${t.minute}`),
      this.#o.nodeId, String(this.#o.tickTtlMs))) as number[];
    return won.map((w) => w === 1);
  }

  async sweepDeadNodes(alive: readonly string[], now: number, graceDeadline: number, limit: number, onMarked: (marked: MarkedRoom) => void): Promise<void> {
    const known = await this.#r.smembers(this.#nodes());
    for (const node of known) {
      if (node === this.#o.nodeId || alive.includes(node)) continue;
      for (let taken = 0; taken < limit;) {
        const rooms = await this.#r.spop(this.#nodeRooms(node), Math.min(SWEEP_ROOMS_PER_ROUND_TRIP, limit - taken));
        if (rooms.length === 0) {
          await this.#r.srem(this.#nodes(), node);
          break;
        }
        taken += rooms.length;
        const outcomes = await Promise.allSettled(rooms.map((callId) => this.#markGone(callId, node, now, graceDeadline)));
        const failed: string[] = [];
        outcomes.forEach((outcome, i) => {
          if (outcome.status === 'fulfilled') onMarked({ callId: rooms[i]!, peers: outcome.value, node });
          else failed.push(rooms[i]!);
        });
        if (failed.length > 0) {
          await this.#r.sadd(this.#nodeRooms(node), ...failed);
          throw new Error(`marking ${failed.length} room(s) of dead node ${node} failed`, { cause: outcomes.find((o) => o.status === 'rejected')?.reason });
        }
      }
    }
  }

  #markGone(callId: string, node: string, now: number, graceDeadline: number): Promise<string[]> {
    return MARK_GONE.run(this.#r, 2, this.#members(callId), this.#grace(), node, String(now), String(graceDeadline), callId,
      `${this.#roomBase}${callId}:seq:`, String(SEQ_GAP), `${this.#roomBase}${callId}:replay:`, `${this.#roomBase}${callId}:parked:`,
      this.#replayLimit, this.#bufferTtl) as Promise<string[]>;
  }

  #members(callId: string): string { return `${this.#roomBase}${callId}:members`; }
  #seq(callId: string, peer: string): string { return `${this.#roomBase}${callId}:seq:${peer}`; }
  #list(callId: string, peer: string): string { return `${this.#roomBase}${callId}:replay:${peer}`; }
  #parked(callId: string, peer: string): string { return `${this.#roomBase}${callId}:parked:${peer}`; }
  #grace(): string { return `${this.#p}:grace`; }
  #nodeRooms(node: string): string { return `${this.#p}:node:${node}:rooms`; }
  #nodes(): string { return `${this.#p}:signal:nodes`; }
}
