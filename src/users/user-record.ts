import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../auth/role.js';
import { pgDate } from '../shared/pg-time.js';
import { rowWriter } from '../shared/sql.js';

/**
 * An account as the API answers with it (the GraphQL type `User`): a plain object built from its
 * row. The password hash stays out of it: only the code that checks or changes a password
 * selects it.
 */
export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly role: Role;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
}

/** The columns of `UserRow`, from users `u`. */
const USER_COLUMNS = 'u.id, u.email, u.first_name, u.last_name, u.role, u.created_at, u.deleted_at';

interface UserRow {
  readonly id: string;
  readonly email: string;
  readonly first_name: string;
  readonly last_name: string;
  readonly role: string;
  readonly created_at: string | Date;
  readonly deleted_at: string | Date | null;
}

function userRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    role: row.role as Role,
    createdAt: pgDate(row.created_at)!,
    deletedAt: pgDate(row.deleted_at),
  };
}

/** The users with these ids, deleted ones too (operators' history refers to them), in no order. */
export async function readUsers(em: EntityManager, ids: readonly string[]): Promise<UserRecord[]> {
  if (ids.length === 0) return [];
  return (await em.execute<UserRow[]>(`select ${USER_COLUMNS} from users u where u.id in (?)`, [ids])).map(userRecord);
}

/** The live user `id`, its row locked FOR UPDATE when `lock`; null when there is none. */
export async function readLiveUser(em: EntityManager, id: string, lock = false): Promise<UserRecord | null> {
  const [row] = await em.execute<UserRow[]>(
    `select ${USER_COLUMNS} from users u where u.id = ? and u.deleted_at is null${lock ? ' for update' : ''}`,
    [id],
  );
  return row ? userRecord(row) : null;
}

/** Every live account, oldest first. */
export async function listUsers(em: EntityManager): Promise<UserRecord[]> {
  const rows = await em.execute<UserRow[]>(
    `select ${USER_COLUMNS} from users u where u.deleted_at is null order by u.created_at, u.id`,
  );
  return rows.map(userRecord);
}

/** A live account with its password hash (null: no password login), for checking or changing a password. */
export interface Credentials {
  readonly user: UserRecord;
  readonly passwordHash: string | null;
}

/** The live account with this id or (lower-cased) email and its password hash; null when there is none. */
export async function readCredentials(em: EntityManager, by: { id: string } | { email: string }): Promise<Credentials | null> {
  const [row] = await em.execute<Array<UserRow & { password_hash: string | null }>>(
    `select ${USER_COLUMNS}, u.password_hash from users u where ${'id' in by ? 'u.id = ?' : 'u.email = ?'} and u.deleted_at is null`,
    ['id' in by ? by.id : by.email],
  );
  return row ? { user: userRecord(row), passwordHash: row.password_hash } : null;
}

/** What an account's row is written from. */
export interface UserFields extends Omit<UserRecord, 'id'> {
  /** argon2id; null: no password login. */
  readonly passwordHash: string | null;
}

const userRows = rowWriter<UserFields>('users', {
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  role: 'role',
  passwordHash: 'password_hash',
  createdAt: 'created_at',
  deletedAt: 'deleted_at',
});

/** Inserts an account; answers with its id. */
export function insertUserRow(em: EntityManager, fields: Omit<UserFields, 'deletedAt'>): Promise<string> {
  return userRows.insert(em, fields);
}

export const updateUser = userRows.update;
