import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { GroupMember } from './groups/group-member.entity.js';
import { Group } from './groups/group.entity.js';
import { Operator } from './operators/operator.entity.js';
import { User } from './users/user.entity.js';
import { Scenario } from './scenarios/scenario.entity.js';
import { Message } from './dialogs/message.entity.js';
import { DialogTransfer } from './routing/dialog-transfer.entity.js';
import { Dialog } from './dialogs/dialog.entity.js';
import { listLoader, rowLoader } from './shared/loader.js';

/**
 * Request-scoped DataLoaders for every relation a list can fan out over. By-id loaders also
 * find soft-deleted rows, so history (a dialog's former group) still resolves.
 */
export class Loaders {
  readonly groupById;
  readonly operatorById;
  readonly userById;
  readonly operatorByUserId;
  /** Live operators of each group, oldest member first. */
  readonly operatorsOfGroup;
  /** Live groups of each operator, by name. */
  readonly groupsOfOperator;
  readonly scenarioById;
  readonly dialogById;
  readonly messageById;
  /** Messages of each dialog, oldest first. */
  readonly messagesOfDialog;
  /** Routing decisions of each dialog, oldest first. */
  readonly transfersOfDialog;

  constructor(em: EntityManager) {
    this.groupById = rowLoader((ids) => em.find(Group, { id: { $in: [...ids] } }), (g) => g.id);
    this.operatorById = rowLoader((ids) => em.find(Operator, { id: { $in: [...ids] } }), (o) => o.id);
    this.userById = rowLoader((ids) => em.find(User, { id: { $in: [...ids] } }), (u) => u.id);
    this.operatorByUserId = rowLoader(
      (ids) => em.find(Operator, { user: { $in: [...ids] }, deletedAt: null }),
      (o) => o.user.id,
    );
    this.operatorsOfGroup = listLoader(
      (ids) =>
        em.find(
          GroupMember,
          { group: { $in: [...ids] }, operator: { deletedAt: null } },
          { populate: ['operator'], orderBy: { createdAt: 'asc', operator: { id: 'asc' } } },
        ),
      (m) => m.group.id,
      (m) => m.operator,
    );
    this.groupsOfOperator = listLoader(
      (ids) =>
        em.find(
          GroupMember,
          { operator: { $in: [...ids] }, group: { deletedAt: null } },
          { populate: ['group'], orderBy: { group: { name: 'asc' } } },
        ),
      (m) => m.operator.id,
      (m) => m.group,
    );
    this.scenarioById = rowLoader((ids) => em.find(Scenario, { id: { $in: [...ids] } }), (s) => s.id);
    this.dialogById = rowLoader((ids) => em.find(Dialog, { id: { $in: [...ids] } }), (d) => d.id);
    this.messageById = rowLoader((ids) => em.find(Message, { id: { $in: [...ids] } }), (m) => m.id);
    this.messagesOfDialog = listLoader(
      (ids) => em.find(Message, { dialog: { $in: [...ids] } }, { orderBy: { seq: 'asc' } }),
      (m) => m.dialog.id,
      (m) => m,
    );
    this.transfersOfDialog = listLoader(
      (ids) => em.find(DialogTransfer, { dialog: { $in: [...ids] } }, { orderBy: { seq: 'asc' } }),
      (t) => t.dialog.id,
      (t) => t,
    );
  }

  /** Forget everything loaded; used after each mutation so its result is read fresh. */
  clearAll(): void {
    for (const value of Object.values(this)) if (value instanceof DataLoader) value.clearAll();
  }
}
