import { describe, expect, it } from 'vitest';
import { CALL_STATUSES, canTransition, isTerminal, peerOf, reasonFor, sourcesOf, TERMINAL_STATUSES, timestampFieldOf } from '../../../shared/calls/index.js';

describe('call state machine', () => {
  it('allows the documented forward transitions', () => {
    expect(canTransition('waiting', 'ringing')).toBe(true);
    expect(canTransition('ringing', 'active')).toBe(true);
    expect(canTransition('waiting', 'active')).toBe(true);
    expect(canTransition('active', 'ended')).toBe(true);
    for (const to of ['missed', 'declined', 'failed', 'ended'] as const) {
      expect(canTransition('ringing', to)).toBe(true);
      expect(canTransition('waiting', to)).toBe(true);
    }
  });

  it('refuses illegal transitions', () => {
    expect(canTransition('active', 'ringing')).toBe(false);
    expect(canTransition('active', 'missed')).toBe(false);
    expect(canTransition('active', 'declined')).toBe(false);
    expect(canTransition('active', 'waiting')).toBe(false);
    for (const from of TERMINAL_STATUSES) {
      for (const to of CALL_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('never allows a self-transition', () => {
    for (const s of CALL_STATUSES) expect(canTransition(s, s)).toBe(false);
  });

  it('derives update conditions from the table', () => {
    expect(sourcesOf('active').sort()).toEqual(['ringing', 'waiting']);
    expect(sourcesOf('ended').sort()).toEqual(['active', 'ringing', 'waiting']);
    expect(sourcesOf('missed').sort()).toEqual(['ringing', 'waiting']);
    expect(sourcesOf('waiting')).toEqual(['ringing']);
  });

  it('classifies terminal statuses', () => {
    expect(CALL_STATUSES.filter(isTerminal).sort()).toEqual(['declined', 'ended', 'failed', 'missed']);
  });

  it('checks end reasons per terminal status, with defaults', () => {
    expect(reasonFor('ended')).toBe('hangup');
    expect(reasonFor('missed')).toBe('timeout');
    expect(reasonFor('declined')).toBe('declined');
    expect(reasonFor('failed')).toBe('failure');
    expect(reasonFor('ended', 'insufficient_funds')).toBe('insufficient_funds');
    expect(reasonFor('ended', 'max_duration')).toBe('max_duration');
    expect(() => reasonFor('failed', 'max_duration')).toThrow(TypeError);
    expect(() => reasonFor('missed', 'hangup')).toThrow(TypeError);
    expect(() => reasonFor('active', 'hangup')).toThrow(TypeError);
    expect(reasonFor('active')).toBeUndefined();
  });

  it('names the timestamp each transition sets', () => {
    expect(timestampFieldOf('ringing')).toBe('ringing_at');
    expect(timestampFieldOf('active')).toBe('answered_at');
    expect(timestampFieldOf('missed')).toBe('ended_at');
    expect(timestampFieldOf('waiting')).toBeUndefined();
  });

  it('tells the participant slot of a user', () => {
    const call = { host_id: 'h', guest_id: 'gs_1' };
    expect(peerOf(call, 'h')).toBe('host');
    expect(peerOf(call, 'gs_1')).toBe('guest');
    expect(peerOf(call, 'x')).toBeNull();
  });
});
