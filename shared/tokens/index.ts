export { AUDIENCE, KEY_RETENTION_SEC, TOKEN_TTL_SEC, type AccessClaims, type Audience, type SignalingClaims } from './claims.js';
export type { JwksSource } from './jws-rs256.js';
export { generateKeyFile, loadKeyRing, pruneKeyFiles, type KeyRing, type SigningKey } from './keys.js';
export { signToken, type SignOptions } from './sign.js';
export { createTokenVerifier, type KeySource, type TokenVerifier } from './verify.js';
export { createSyncTokenVerifier, type SyncTokenVerifier } from './verify-sync.js';
