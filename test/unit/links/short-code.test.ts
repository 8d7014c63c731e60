import { describe, expect, it } from 'vitest';
import { newShortCode, SHORT_CODE_ALPHABET, SHORT_CODE_LENGTH, SHORT_CODE_PATTERN, shortCodeEntropyBits } from '../../../api/services/links/short-code.js';

describe('short codes', () => {
  it('carry at least 40 bits of entropy', () => {
    expect(shortCodeEntropyBits()).toBeGreaterThanOrEqual(40);
    expect(new Set(SHORT_CODE_ALPHABET).size).toBe(SHORT_CODE_ALPHABET.length);
  });

  it('never use ambiguous characters', () => {
    for (const c of '0Oo1lI') expect(SHORT_CODE_ALPHABET).not.toContain(c);
  });

  it('match the pattern and do not repeat across many draws', () => {
    const pattern = new RegExp(SHORT_CODE_PATTERN);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const code = newShortCode();
      expect(code).toHaveLength(SHORT_CODE_LENGTH);
      expect(code).toMatch(pattern);
      seen.add(code);
    }
    expect(seen.size).toBe(5000);
  });

  it('use every symbol of the alphabet', () => {
    const used = new Set(Array.from({ length: 2000 }, newShortCode).join(''));
    expect(used.size).toBe(SHORT_CODE_ALPHABET.length);
  });
});
