import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** A seeded host as kept in the state file (its refresh token lets later runs skip argon2 logins). */
export interface SeededHost {
  email: string;
  username: string;
  shortCode?: string;
  /** The newest refresh token this tool holds for the host (rotation makes older ones useless). */
  refreshToken?: string;
}

/** The `--state-file` content: hosts seeded on one API, reused by `--reuse`. */
export interface SeedState {
  api: string;
  runTag: string;
  password: string;
  hosts: SeededHost[];
}

/**
 * The state file (mode 0600: it holds the hosts' password and refresh tokens), written atomically
 * (temporary file + rename). `saveSoon()` coalesces the many small changes of token renewals into
 * at most one write per `delayMs`; `save()` writes now.
 */
export class StateFile {
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly path: string, readonly state: SeedState, private readonly delayMs = 2000) {}

  /** The state kept for `api`, or undefined when the file is absent or belongs to another API. */
  static load(path: string, api: string): SeedState | undefined {
    if (!existsSync(path)) return undefined;
    const state = JSON.parse(readFileSync(path, 'utf8')) as SeedState;
    return state.api === api && Array.isArray(state.hosts) ? state : undefined;
  }

  save(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  saveSoon(): void {
    this.timer ??= setTimeout(() => this.save(), this.delayMs);
  }

  /** Writes pending changes now (end of run). */
  flush(): void {
    if (this.timer) this.save();
  }
}
