import { describe, expect, it } from 'vitest';
import { unsafeFields } from '../../../api/http/validate.js';

describe('unsafeFields', () => {
  it('names every string with a NUL character in parsed JSON, by path', () => {
    const body = { title: 'a\u0000b', tags: ['ok', 'x\u0000'], nested: { deep: { bio: '\u0000' }, fine: 'fine' }, n: 0 };
    expect(unsafeFields(body, '')).toEqual({
      title: 'must not contain NUL characters', 'tags[1]': 'must not contain NUL characters', 'nested.deep.bio': 'must not contain NUL characters',
    });
    expect(unsafeFields('\u0000', '')).toEqual({ body: 'must not contain NUL characters' });
    expect(unsafeFields(Object.assign(Object.create(null), { q: 'a\u0000' }), '')).toEqual({ q: 'must not contain NUL characters' });
  });

  it('does not walk into a Buffer or another non-plain object an upload parser left in the body', () => {
    class Upload {
      readonly name = 'a\u0000.png';
    }
    expect(unsafeFields({ avatar: Buffer.alloc(1024 * 1024), file: new Upload() }, '')).toEqual({});
  });

  it('walks any depth without recursion (100,000 nested arrays)', () => {
    let deep: unknown = ['\u0000'];
    for (let i = 0; i < 100000; i += 1) deep = [deep];
    expect(Object.values(unsafeFields({ deep }, ''))).toEqual(['must not contain NUL characters']);
  });

  it('names every __proto__ member as not allowed and does not walk into it', () => {
    const body = JSON.parse('{"a":{"__proto__":{"x":"\\u0000"}},"list":[{"__proto__":1}],"constructor":"fine"}') as unknown;
    const out = unsafeFields(body, '');
    expect(Object.entries(out)).toEqual([['a.__proto__', 'is not allowed'], ['list[0].__proto__', 'is not allowed']]);
  });
});
