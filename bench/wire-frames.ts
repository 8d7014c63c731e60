/**
 * WebSocket frames read back from a pcap capture of loopback TCP (what `tcpdump -i lo -w` writes),
 * each with the time its last segment was captured. Pure: no I/O.
 *
 * Each direction of each TCP connection is reassembled by sequence number. A flow's first captured
 * segment, and the first one after a gap, is taken to start a frame (the bench starts capturing
 * while every socket is quiet); a header that cannot be a WebSocket frame drops the flow's bytes
 * until its next segment.
 */

/** A frame as it crossed loopback: endpoints of the segment that completed it, payload unmasked. */
export interface WireFrame {
  /** Capture time of the frame's last segment, ms since the capture's first packet. */
  atMs: number;
  /** `<IPv4>:<port>`, e.g. `127.0.0.1:3001`. */
  src: string;
  dst: string;
  opcode: number;
  fin: boolean;
  payload: Buffer;
}

export interface WireReadStats {
  packets: number;
  /** Packets that were not TCP over IPv4 (skipped). */
  skipped: number;
  frames: number;
  /** Segments that arrived after missing bytes of their flow (capture loss, or a capture started mid-stream). */
  gaps: number;
  /** Times a flow's bytes could not be a frame header and were dropped. */
  resyncs: number;
}

const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const IP_PROTO_TCP = 6;
/** Larger than any frame the signal tier accepts or sends; a longer length means the bytes are not a header. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const OPCODES = new Set([0x0, 0x1, 0x2, 0x8, 0x9, 0xa]);

interface FlowState {
  nextSeq: number;
  rest: Buffer | undefined;
}

interface PcapLayout {
  littleEndian: boolean;
  /** Divisor from the record's fraction field to ms: 1e3 for microseconds, 1e6 for nanoseconds. */
  fractionPerMs: number;
}

