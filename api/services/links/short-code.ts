import { randomInt } from 'node:crypto';

/** 32 symbols: digits and lower-case letters without the look-alikes 0 o 1 l (no upper case, so no O or I). */
export const SHORT_CODE_ALPHABET = '23456789abcdefghijkmnpqrstuvwxyz';
/** 10 symbols of 32 = 50 bits of entropy. */
export const SHORT_CODE_LENGTH = 10;
/** Validation pattern for a short code in a path. */
export const SHORT_CODE_PATTERN = `^[${SHORT_CODE_ALPHABET}]{${SHORT_CODE_LENGTH}}$`;

/** A new short code drawn uniformly from the crypto RNG (no modulo bias). */
export function newShortCode(): string {
  let code = '';
  for (let i = 0; i < SHORT_CODE_LENGTH; i++) code += SHORT_CODE_ALPHABET[randomInt(SHORT_CODE_ALPHABET.length)];
  return code;
}

/** Bits of entropy of one code. */
export function shortCodeEntropyBits(): number {
  return SHORT_CODE_LENGTH * Math.log2(SHORT_CODE_ALPHABET.length);
}
