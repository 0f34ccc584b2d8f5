import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../auth/role.js';
import type { Clock } from '../shared/clock.js';
import { inTransaction } from '../shared/transaction.js';
import { isId } from '../shared/validate.js';
import type { OperatorService } from '../operators/operator.service.js';
import { insertUser, validateAccount, withEmailConflict } from './accounts.js';
import { User } from './user.entity.js';
import type { CreateUserInput } from './user.inputs.js';

/** User accounts of every role. */
export class UserService {
  constructor(
    private readonly clock: Clock,
    private readonly operators: OperatorService,
  ) {}

  list(em: EntityManager): Promise<User[]> {
    return em.find(User, { deletedAt: null }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  async find(em: EntityManager, id: string): Promise<User | null> {
    if (!isId(id)) return null;
    return em.findOne(User, { id, deletedAt: null });
  }

  /** Role OPERATOR also creates the operator profile, with the defaults. */
  async create(em: EntityManager, input: CreateUserInput): Promise<User> {
    const account = validateAccount(input);
    await account.passwordHash; // before the transaction, so it holds no locks while hashing
    return withEmailConflict(() =>
      inTransaction(em, async (tx) => {
        const now = this.clock.now();
        const user = await insertUser(tx, account, input.role, now);
        if (input.role === Role.OPERATOR) await this.operators.insertProfile(tx, user, now);
        return user;
      }),
    );
  }
}
