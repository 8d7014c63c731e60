/** The subprotocol clients offer alongside `bearer.<token>`, echoed back on success. */
export const SIGNAL_SUBPROTOCOL = 'vidivo.v1';

/**
 * Extracts the bearer token from `?token=` or from `Sec-WebSocket-Protocol: vidivo.v1, bearer.<jwt>`
 * (for browsers, which cannot set headers on WebSocket upgrades and may not want tokens in URLs).
 */
export function tokenFromUpgrade(query: string, protocolHeader: string): { token?: string; protocol: string } {
  const protocols = protocolHeader.split(',').map((p) => p.trim()).filter(Boolean);
  const bearer = protocols.find((p) => p.startsWith('bearer.'));
  const protocol = protocols.includes(SIGNAL_SUBPROTOCOL) ? SIGNAL_SUBPROTOCOL : '';
  if (bearer) return { token: bearer.slice('bearer.'.length), protocol };
  const token = new URLSearchParams(query).get('token') ?? undefined;
  return token ? { token, protocol } : { protocol };
}
