import type { PeerState } from '../../shared/protocol/index.js';

/** A membership hint travelling with a frame: `peer` is now `state` (on `node`; '' when unknown). */
export interface Hint {
  peer: string;
  node: string;
  state: PeerState;
}

/**
 * A message on a node's channel (`ch:node:<id>`), addressed to one peer of one call there:
 * - `d` deliver `body` (a sequenced frame's body) to the peer; `t0` the relay's start for the
 *   latency histogram, `hop` how many times it was forwarded;
 * - `x` close the peer's socket `conn` (a newer one joined elsewhere); `knownSeq` is the highest
 *   seq the new join could have seen (-1: it had no `last_seq`);
 * - `r` the frames the replaced socket was sent that the replay buffer may not hold (answers `x`);
 * - `h` the peer is connected on another node now (`hint`).
 */
export type NodeMessage =
  | { kind: 'd'; callId: string; peer: string; t0: number; hop: number; hint: Hint | undefined; body: string }
  | { kind: 'x'; callId: string; peer: string; knownSeq: number; conn: string }
  | { kind: 'r'; callId: string; peer: string; frames: string[] }
  | { kind: 'h'; callId: string; peer: string; hint: Hint | undefined };

/** Line-separated header fields before the content: kind, call, peer, t0, hop, hint. */
const HEADER_FIELDS = 6;

function line(kind: string, callId: string, peer: string, t0: number, hop: number, hint: Hint | undefined, content: string): string {
  const h = hint ? `${hint.peer}|${hint.node}|${hint.state}` : '';
  return `${kind}\n${callId}\n${peer}\n${t0}\n${hop}\n${h}\n${content}`;
}

/**
 * Encodes a node message (layout in docs/signal-internals.md): six newline-terminated header
 * fields, then the content, which is the frame body (`d`), the socket id (`x`), the frames
 * joined by newlines (`r`) or empty (`h`). Frames are single-line JSON, so newlines separate.
 */
export function encodeNodeMessage(m: NodeMessage): string {
  switch (m.kind) {
    case 'd': return line('d', m.callId, m.peer, m.t0, m.hop, m.hint, m.body);
    case 'x': return line('x', m.callId, m.peer, m.knownSeq, 0, undefined, m.conn);
    case 'r': return line('r', m.callId, m.peer, 0, 0, undefined, m.frames.join('\n'));
    case 'h': return line('h', m.callId, m.peer, 0, 0, m.hint, '');
  }
}

function decodeHint(raw: string): Hint | undefined {
  if (!raw) return undefined;
  const [peer = '', node = '', state] = raw.split('|');
  return { peer, node, state: state as PeerState };
}

/** Decodes a node message; null for a malformed one or an unknown kind (it is ignored). */
export function decodeNodeMessage(payload: string): NodeMessage | null {
  const cuts: number[] = [];
  let at = -1;
  for (let i = 0; i < HEADER_FIELDS; i += 1) {
    at = payload.indexOf('\n', at + 1);
    if (at < 0) return null;
    cuts.push(at);
  }
  const field = (i: number): string => payload.slice(i === 0 ? 0 : cuts[i - 1]! + 1, cuts[i]);
  const kind = field(0);
  const callId = field(1);
  const peer = field(2);
  const content = payload.slice(cuts[HEADER_FIELDS - 1]! + 1);
  switch (kind) {
    case 'd': return { kind, callId, peer, t0: Number(field(3)), hop: Number(field(4)), hint: decodeHint(field(5)), body: content };
    case 'x': return { kind, callId, peer, knownSeq: Number(field(3)), conn: content };
    case 'r': return { kind, callId, peer, frames: content ? content.split('\n') : [] };
    case 'h': return { kind, callId, peer, hint: decodeHint(field(5)) };
    default: return null;
  }
}
