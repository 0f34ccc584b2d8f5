import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Group } from '../groups/group.entity.js';

/** A bot scenario; its start block names the group that takes dialogs when the bot fails. */
@ObjectType({ description: 'A bot scenario. Its start block names the group that takes dialogs when the bot fails.' })
@Entity({ tableName: 'scenarios' })
export class Scenario {
  [OptionalProps]?: 'createdAt' | 'fallbackGroup' | 'deletedAt';

  @Field(() => ID, { description: 'the scenario id (a UUID)' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { description: 'as the bot platform calls it' })
  @Property({ type: 'text' })
  name!: string;

  @ManyToOne(() => Group, { nullable: true, deleteRule: 'set null' })
  fallbackGroup: Rel<Group> | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  /** Deleted scenarios leave the catalog; dialogs started from them keep referring to them. */
  @Field(() => Date, { nullable: true, description: 'set once deleted; dialogs keep referring to it' })
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deletedAt: Date | null = null;
}
