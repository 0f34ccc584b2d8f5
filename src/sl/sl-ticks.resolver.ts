import { Arg, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { BadInputError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../shared/errors.js';
import { SlTickBatch } from './sl-tick.types.js';
import { DEFAULT_TICK_INTERVAL_MS, MIN_TICK_INTERVAL_MS, type TickScope } from './sl-ticker.js';

const MAX_TICK_INTERVAL_MS = 60_000;
/** How often an operator's group memberships are re-read for their tick scope. */
const MEMBERSHIP_REFRESH_MS = 10_000;

type Args = { groupId?: string | null; intervalMs?: number | null };

/** Latest-only delivery: a slow client gets the newest batch, never a backlog. */
function latestOnly(register: (push: (batch: SlTickBatch) => void) => () => void): AsyncIterableIterator<SlTickBatch> {
  let pending: SlTickBatch | null = null;
  let wake: (() => void) | null = null;
  let done = false;
  const remove = register((batch) => {
    pending = batch;
    wake?.();
  });
  const finish = (): IteratorResult<SlTickBatch> => {
    done = true;
    remove();
    wake?.();
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<SlTickBatch> = {
    async next() {
      while (!done) {
        if (pending) {
          const value = pending;
          pending = null;
          return { done: false, value };
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      return { done: true, value: undefined };
    },
    async return() {
      return finish();
    },
    async throw(error?: unknown) {
      finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Which clocks a caller may see: the same rules as the dialog subscriptions. */
interface Scope {
  readonly key: string;
  readonly scope: TickScope;
  readonly groupId: string | null;
  readonly stop?: () => void;
}

async function scopeFor(context: Context, groupId: string | null): Promise<Scope> {
  const viewer = context.viewer;
  if (!viewer) throw new UnauthenticatedError();
  const { services } = context;
  const em = context.fork();
  if (groupId !== null && !(await services.groups.find(em, groupId))) throw new NotFoundError('Group', groupId, 'groupId');
  if (viewer.role !== Role.OPERATOR) {
    return groupId === null
      ? { key: 'all', scope: () => true, groupId: null }
      : { key: `group:${groupId}`, scope: (c) => c.groupId === groupId, groupId };
  }
  const operatorId = viewer.operatorId;
  if (!operatorId) throw new ForbiddenError('slTicks needs an operator session');
  const readGroups = async (): Promise<Set<string>> =>
    new Set(
      (
        await em
          .fork()
          .execute<Array<{ group_id: string }>>('select group_id from group_members where operator_id = ?', [operatorId])
      ).map((r) => r.group_id),
    );
  let groups = await readGroups();
  if (groupId !== null && !groups.has(groupId)) throw new ForbiddenError('Operators follow only their own groups');
  const refresh = setInterval(() => {
    readGroups()
      .then((g) => (groups = g))
      // A failed refresh keeps the last membership; the next one tries again.
      .catch(() => undefined);
  }, MEMBERSHIP_REFRESH_MS);
  refresh.unref();
  const scope: TickScope =
    groupId !== null
      ? (c) => c.groupId === groupId && groups.has(groupId)
      : (c) => c.operatorId === operatorId || c.operatorId === null || (c.groupId !== null && groups.has(c.groupId));
  // Per operator: their memberships decide what they see.
  return { key: `operator:${operatorId}:${groupId ?? '*'}`, scope, groupId, stop: () => clearInterval(refresh) };
}

@Resolver()
export class SlTicksResolver {
  @Subscription(() => SlTickBatch, {
    description: 'the running SL timers in scope, every intervalMs (default 1000)',
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, Args, Context>) => {
      const intervalMs = args.intervalMs ?? DEFAULT_TICK_INTERVAL_MS;
      if (!Number.isInteger(intervalMs) || intervalMs < MIN_TICK_INTERVAL_MS || intervalMs > MAX_TICK_INTERVAL_MS) {
        throw new BadInputError(
          'intervalMs',
          `intervalMs must be an integer in ${MIN_TICK_INTERVAL_MS}..${MAX_TICK_INTERVAL_MS}`,
        );
      }
      const { key, scope, groupId, stop } = await scopeFor(context, args.groupId ?? null);
      return latestOnly((push) => {
        const remove = context.services.slTicker.add(key, scope, intervalMs, push, groupId);
        return () => {
          remove();
          stop?.();
        };
      });
    },
  })
  slTicks(
    @Root() batch: SlTickBatch,
    @Arg('groupId', () => ID, {
      nullable: true,
      description:
        "only this group's dialogs (an OPERATOR: one of their own groups); omitted: every clock the caller may see (for an OPERATOR: their dialogs, Help, and their groups')",
    })
    _groupId: string | null,
    @Arg('intervalMs', () => Int, {
      nullable: true,
      description: 'milliseconds between batches, 250 to 60,000 (default 1000); otherwise BAD_USER_INPUT',
    })
    _intervalMs: number | null,
  ): SlTickBatch {
    return batch;
  }
}
