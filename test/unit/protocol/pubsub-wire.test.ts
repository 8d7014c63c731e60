import { describe, expect, it } from 'vitest';
import { stampBatch, stampMessage, unstampMessage } from '../../../shared/pubsub/wire.js';

const awkward = ['', '\n', '12:', ':', '3:abc', 'line1\nline2', 'héllo — 你好 🎥', '\n\nn9\n', 'x'.repeat(70_000)];

describe('pub/sub wire', () => {
  it('round-trips one payload, whatever it holds', () => {
    for (const payload of awkward) {
      expect(unstampMessage(stampMessage('node-1', payload))).toEqual({ from: 'node-1', payloads: [payload] });
    }
  });

  it('round-trips a batch in order, whatever its payloads hold', () => {
    const raw = stampBatch('node-1', awkward);
    expect(raw.startsWith('\nnode-1\n')).toBe(true);
    expect(unstampMessage(raw)).toEqual({ from: 'node-1', payloads: awkward });
  });

  it('stamps a batch of one as a plain message', () => {
    expect(stampBatch('n', ['only'])).toBe(stampMessage('n', 'only'));
  });

  it('reads what the API publishes (one stamped payload) unchanged', () => {
    expect(unstampMessage('api-7\n{"call_id":"c1"}')).toEqual({ from: 'api-7', payloads: ['{"call_id":"c1"}'] });
  });

  it('rejects messages without a stamp and malformed batches', () => {
    for (const raw of [
      'no stamp at all',
      '\n',
      '\n\n3:abc', // empty publisher
      '\nn1\n', // no payload
      '\nn1\n3abc', // no colon
      '\nn1\n:abc', // no length
      '\nn1\n-1:a', // not a length
      '\nn1\n 3:abc', // not a length
      '\nn1\n4:abc', // longer than what is left
      '\nn1\n3:abc2:d', // second one truncated
      '\nn1\n99999999999:a', // absurd length
    ]) {
      expect(unstampMessage(raw), JSON.stringify(raw)).toBeNull();
    }
  });
});
