import type { Call } from './call.js';
import type { CallStatus, EndReason } from './state-machine.js';

/**
 * A call's state as announced on `<prefix>:ch:calls` after a transition, by the signal node or
 * API process whose atomic update made it. Listeners apply it only when `version` is newer than
 * what they hold, so duplicates and reordering are harmless.
 */
export interface CallAnnouncement {
  call_id: string;
  status: CallStatus;
  end_reason: EndReason | null;
  version: number;
  /** ms since the epoch, or null before the call was answered. */
  answered_at: number | null;
  /** ms since the epoch, or null before media came up (the billing clock's origin). Absent from older senders. */
  media_up_at?: number | null;
}

/** `<prefix>:ch:calls`: the channel every signal node listens on for call-state announcements. */
export function callsChannelName(prefix: string): string {
  return `${prefix}:ch:calls`;
}

export function announcementOf(call: Call): CallAnnouncement {
  return {
    call_id: call.id, status: call.status, end_reason: call.end_reason, version: call.version,
    answered_at: call.answered_at ? call.answered_at.getTime() : null, media_up_at: call.media_up_at ? call.media_up_at.getTime() : null,
  };
}
