import { defineSettings } from '../setting.js';

export const authSettings = defineSettings([
  { env: 'JWT_ISSUER', key: 'auth.issuer', schema: { type: 'string', minLength: 1 }, default: 'api.vidivo.app', doc: 'The `iss` claim of every token issued and required on every token verified.' },
  { env: 'JWT_KEYS_DIR', key: 'auth.keysDir', schema: { type: 'string', minLength: 1 }, doc: 'Folder of RS256 private keys (`*.pem`, PKCS#8); the newest signs, all verify. Default `DATA_DIR/keys`; in development a key is generated there when empty.' },
  { env: 'JWT_JWKS_URL', key: 'auth.jwksUrl', schema: { type: 'string', pattern: '^https?://' }, doc: 'Signal-only nodes without the key folder verify tokens against this JWKS (e.g. http://api:3000/.well-known/jwks.json).' },
]);
