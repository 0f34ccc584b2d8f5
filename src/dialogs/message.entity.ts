import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Operator } from '../operators/operator.entity.js';
import { MessageAuthor } from './dialog-enums.js';
import { Dialog } from './dialog.entity.js';

@ObjectType()
@Entity({ tableName: 'messages' })
export class Message {
  [OptionalProps]?: 'operator' | 'createdAt' | 'seq';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Dialog)
  dialog!: Rel<Dialog>;

  /** Insertion order (identity column, read-only here): timestamps can tie. */
  @Property({ type: 'bigint', formula: (table) => `${table.alias}.seq`, lazy: false })
  seq?: string;

  @Field(() => MessageAuthor)
  @Enum({ items: () => MessageAuthor, type: 'text' })
  author!: MessageAuthor;

  @Field(() => String)
  @Property({ type: 'text' })
  text!: string;

  @ManyToOne(() => Operator, { nullable: true })
  operator: Rel<Operator> | null = null;

  @Field(() => Date)
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
