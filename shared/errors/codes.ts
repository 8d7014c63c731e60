/**
 * The error-code catalogue. Codes are stable strings shared by the REST envelope
 * (`{"error":{"code",...}}`) and WebSocket `error` frames; HTTP statuses are attached here
 * once and mapped only at the HTTP edge.
 */
export const ERROR_CODES = {
  validation_error: { status: 400, message: 'Request validation failed.' },
  unauthorized: { status: 401, message: 'Missing or invalid auth token.' },
  invalid_credentials: { status: 401, message: 'The email or password is incorrect.' },
  invalid_token: { status: 401, message: 'The token is invalid or expired.' },
  stripe_error: { status: 402, message: 'Stripe payment operation failed.' },
  forbidden: { status: 403, message: 'Insufficient permissions.' },
  not_found: { status: 404, message: 'Resource does not exist.' },
  method_not_allowed: { status: 405, message: 'Method not allowed for this resource.' },
  conflict: { status: 409, message: 'Resource already exists.' },
  gone: { status: 410, message: 'Resource is no longer available.' },
  payload_too_large: { status: 413, message: 'Request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Content-Type must be application/json.' },
  rate_limited: { status: 429, message: 'Too many requests.' },
  internal_error: { status: 500, message: 'Unexpected server error.' },
  service_unavailable: { status: 503, message: 'Service temporarily unavailable.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
