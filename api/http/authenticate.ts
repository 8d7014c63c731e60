import type { AppContext, Principal } from './context.js';

/**
 * Establishes the caller from the request (Bearer access token); throws AppError
 * `unauthorized` when absent or invalid. Implemented by the auth service; picked in main.
 */
export type Authenticator = (ctx: AppContext) => Promise<Principal>;

/** An authenticator for deployments wired without auth: every protected route answers 401. */
export const rejectAll: Authenticator = async () => {
  const { AppError } = await import('../../shared/errors/index.js');
  throw new AppError('unauthorized');
};
