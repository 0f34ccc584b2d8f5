import { Field, ID, ObjectType } from 'type-graphql';
import { User } from '../users/user.entity.js';
import type { UserRecord } from '../users/user-record.js';
import type { TokenRecord } from './token-record.js';
import { Role } from './role.js';

@ObjectType({ description: 'The answer to a successful login.' })
export class AuthPayload {
  @Field(() => String, {
    description:
      'the session token: send it as `Authorization: Bearer <token>` (and in connectionParams on WebSocket); valid until logout, auto-logout or SESSION_TTL_SEC without use',
  })
  token!: string;

  @Field(() => User, { description: 'the account that logged in' })
  user!: UserRecord;
}

@ObjectType({ description: 'A new API token, with its secret.' })
export class ApiTokenPayload {
  @Field(() => ID, { description: 'the token id, for apiTokens and revokeApiToken' })
  id!: string;

  @Field(() => String, { description: 'the name given at creation' })
  name!: string;

  @Field(() => Role, { description: 'what the token may do; it never expires, until revoked' })
  role!: Role;

  @Field(() => String, { description: 'shown once' })
  token!: string;
}

/** An API token as administrators see it: never the secret, which only its hash could give. */
@ObjectType('ApiToken', {
  description: 'An API token as an ADMIN sees it in apiTokens: never the secret, which was shown once at creation.',
})
export class ApiToken {
  @Field(() => ID, { description: 'the token id, for revokeApiToken' })
  id!: string;

  @Field(() => String, { description: 'the name given at creation' })
  name!: string;

  @Field(() => Role, { description: 'what the token may do' })
  role!: Role;

  @Field(() => Date, { description: 'when it was created' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'coarse: updated at most once a minute' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'when it was revoked; null while it works' })
  revokedAt!: Date | null;

  static of(row: TokenRecord): ApiToken {
    return Object.assign(new ApiToken(), {
      id: row.id,
      name: row.name ?? '',
      role: row.role,
      createdAt: row.createdAt,
      lastUsedAt: row.lastUsedAt,
      revokedAt: row.revokedAt,
    });
  }
}

@ObjectType('Viewer', { description: "Who is calling: a user's session, an API token, or the ADMIN_TOKEN." })
export class ViewerInfo {
  @Field(() => Role, { description: "the caller's role: the user's, the API token's, or ADMIN for ADMIN_TOKEN" })
  role!: Role;

  @Field(() => User, { nullable: true, description: 'the logged-in user; null for API tokens and ADMIN_TOKEN' })
  user!: UserRecord | null;

  @Field(() => ApiToken, { nullable: true, description: 'the API token used; null otherwise' })
  apiToken!: ApiToken | null;

  @Field(() => Date, {
    nullable: true,
    description: 'when this session ends unless renewed by use; null for tokens that do not expire',
  })
  expiresAt!: Date | null;
}
