import { describe, expect, it } from 'vitest';
import { relayFrameKey } from '../../../bench/signal-bench-ipc.js';
import { readWebSocketFrames, type WireFrame } from '../../../bench/wire-frames.js';
import { WireRelayLatency } from '../../../bench/wire-relay.js';

const CLIENT = 0x7f000002; // 127.0.0.2
const NODE = 0x7f000001;
const NODE_A = 3001;
const NODE_B = 3011;

interface Record {
  /** Capture time in ns since the epoch's second 1,700,000,000. */
  ns: number;
  packet: Buffer;
  /** Bytes to cut off the record (a snapshot length shorter than the packet). */
  cut?: number;
}

function wsFrame(text: string, options: { mask?: Buffer; opcode?: number; fin?: boolean } = {}): Buffer {
  const body = Buffer.from(text);
  const opcode = options.opcode ?? 0x1;
  const head = [((options.fin ?? true) ? 0x80 : 0) | opcode];
  const maskBit = options.mask ? 0x80 : 0;
  if (body.length < 126) head.push(maskBit | body.length);
  else if (body.length < 65536) head.push(maskBit | 126, body.length >> 8, body.length & 0xff);
  else throw new Error('test frames stay under 64 KiB');
  if (!options.mask) return Buffer.concat([Buffer.from(head), body]);
  const masked = Buffer.from(body.map((b, i) => b ^ options.mask![i & 3]!));
  return Buffer.concat([Buffer.from(head), options.mask, masked]);
}

