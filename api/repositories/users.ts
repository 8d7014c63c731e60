import type { Collection, Db } from 'mongodb';
import type { Role } from '../../shared/roles.js';
import { conflictOnDuplicate } from './errors.js';

/** A weekly availability interval in the host's time zone: `day` 0 = Sunday, `HH:MM` wall-clock times; `overnight` ends at `end` on the next day. */
export interface AvailabilityInterval {
  day: number;
  start: string;
  end: string;
  overnight?: boolean;
}

/**
 * A user as stored in `users`. Optional unique fields (`username`, OAuth subjects) are omitted,
 * never null, so the sparse unique indexes ignore them.
 */
export interface User {
  id: string;
  /** Lower-cased. */
  email: string;
  email_verified: boolean;
  /** argon2id PHC string; absent for accounts created through Google/Apple only. */
  password_hash?: string;
  display_name: string | null;
  role: Role;
  /** Public handle (hosts); unique, lower-cased. */
  username?: string;
  bio?: string;
  locale?: string;
  /** IANA time zone name. */
  time_zone?: string;
  avatar_url?: string;
  /** Id of the stored avatar image behind `avatar_url`. */
  avatar_id?: string;
  /** Lower-cased username and display-name words, for prefix search over hosts. */
  search_terms?: string[];
  date_of_birth?: string;
  /** Per-minute price in minor units. */
  rate?: { amount: number; currency: string };
  available?: boolean;
  availability?: AvailabilityInterval[];
  /** Linked sign-in methods: provider → subject. */
  oauth?: { google?: string; apple?: string };
  totp?: { secret: string; enabled: boolean; last_step?: number; backup_codes?: string[] };
  /** Tenant app id for users minted by an app (spec 001), with the app's own user id. */
  app_id?: string;
  custom_id?: string;
  created_at: Date;
  updated_at: Date;
}

type UserDocument = Omit<User, 'id'> & { _id: string };

