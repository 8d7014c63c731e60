import { describe, expect, it } from 'vitest';
import { nulFields } from '../../../api/http/validate.js';

describe('nulFields', () => {
  it('names every string with a NUL character in parsed JSON, by path', () => {
    const body = { title: 'a\u0000b', tags: ['ok', 'x\u0000'], nested: { deep: { bio: '\u0000' }, fine: 'fine' }, n: 0 };
    expect(nulFields(body, '')).toEqual({
      title: 'must not contain NUL characters', 'tags[1]': 'must not contain NUL characters', 'nested.deep.bio': 'must not contain NUL characters',
    });
    expect(nulFields('\u0000', '')).toEqual({ body: 'must not contain NUL characters' });
    expect(nulFields(Object.assign(Object.create(null), { q: 'a\u0000' }), '')).toEqual({ q: 'must not contain NUL characters' });
  });

  it('does not walk into a Buffer or another non-plain object an upload parser left in the body', () => {
    class Upload {
      readonly name = 'a\u0000.png';
    }
    expect(nulFields({ avatar: Buffer.alloc(1024 * 1024), file: new Upload() }, '')).toEqual({});
  });

  it('walks any depth without recursion (100,000 nested arrays)', () => {
    let deep: unknown = ['\u0000'];
    for (let i = 0; i < 100000; i += 1) deep = [deep];
    expect(Object.values(nulFields({ deep }, ''))).toEqual(['must not contain NUL characters']);
  });
});
