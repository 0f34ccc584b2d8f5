import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { UnauthenticatedError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import { readCredentials, readUsers, type UserRecord } from '../users/user-record.js';
import { touchOperatorOfUser } from '../operators/operator-record.js';
import type { PresenceService } from '../operators/presence.service.js';
import { TokenKind } from './auth-token.entity.js';
import { insertToken, readToken } from './token-record.js';
import { ApiToken, ViewerInfo } from './auth.types.js';
import { lookupToken } from './authenticate.js';
import type { LoginThrottle } from './login-throttle.js';
import { decoyPasswordHash, generateToken, tokenHash, tokenHashesEqual, verifyPassword } from './secrets.js';
import { Role } from './role.js';
import { ViewerCache } from './viewer-cache.js';
import type { Viewer } from './viewer.js';

export interface SessionOptions {
  readonly adminToken: string | undefined;
  readonly sessionTtlSec: number;
}

const ADMIN_VIEWER: Viewer = { role: Role.ADMIN, tokenId: null, userId: null, operatorId: null };

/** Logins, logouts and login sessions: who a token is, and how long a session lives. */
export class AuthService {
  /** Who recently seen tokens are, on this process; the app evicts from it on committed changes. */
  readonly viewers: ViewerCache;
  /** ADMIN_TOKEN's digest, compared with each bearer token's in constant time. */
  private readonly adminTokenHash: string | null;

  constructor(
    private readonly clock: Clock,
    private readonly presence: PresenceService,
    private readonly throttle: LoginThrottle,
    private readonly options: SessionOptions,
    tokenAnswered?: (from: 'cache' | 'database') => void,
  ) {
    this.viewers = new ViewerCache(tokenAnswered);
    this.adminTokenHash = options.adminToken === undefined ? null : tokenHash(options.adminToken);
  }

  /**
   * The caller a bearer token stands for, or null (see `lookupToken`). ADMIN_TOKEN needs no
   * statement; other tokens are answered from `viewers` until their next touch is due. `rootEm`
   * is forked only when the database must be asked.
   */
  authenticate(rootEm: EntityManager, token: string | undefined): Promise<Viewer | null> {
    if (!token) return Promise.resolve(null);
    const hash = tokenHash(token);
    if (this.adminTokenHash !== null && tokenHashesEqual(hash, this.adminTokenHash)) return Promise.resolve(ADMIN_VIEWER);
    const now = this.clock.now();
    const { sessionTtlSec } = this.options;
    return this.viewers.resolve(hash, now, () => lookupToken(rootEm.fork(), hash, { now, sessionTtlSec }));
  }

  /**
   * Email + password → a session token. The same error, after the same argon2 work, for an
   * unknown email and a wrong password. Throttled per email and per client address.
   */
  async login(
    em: EntityManager,
    email: string,
    password: string,
    clientAddress: string | null,
  ): Promise<{ token: string; user: UserRecord }> {
    await this.throttle.attempt(email, clientAddress);
    const account = await readCredentials(em, { email: email.trim().toLowerCase() });
    const ok = await verifyPassword(account?.passwordHash ?? (await decoyPasswordHash()), password);
    if (!account || !account.passwordHash || !ok) throw new UnauthenticatedError('Invalid email or password');
    const { user } = account;
    const token = generateToken();
    await inTransaction(em, async (tx) => {
      const now = this.clock.now();
      await insertToken(tx, {
        kind: TokenKind.SESSION,
        role: user.role,
        userId: user.id,
        tokenHash: tokenHash(token),
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(now.getTime() + this.options.sessionTtlSec * 1000),
      });
      // Logging in counts as activity for auto-logout.
      await touchOperatorOfUser(tx, user.id, now);
    });
    await this.throttle.succeeded(email, clientAddress);
    return { token, user };
  }

  /**
   * Ends the caller's session; an operator whose last session it was goes OFFLINE, so their
   * dialogs move on (PresenceService.logout). False when the caller holds no session.
   */
  logout(em: EntityManager, viewer: Viewer): Promise<boolean> {
    return this.presence.logout(em, viewer);
  }

  /** The caller as the `viewer` query shows it: their user or API token, and a session's end. */
  async describe(em: EntityManager, viewer: Viewer): Promise<ViewerInfo> {
    const token = viewer.tokenId !== null ? await readToken(em, viewer.tokenId) : null;
    const [user] = viewer.userId !== null ? await readUsers(em, [viewer.userId]) : [];
    return Object.assign(new ViewerInfo(), {
      role: viewer.role,
      user: user ?? null,
      apiToken: token?.kind === TokenKind.API ? ApiToken.of(token) : null,
      expiresAt: token?.kind === TokenKind.SESSION ? token.expiresAt : null,
    });
  }

  /** Users holding a session past its expiry: a hint for PresenceService.endExpiredSessions, which ends them. */
  async usersWithExpiredSessions(em: EntityManager, limit = 500): Promise<string[]> {
    const rows = await em.execute<Array<{ user_id: string }>>(
      `select user_id from auth_tokens
        where kind = 'SESSION' and revoked_at is null and expires_at <= ?
        group by user_id order by min(expires_at) limit ?`,
      [this.clock.now(), limit],
    );
    return rows.map((r) => r.user_id);
  }
}
