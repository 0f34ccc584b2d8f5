import type { EntityManager } from '@mikro-orm/postgresql';
import { pgDate } from '../shared/pg-time.js';
import { rowWriter } from '../shared/sql.js';
import { TokenKind } from './auth-token.entity.js';
import type { Role } from './role.js';

/** A session or API token, as read from its row; the hash stays out of it. */
export interface TokenRecord {
  readonly id: string;
  readonly kind: TokenKind;
  readonly name: string | null;
  readonly role: Role;
  readonly userId: string | null;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  readonly expiresAt: Date | null;
  readonly lastUsedAt: Date | null;
}

const TOKEN_COLUMNS = 't.id, t.kind, t.name, t.role, t.user_id, t.created_at, t.revoked_at, t.expires_at, t.last_used_at';

interface TokenRow {
  readonly id: string;
  readonly kind: string;
  readonly name: string | null;
  readonly role: string;
  readonly user_id: string | null;
  readonly created_at: string | Date;
  readonly revoked_at: string | Date | null;
  readonly expires_at: string | Date | null;
  readonly last_used_at: string | Date | null;
}

function tokenRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    kind: row.kind as TokenKind,
    name: row.name,
    role: row.role as Role,
    userId: row.user_id,
    createdAt: pgDate(row.created_at)!,
    revokedAt: pgDate(row.revoked_at),
    expiresAt: pgDate(row.expires_at),
    lastUsedAt: pgDate(row.last_used_at),
  };
}

/** The token `id` (its row locked FOR UPDATE when `lock`); null when there is none. */
export async function readToken(em: EntityManager, id: string, lock = false): Promise<TokenRecord | null> {
  const [row] = await em.execute<TokenRow[]>(
    `select ${TOKEN_COLUMNS} from auth_tokens t where t.id = ?${lock ? ' for update' : ''}`,
    [id],
  );
  return row ? tokenRecord(row) : null;
}

/** Every API token, revoked ones included, newest first. */
export async function listApiTokens(em: EntityManager): Promise<TokenRecord[]> {
  const rows = await em.execute<TokenRow[]>(
    `select ${TOKEN_COLUMNS} from auth_tokens t where t.kind = ? order by t.created_at desc, t.id desc`,
    [TokenKind.API],
  );
  return rows.map(tokenRecord);
}

/** What a new token's row is written from: its hash, never the token. */
export interface NewToken {
  readonly kind: TokenKind;
  readonly name?: string;
  readonly role: Role;
  readonly userId?: string;
  readonly tokenHash: string;
  readonly createdAt: Date;
  readonly expiresAt?: Date;
  readonly lastUsedAt?: Date;
}

const tokenRows = rowWriter<NewToken>('auth_tokens', {
  kind: 'kind',
  name: 'name',
  role: 'role',
  userId: 'user_id',
  tokenHash: 'token_hash',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  lastUsedAt: 'last_used_at',
});

/** Inserts a token; answers with its id. */
export function insertToken(em: EntityManager, token: NewToken): Promise<string> {
  return tokenRows.insert(em, token);
}

/** Marks the token `id` revoked at `at`. */
export async function revokeToken(em: EntityManager, id: string, at: Date): Promise<void> {
  await em.execute('update auth_tokens set revoked_at = ? where id = ?', [at, id]);
}
