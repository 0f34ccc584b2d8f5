import { Field, ID, ObjectType } from 'type-graphql';
import { User } from '../users/user.entity.js';
import type { AuthToken } from './auth-token.entity.js';
import { Role } from './role.js';

@ObjectType()
export class AuthPayload {
  @Field(() => String)
  token!: string;

  @Field(() => User)
  user!: User;
}

@ObjectType()
export class ApiTokenPayload {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => String, { description: 'shown once' })
  token!: string;
}

/** An API token as administrators see it: never the secret, which only its hash could give. */
@ObjectType('ApiToken')
export class ApiToken {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'coarse: updated at most once a minute' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  static of(row: AuthToken): ApiToken {
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
  @Field(() => Role)
  role!: Role;

  @Field(() => User, { nullable: true, description: 'the logged-in user; null for API tokens and ADMIN_TOKEN' })
  user!: User | null;

  @Field(() => ApiToken, { nullable: true, description: 'the API token used; null otherwise' })
  apiToken!: ApiToken | null;

  @Field(() => Date, {
    nullable: true,
    description: 'when this session ends unless renewed by use; null for tokens that do not expire',
  })
  expiresAt!: Date | null;
}
