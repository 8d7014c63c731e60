import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ApiError, type ApiClient } from './api-client.js';

/** A seeded host as kept in the state file (its refresh token lets later runs skip argon2 logins). */
export interface SeededHost {
  email: string;
  username: string;
  shortCode?: string;
  refreshToken?: string;
}

/** The `--state-file` content: hosts seeded on one API, reused by `--reuse`. */
export interface SeedState {
  api: string;
  runTag: string;
  password: string;
  hosts: SeededHost[];
}

/** A host ready for calls: its access token and link. */
export interface ReadyHost {
  email: string;
  accessToken: string;
  shortCode: string;
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
  log(line: string): void;
}

/** Accounts per admin request: each costs an argon2 hash on the API, so keep requests well under a minute. */
const BATCH = 100;
const LOGIN_PARALLELISM = 8;

function loadState(path: string, apiUrl: string): SeedState | undefined {
  if (!existsSync(path)) return undefined;
  const state = JSON.parse(readFileSync(path, 'utf8')) as SeedState;
  return state.api === apiUrl && Array.isArray(state.hosts) ? state : undefined;
}

function saveState(path: string, state: SeedState): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

async function inParallel<T>(items: T[], parallelism: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * Makes `hosts` test hosts ready through the public REST API: missing ones are created by an
 * admin (`POST /v1/admin/users`, role `host`, a rate, available), then each host signs in
 * (refresh token from the state file when it still works, else a password login) and gets a link
 * (`POST /v1/calls/links`). The state file is rewritten after every step so an interrupted seed resumes.
 */
export async function seedHosts(o: SeedOptions): Promise<ReadyHost[]> {
  const previous = o.reuse ? loadState(o.stateFile, o.apiUrl) : undefined;
  const state: SeedState = previous ?? { api: o.apiUrl, runTag: randomBytes(4).toString('hex'), password: o.hostPassword || `lt-${randomBytes(12).toString('base64url')}`, hosts: [] };
  if (previous) o.log(`reusing ${previous.hosts.length} host(s) from ${o.stateFile}`);
  const missing = o.hosts - state.hosts.length;
  if (missing > 0) {
    if (!o.adminEmail || !o.adminPassword) throw new ApiError('seed', 0, 'admin_credentials_required');
    const admin = await o.api.login(o.adminEmail, o.adminPassword);
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
      saveState(o.stateFile, state);
      o.log(`created ${state.hosts.length}/${o.hosts} host(s)`);
    }
  }
  const chosen = state.hosts.slice(0, o.hosts);
  const ready: ReadyHost[] = [];
  let done = 0;
  await inParallel(chosen, LOGIN_PARALLELISM, async (host) => {
    let pair = host.refreshToken ? await o.api.refresh(host.refreshToken).catch(() => undefined) : undefined;
    pair ??= await o.api.login(host.email, state.password);
    host.refreshToken = pair.refreshToken;
    if (!host.shortCode) {
      const link = await o.api.request<{ short_code: string }>('create_link', 'POST', '/v1/calls/links', { token: pair.accessToken, body: { title: 'load test' } });
      host.shortCode = link.short_code;
    }
    ready.push({ email: host.email, accessToken: pair.accessToken, shortCode: host.shortCode });
    if (++done % 500 === 0) {
      o.log(`signed in ${done}/${chosen.length} host(s)`);
      saveState(o.stateFile, state);
    }
  });
  saveState(o.stateFile, state);
  return ready;
}
