import type { EntityManager } from '@mikro-orm/postgresql';
import { hashPassword } from '../auth/secrets.js';
import type { Role } from '../auth/role.js';
import { ConflictError } from '../shared/errors.js';
import { isUniqueViolation } from '../shared/db-errors.js';
import * as validate from '../shared/validate.js';
import { insertUserRow } from './user-record.js';

export interface AccountFields {
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly password?: string | null;
}

export interface ValidAccountFields {
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  /** argon2id of the password (null: no password login), computed from validation on. */
  readonly passwordHash: Promise<string | null>;
}

/**
 * Validates (and normalises) the fields every account has, and starts hashing the password:
 * argon2 takes tens of milliseconds, which should pass before the transaction opens (await
 * `passwordHash` first), not while it holds locks.
 */
export function validateAccount(fields: AccountFields): ValidAccountFields {
  const [firstName, lastName, email, password] = validate.validateAll(
    () => validate.requiredName('firstName', fields.firstName),
    () => validate.requiredName('lastName', fields.lastName),
    () => validate.email('email', fields.email),
    () => (fields.password == null ? null : validate.password('password', fields.password, fields.email)),
  );
  const passwordHash = password === null ? Promise.resolve(null) : hashPassword(password);
  // Awaited by insertUser; if a later check fails first, the result is simply dropped.
  passwordHash.catch(() => undefined);
  return { firstName, lastName, email, passwordHash };
}

export async function assertEmailFree(em: EntityManager, email: string, exceptUserId?: string): Promise<void> {
  const taken = await em.execute<Array<{ id: string }>>(
    'select id from users where lower(email) = lower(?) and deleted_at is null',
    [email],
  );
  if (taken.some((row) => row.id !== exceptUserId)) {
    throw new ConflictError('email', `An account with email ${email} already exists`);
  }
}

/** Inserts a user inside the caller's transaction; answers with its id. */
export async function insertUser(em: EntityManager, fields: ValidAccountFields, role: Role, at: Date): Promise<string> {
  await assertEmailFree(em, fields.email);
  const passwordHash = await fields.passwordHash;
  return insertUserRow(em, {
    email: fields.email,
    firstName: fields.firstName,
    lastName: fields.lastName,
    role,
    passwordHash,
    createdAt: at,
  });
}

/** Maps a lost race on the unique email index to CONFLICT. */
export async function withEmailConflict<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'users_email_live_unique')) {
      throw new ConflictError('email', 'An account with this email already exists');
    }
    throw error;
  }
}
