import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../context.js';
import { ApiToken, ApiTokenPayload, AuthPayload, ViewerInfo } from './auth.types.js';
import { Role } from './role.js';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, {
    description:
      'no token needed: opens a session. Wrong email or password: UNAUTHENTICATED (the same for both); after too many failures per email or client address, TOO_MANY_REQUESTS with extensions.retryAfterSec, even for the right password',
  })
  async login(
    @Arg('email', () => String, { description: "the account's email (case-insensitive)" }) email: string,
    @Arg('password', () => String, { description: "the account's password" }) password: string,
    @Ctx() context: Context,
  ): Promise<AuthPayload> {
    const payload = await context.services.auth.login(context.em, email, password, context.clientAddress);
    context.signedInUserId = payload.user.id;
    return payload;
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      "ends the caller's session and closes its WebSockets on every instance; an ONLINE operator goes OFFLINE and their dialogs are routed again. False when the caller has no session to end (API tokens, ADMIN_TOKEN)",
  })
  logout(@Ctx() { em, services, viewer }: Context): Promise<boolean> {
    return services.auth.logout(em, viewer!);
  }

  @Authorized()
  @Query(() => ViewerInfo, { description: 'who is calling, for every kind of token' })
  viewer(@Ctx() { em, services, viewer }: Context): Promise<ViewerInfo> {
    return services.auth.describe(em, viewer!);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApiTokenPayload, {
    description: 'ADMIN: a token for scripts and bot runtimes; the secret is shown once, in this answer',
  })
  createApiToken(
    @Arg('name', () => String, { description: 'what the token is for, 1 to 200 characters' }) name: string,
    @Arg('role', () => Role, { description: 'what the token may do (usually INTEGRATION for a bot runtime)' }) role: Role,
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
  @Mutation(() => ApiToken, {
    description:
      'ADMIN: the token is refused at once by the instance that answers, and by the others as the event log delivers the revocation (normally within milliseconds); its WebSockets are closed',
  })
  revokeApiToken(
    @Arg('id', () => ID, { description: 'the API token (from apiTokens); NOT_FOUND if unknown' }) id: string,
    @Ctx() { em, services }: Context,
  ): Promise<ApiToken> {
    return services.apiTokens.revoke(em, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: "ADMIN: sets a user's password and ends their sessions" })
  setPassword(
    @Arg('userId', () => ID, { description: 'the account; NOT_FOUND if unknown' }) userId: string,
    @Arg('password', () => String, { description: "10 to 1,024 characters, not the account's email" }) password: string,
    @Ctx() { em, services }: Context,
  ): Promise<boolean> {
    return services.passwords.set(em, userId, password);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      "the caller's own password; other sessions of the caller end. Needs a login session (FORBIDDEN for API tokens and ADMIN_TOKEN); throttled like login",
  })
  changePassword(
    @Arg('currentPassword', () => String, {
      description: 'must match (BAD_USER_INPUT otherwise); a wrong one counts as a failed login',
    })
    currentPassword: string,
    @Arg('newPassword', () => String, { description: "10 to 1,024 characters, not the account's email, not the current one" })
    newPassword: string,
    @Ctx() { em, services, viewer, clientAddress }: Context,
  ): Promise<boolean> {
    return services.passwords.change(em, viewer!, currentPassword, newPassword, clientAddress);
  }
}
