import { AppError } from '../../shared/errors/index.js';
import type { TokenVerifier } from '../../shared/tokens/index.js';
import type { Authenticator } from './authenticate.js';

/** Authenticates `Authorization: Bearer <access token>` with the shared verifier. */
export function bearerAuthenticator(verifier: TokenVerifier): Authenticator {
  return async (ctx) => {
    const header = ctx.get('Authorization');
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    if (!match) throw new AppError('unauthorized', { message: header ? 'Authorization must be "Bearer <token>".' : 'Missing bearer token.' });
    const claims = await verifier.verifyAccess(match[1]!);
    return { userId: claims.sub, role: claims.role, tokenId: claims.jti, ...(claims.email ? { email: claims.email } : {}) };
  };
}
