import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { Context } from '../context.js';
import { ApiTokenPayload, AuthPayload } from './auth.types.js';
import { Role } from './role.js';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload)
  async login(
    @Arg('email', () => String) email: string,
    @Arg('password', () => String) password: string,
    @Ctx() context: Context,
  ): Promise<AuthPayload> {
    const payload = await context.services.auth.login(context.em, email, password);
    context.signedInUserId = payload.user.id;
    return payload;
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