function tcpPacket(from: [number, number], to: [number, number], seq: number, payload: Buffer): Buffer {
  const ether = Buffer.alloc(14);
  ether.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  ip.writeUInt32BE(from[0], 12);
  ip.writeUInt32BE(to[0], 16);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(from[1], 0);
  tcp.writeUInt16BE(to[1], 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp[12] = 5 << 4;
  tcp[13] = 0x18;
  return Buffer.concat([ether, ip, tcp, payload]);
}

function pcap(records: Record[], options: { nano?: boolean; linkType?: number } = {}): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(options.nano === false ? 0xa1b2c3d4 : 0xa1b23c4d, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(options.linkType ?? 1, 20);
  const parts: Buffer[] = [header];
  for (const r of records) {
    const rec = Buffer.alloc(16);
    const sec = 1_700_000_000 + Math.floor(r.ns / 1e9);
    const fraction = r.ns % 1e9;
    rec.writeUInt32LE(sec, 0);
    rec.writeUInt32LE(options.nano === false ? Math.floor(fraction / 1000) : fraction, 4);
    const kept = r.packet.subarray(0, r.packet.length - (r.cut ?? 0));
    rec.writeUInt32LE(kept.length, 8);
    rec.writeUInt32LE(r.packet.length, 12);
    parts.push(rec, kept);
  }
  return Buffer.concat(parts);
}

function read(file: Buffer): { frames: WireFrame[]; stats: ReturnType<typeof readWebSocketFrames> } {
  const frames: WireFrame[] = [];
  const stats = readWebSocketFrames(file, (f) => frames.push(f));
  return { frames, stats };
}

const texts = (frames: WireFrame[]) => frames.map((f) => f.payload.toString());
const MASK = Buffer.from([0x12, 0x34, 0x56, 0x78]);
const up = (port: number, seq: number, payload: Buffer) => tcpPacket([CLIENT, 40000], [NODE, port], seq, payload);
const down = (port: number, seq: number, payload: Buffer) => tcpPacket([NODE, port], [CLIENT, 40000], seq, payload);

describe('readWebSocketFrames', () => {
  it('unmasks client frames, reads server frames, and times each at its segment in ms since the first packet, across a second boundary', () => {
    const { frames, stats } = read(pcap([
      { ns: 4_999_900_000, packet: up(NODE_A, 1000, wsFrame('{"type":"ping"}', { mask: MASK })) },
      { ns: 5_000_150_500, packet: down(NODE_A, 9000, wsFrame('{"type":"pong"}')) },
    ]));
    expect(texts(frames)).toEqual(['{"type":"ping"}', '{"type":"pong"}']);
    expect(frames.map((f) => [f.src, f.dst])).toEqual([['127.0.0.2:40000', '127.0.0.1:3001'], ['127.0.0.1:3001', '127.0.0.2:40000']]);
    expect(frames[0]!.atMs).toBe(0);
    expect(frames[1]!.atMs).toBeCloseTo(0.2505, 6);
    expect(stats).toMatchObject({ packets: 2, frames: 2, gaps: 0, resyncs: 0, skipped: 0 });
  });

  it('reads microsecond captures too', () => {
    const { frames } = read(pcap([
      { ns: 1_000_000_000, packet: down(NODE_A, 1, wsFrame('a')) },
      { ns: 1_000_001_000, packet: down(NODE_A, 4, wsFrame('b')) },
    ], { nano: false }));
    expect(frames[1]!.atMs - frames[0]!.atMs).toBeCloseTo(0.001, 9);
  });

  it('joins a frame split over segments, at the time of its last segment, and splits frames sharing one', () => {
    const big = 'x'.repeat(300);
    const frame = wsFrame(big);
    const two = Buffer.concat([wsFrame('one'), wsFrame('two')]);
    const { frames, stats } = read(pcap([
      { ns: 0, packet: down(NODE_A, 100, frame.subarray(0, 3)) },
      { ns: 1_000_000, packet: down(NODE_A, 103, frame.subarray(3, 150)) },
      { ns: 3_000_000, packet: down(NODE_A, 250, frame.subarray(150)) },
      { ns: 4_000_000, packet: down(NODE_A, 100 + frame.length, two) },
    ]));
    expect(texts(frames)).toEqual([big, 'one', 'two']);
    expect(frames.map((f) => f.atMs)).toEqual([3, 4, 4]);
    expect(stats.gaps).toBe(0);
  });

  it('keeps flows apart by address and port', () => {
    const first = wsFrame('from A');
    const { frames } = read(pcap([
      { ns: 0, packet: down(NODE_A, 0, first.subarray(0, 4)) },
      { ns: 1, packet: tcpPacket([NODE, NODE_A], [CLIENT + 1, 40000], 0, wsFrame('to another client')) },
      { ns: 2, packet: down(NODE_B, 0, wsFrame('from B')) },
      { ns: 3, packet: down(NODE_A, 4, first.subarray(4)) },
    ]));
    expect(texts(frames)).toEqual(['to another client', 'from B', 'from A']);
  });

  it('reads a retransmitted segment once and keeps only the new bytes of an overlapping one', () => {
    const a = wsFrame('first');
    const b = wsFrame('second');
    const { frames } = read(pcap([
      { ns: 0, packet: down(NODE_A, 0, a) },
      { ns: 1, packet: down(NODE_A, 0, a) },
      { ns: 2, packet: down(NODE_A, 0, Buffer.concat([a, b])) },
    ]));
    expect(texts(frames)).toEqual(['first', 'second']);
  });

  it('counts a gap and reads the segment after it from its start', () => {
    const { frames, stats } = read(pcap([
      { ns: 0, packet: down(NODE_A, 0, wsFrame('before')) },
      { ns: 1, packet: down(NODE_A, 500, wsFrame('after')) },
    ]));
    expect(texts(frames)).toEqual(['before', 'after']);
    expect(stats.gaps).toBe(1);
  });

  it('drops bytes that cannot be a frame header until the flow\'s next segment', () => {
    const junk = Buffer.from([0xff, 0xff, 0x00, 0x01]);
    const { frames, stats } = read(pcap([
      { ns: 0, packet: down(NODE_A, 0, junk) },
      { ns: 1, packet: down(NODE_A, 4, wsFrame('resynced')) },
    ]));
    expect(texts(frames)).toEqual(['resynced']);
    expect(stats.resyncs).toBe(1);
  });

  it('treats a record cut short by the snapshot length as a gap, not as frame bytes', () => {
    const long = wsFrame('y'.repeat(200));
    const { frames, stats } = read(pcap([
      { ns: 0, packet: down(NODE_A, 0, long), cut: 50 },
      { ns: 1, packet: down(NODE_A, long.length, wsFrame('next')) },
    ]));
    expect(texts(frames)).toEqual(['next']);
    expect(stats.gaps).toBe(1);
  });

  it('reports opcode and fin, and skips packets that are not TCP over IPv4', () => {
    const arp = Buffer.alloc(60);
    arp.writeUInt16BE(0x0806, 12);
    const { frames, stats } = read(pcap([
      { ns: 0, packet: arp },
      { ns: 1, packet: down(NODE_A, 0, wsFrame('part', { fin: false })) },
      { ns: 2, packet: down(NODE_A, 6, wsFrame('', { opcode: 0x9 })) },
    ]));
    expect(frames.map((f) => [f.opcode, f.fin])).toEqual([[0x1, false], [0x9, true]]);
    expect(stats.skipped).toBe(1);
  });

  it('refuses what is not an Ethernet pcap', () => {
    expect(() => read(Buffer.from('not a capture at all, just text'))).toThrow(/not a pcap file/);
    expect(() => read(pcap([], { linkType: 113 }))).toThrow(/link type 113/);
  });
});

describe('WireRelayLatency', () => {
  const A = `127.0.0.1:${NODE_A}`;
  const B = `127.0.0.1:${NODE_B}`;
  const client = (n: number) => `127.0.0.${2 + (n % 6)}:${40000 + n}`;
  const candidate = (k: number, worker: number, at: string) =>
    `candidate:${k} 1 udp 2122260223 127.0.0.1 ${50000 + k} typ host generation 0 network-id ${worker} x-bench r${at}`;
  const sent = (k: number, worker = 0, at = '1234.567') =>
    JSON.stringify({ type: 'ice-candidate', data: { candidate: { candidate: candidate(k, worker, at), sdpMid: '0', sdpMLineIndex: 0 } } });
  const delivered = (k: number, seq: number, worker = 0, at = '1234.567') =>
    `{"seq":${seq},${JSON.stringify({ type: 'ice-candidate', data: { from: 'host', candidate: { candidate: candidate(k, worker, at), sdpMid: '0', sdpMLineIndex: 0 } } }).slice(1)}`;
  const frame = (atMs: number, src: string, dst: string, text: string): WireFrame =>
    ({ atMs, src, dst, opcode: 0x1, fin: true, payload: Buffer.from(text) });

  it('names a relay frame by its candidate, the same in the sent frame and the delivered copy, and nothing else', () => {
    expect(relayFrameKey(sent(7, 2))).toBe(candidate(7, 2, '1234.567'));
    expect(relayFrameKey(delivered(7, 41, 2))).toBe(candidate(7, 2, '1234.567'));
    expect(relayFrameKey(sent(7, 3))).not.toBe(relayFrameKey(sent(7, 2)));
    expect(relayFrameKey(sent(7).replace('x-bench r', 'x-bench s'))).toBeUndefined();
    expect(relayFrameKey('{"type":"ping"}')).toBeUndefined();
  });

  it('times each frame from its arrival at a node to its copy leaving one, local when both are the same node', () => {
    const wire = new WireRelayLatency(new Set([A, B]), relayFrameKey);
    wire.add(frame(10, client(0), A, sent(1)));
    wire.add(frame(10.5, client(1), A, sent(2)));
    wire.add(frame(10.75, A, client(2), delivered(1, 5)));
    wire.add(frame(13.5, B, client(3), delivered(2, 9)));
    expect(wire.matched).toBe(2);
    expect([wire.local.count, wire.local.max]).toEqual([1, 0.75]);
    expect([wire.remote.count, wire.remote.max]).toEqual([1, 3]);
    expect(wire.undelivered).toBe(0);
  });

  it('tells a node from a client whose own port has the node\'s number on another address', () => {
    const wire = new WireRelayLatency(new Set([A, B]), relayFrameKey);
    const twin = `127.0.0.5:${NODE_A}`;
    wire.add(frame(1, twin, B, sent(1)));
    wire.add(frame(2, A, twin, delivered(1, 1)));
    wire.add(frame(3, client(0), A, sent(2)));
    wire.add(frame(4, B, twin, delivered(2, 2)));
    expect([wire.matched, wire.unmatched, wire.undelivered]).toEqual([2, 0, 0]);
    expect([wire.local.count, wire.remote.count]).toEqual([0, 2]);
  });

  it('counts copies with no captured arrival, arrivals never delivered and repeated keys, and ignores other frames', () => {
    const wire = new WireRelayLatency(new Set([A]), relayFrameKey);
    wire.add(frame(1, A, client(0), delivered(1, 1)));
    wire.add(frame(2, client(0), A, sent(2)));
    wire.add(frame(3, client(0), A, sent(3)));
    wire.add(frame(4, client(0), A, sent(3)));
    wire.add(frame(5, client(0), A, '{"type":"ping"}'));
    wire.add({ ...frame(6, A, client(0), delivered(2, 2)), fin: false });
    wire.add(frame(7, client(0), client(1), sent(4)));
    expect([wire.matched, wire.unmatched, wire.duplicates, wire.undelivered]).toEqual([0, 1, 1, 2]);
  });
});
