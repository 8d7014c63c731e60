import type { RateLimitRule } from './types.js';

/** The spec 000 rate-limit table. `RATE_LIMITS` may override points/duration per rule. */
export const DEFAULT_RATE_LIMITS: Record<string, RateLimitRule> = {
  /** POST /v1/auth/login (and the Google/Apple logins): 5 per 15 minutes per IP. */
  login: { points: 5, durationSec: 15 * 60 },
  /** POST /v1/auth/register: 3 per hour per IP. */
  register: { points: 3, durationSec: 60 * 60 },
  /** POST /v1/auth/password/reset: 10 per hour per IP. */
  password_reset: { points: 10, durationSec: 60 * 60 },
  /** All other authenticated endpoints: 100 per minute per user. */
  authenticated: { points: 100, durationSec: 60 },
  /** Unauthenticated endpoints: 30 per minute per IP. */
  unauthenticated: { points: 30, durationSec: 60 },
};

/**
 * Rules that are one budget per user or IP across every route they apply to (spec 000: "all
 * other endpoints", "unauthenticated endpoints"). Every other rule counts per route.
 */
export const SHARED_BUDGET_RULES: readonly string[] = ['authenticated', 'unauthenticated'];
