import { defineSettings } from '../setting.js';

const url = (scheme: string) => ({ type: 'array', maxItems: 16, items: { type: 'string', pattern: `^${scheme}:[^\\s]+$` } });

export const callSettings = defineSettings([
  { env: 'AVATAR_MAX_BYTES', key: 'calls.avatar.maxBytes', schema: { type: 'integer', minimum: 1024, maximum: 52428800 }, default: 5242880, doc: 'Largest avatar upload in bytes; larger gets 413 `payload_too_large`.' },
  { env: 'AVATAR_MAX_PIXELS', key: 'calls.avatar.maxPixels', schema: { type: 'integer', minimum: 1, maximum: 268435456 }, default: 16777216, doc: 'Largest avatar in pixels (width x height, read from the image header); larger gets 400 `validation_error`.' },
  { env: 'RATE_MIN_MINOR', key: 'calls.rate.minMinor', schema: { type: 'integer', minimum: 0 }, default: 50, doc: 'Lowest per-minute price a host may set, in minor units (cents).' },
  { env: 'RATE_MAX_MINOR', key: 'calls.rate.maxMinor', schema: { type: 'integer', minimum: 1 }, default: 100000, doc: 'Highest per-minute price a host may set, in minor units.' },
  { env: 'RATE_CURRENCIES', key: 'calls.rate.currencies', json: true, schema: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[A-Z]{3}$' } }, default: ['USD', 'EUR', 'GBP'], doc: 'JSON array of the ISO 4217 currencies a rate may use, upper case.' },
  { env: 'CALL_RING_TIMEOUT_SEC', key: 'calls.ringTimeoutSec', schema: { type: 'integer', minimum: 1, maximum: 3600 }, default: 60, doc: 'A call still waiting/ringing this long after it was created becomes `missed` (reason `timeout`).' },
  { env: 'CALL_SWEEP_INTERVAL_MS', key: 'calls.sweepIntervalMs', schema: { type: 'integer', minimum: 50, maximum: 600000 }, default: 5000, doc: 'How often each API process looks for calls past the ring timeout.' },
  { env: 'CALL_MAX_DURATION_SEC', key: 'calls.maxDurationSec', schema: { type: 'integer', minimum: 60, maximum: 86400 }, default: 3600, doc: 'Default and upper bound of a call\'s maximum duration (a link may set less), counted from `active`; stored with each call; the signal tier ends the call with reason `max_duration` when it is reached.' },
  { env: 'STUN_URLS', key: 'calls.ice.stunUrls', json: true, schema: url('stuns?'), default: ['stun:stun.l.google.com:19302'], doc: 'JSON array of STUN URLs handed to clients (with the signaling token and in the `join` reply), e.g. `["stun:stun.example.com:3478"]`; `[]` for none.' },
  { env: 'TURN_URLS', key: 'calls.ice.turnUrls', json: true, schema: url('turns?'), default: [], doc: 'JSON array of TURN URLs, e.g. `["turn:turn.example.com:3478?transport=udp","turns:turn.example.com:5349"]`; needs TURN_SECRET.' },
  { env: 'TURN_SECRET', key: 'calls.ice.turnSecret', schema: { type: 'string', minLength: 16 }, secret: true, doc: 'Shared secret of the TURN server (coturn `static-auth-secret` with `use-auth-secret`); credentials are HMAC-SHA1 of it.' },
  { env: 'TURN_CREDENTIAL_TTL_SEC', key: 'calls.ice.turnTtlSec', schema: { type: 'integer', minimum: 60, maximum: 86400 }, default: 300, doc: 'Lifetime of a TURN credential; the default equals the signaling token lifetime so both expire together.' },
]);
