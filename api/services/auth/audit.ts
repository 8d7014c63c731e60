import type { Logger } from 'pino';
import { newId } from '../../../shared/ids.js';
import type { AuditEventType, AuditLogRepository } from '../../repositories/audit-log.js';
import type { RequestMeta } from './meta.js';

/** Writes security events to `audit_log`; a failed write is logged and never fails the request. */
export class AuditTrail {
  constructor(private readonly repo: AuditLogRepository, private readonly log: Logger) {}

  async record(type: AuditEventType, meta: RequestMeta | null, userId: string | null, details: Record<string, unknown> = {}): Promise<void> {
    try {
      await this.repo.append({ id: newId(), type, user_id: userId, ip: meta?.ip ?? null, request_id: meta?.requestId ?? null, at: new Date(), details });
    } catch (err) {
      this.log.error({ err, type, user: userId }, 'audit write failed');
    }
  }
}
