import type { Collection, Db } from 'mongodb';

/** Security events recorded in `audit_log`. */
export type AuditEventType =
  | 'register' | 'login' | 'login_failed' | 'login_mfa_required' | 'mfa_failed' | 'logout'
  | 'refresh_reuse' | 'email_verified' | 'password_reset_requested' | 'password_reset' | 'password_change'
  | 'totp_setup' | 'totp_enabled' | 'totp_disabled' | 'backup_codes_regenerated' | 'backup_code_used'
  | 'email_change_requested' | 'email_changed' | 'oauth_linked' | 'oauth_unlinked';

/** One audit record; `details` never holds secrets (no passwords, tokens or codes). */
export interface AuditEvent {
  id: string;
  type: AuditEventType;
  user_id: string | null;
  ip: string | null;
  request_id: string | null;
  at: Date;
  details: Record<string, unknown>;
}

type AuditDocument = Omit<AuditEvent, 'id'> & { _id: string };

/** The `audit_log` collection: append-only, read newest first. */
export class AuditLogRepository {
  readonly collection: Collection<AuditDocument>;

  constructor(db: Db) {
    this.collection = db.collection<AuditDocument>('audit_log');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ user_id: 1, at: -1 });
    await this.collection.createIndex({ type: 1, at: -1 });
  }

  async append(event: AuditEvent): Promise<void> {
    const { id, ...rest } = event;
    await this.collection.insertOne({ _id: id, ...rest });
  }

  /** Newest first, at most `limit`, optionally of one user and/or one type. */
  async list(filter: { userId?: string; type?: AuditEventType }, limit = 100): Promise<AuditEvent[]> {
    const query: Record<string, unknown> = {};
    if (filter.userId) query['user_id'] = filter.userId;
    if (filter.type) query['type'] = filter.type;
    const docs = await this.collection.find(query).sort({ at: -1, _id: -1 }).limit(limit).toArray();
    return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
  }
}
