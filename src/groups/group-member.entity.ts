import { Entity, ManyToOne, PrimaryKeyProp, Property, type Rel } from '@mikro-orm/core';
import { Group } from './group.entity.js';
import { Operator } from '../operators/operator.entity.js';

/** Membership of an operator in a group (many-to-many, editable from both sides). */
@Entity({ tableName: 'group_members' })
export class GroupMember {
  [PrimaryKeyProp]?: ['group', 'operator'];

  @ManyToOne(() => Group, { primary: true, deleteRule: 'cascade' })
  group!: Rel<Group>;

  @ManyToOne(() => Operator, { primary: true, deleteRule: 'cascade' })
  operator!: Rel<Operator>;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
