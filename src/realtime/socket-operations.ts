import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { AppError, ErrorCode } from '../shared/errors.js';

/** Root fields limited separately: each one costs work every interval while it is open. */
const TICKING_FIELD = 'slTicks';

export interface OperationLimits {
  /** Operations open at once on one socket. */
  readonly maxOperations: number;
  /** `slTicks` subscriptions open at once on one socket. */
  readonly maxSlTicks: number;
}

/** graphql-ws's operations of one socket, by id, including the one being started. */
export type OpenOperations = Readonly<Record<string, unknown>>;

export class TooManySubscriptionsError extends AppError {
  constructor(what: string, max: number) {
    super(ErrorCode.TOO_MANY_SUBSCRIPTIONS, `At most ${max} ${what} may be open at once on one WebSocket`, { max });
  }
}

/** The root fields an operation selects, fragments included (field names, not aliases). */
export function rootFieldNames(document: DocumentNode, operation: OperationDefinitionNode): Set<string> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const names = new Set<string>();
  const visited = new Set<string>();
  const collect = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return names;
}

/**
 * One socket's operations counted against its limits. graphql-ws forgets an operation when it
 * ends or the socket closes, so its list of open ids is the truth; this only remembers which
 * of them are `slTicks`.
 */
export class SocketOperations {
  /** Created with the socket's first `slTicks`: most sockets never open one. */
  private ticking: Set<string> | null = null;

  constructor(private readonly limits: OperationLimits) {}

  /** Checked before the document is even parsed. */
  refuseOverTotal(open: OpenOperations): TooManySubscriptionsError | null {
    const count = Object.keys(open).length;
    return count > this.limits.maxOperations ? new TooManySubscriptionsError('operations', this.limits.maxOperations) : null;
  }

  /** Checked once the operation's root fields are known; an admitted `slTicks` is counted. */
  admit(id: string, open: OpenOperations, rootFields: ReadonlySet<string>): TooManySubscriptionsError | null {
    // An id may be reused once its operation ended.
    if (this.ticking) for (const other of this.ticking) if (other === id || !(other in open)) this.ticking.delete(other);
    if (!rootFields.has(TICKING_FIELD)) return null;
    this.ticking ??= new Set();
    if (this.ticking.size >= this.limits.maxSlTicks) {
      return new TooManySubscriptionsError(`${TICKING_FIELD} subscriptions`, this.limits.maxSlTicks);
    }
    this.ticking.add(id);
    return null;
  }
}
