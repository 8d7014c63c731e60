import { randomBytes } from 'node:crypto';
import { ApiError, type ApiClient } from './api-client.js';
import type { Clock } from './clock.js';
import { StateFile, type SeededHost, type SeedState } from './state-file.js';
import type { TokenRefresher } from './token-refresher.js';
import { TokenSession, type TokenSource } from './token-session.js';

/** A host ready for calls: its link and its token session (kept fresh by the refresher). */
export interface ReadyHost {
  email: string;
  shortCode: string;
  session: TokenSession;
}

export interface SeedOptions {
  api: ApiClient;
  apiUrl: string;
  hosts: number;
  stateFile: string;
  reuse: boolean;
  adminEmail?: string;
  adminPassword?: string;
  hostPassword: string;
  clock: Clock;
  /** Every session made here is added to it (the admin's only while seeding). */
  refresher: TokenRefresher;
  log(line: string): void;
}

/** What seeding leaves behind: the ready hosts and the state file their renewals are written to. */
export interface Seeded {
  hosts: ReadyHost[];
  stateFile: StateFile;
}

/** Accounts per admin request: each costs an argon2 hash on the API, so keep requests well under a minute. */
const BATCH = 100;
const LOGIN_PARALLELISM = 8;

async function inParallel<T>(items: T[], parallelism: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

function source(api: ApiClient, email: string, password: string): TokenSource {
  return { refresh: (token) => api.refresh(token), login: () => api.login(email, password) };
}

/**
 * Makes `hosts` test hosts ready through the public REST API: missing ones are created by an
 * admin (`POST /v1/admin/users`, role `host`, a rate, available), then each host signs in
 * (refresh token from the state file when it still works, else a password login) and gets a link
 * (`POST /v1/calls/links`). The state file is rewritten after every step so an interrupted seed
 * resumes, and after every token renewal (coalesced) so it always holds each host's newest
 * refresh token. The admin's token is renewed like the hosts' while seeding takes long.
 */
export async function seedHosts(o: SeedOptions): Promise<Seeded> {
  const previous = o.reuse ? StateFile.load(o.stateFile, o.apiUrl) : undefined;
  const state: SeedState = previous ?? { api: o.apiUrl, runTag: randomBytes(4).toString('hex'), password: o.hostPassword || `lt-${randomBytes(12).toString('base64url')}`, hosts: [] };
  const file = new StateFile(o.stateFile, state);
  const now = () => o.clock.now();
  if (previous) o.log(`reusing ${previous.hosts.length} host(s) from ${o.stateFile}`);
  const missing = o.hosts - state.hosts.length;
  if (missing > 0) {
    if (!o.adminEmail || !o.adminPassword) throw new ApiError('seed', 0, 'admin_credentials_required');
    const admin = await TokenSession.open(source(o.api, o.adminEmail, o.adminPassword), now);
    o.refresher.add(admin);
    try {
      o.log(`seeding ${missing} host(s) through POST /v1/admin/users`);
      const fresh: SeededHost[] = Array.from({ length: missing }, (_, i) => {
        const n = state.hosts.length + i;
        return { email: `lt-${state.runTag}-${n}@loadtest.invalid`, username: `lt_${state.runTag}_${n}` };
      });
      for (let i = 0; i < fresh.length; i += BATCH) {
        const batch = fresh.slice(i, i + BATCH);
        const created = await o.api.request<{ users: Array<{ email: string; status: string }> }>('admin_users', 'POST', '/v1/admin/users', {
          token: admin.accessToken,
          timeoutMs: 300_000,
          body: { users: batch.map((h) => ({ email: h.email, password: state.password, role: 'host', username: h.username, display_name: `Load host ${h.username}`, rate: { amount: 100, currency: 'USD' }, available: true })) },
        });
        const refused = created.users.find((u) => u.status !== 'created' && u.status !== 'exists');
        if (refused) throw new ApiError('admin_users', 201, refused.status);
        state.hosts.push(...batch);
        file.save();
        o.log(`created ${state.hosts.length}/${o.hosts} host(s)`);
      }
    } finally {
      o.refresher.remove(admin);
    }
  }
  const chosen = state.hosts.slice(0, o.hosts);
  const ready: ReadyHost[] = [];
  let done = 0;
  await inParallel(chosen, LOGIN_PARALLELISM, async (host) => {
    const session = await TokenSession.open(source(o.api, host.email, state.password), now, host.refreshToken);
    host.refreshToken = session.refreshToken;
    session.onRenewed((s) => {
      host.refreshToken = s.refreshToken;
      file.saveSoon();
    });
    o.refresher.add(session);
    if (!host.shortCode) {
      const link = await o.api.request<{ short_code: string }>('create_link', 'POST', '/v1/calls/links', { token: session.accessToken, body: { title: 'load test' } });
      host.shortCode = link.short_code;
    }
    ready.push({ email: host.email, shortCode: host.shortCode, session });
    if (++done % 500 === 0) {
      o.log(`signed in ${done}/${chosen.length} host(s)`);
      file.save();
    }
  });
  file.save();
  return { hosts: ready, stateFile: file };
}
