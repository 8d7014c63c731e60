import type { ErrorCode } from '../errors/index.js';
import type { IceServer } from '../ice/turn.js';

/** An ICE server handed to clients in the `join` reply (`RTCIceServer`; see `shared/ice/turn.ts`). */
export type { IceServer };

/** Largest SDP accepted in `offer`, `answer` and `ice-restart` (characters). */
export const MAX_SDP_CHARS = 48 * 1024;
/** Largest ICE candidate line (characters). */
export const MAX_CANDIDATE_CHARS = 1024;

/** A trickled ICE candidate as `RTCIceCandidateInit`; `null` in its place means end-of-candidates. */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

interface Req<T extends string, D> {
  type: T;
  /** Request id (1–64 chars of `[A-Za-z0-9_.:-]`): the server replies once with `ack`/`error` carrying it. */
  id?: string;
  data: D;
}

/** Peer-to-peer frames: relayed to the other peer(s) of the call, never interpreted. */
export const RELAY_TYPES = ['offer', 'answer', 'ice-candidate', 'ice-restart', 'renegotiate', 'mute-state'] as const;
export type RelayType = (typeof RELAY_TYPES)[number];

export type JoinMessage = Req<'join', { last_seq?: number }>;
export type OfferMessage = Req<'offer', { sdp: string; to?: string }>;
export type AnswerMessage = Req<'answer', { sdp: string; to?: string }>;
export type IceCandidateMessage = Req<'ice-candidate', { candidate: IceCandidateInit | null; to?: string }>;
export type IceRestartMessage = Req<'ice-restart', { sdp?: string; to?: string }>;
export type RenegotiateMessage = Req<'renegotiate', { reason?: string; to?: string }>;
export type MuteStateMessage = Req<'mute-state', { audio: boolean; video: boolean; to?: string }>;
/**
 * A peer's media connection state, as `RTCPeerConnection.connectionState` reports it (`new` and
 * `closed` are not reported). The first `connected` of either peer starts the billing clock
 * (docs/payments.md "When the clock runs"); never relayed.
 */
export const MEDIA_STATES = ['connecting', 'connected', 'disconnected', 'failed'] as const;
export type MediaState = (typeof MEDIA_STATES)[number];
export type MediaStateMessage = Req<'media-state', { state: MediaState }>;
export type HangupMessage = Req<'hangup', Record<string, never>>;
export type PingMessage = Req<'ping', { ts?: number }>;
export type ReauthMessage = Req<'reauth', { token: string }>;

/** Every frame a client may send, keyed by `type`. */
export type ClientMessage =
  | JoinMessage | OfferMessage | AnswerMessage | IceCandidateMessage | IceRestartMessage
  | RenegotiateMessage | MuteStateMessage | MediaStateMessage | HangupMessage | PingMessage | ReauthMessage;
export type ClientType = ClientMessage['type'];

export const CLIENT_TYPES = [
  'join', 'offer', 'answer', 'ice-candidate', 'ice-restart', 'renegotiate', 'mute-state', 'media-state', 'hangup', 'ping', 'reauth',
] as const satisfies readonly ClientType[];

/** A participant's connection state as other peers see it. */
export type PeerState = 'connected' | 'reconnecting';

/** The call as pushed to peers in `call-state` and the `join` reply. */
export interface CallStateData {
  call_id: string;
  status: string;
  end_reason: string | null;
  /** Increases with every transition; a client ignores a `call-state` older than one it has. */
  version: number;
}

/** `data` of the `ack` answering `join`. */
export interface JoinResult {
  protocol: number;
  node: string;
  call: CallStateData;
  /** This socket's slot (`host` or `guest`), from the token. */
  peer: string;
  /** The other participants known to the call. */
  peers: Array<{ peer: string; state: PeerState }>;
  ice_servers: IceServer[];
  /** True when this peer was already in the call (reconnect); missed frames follow the ack. */
  resumed: boolean;
  /** Number of missed frames replayed right after this ack. */
  replayed: number;
  /** The last sequence number delivered to this peer before the replay. */
  seq: number;
  /** When the server will ask for `reauth` (ms since the epoch). */
  token_expires_at: number;
}

export type PeerLeftReason = 'disconnected' | 'node_failure';

/** Server frames that carry a per-peer `seq` and are kept for replay. */
export interface SequencedFrames {
  'peer-joined': { peer: string; resumed: boolean };
  'peer-left': { peer: string; reason: PeerLeftReason; reconnecting: boolean; grace_ms?: number };
  'call-state': CallStateData;
  offer: { from: string; sdp: string };
  answer: { from: string; sdp: string };
  'ice-candidate': { from: string; candidate: IceCandidateInit | null };
  'ice-restart': { from: string; sdp?: string };
  renegotiate: { from: string; reason?: string };
  'mute-state': { from: string; audio: boolean; video: boolean };
  /**
   * To the guest of a paid call: its hold can no longer be extended (sent once), and again at one
   * paid minute left. The call ends (`insufficient_funds`) when they are used up.
   */
  'funds-low': FundsLowData;
  /** To every participant, one billing minute (`SIGNAL_TICK_MS`) before the call reaches its maximum duration. */
  'call-ending': CallEndingData;
}

/** `data` of `call-ending`. */
export interface CallEndingData {
  reason: 'max_duration';
  /** When the call will end (ms since the epoch). */
  ends_at: number;
}

/** `data` of `funds-low`. */
export interface FundsLowData {
  /** Paid minutes not used yet, as of the billing minute that just ended: the call ends once that many more are billed. */
  paid_minutes_left: number;
}

/** Every frame the server sends. Sequenced frames carry `seq`, replies carry the request `id`. */
export type ServerMessage =
  | { type: 'ack'; id?: string; data?: unknown }
  | { type: 'error'; id?: string; data: { code: ErrorCode; message: string; details?: Record<string, string> } }
  | { type: 'pong'; id?: string; data: { ts?: number; server_ts: number } }
  | { type: 'reauth-required'; data: { expires_at: number; deadline: number } }
  | { type: 'reconnect'; data: { reason: 'drain'; retry_after_ms: number } }
  | { [K in keyof SequencedFrames]: { type: K; seq: number; data: SequencedFrames[K] } }[keyof SequencedFrames];
export type ServerType = ServerMessage['type'];

/** Frames the chat socket (`/v1/chat/ws`, ping only so far) sends: `pong` carries no data there. */
export type ChatServerMessage =
  | { type: 'pong'; id?: string }
  | Extract<ServerMessage, { type: 'error' }>;
