import { describe, expect, it } from 'vitest';
import { isDuplicateKey } from '../../../shared/runtime/mongo/errors.js';

describe('isDuplicateKey', () => {
  it('recognises MongoDB and both FerretDB backends', () => {
    expect(isDuplicateKey({ code: 11000, message: 'E11000 duplicate key error' })).toBe(true);
    expect(isDuplicateKey({ code: 1, message: '[update.go:114] UNIQUE constraint failed: u.username' })).toBe(true);
    expect(isDuplicateKey({ code: 1, message: 'ERROR: duplicate key value violates unique constraint "x" (SQLSTATE 23505)' })).toBe(true);
  });

  it('rejects other errors', () => {
    expect(isDuplicateKey({ code: 1, message: 'something else' })).toBe(false);
    expect(isDuplicateKey({ code: 11001 })).toBe(false);
    expect(isDuplicateKey(new Error('E11000'))).toBe(false);
    expect(isDuplicateKey(null)).toBe(false);
  });
});
