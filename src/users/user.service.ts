import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../auth/role.js';
import { endSessions } from '../auth/sessions.js';
import type { EventSink } from '../events/domain-event.js';
import type { Clock } from '../shared/clock.js';
import { NotFoundError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import * as validate from '../shared/validate.js';
import { isId } from '../shared/validate.js';
import { readOperatorsOfUsers } from '../operators/operator-record.js';
import type { OperatorService } from '../operators/operator.service.js';
import { assertEmailFree, insertUser, validateAccount, withEmailConflict } from './accounts.js';
import { listUsers, readLiveUser, updateUser, type UserRecord } from './user-record.js';
import type { CreateUserInput, UpdateUserInput } from './user.inputs.js';

/** User accounts of every role. */
export class UserService {
  constructor(
    private readonly clock: Clock,
    private readonly operators: OperatorService,
    private readonly events: EventSink,
  ) {}

  list(em: EntityManager): Promise<UserRecord[]> {
    return listUsers(em);
  }

  async find(em: EntityManager, id: string): Promise<UserRecord | null> {
    return isId(id) ? readLiveUser(em, id) : null;
  }

  /** Role OPERATOR also creates the operator profile, with the defaults. */
  async create(em: EntityManager, input: CreateUserInput): Promise<UserRecord> {
    const account = validateAccount(input);
    await account.passwordHash; // before the transaction, so it holds no locks while hashing
    const userId = await withEmailConflict(() =>
      inTransaction(em, async (tx) => {
        const now = this.clock.now();
        const userId = await insertUser(tx, account, input.role, now);
        if (input.role === Role.OPERATOR) await this.operators.insertProfile(tx, userId, now);
        return userId;
      }),
    );
    return this.require(em, userId);
  }

  /** Email and names; a field left out (or null) keeps its value. The email stays unique. */
  async update(em: EntityManager, id: string, input: UpdateUserInput): Promise<UserRecord> {
    const [firstName, lastName, email] = validate.validateAll(
      () => (input.firstName == null ? undefined : validate.requiredName('firstName', input.firstName)),
      () => (input.lastName == null ? undefined : validate.requiredName('lastName', input.lastName)),
      () => (input.email == null ? undefined : validate.email('email', input.email)),
    );
    await withEmailConflict(() =>
      inTransaction(em, async (tx) => {
        const user = await this.require(tx, id, true);
        const newEmail = email !== undefined && email !== user.email ? email : undefined;
        if (newEmail !== undefined) await assertEmailFree(tx, newEmail, user.id);
        await updateUser(tx, user.id, { email: newEmail, firstName, lastName });
      }),
    );
    return this.require(em, id);
  }

  /**
   * Soft-deletes the account and ends its sessions. An operator's account goes the way
   * deleteOperator goes: offline first, so their dialogs are routed again.
   */
  async delete(em: EntityManager, id: string): Promise<string> {
    const user = await this.require(em, id);
    const [operator] = user.role === Role.OPERATOR ? await readOperatorsOfUsers(em, [user.id]) : [];
    if (operator) {
      await this.operators.delete(em, operator.id);
      return user.id;
    }
    return inTransaction(em, async (tx) => {
      const locked = await this.require(tx, id, true);
      const now = this.clock.now();
      await updateUser(tx, locked.id, { deletedAt: now });
      await endSessions(tx, this.events, locked.id, now);
      return locked.id;
    });
  }

  private async require(em: EntityManager, id: string, lock = false): Promise<UserRecord> {
    const user = isId(id) ? await readLiveUser(em, id, lock) : null;
    if (!user) throw new NotFoundError('User', id, 'id');
    return user;
  }
}
