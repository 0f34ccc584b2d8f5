import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../context.js';
import { ApiToken, ApiTokenPayload, AuthPayload, ViewerInfo } from './auth.types.js';
import { Role } from './role.js';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload)
  async login(
    @Arg('email', () => String) email: string,
    @Arg('password', () => String) password: string,
    @Ctx() context: Context,
  ): Promise<AuthPayload> {
    const payload = await context.services.auth.login(context.em, email, password, context.clientAddress);
    context.signedInUserId = payload.user.id;
    return payload;
  }

  @Authorized()
  @Mutation(() => Boolean)
  logout(@Ctx() { em, services, viewer }: Context): Promise<boolean> {
    return services.auth.logout(em, viewer!);
  }

  @Authorized()
  @Query(() => ViewerInfo)
  viewer(@Ctx() { em, services, viewer }: Context): Promise<ViewerInfo> {
    return services.auth.describe(em, viewer!);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApiTokenPayload)
  createApiToken(
    @Arg('name', () => String) name: string,
    @Arg('role', () => Role) role: Role,
    @Ctx() { em, services }: Context,
  ): Promise<ApiTokenPayload> {
    return services.apiTokens.create(em, name, role);
  }

  @Authorized(Role.ADMIN)
  @Query(() => [ApiToken], { description: 'ADMIN: every API token, newest first (the secret itself is never shown again)' })
  apiTokens(@Ctx() { em, services }: Context): Promise<ApiToken[]> {
    return services.apiTokens.list(em);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApiToken, { description: 'ADMIN: takes effect at once on every instance; its WebSockets are closed' })
  revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() { em, services }: Context): Promise<ApiToken> {
    return services.apiTokens.revoke(em, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: "ADMIN: sets a user's password and ends their sessions" })
  setPassword(
    @Arg('userId', () => ID) userId: string,
    @Arg('password', () => String) password: string,
    @Ctx() { em, services }: Context,
  ): Promise<boolean> {
    return services.passwords.set(em, userId, password);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "the caller's own password; other sessions of the caller end" })
  changePassword(
    @Arg('currentPassword', () => String) currentPassword: string,
    @Arg('newPassword', () => String) newPassword: string,
    @Ctx() { em, services, viewer, clientAddress }: Context,
  ): Promise<boolean> {
    return services.passwords.change(em, viewer!, currentPassword, newPassword, clientAddress);
  }
}
