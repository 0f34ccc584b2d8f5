import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { Context } from '../context.js';
import { ApiTokenPayload, AuthPayload } from './auth.types.js';
import { Role } from './role.js';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload)
  login(
    @Arg('email', () => String) email: string,
    @Arg('password', () => String) password: string,
    @Ctx() { em, services }: Context,
  ): Promise<AuthPayload> {
    return services.auth.login(em, email, password);
  }

  @Authorized()
  @Mutation(() => Boolean)
  logout(@Ctx() { em, services, viewer }: Context): Promise<boolean> {
    return services.auth.logout(em, viewer!);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApiTokenPayload)
  createApiToken(
    @Arg('name', () => String) name: string,
    @Arg('role', () => Role) role: Role,
    @Ctx() { em, services }: Context,
  ): Promise<ApiTokenPayload> {
    return services.auth.createApiToken(em, name, role);
  }
}
