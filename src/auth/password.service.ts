import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventSink } from '../events/domain-event.js';
import type { PresenceService } from '../operators/presence.service.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import * as validate from '../shared/validate.js';
import { readCredentials, readLiveUser, updateUser } from '../users/user-record.js';
import type { LoginThrottle } from './login-throttle.js';
import { hashPassword, verifyPassword } from './secrets.js';
import { endSessions, type SessionSelection } from './sessions.js';
import type { Viewer } from './viewer.js';

/** Setting and changing passwords. A new password ends sessions opened with the old one. */
export class PasswordService {
  constructor(
    private readonly events: EventSink,
    private readonly presence: PresenceService,
    private readonly throttle: LoginThrottle,
  ) {}

  /** An administrator sets a user's password; all of the user's sessions end. */
  async set(em: EntityManager, userId: string, password: string): Promise<boolean> {
    const user = validate.isId(userId) ? await readLiveUser(em, userId) : null;
    if (!user) throw new NotFoundError('User', userId, 'userId');
    const hash = await hashPassword(validate.password('password', password, user.email));
    await this.store(em, user.id, hash, 'all');
    return true;
  }

  /**
   * The caller changes their own password, proving the current one (wrong guesses count
   * against the login limits); the caller's other sessions end, this one stays.
   */
  async change(
    em: EntityManager,
    viewer: Viewer,
    currentPassword: string,
    newPassword: string,
    clientAddress: string | null,
  ): Promise<boolean> {
    if (viewer.userId === null || viewer.tokenId === null) {
      throw new ForbiddenError('Only a logged-in user has a password to change');
    }
    const account = await readCredentials(em, { id: viewer.userId });
    if (!account) throw new NotFoundError('User', viewer.userId);
    const { user, passwordHash } = account;
    await this.throttle.attempt(user.email, clientAddress);
    const currentIsRight = passwordHash !== null && (await verifyPassword(passwordHash, currentPassword));
    if (currentIsRight) await this.throttle.succeeded(user.email, clientAddress);
    validate.validateAll(
      () => {
        if (!currentIsRight) throw new BadInputError('currentPassword', 'The current password is wrong');
      },
      () => {
        validate.password('newPassword', newPassword, user.email);
        if (newPassword === currentPassword)
          throw new BadInputError('newPassword', 'newPassword must differ from the current one');
      },
    );
    await this.store(em, user.id, await hashPassword(newPassword), { except: viewer.tokenId });
    return true;
  }

  /**
   * Hashed before the transaction, so no lock is held while argon2 works. An operator whose
   * sessions all end with it is logged out, as by the last one's logout.
   */
  private async store(em: EntityManager, userId: string, passwordHash: string, endWhich: SessionSelection): Promise<void> {
    await inTransaction(em, (tx) =>
      this.presence.endingSessions(tx, userId, async (now) => {
        const user = await readLiveUser(tx, userId, true);
        if (!user) throw new NotFoundError('User', userId, 'userId');
        await updateUser(tx, user.id, { passwordHash });
        return (await endSessions(tx, this.events, userId, now, endWhich)).length;
      }),
    );
  }
}
