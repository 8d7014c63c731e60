import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Participant, Room, type CallSnapshot } from '../../../signal/calls/room.js';
import { Session } from '../../../signal/session/session.js';

const call: CallSnapshot = { status: 'active', endReason: null, version: 2, answeredAt: 0, mediaUpAt: null, hostId: 'h', guestId: 'g' };

function participant(callId: string, peer: string): Participant {
  const claims = { sub: peer, role: 'guest' as const, call_id: callId, peer, iat: 0, exp: 9e9, iss: 't', jti: peer, aud: 'signal' };
  return new Participant(new Session({ send: () => true, close: () => undefined }, `conn-${peer}`, claims, { ratePerSec: 1, rateBurst: 1 }, 0));
}

describe('Room and Participant', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('close() stops its participants’ timers, tells listeners once, and is safe to call twice', () => {
    const room = new Room('c1', call);
    const p = participant(room.callId, 'guest');
    room.live.set('guest', p);
    const fired = vi.fn();
    p.holdTimer = setTimeout(fired, 1000);
    const closed = vi.fn();
    room.events.on('close', closed);
    room.close();
    room.close();
    expect(room.closed).toBe(true);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(closed).toHaveBeenCalledWith({ callId: 'c1' });
    vi.advanceTimersByTime(2000);
    expect(fired).not.toHaveBeenCalled();
  });

  it('keeps a participant’s pending frames bounded and hands over the unwritten ones in seq order', () => {
    const p = participant('c1', 'host');
    for (let i = 1; i <= 5; i++) p.remember(`f${i}`, 2);
    expect(p.pending).toEqual(['f4', 'f5']);
    p.writing = p.takePending();
    p.remember('f6', 2);
    expect(p.takeUnwritten()).toEqual(['f4', 'f5', 'f6']);
    expect(p.takeUnwritten()).toEqual([]);
  });

  it('ends a handover hold once: the held frames, then nothing', () => {
    const p = participant('c1', 'host');
    expect(p.takeHeld()).toEqual([]);
    p.queued = [{ body: 'a', t0: 1 }];
    p.holdTimer = setTimeout(() => undefined, 1000);
    expect(p.takeHeld()).toEqual([{ body: 'a', t0: 1 }]);
    expect(p.takeHeld()).toEqual([]);
    expect(p.queued).toBeUndefined();
  });
});
