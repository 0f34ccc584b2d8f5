import type { EntityManager } from '@mikro-orm/postgresql';
import { hashPassword } from '../auth/secrets.js';
import type { Role } from '../auth/role.js';
import { ConflictError } from '../shared/errors.js';
import { isUniqueViolation } from '../shared/db-errors.js';
import * as validate from '../shared/validate.js';
import { User } from './user.entity.js';

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
  readonly password: string | null;
}

/** Validates (and normalises) the fields every account has. */
export function validateAccount(fields: AccountFields): ValidAccountFields {
  return {
    firstName: validate.requiredName('firstName', fields.firstName),
    lastName: validate.requiredName('lastName', fields.lastName),
    email: validate.email('email', fields.email),
    password: fields.password == null ? null : validate.password('password', fields.password),
  };
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

/** Inserts a user inside the caller's transaction. */
export async function insertUser(
  em: EntityManager,
  fields: ValidAccountFields,
  role: Role,
  at: Date,
): Promise<User> {
  await assertEmailFree(em, fields.email);
  const passwordHash = fields.password === null ? null : await hashPassword(fields.password);
  const user = em.create(User, {
    email: fields.email,
    firstName: fields.firstName,
    lastName: fields.lastName,
    role,
    passwordHash,
    createdAt: at,
  });
  await em.flush();
  return user;
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
