import { Field, ID, ObjectType } from 'type-graphql';
import { User } from '../users/user.entity.js';
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
