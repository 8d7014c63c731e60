import type { AppContext, Principal } from './context.js';

/**
 * Establishes the caller from the request; throws AppError `unauthorized` when absent or
 * invalid. The Bearer implementation is in bearer.ts; main picks it.
 */
export type Authenticator = (ctx: AppContext) => Promise<Principal>;
