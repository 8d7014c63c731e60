import { describe, expect, it } from 'vitest';
import { ackFrame, encodeFrame, encodeSequenced, errorFrame } from '../../../shared/protocol/index.js';

describe('server frame encoder', () => {
  it('writes error frames with the id only when there is one, and details only when given', () => {
    expect(errorFrame('not_found', 'Call not found.')).toBe('{"type":"error","data":{"code":"not_found","message":"Call not found."}}');
    expect(errorFrame('forbidden', 'No.', 'r1')).toBe('{"type":"error","id":"r1","data":{"code":"forbidden","message":"No."}}');
    expect(errorFrame('validation_error', 'Bad.', 'r2', { 'data.to': 'must name the other peer' }))
      .toBe('{"type":"error","id":"r2","data":{"code":"validation_error","message":"Bad.","details":{"data.to":"must name the other peer"}}}');
  });

  it('writes acks with and without id and data', () => {
    expect(ackFrame('h1')).toBe('{"type":"ack","id":"h1"}');
    expect(ackFrame(undefined)).toBe('{"type":"ack"}');
    expect(ackFrame('o1', { delivered: 1 })).toBe('{"type":"ack","id":"o1","data":{"delivered":1}}');
    expect(ackFrame(undefined, { seq: 0 })).toBe('{"type":"ack","data":{"seq":0}}');
  });

  it('writes control frames in wire order (type, id, data)', () => {
    expect(encodeFrame({ type: 'reconnect', data: { reason: 'drain', retry_after_ms: 0 } })).toBe('{"type":"reconnect","data":{"reason":"drain","retry_after_ms":0}}');
    expect(encodeFrame({ type: 'pong', id: 'p', data: { server_ts: 5 } })).toBe('{"type":"pong","id":"p","data":{"server_ts":5}}');
  });

  it('writes sequenced bodies as {"type","data"} for the node to number per peer', () => {
    const b = encodeSequenced('peer-joined', { peer: 'guest', resumed: false });
    expect(b).toBe('{"type":"peer-joined","data":{"peer":"guest","resumed":false}}');
    expect(JSON.parse(`{"seq":7,${b.slice(1)}`)).toEqual({ seq: 7, type: 'peer-joined', data: { peer: 'guest', resumed: false } });
  });
});
