import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Operator } from '../operators/operator.entity.js';
import { MessageAuthor } from './dialog-enums.js';
import { Dialog } from './dialog.entity.js';

@ObjectType({ description: 'One message of a dialog.' })
@Entity({ tableName: 'messages' })
export class Message {
  [OptionalProps]?: 'operator' | 'createdAt';

  @Field(() => ID, { description: 'the message id (a UUID)' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Dialog)
  dialog!: Rel<Dialog>;

  @Field(() => MessageAuthor, { description: 'who wrote it' })
  @Enum({ items: () => MessageAuthor, type: 'text' })
  author!: MessageAuthor;

  @Field(() => String, { description: 'as sent, 1 to 10,000 characters' })
  @Property({ type: 'text' })
  text!: string;

  @ManyToOne(() => Operator, { nullable: true })
  operator: Rel<Operator> | null = null;

  @Field(() => Date, { description: 'when it was posted' })
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
