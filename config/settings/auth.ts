import { defineSettings } from '../setting.js';

const STRING_LIST = { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 32 } as const;

export const authSettings = defineSettings([
  { env: 'JWT_ISSUER', key: 'auth.issuer', schema: { type: 'string', minLength: 1 }, default: 'api.vidivo.app', doc: 'The `iss` claim of every token issued and required on every token verified.' },
  { env: 'JWT_KEYS_DIR', key: 'auth.keysDir', schema: { type: 'string', minLength: 1 }, doc: 'Folder of RS256 private keys (`*.pem`, PKCS#8); the newest active one signs, all verify. Default `DATA_DIR/keys`; in development a key is generated there when empty.' },
  { env: 'JWT_JWKS_URL', key: 'auth.jwksUrl', schema: { type: 'string', pattern: '^https?://' }, doc: 'Signal-only nodes without the key folder verify tokens against this JWKS (e.g. http://api:3000/.well-known/jwks.json).' },
  { env: 'ARGON2_MEMORY_KIB', key: 'auth.argon2.memoryKiB', schema: { type: 'integer', minimum: 19456, maximum: 4194304 }, default: 65536, doc: 'argon2id memory cost in KiB (at least 19456 = 19 MiB). Hashes made with other parameters are upgraded at the next login.' },
  { env: 'ARGON2_TIME_COST', key: 'auth.argon2.timeCost', schema: { type: 'integer', minimum: 2, maximum: 20 }, default: 3, doc: 'argon2id iterations (at least 2).' },
  { env: 'ARGON2_PARALLELISM', key: 'auth.argon2.parallelism', schema: { type: 'integer', minimum: 1, maximum: 16 }, default: 1, doc: 'argon2id lanes (1 recommended: one login uses one core).' },
  { env: 'APP_PUBLIC_URL', key: 'auth.appUrl', schema: { type: 'string', pattern: '^https?://' }, doc: 'Base URL of the web app that receives mailed links (`/verify-email?token=…`, `/reset-password?token=…`, `/confirm-email?token=…`); default API_PUBLIC_URL.' },
  { env: 'SMTP_URL', key: 'auth.mail.smtpUrl', schema: { type: 'string', pattern: '^smtps?://' }, secret: true, doc: 'SMTP server for verification / reset mail, e.g. smtps://user:pass@smtp.example.com:465. Unset: in development the links are logged; in production mail is dropped with a warning.' },
  { env: 'MAIL_FROM', key: 'auth.mail.from', schema: { type: 'string', minLength: 3 }, default: 'Vidivo <no-reply@vidivo.app>', doc: 'The From header of outgoing mail.' },
  { env: 'GOOGLE_CLIENT_IDS', key: 'auth.google.clientIds', json: true, schema: STRING_LIST, default: [], doc: 'JSON array of Google OAuth client ids accepted as ID-token `aud`. Empty: Google sign-in answers 401 `invalid_token`.' },
  { env: 'GOOGLE_JWKS_URL', key: 'auth.google.jwksUrl', schema: { type: 'string', pattern: '^https?://' }, default: 'https://www.googleapis.com/oauth2/v3/certs', doc: 'Google signing keys (cached; refetched on an unknown `kid`).' },
  { env: 'GOOGLE_ISSUERS', key: 'auth.google.issuers', json: true, schema: STRING_LIST, default: ['https://accounts.google.com', 'accounts.google.com'], doc: 'JSON array of accepted Google ID-token issuers.' },
  { env: 'APPLE_CLIENT_IDS', key: 'auth.apple.clientIds', json: true, schema: STRING_LIST, default: [], doc: 'JSON array of Apple Services/App ids accepted as identity-token `aud`. Empty: Apple sign-in answers 401 `invalid_token`.' },
  { env: 'APPLE_JWKS_URL', key: 'auth.apple.jwksUrl', schema: { type: 'string', pattern: '^https?://' }, default: 'https://appleid.apple.com/auth/keys', doc: 'Apple signing keys (cached; refetched on an unknown `kid`).' },
  { env: 'APPLE_ISSUERS', key: 'auth.apple.issuers', json: true, schema: STRING_LIST, default: ['https://appleid.apple.com'], doc: 'JSON array of accepted Apple identity-token issuers.' },
  { env: 'TOTP_ISSUER', key: 'auth.totpIssuer', schema: { type: 'string', minLength: 1, maxLength: 64 }, default: 'Vidivo', doc: 'Issuer name shown by authenticator apps for TOTP 2FA.' },
]);
