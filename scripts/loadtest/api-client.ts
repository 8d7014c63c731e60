/** A REST failure: the envelope's error code (or `http_<status>` / `network`) and, when given, `details.reason`. */
export class ApiError extends Error {
  constructor(readonly step: string, readonly status: number, readonly code: string, readonly reason?: string) {
    super(`${step}: ${status} ${code}${reason ? ` (${reason})` : ''}`);
  }

  /** The label failures are counted under, e.g. `join:conflict:host_busy`. */
  get label(): string {
    return `${this.step}:${this.code}${this.reason ? `:${this.reason}` : ''}`;
  }
}

/** Signaling grant returned by join / host-join. */
export interface SignalingGrant {
  callId: string;
  token: string;
  url: string;
}

/** Login / refresh result. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresInSec: number;
}

function pick<T>(value: unknown, ...path: string[]): T | undefined {
  let v: unknown = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v as T | undefined;
}

/** The few REST calls the load test makes, over `fetch` with keep-alive; every failure is an ApiError. */
export class ApiClient {
  constructor(private readonly base: string) {}

  async request<T = unknown>(step: string, method: string, path: string, options: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          accept: 'application/json',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new ApiError(step, 0, (err as Error).name === 'TimeoutError' ? 'timeout' : 'network');
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const code = pick<string>(json, 'error', 'code') ?? `http_${res.status}`;
      const reason = pick<string>(json, 'error', 'details', 'reason');
      throw new ApiError(step, res.status, code, typeof reason === 'string' ? reason : undefined);
    }
    return (pick<T>(json, 'data') ?? json) as T;
  }

  /** POST /v1/auth/guest-session → the guest's access token. */
  async guestSession(displayName: string): Promise<string> {
    const res = await this.request<{ access_token: string }>('guest_session', 'POST', '/v1/auth/guest-session', { body: { display_name: displayName } });
    return res.access_token;
  }

  async login(email: string, password: string): Promise<TokenPair> {
    const res = await this.request<{ access_token: string; refresh_token: string; expires_in: number; mfa_required?: boolean }>('login', 'POST', '/v1/auth/login', { body: { email, password } });
    if (!res.access_token) throw new ApiError('login', 200, 'mfa_required');
    return { accessToken: res.access_token, refreshToken: res.refresh_token, expiresInSec: res.expires_in };
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const res = await this.request<{ access_token: string; refresh_token: string; expires_in: number }>('refresh', 'POST', '/v1/auth/refresh', { body: { refresh_token: refreshToken } });
    return { accessToken: res.access_token, refreshToken: res.refresh_token, expiresInSec: res.expires_in };
  }

  private grant(step: string, res: unknown): SignalingGrant {
    const callId = pick<string>(res, 'call', 'id');
    const token = pick<string>(res, 'signaling_token') ?? pick<string>(res, 'signaling', 'token');
    const url = pick<string>(res, 'signaling_url') ?? pick<string>(res, 'signaling', 'url');
    if (!callId || !token || !url) throw new ApiError(step, 200, 'unexpected_response');
    return { callId, token, url };
  }

  /**
   * POST /v1/calls/join/:short_code with a guest token. Paid links need a card: Stripe's test
   * card `pm_card_visa` (a target in Stripe test mode or on stripe-mock; ignored by free links).
   */
  async join(guestToken: string, shortCode: string): Promise<SignalingGrant> {
    return this.grant('join', await this.request('join', 'POST', `/v1/calls/join/${encodeURIComponent(shortCode)}`, { token: guestToken, body: { payment_method_id: 'pm_card_visa' } }));
  }

  /** POST /v1/calls/:id/host-join with the host's token. */
  async hostJoin(hostToken: string, callId: string): Promise<SignalingGrant> {
    return this.grant('host_join', await this.request('host_join', 'POST', `/v1/calls/${encodeURIComponent(callId)}/host-join`, { token: hostToken, body: {} }));
  }

  /** A fresh signaling token for a participant of a running call (resume after a drop). */
  async reissue(token: string, callId: string): Promise<SignalingGrant> {
    return this.grant('reissue', await this.request('reissue', 'POST', `/v1/calls/${encodeURIComponent(callId)}/token`, { token, body: {} }));
  }

  /** POST /v1/calls/:id/end (idempotent). */
  async end(token: string, callId: string): Promise<void> {
    await this.request('end', 'POST', `/v1/calls/${encodeURIComponent(callId)}/end`, { token, body: {} });
  }
}
