import { AppError, validationError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import type { UsersRepository } from '../../repositories/users.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type PasswordHasher } from '../auth/passwords.js';

/**
 * The operator's `create-admin` action (like Django's createsuperuser): creates an admin with a
 * verified email, or promotes the existing account with that email to `admin` and sets its
 * password. Returns what happened; never prints or returns the password or hash.
 */
export async function createOrPromoteAdmin(deps: { users: UsersRepository; passwords: PasswordHasher }, email: string, password: string, now: Date): Promise<{ id: string; action: 'created' | 'promoted' }> {
  const address = email.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) throw validationError({ email: 'must be an email address' });
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw validationError({ password: `must be ${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters` });
  }
  const passwordHash = await deps.passwords.hash(password);
  const existing = await deps.users.findByEmail(address);
  if (existing) {
    await deps.users.collection.updateOne({ _id: existing.id }, { $set: { role: 'admin', password_hash: passwordHash, email_verified: true, updated_at: now } });
    return { id: existing.id, action: 'promoted' };
  }
  const id = newId();
  try {
    await deps.users.create({ id, email: address, email_verified: true, password_hash: passwordHash, display_name: 'Administrator', role: 'admin', created_at: now, updated_at: now });
  } catch (err) {
    if (err instanceof AppError && err.code === 'conflict') return createOrPromoteAdmin(deps, email, password, now);
    throw err;
  }
  return { id, action: 'created' };
}
