/** A chat message as stored and as delivered (REST and WebSocket share this shape). */
export interface ChatMessage {
  id: string;
  conversation_id: string;
  /** Per-conversation sequence number: 1, 2, 3… with no gap; stored in this order (n+1 is written only once n exists). */
  seq: number;
  sender_id: string;
  kind: 'text' | 'image';
  text: string | null;
  image_id: string | null;
  /** The sender's own id for the message (retries with the same one are no-ops). */
  client_id: string | null;
  created_at: string;
}

/** Per-member state of a conversation. */
export interface MemberState {
  read_seq: number;
  /** Messages at or below this sequence are deleted for this member. */
  cleared_seq: number;
}

/** A 1:1 conversation. */
export interface Conversation {
  id: string;
  /** The two member ids, sorted. */
  members: [string, string];
  /** Best effort (FerretDB 1.x updates are not atomic): the messages collection is the truth. */
  last_seq: number;
  last_message: ChatMessage | null;
  last_activity_at: Date;
  created_at: Date;
  /** Members who deleted the conversation for themselves (until the next message). */
  hidden: string[];
  state: Record<string, MemberState>;
}

/** What a new message carries. */
export interface NewMessage {
  conversationId: string;
  senderId: string;
  clientId?: string;
  text?: string;
  imageId?: string;
  at: Date;
}

/** `<prefix>:ch:user:<userId>`: every event for one user's sockets, on every node. */
export function userChannelName(prefix: string, userId: string): string {
  return `${prefix}:ch:user:${userId}`;
}

/** The member of `conversation` who is not `userId`. */
export function counterpartOf(conversation: Pick<Conversation, 'members'>, userId: string): string {
  return conversation.members[0] === userId ? conversation.members[1] : conversation.members[0];
}
