import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Group } from '../groups/group.entity.js';

/** A bot scenario; its start block names the group that takes dialogs when the bot fails. */
@ObjectType()
@Entity({ tableName: 'scenarios' })
export class Scenario {
  [OptionalProps]?: 'createdAt' | 'fallbackGroup';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @ManyToOne(() => Group, { nullable: true, deleteRule: 'set null' })
  fallbackGroup: Rel<Group> | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
