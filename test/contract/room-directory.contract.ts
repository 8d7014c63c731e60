import { afterEach, describe, expect, it } from 'vitest';
import { SEQ_GAP, seqOf, withSeq, type MemberRecord, type RoomDirectory } from '../../signal/calls/directory.js';

/** Makes a directory as seen by node `nodeId`; directories made for one test share their state. */
export type DirectoryFactory = (nodeId: string, replayLimit: number) => Promise<RoomDirectory>;

const member = (node: string, conn: string): MemberRecord => ({ node, conn, user: `u-${conn}`, state: 'connected', since: 1 });

/** A frame body as the rooms build it (single-line JSON), with a payload that needs escaping. */
const frameBody = (n: number): string => JSON.stringify({ type: 'ice-candidate', data: { from: 'host', candidate: { candidate: `candidate:${n} 1 udp\nline "two" é ✓` } } });

/**
 * The RoomDirectory contract, run against every implementation: replay buffers written by the
 * batched write-behind and by `leave`, trimming, and billing-tick claims (exactly one winner).
 */
export function roomDirectoryContract(name: string, make: DirectoryFactory, cleanup: () => Promise<void> = async () => {}): void {
  describe(`RoomDirectory contract: ${name}`, () => {
    afterEach(cleanup);

    it('replays recorded frames after last_seq, in order and byte for byte', async () => {
      const dir = await make('n1', 16);
      await dir.join('call-a', 'guest', member('n1', 'c1'), undefined);
      const frames = [1, 2, 3, 4, 5].map((n) => withSeq(n, frameBody(n)));
      await dir.record([{ callId: 'call-a', peer: 'guest', frames: frames.slice(0, 2) }, { callId: 'call-b', peer: 'host', frames: [] }]);
      await dir.record([{ callId: 'call-a', peer: 'guest', frames: frames.slice(2) }]);
      const outcome = await dir.join('call-a', 'guest', member('n1', 'c2'), 2);
      expect(outcome.replay).toEqual(frames.slice(2));
      expect(outcome.seq).toBe(5);
      expect(outcome.previous?.conn).toBe('c1');
    });

    it('reads a peer\'s stored frames above a sequence number without changing anything', async () => {
      const dir = await make('n1', 16);
      await dir.join('call-a', 'guest', member('n1', 'c1'), undefined);
      const frames = [1, 2, 3, 4].map((n) => withSeq(n, frameBody(n)));
      await dir.record([{ callId: 'call-a', peer: 'guest', frames }]);
      expect(await dir.replayAfter('call-a', 'guest', 2)).toEqual(frames.slice(2));
      expect(await dir.replayAfter('call-a', 'guest', 4)).toEqual([]);
      expect(await dir.replayAfter('call-a', 'host', 0)).toEqual([]);
      const outcome = await dir.join('call-a', 'guest', member('n1', 'c2'), 0);
      expect(outcome.replay).toEqual(frames);
      expect(outcome.previous?.conn).toBe('c1');
    });

    it('writes each peer of one batch to that peer\'s buffer only', async () => {
      const dir = await make('n1', 16);
      const peers = [['call-a', 'host'], ['call-a', 'guest'], ['call-b', 'guest']] as const;
      for (const [callId, peer] of peers) await dir.join(callId, peer, member('n1', `${callId}-${peer}`), undefined);
      const framesOf = (i: number): string[] => Array.from({ length: i + 1 }, (_, k) => withSeq(k + 1, frameBody(100 * i + k)));
      await dir.record(peers.map(([callId, peer], i) => ({ callId, peer, frames: framesOf(i) })));
      for (const [i, [callId, peer]] of peers.entries()) {
        const outcome = await dir.join(callId, peer, member('n1', `again-${i}`), 0);
        expect(outcome.replay).toEqual(framesOf(i));
        expect(outcome.seq).toBe(i + 1);
      }
    });

    it('keeps only the newest replayLimit frames of a peer', async () => {
      const dir = await make('n1', 4);
      await dir.join('call-a', 'host', member('n1', 'c1'), undefined);
      const frames = Array.from({ length: 10 }, (_, i) => withSeq(i + 1, frameBody(i + 1)));
      await dir.record([{ callId: 'call-a', peer: 'host', frames }]);
      const outcome = await dir.join('call-a', 'host', member('n1', 'c2'), 0);
      expect(outcome.replay.map(seqOf)).toEqual([7, 8, 9, 10]);
    });

    it('trims across writes, from one frame over the limit on', async () => {
      const dir = await make('n1', 4);
      await dir.join('call-a', 'host', member('n1', 'c1'), undefined);
      const framesFrom = (first: number, n: number): string[] => Array.from({ length: n }, (_, i) => withSeq(first + i, frameBody(first + i)));
      await dir.record([{ callId: 'call-a', peer: 'host', frames: framesFrom(1, 4) }]);
      expect((await dir.join('call-a', 'host', member('n1', 'c2'), 0)).replay.map(seqOf)).toEqual([1, 2, 3, 4]);
      await dir.record([{ callId: 'call-a', peer: 'host', frames: framesFrom(5, 1) }]);
      expect((await dir.join('call-a', 'host', member('n1', 'c3'), 0)).replay.map(seqOf)).toEqual([2, 3, 4, 5]);
      for (const first of [6, 9]) await dir.record([{ callId: 'call-a', peer: 'host', frames: framesFrom(first, 3) }]);
      expect((await dir.join('call-a', 'host', member('n1', 'c4'), 0)).replay.map(seqOf)).toEqual([8, 9, 10, 11]);
    });

    it('keeps every frame, in order, of a write larger than one command carries', async () => {
      const dir = await make('n1', 3000);
      await dir.join('call-a', 'host', member('n1', 'c1'), undefined);
      const many = Array.from({ length: 2500 }, (_, i) => withSeq(i + 1, frameBody(i + 1)));
      await dir.record([{ callId: 'call-a', peer: 'host', frames: many }]);
      const outcome = await dir.join('call-a', 'host', member('n1', 'c2'), 0);
      expect(outcome.replay).toEqual(many);
      expect(outcome.seq).toBe(2500);
    });

    it('never lowers a peer\'s sequence counter: a late write of older frames keeps the higher one', async () => {
      const dir = await make('n1', 16);
      await dir.join('call-a', 'guest', member('n1', 'c1'), undefined);
      await dir.record([{ callId: 'call-a', peer: 'guest', frames: [1, 2, 3, 4, 5].map((n) => withSeq(n, frameBody(n))) }]);
      await dir.record([{ callId: 'call-a', peer: 'guest', frames: [withSeq(3, frameBody(3))] }]);
      expect((await dir.join('call-a', 'guest', member('n1', 'c2'), undefined)).seq).toBe(5);
      expect(await dir.leave('call-a', 'guest', 'c2', 10, 1000, [])).toBe(true);
      expect((await dir.join('call-a', 'guest', member('n1', 'c3'), undefined)).seq).toBe(5);
    });

    it('stores a frame once when it is written again (a retried write, a leave repeating the write-behind)', async () => {
      const dir = await make('n1', 16);
      await dir.join('call-a', 'guest', member('n1', 'c1'), undefined);
      const frames = [1, 2, 3].map((n) => withSeq(n, frameBody(n)));
      await dir.record([{ callId: 'call-a', peer: 'guest', frames: frames.slice(0, 2) }]);
      await dir.record([{ callId: 'call-a', peer: 'guest', frames: frames.slice(0, 2) }]);
      expect(await dir.leave('call-a', 'guest', 'c1', 10, 1000, frames)).toBe(true);
      const outcome = await dir.join('call-a', 'guest', member('n1', 'c2'), 0);
      expect(outcome.replay.map(seqOf)).toEqual([1, 2, 3]);
      expect(outcome.seq).toBe(3);
    });

    it('stores the frames of a leave only while the socket is still the registered one', async () => {
      const dir = await make('n1', 16);
      await dir.join('call-a', 'guest', member('n1', 'c1'), undefined);
      expect(await dir.leave('call-a', 'guest', 'c-other', 10, 1000, [withSeq(1, frameBody(1))])).toBe(false);
      expect(await dir.leave('call-a', 'guest', 'c1', 10, 1000, [withSeq(1, frameBody(1)), withSeq(2, frameBody(2))])).toBe(true);
      expect((await dir.members('call-a')).get('guest')?.state).toBe('reconnecting');
      const outcome = await dir.join('call-a', 'guest', member('n1', 'c2'), 0);
      expect(outcome.replay).toEqual([withSeq(1, frameBody(1)), withSeq(2, frameBody(2))]);
    });

    it('claims each billing tick once, answering in the order asked', async () => {
      const dir = await make('n1', 16);
      expect(await dir.claimTicks([])).toEqual([]);
      expect(await dir.claimTicks([{ callId: 'call-a', minute: 1 }, { callId: 'call-b', minute: 1 }])).toEqual([true, true]);
      expect(await dir.claimTicks([{ callId: 'call-b', minute: 2 }, { callId: 'call-a', minute: 1 }, { callId: 'call-a', minute: 2 }])).toEqual([true, false, true]);
    });

    it('hands every tick to exactly one of two nodes claiming at once', async () => {
      const [a, b] = await Promise.all([make('n1', 16), make('n2', 16)]);
      const ticks = Array.from({ length: 600 }, (_, i) => ({ callId: `call-${i % 50}`, minute: Math.floor(i / 50) + 1 }));
      const [wonA, wonB] = await Promise.all([a.claimTicks(ticks), b.claimTicks(ticks)]);
      expect(wonA).toHaveLength(ticks.length);
      expect(wonA.map((w, i) => Number(w) + Number(wonB[i]))).toEqual(ticks.map(() => 1));
    });

    it('marks the connected peers of a dead node reconnecting, once, numbering their frames past the gap', async () => {
      const dead = await make('dead', 16);
      const alive = await make('alive', 16);
      await dead.join('call-d', 'guest', member('dead', 'c1'), undefined);
      await alive.join('call-d', 'host', member('alive', 'c2'), undefined);
      await dead.park('call-d', 'guest', frameBody(1));
      const marked: Array<{ callId: string; peers: string[]; node: string }> = [];
      await alive.sweepDeadNodes(['alive'], 100, 5_000, 10, (m) => marked.push(m));
      expect(marked).toEqual([{ callId: 'call-d', peers: ['guest'], node: 'dead' }]);
      const members = await alive.members('call-d');
      expect(members.get('guest')?.state).toBe('reconnecting');
      expect(members.get('host')?.state).toBe('connected');
      const again: unknown[] = [];
      await alive.sweepDeadNodes(['alive'], 200, 5_000, 10, (m) => again.push(m));
      expect(again.flatMap((m) => (m as { peers: string[] }).peers)).toEqual([]);
      // The parked frame became replayable after the gap, and new frames follow it.
      const stored = await alive.replayAfter('call-d', 'guest', 0);
      expect(stored.map(seqOf)).toEqual([SEQ_GAP + 1]);
      expect(await alive.appendOffline('call-d', 'guest', frameBody(2))).toEqual({ seq: SEQ_GAP + 2 });
      expect(await alive.claimExpiredGrace(5_001, 10, 1_000)).toEqual([{ callId: 'call-d', peer: 'guest' }]);
    });
  });
}