function layoutOf(pcap: Buffer): PcapLayout {
  if (pcap.length < 24) throw new Error('not a pcap file: shorter than its 24-byte header');
  const magicLe = pcap.readUInt32LE(0);
  const known: Record<number, PcapLayout> = {
    0xa1b2c3d4: { littleEndian: true, fractionPerMs: 1e3 },
    0xa1b23c4d: { littleEndian: true, fractionPerMs: 1e6 },
    0xd4c3b2a1: { littleEndian: false, fractionPerMs: 1e3 },
    0x4d3cb2a1: { littleEndian: false, fractionPerMs: 1e6 },
  };
  const layout = known[magicLe];
  if (!layout) throw new Error(`not a pcap file: magic 0x${magicLe.toString(16)}`);
  const linkType = layout.littleEndian ? pcap.readUInt32LE(20) : pcap.readUInt32BE(20);
  if ((linkType & 0xffff) !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${linkType}: only Ethernet (1, what Linux gives for lo) is read`);
  return layout;
}

/**
 * Calls `onFrame` for every WebSocket frame in `pcap`, in capture order. Throws on a file that is not
 * an Ethernet pcap; a truncated last record ends the read.
 */
export function readWebSocketFrames(pcap: Buffer, onFrame: (frame: WireFrame) => void): WireReadStats {
  const layout = layoutOf(pcap);
  const u32 = (at: number) => (layout.littleEndian ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at));
  const stats: WireReadStats = { packets: 0, skipped: 0, frames: 0, gaps: 0, resyncs: 0 };
  const flows = new Map<string, FlowState>();
  let first: { sec: number; ms: number } | undefined;
  let at = 24;
  while (at + 16 <= pcap.length) {
    const sec = u32(at);
    const fraction = u32(at + 4);
    const captured = u32(at + 8);
    const start = at + 16;
    if (start + captured > pcap.length) break;
    at = start + captured;
    stats.packets += 1;
    first ??= { sec, ms: fraction / layout.fractionPerMs };
    const atMs = (sec - first.sec) * 1000 + fraction / layout.fractionPerMs - first.ms;
    const segment = tcpSegment(pcap.subarray(start, start + captured));
    if (!segment) {
      stats.skipped += 1;
      continue;
    }
    const flow = flows.get(segment.key);
    let data: Buffer;
    if (!flow) {
      data = segment.payload;
    } else {
      const ahead = (segment.seq - flow.nextSeq) | 0;
      if (ahead === 0) data = flow.rest ? Buffer.concat([flow.rest, segment.payload]) : segment.payload;
      else if (ahead < 0) {
        if (ahead + segment.payload.length <= 0) continue;
        const fresh = segment.payload.subarray(-ahead);
        data = flow.rest ? Buffer.concat([flow.rest, fresh]) : fresh;
      } else {
        stats.gaps += 1;
        data = segment.payload;
      }
    }
    const state: FlowState = { nextSeq: (segment.seq + segment.length) >>> 0, rest: undefined };
    flows.set(segment.key, state);
    // A segment cut short by the snapshot length leaves the flow's next bytes unknown.
    if (segment.payload.length < segment.length) {
      stats.gaps += 1;
      continue;
    }
    const used = parseFrames(data, (opcode, fin, payload) => {
      stats.frames += 1;
      onFrame({ atMs, src: segment.src, dst: segment.dst, opcode, fin, payload });
    });
    if (used < 0) stats.resyncs += 1;
    else if (used < data.length) state.rest = Buffer.from(data.subarray(used));
  }
  return stats;
}

interface TcpSegment {
  key: string;
  src: string;
  dst: string;
  seq: number;
  /** Payload bytes the segment carried; more than `payload.length` when the record was cut short. */
  length: number;
  payload: Buffer;
}

function tcpSegment(packet: Buffer): TcpSegment | undefined {
  if (packet.length < 14 + 20 || packet.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const ip = packet.subarray(14);
  const ipHeader = (ip[0]! & 0x0f) * 4;
  const ipLength = ip.readUInt16BE(2);
  if (ip[9] !== IP_PROTO_TCP || ipHeader < 20 || ipLength < ipHeader + 20 || ip.length < ipHeader + 20) return undefined;
  const tcp = ip.subarray(ipHeader, ipLength);
  const tcpHeader = (tcp[12]! >> 4) * 4;
  if (tcpHeader < 20 || tcpHeader > tcp.length) return undefined;
  const src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}:${tcp.readUInt16BE(0)}`;
  const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}:${tcp.readUInt16BE(2)}`;
  return {
    key: `${src}>${dst}`, src, dst, seq: tcp.readUInt32BE(4), length: ipLength - ipHeader - tcpHeader, payload: tcp.subarray(tcpHeader),
  };
}

/** Emits every whole frame at the start of `data`; returns the bytes used, or -1 when the bytes there are not a frame header. */
function parseFrames(data: Buffer, emit: (opcode: number, fin: boolean, payload: Buffer) => void): number {
  let at = 0;
  while (data.length - at >= 2) {
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0 || !OPCODES.has(opcode)) return -1;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (data.length - at < 4) break;
      length = data.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (data.length - at < 10) break;
      const long = data.readBigUInt64BE(at + 2);
      if (long > BigInt(MAX_FRAME_BYTES)) return -1;
      length = Number(long);
      header = 10;
    }
    if (length > MAX_FRAME_BYTES) return -1;
    const maskAt = at + header;
    if (masked) header += 4;
    if (data.length - at < header + length) break;
    const body = data.subarray(at + header, at + header + length);
    emit(opcode, (b0 & 0x80) !== 0, masked ? unmask(body, data.subarray(maskAt, maskAt + 4)) : body);
    at += header + length;
  }
  return at;
}

function unmask(body: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  for (let i = 0; i < body.length; i += 1) out[i] = body[i]! ^ key[i & 3]!;
  return out;
}