/** Sign-in providers a user can link (spec 004: Google, Apple). */
export const OAUTH_PROVIDERS = ['google', 'apple'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

function toUser({ _id, ...rest }: UserDocument): User {
  return { id: _id, ...rest };
}

/** The `users` collection: documents ↔ User, unique email / username / OAuth subjects. */
export class UsersRepository {
  readonly collection: Collection<UserDocument>;

  constructor(db: Db) {
    this.collection = db.collection<UserDocument>('users');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ email: 1 }, { unique: true });
    await this.collection.createIndex({ username: 1 }, { unique: true, sparse: true });
    await this.collection.createIndex({ 'oauth.google': 1 }, { unique: true, sparse: true });
    await this.collection.createIndex({ 'oauth.apple': 1 }, { unique: true, sparse: true });
    await this.collection.createIndex({ role: 1, search_terms: 1 });
  }

  /** Inserts; a taken email or username is AppError `conflict`. */
  async create(user: User): Promise<User> {
    const { id, ...rest } = user;
    await conflictOnDuplicate(() => this.collection.insertOne({ _id: id, ...rest }), 'Resource already exists.');
    return user;
  }

  async findById(id: string): Promise<User | null> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? toUser(doc) : null;
  }

  async findByEmail(email: string): Promise<User | null> {
    const doc = await this.collection.findOne({ email: email.toLowerCase() });
    return doc ? toUser(doc) : null;
  }

  async findByUsername(username: string): Promise<User | null> {
    const doc = await this.collection.findOne({ username: username.toLowerCase() });
    return doc ? toUser(doc) : null;
  }

  /** The user linked to the `provider` subject `sub`, or null. */
  async findByOAuth(provider: OAuthProvider, sub: string): Promise<User | null> {
    const doc = await this.collection.findOne({ [`oauth.${provider}`]: sub });
    return doc ? toUser(doc) : null;
  }

  /**
   * Marks the email verified while it is still `email`, and upgrades role `user` →
   * `verified_user` (higher roles are kept). Returns the user, or null when the address changed.
   */
  async markEmailVerified(id: string, email: string): Promise<User | null> {
    const now = new Date();
    const verified = await this.collection.findOneAndUpdate({ _id: id, email }, { $set: { email_verified: true, updated_at: now } }, { returnDocument: 'after' });
    if (!verified) return null;
    await this.collection.updateOne({ _id: id, role: 'user' }, { $set: { role: 'verified_user', updated_at: now } });
    return this.findById(id);
  }

  /** Links `provider` subject `sub` if the user has none for that provider; null otherwise. Subject taken → `conflict`. */
  async linkOAuth(id: string, provider: OAuthProvider, sub: string): Promise<User | null> {
    const doc = await conflictOnDuplicate(
      () => this.collection.findOneAndUpdate(
        { _id: id, [`oauth.${provider}`]: { $exists: false } },
        { $set: { [`oauth.${provider}`]: sub, updated_at: new Date() } },
        { returnDocument: 'after' },
      ),
      `This ${provider} account is already linked to another user.`,
    );
    return doc ? toUser(doc) : null;
  }

  /** Unlinks `provider` only while another way to sign in (password or other provider) remains; null otherwise. */
  async unlinkOAuth(id: string, provider: OAuthProvider): Promise<User | null> {
    const others = OAUTH_PROVIDERS.filter((p) => p !== provider).map((p) => ({ [`oauth.${p}`]: { $exists: true } }));
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, [`oauth.${provider}`]: { $exists: true }, $or: [{ password_hash: { $exists: true } }, ...others] },
      { $unset: { [`oauth.${provider}`]: '' }, $set: { updated_at: new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? toUser(doc) : null;
  }

  /** Records TOTP time step `step` as used; false when that step or a later one was already used (replay). */
  async claimTotpStep(id: string, step: number): Promise<boolean> {
    const res = await this.collection.updateOne(
      { _id: id, $or: [{ 'totp.last_step': { $lt: step } }, { 'totp.last_step': { $exists: false } }] },
      { $set: { 'totp.last_step': step } },
    );
    return res.modifiedCount === 1;
  }

  /** Removes one stored backup-code hash; true exactly once per code. */
  async useBackupCode(id: string, codeHash: string): Promise<boolean> {
    const res = await this.collection.updateOne({ _id: id, 'totp.backup_codes': codeHash }, { $pull: { 'totp.backup_codes': codeHash } });
    return res.modifiedCount === 1;
  }

  /** Sets `totp` only when 2FA is not enabled (setup must not overwrite an active secret); null otherwise. */
  async setPendingTotp(id: string, secret: string): Promise<User | null> {
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, 'totp.enabled': { $ne: true } },
      { $set: { totp: { secret, enabled: false }, updated_at: new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? toUser(doc) : null;
  }

  /** Enables the pending secret `secret` with step `step` used and the backup-code hashes; null when not pending. */
  async enableTotp(id: string, secret: string, step: number, backupCodeHashes: string[]): Promise<User | null> {
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, 'totp.secret': secret, 'totp.enabled': false },
      { $set: { totp: { secret, enabled: true, last_step: step, backup_codes: backupCodeHashes }, updated_at: new Date() } },
      { returnDocument: 'after' },
    );
    return doc ? toUser(doc) : null;
  }

  /** Replaces the backup-code hashes while 2FA is enabled; false otherwise. */
  async replaceBackupCodes(id: string, codeHashes: string[]): Promise<boolean> {
    const res = await this.collection.updateOne({ _id: id, 'totp.enabled': true }, { $set: { 'totp.backup_codes': codeHashes, updated_at: new Date() } });
    return res.modifiedCount === 1;
  }

  /** Sets fields (and `updated_at`); returns the updated user or null. Duplicate → `conflict`. */
  async update(id: string, set: Partial<Omit<User, 'id' | 'created_at'>>, unset: Array<keyof User> = []): Promise<User | null> {
    const update: Record<string, unknown> = { $set: { ...set, updated_at: new Date() } };
    if (unset.length > 0) update['$unset'] = Object.fromEntries(unset.map((k) => [k, '']));
    const doc = await conflictOnDuplicate(
      () => this.collection.findOneAndUpdate({ _id: id }, update, { returnDocument: 'after' }),
      'Resource already exists.',
    );
    return doc ? toUser(doc) : null;
  }

  /** Points the user at a new avatar in one atomic update; returns the previous avatar id, if any. */
  async swapAvatar(id: string, avatarId: string, avatarUrl: string): Promise<{ previous?: string } | null> {
    const before = await this.collection.findOneAndUpdate(
      { _id: id },
      { $set: { avatar_id: avatarId, avatar_url: avatarUrl, updated_at: new Date() } },
      { returnDocument: 'before' },
    );
    if (!before) return null;
    return before.avatar_id ? { previous: before.avatar_id } : {};
  }

  /** Hosts having a search term that starts with `prefix` (matched literally, pass it lower-cased), ordered by username. */
  async searchHosts(prefix: string, skip: number, limit: number): Promise<{ items: User[]; total: number }> {
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const filter = { role: 'host' as const, search_terms: { $regex: `^${escaped}` } };
    const [docs, total] = await Promise.all([
      this.collection.find(filter).sort({ username: 1, _id: 1 }).skip(skip).limit(limit).toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items: docs.map(toUser), total };
  }
}
