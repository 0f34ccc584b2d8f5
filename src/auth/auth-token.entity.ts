import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Role } from './role.js';
import { User } from '../users/user.entity.js';

export enum TokenKind {
  /** Issued by createApiToken for scripts and bot runtimes. */
  API = 'API',
  /** Issued by login; ended by logout or auto-logout. */
  SESSION = 'SESSION',
}

/** A bearer token. Only its SHA-256 is stored; the token itself is shown once. */
@Entity({ tableName: 'auth_tokens' })
export class AuthToken {
  [OptionalProps]?: 'createdAt' | 'revokedAt' | 'user' | 'name' | 'expiresAt' | 'lastUsedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Enum({ items: () => TokenKind, type: 'text' })
  kind!: TokenKind;

  @Property({ type: 'text', nullable: true })
  name: string | null = null;

  @Enum({ items: () => Role, type: 'text' })
  role!: Role;

  @ManyToOne(() => User, { nullable: true })
  user: Rel<User> | null = null;

  @Property({ type: 'text', unique: true })
  tokenHash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  /** Sessions only: the end unless used again (sliding). API tokens do not expire. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  expiresAt: Date | null = null;

  /** Coarse: written at most once a minute, never on every request. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastUsedAt: Date | null = null;
}
