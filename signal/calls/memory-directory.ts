import { SEQ_GAP, seqOf, withSeq, type AppendOutcome, type MarkedRoom, type JoinOutcome, type MemberRecord, type PendingFrames, type RoomDirectory, type TickClaim } from './directory.js';

interface PeerBuffer {
  seq: number;
  frames: string[];
}

/** The single-node directory: the same semantics as `RedisDirectory`, in process memory. */
export class MemoryDirectory implements RoomDirectory {
  readonly #rooms = new Map<string, Map<string, MemberRecord>>();
  readonly #buffers = new Map<string, PeerBuffer>();
  readonly #grace = new Map<string, number>();
  readonly #ticks = new Set<string>();
  readonly #parked = new Map<string, string[]>();

  constructor(private readonly replayLimit: number) {}

  async join(callId: string, peer: string, member: MemberRecord, lastSeq: number | undefined): Promise<JoinOutcome> {
    const room = this.#room(callId);
    const previous = room.get(peer) ?? null;
    room.set(peer, { ...member });
    this.#grace.delete(`${callId}\n${peer}`);
    const buffer = this.#buffer(callId, peer);
    const replay = lastSeq === undefined ? [] : buffer.frames.filter((f) => seqOf(f) > lastSeq);
    const parked = this.#parked.get(`${callId}\n${peer}`) ?? [];
    this.#parked.delete(`${callId}\n${peer}`);
    return { previous, members: new Map([...room].map(([p, m]) => [p, { ...m }])), seq: buffer.seq, replay, parked };
  }

  async leave(callId: string, peer: string, conn: string, now: number, graceDeadline: number, frames: string[]): Promise<boolean> {
    const current = this.#rooms.get(callId)?.get(peer);
    if (!current || current.conn !== conn) return false;
    this.#store(callId, peer, frames);
    current.state = 'reconnecting';
    current.since = now;
    this.#grace.set(`${callId}\n${peer}`, graceDeadline);
    return true;
  }

  async replayAfter(callId: string, peer: string, afterSeq: number): Promise<string[]> {
    return (this.#buffers.get(`${callId}\n${peer}`)?.frames ?? []).filter((f) => seqOf(f) > afterSeq);
  }

  async record(batch: readonly PendingFrames[]): Promise<void> {
    for (const { callId, peer, frames } of batch) this.#store(callId, peer, frames);
  }

  async park(callId: string, peer: string, body: string): Promise<void> {
    const key = `${callId}\n${peer}`;
    const list = this.#parked.get(key) ?? [];
    list.push(body);
    if (list.length > this.replayLimit) list.splice(0, list.length - this.replayLimit);
    this.#parked.set(key, list);
  }

  async appendOffline(callId: string, peer: string, body: string): Promise<AppendOutcome> {
    const member = this.#rooms.get(callId)?.get(peer);
    if (!member) return { missing: true };
    if (member.state === 'connected') return { node: member.node };
    const buffer = this.#buffer(callId, peer);
    const seq = buffer.seq + 1;
    this.#store(callId, peer, [withSeq(seq, body)]);
    return { seq };
  }

  async members(callId: string): Promise<Map<string, MemberRecord>> {
    return new Map([...(this.#rooms.get(callId) ?? [])].map(([p, m]) => [p, { ...m }]));
  }

  async claimExpiredGrace(now: number, limit: number, leaseMs: number): Promise<Array<{ callId: string; peer: string }>> {
    const due: Array<{ callId: string; peer: string }> = [];
    for (const [key, deadline] of this.#grace) {
      if (deadline > now || due.length >= limit) continue;
      this.#grace.set(key, now + leaseMs);
      const [callId, peer] = key.split('\n') as [string, string];
      due.push({ callId, peer });
    }
    return due;
  }

  async releaseGrace(callId: string, peer: string): Promise<void> {
    this.#grace.delete(`${callId}\n${peer}`);
  }

  async clearRoom(callId: string, peers: readonly string[]): Promise<void> {
    this.#rooms.delete(callId);
    for (const peer of peers) {
      this.#grace.delete(`${callId}\n${peer}`);
      this.#buffers.delete(`${callId}\n${peer}`);
    }
    for (const key of this.#ticks) if (key.startsWith(`${callId}:`)) this.#ticks.delete(key);
  }

  async forgetLocalRoom(): Promise<void> {}

  async claimTicks(ticks: readonly TickClaim[]): Promise<boolean[]> {
    return ticks.map(({ callId, minute }) => {
      const key = `${callId}:${minute}`;
      if (this.#ticks.has(key)) return false;
      this.#ticks.add(key);
      return true;
    });
  }

  async sweepDeadNodes(alive: readonly string[], now: number, graceDeadline: number, limit: number, onMarked: (marked: MarkedRoom) => void): Promise<void> {
    const taken = new Map<string, number>();
    for (const [callId, room] of this.#rooms) {
      const byNode = new Map<string, string[]>();
      for (const [peer, member] of room) {
        if (member.state !== 'connected' || alive.includes(member.node)) continue;
        if ((taken.get(member.node) ?? 0) >= limit) continue;
        member.state = 'reconnecting';
        member.since = now;
        this.#grace.set(`${callId}\n${peer}`, graceDeadline);
        // As the Redis script: the counter jumps by the gap, then the parked frames become replayable.
        const buffer = this.#buffer(callId, peer);
        buffer.seq += SEQ_GAP;
        const parked = this.#parked.get(`${callId}\n${peer}`) ?? [];
        this.#parked.delete(`${callId}\n${peer}`);
        this.#store(callId, peer, parked.map((body) => withSeq((buffer.seq += 1), body)));
        byNode.set(member.node, [...(byNode.get(member.node) ?? []), peer]);
      }
      for (const [node, peers] of byNode) {
        taken.set(node, (taken.get(node) ?? 0) + 1);
        onMarked({ callId, peers, node });
      }
    }
  }

  #room(callId: string): Map<string, MemberRecord> {
    let room = this.#rooms.get(callId);
    if (!room) this.#rooms.set(callId, (room = new Map()));
    return room;
  }

  #buffer(callId: string, peer: string): PeerBuffer {
    const key = `${callId}\n${peer}`;
    let buffer = this.#buffers.get(key);
    if (!buffer) this.#buffers.set(key, (buffer = { seq: 0, frames: [] }));
    return buffer;
  }

  #store(callId: string, peer: string, frames: string[]): void {
    if (frames.length === 0) return;
    const buffer = this.#buffer(callId, peer);
    // As the Redis script: frames at or below the last stored one are stored already.
    const last = buffer.frames.at(-1);
    const floor = last === undefined ? 0 : seqOf(last);
    for (const frame of frames) {
      if (seqOf(frame) <= floor) continue;
      buffer.frames.push(frame);
      buffer.seq = Math.max(buffer.seq, seqOf(frame));
    }
    if (buffer.frames.length > this.replayLimit) buffer.frames.splice(0, buffer.frames.length - this.replayLimit);
  }
}
