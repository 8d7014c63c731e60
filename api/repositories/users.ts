import type { Collection, Db } from 'mongodb';
import type { Role } from '../../shared/roles.js';
import { conflictOnDuplicate } from './errors.js';

/** A weekly availability interval in the host's time zone; minutes from 00:00, `day` 0 = Sunday. */
export interface AvailabilityInterval {
  day: number;
  start: string;
  end: string;
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
}
