import { ERROR_CODES, type ErrorCode } from './codes.js';

export type ErrorDetails = Record<string, unknown> | null;

export interface AppErrorOptions {
  message?: string;
  details?: ErrorDetails;
  cause?: unknown;
  /** Extra response headers the HTTP edge should set (e.g. Retry-After). */
  headers?: Record<string, string>;
}

/**
 * The one error type business code throws. `code` is stable and safe to show; `message`
 * is client-facing; `cause` is for logs only and never leaves the process.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details ?? null;
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** Field-level validation failure, `details` maps field path → message as spec 000 shows. */
export function validationError(details: Record<string, string>, message?: string): AppError {
  return new AppError('validation_error', { details, ...(message ? { message } : {}) });
}
