import { describe, expect, it } from 'vitest';
import { MIN_PENDING, OWN_DESCRIPTORS, PENDING_WITHOUT_LIMIT, parseOpenFilesLimit, pendingCapacity, socketCapacity } from '../../../signal/socket-capacity.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             95336                95336                processes
Max open files            4096                 20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('open-file limit', () => {
  it('reads the soft limit of "Max open files"', () => {
    expect(parseOpenFilesLimit(LIMITS)).toBe(4096);
  });

  it('has no limit to read when it is unlimited or absent', () => {
    expect(parseOpenFilesLimit(LIMITS.replace('4096 ', 'unlimited '))).toBeUndefined();
    expect(parseOpenFilesLimit('Limit Soft Hard\nMax processes 1 1\n')).toBeUndefined();
  });
});

describe('socket capacity', () => {
  it('is the configured number when one is set', () => {
    expect(socketCapacity(500, 20000)).toBe(500);
    expect(socketCapacity(500, undefined)).toBe(500);
  });

  it('is otherwise the open-file limit less what the node needs for itself', () => {
    expect(socketCapacity(0, 20000)).toBe(20000 - OWN_DESCRIPTORS);
    expect(socketCapacity(0, 64)).toBe(1);
  });

  it('is unbounded when the limit is unknown and nothing is set', () => {
    expect(socketCapacity(0, undefined)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('pending-connection capacity', () => {
  it('is the configured number when one is set', () => {
    expect(pendingCapacity(10, 20000)).toBe(10);
  });

  it('is otherwise an eighth of the open-file limit, at least MIN_PENDING, or a fixed number without a limit', () => {
    expect(pendingCapacity(0, 65536)).toBe(8192);
    expect(pendingCapacity(0, 512)).toBe(MIN_PENDING);
    expect(pendingCapacity(0, undefined)).toBe(PENDING_WITHOUT_LIMIT);
  });
});
