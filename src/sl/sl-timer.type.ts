import { Field, Int, ObjectType } from 'type-graphql';
import { SlKind } from './sl-kind.js';

// Ticks carry thousands of these a second: plain properties, read without type-graphql's per-field
// wrapper (simpleResolvers also skips field-level auth and middleware, which these fields have none of).
@ObjectType({
  description: "A dialog's running SL clock: started when the dialog began waiting for an operator reply.",
  simpleResolvers: true,
})
export class SlTimer {
  @Field(() => SlKind, { description: 'which target the clock measures' })
  kind!: SlKind;

  @Field(() => Date, { description: 'when the clock started' })
  startedAt!: Date;

  @Field(() => Date, { description: "startedAt plus the target of the dialog's group (or the server default)" })
  deadline!: Date;

  @Field(() => Int, { description: 'milliseconds to the deadline at the time of reading; negative when overdue' })
  remainingMs!: number;

  @Field(() => Boolean, { description: 'true once the deadline has passed with no reply' })
  breached!: boolean;
}

/** The running clock as seen at `now`, or null when the dialog waits for no reply. */
export function slTimerAt(
  clock: { kind: SlKind | null; startedAt: Date | null; deadline: Date | null },
  now: Date,
): SlTimer | null {
  if (clock.kind === null || clock.startedAt === null || clock.deadline === null) return null;
  const remainingMs = clock.deadline.getTime() - now.getTime();
  // Int is 32-bit; clamp absurd values instead of failing the whole response.
  const clamped = Math.max(-2_147_483_648, Math.min(2_147_483_647, remainingMs));
  return {
    kind: clock.kind,
    startedAt: clock.startedAt,
    deadline: clock.deadline,
    remainingMs: clamped,
    breached: remainingMs < 0,
  };
}
