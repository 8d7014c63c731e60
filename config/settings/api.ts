import { defineSettings } from '../setting.js';

export const apiSettings = defineSettings([
  { env: 'API_PORT', key: 'api.port', schema: { type: 'integer', minimum: 0, maximum: 65535 }, default: 3000, doc: 'REST API port (0 picks a free one).' },
  { env: 'API_BODY_LIMIT_BYTES', key: 'api.bodyLimitBytes', schema: { type: 'integer', minimum: 1024, maximum: 104857600 }, default: 1048576, doc: 'Largest JSON request body; larger gets 413 `payload_too_large`.' },
  { env: 'API_TRUST_PROXY', key: 'api.trustProxy', schema: { type: 'boolean' }, default: false, doc: 'Trust `X-Forwarded-For` for the client IP (only behind a proxy you run).' },
  { env: 'API_PUBLIC_URL', key: 'api.publicUrl', schema: { type: 'string', pattern: '^https?://' }, doc: 'Public base URL of the API (links in mail, OpenAPI `servers`); default http://HOST:API_PORT.' },
  { env: 'RATE_LIMIT_EXEMPT_IPS', key: 'api.rateLimitExemptIps', json: true, schema: { type: 'array', maxItems: 256, items: { type: 'string', pattern: '^[0-9A-Fa-f:.]{2,45}(/[0-9]{1,3})?$' } }, default: [], doc: 'JSON array of client IPs or CIDRs never rate-limited, e.g. `["10.0.0.0/24"]`. Only for the addresses of a load generator you run (docs/load-testing.md); empty in normal production.' },
  { env: 'RATE_LIMITS', key: 'api.rateLimits', json: true, schema: { type: 'object', additionalProperties: { type: 'object', required: ['points', 'durationSec'], additionalProperties: false, properties: { points: { type: 'integer', minimum: 1 }, durationSec: { type: 'integer', minimum: 1 } } } }, default: {}, doc: 'JSON overrides of the rate-limit table by rule name, e.g. `{"login":{"points":5,"durationSec":900}}`. Rule names are in docs/api.md.' },
]);
