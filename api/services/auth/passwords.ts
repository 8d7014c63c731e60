import { argon2id, hash, needsRehash, verify } from 'argon2';
import { randomBytes } from 'node:crypto';

/** argon2id cost parameters (memory in KiB). */
export interface Argon2Params {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

/** Password length bounds, checked before any hashing (a huge password cannot burn CPU). */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** The outcome of a password check: `rehash` is set when the stored hash used other parameters. */
export interface PasswordCheck {
  ok: boolean;
  rehash: boolean;
}

/**
 * argon2id hashing with configured parameters. `verifyOrDummy` costs the same whether or not a
 * stored hash exists, so an unknown account cannot be told apart by timing.
 */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(private readonly params: Argon2Params) {}

  private options() {
    return { type: argon2id, memoryCost: this.params.memoryKiB, timeCost: this.params.timeCost, parallelism: this.params.parallelism } as const;
  }

  /** Computes the dummy hash once (call at start-up so the first unknown-email login is not faster). */
  warmUp(): Promise<string> {
    this.dummy ??= hash(randomBytes(24).toString('base64url'), this.options());
    return this.dummy;
  }

  async hash(password: string): Promise<string> {
    return hash(password, this.options());
  }

  /** Verifies against `stored`, or against the dummy hash (always false) when there is none. */
  async verifyOrDummy(stored: string | undefined, password: string): Promise<PasswordCheck> {
    if (password.length > PASSWORD_MAX_LENGTH) return { ok: false, rehash: false };
    if (!stored) {
      await verify(await this.warmUp(), password).catch(() => false);
      return { ok: false, rehash: false };
    }
    const ok = await verify(stored, password).catch(() => false);
    const options = this.options();
    const rehash = ok && needsRehash(stored, { memoryCost: options.memoryCost, timeCost: options.timeCost, parallelism: options.parallelism });
    return { ok, rehash };
  }
}
