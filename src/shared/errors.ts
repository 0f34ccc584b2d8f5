import { GraphQLError } from 'graphql';

/** The `extensions.code` values clients can rely on. */
export enum ErrorCode {
  /** No or invalid bearer token (auth checker, WebSocket handshake). */
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  /** Valid token, wrong role or not the caller's resource (auth checker, services). */
  FORBIDDEN = 'FORBIDDEN',
  /** An id that names nothing (services). */
  NOT_FOUND = 'NOT_FOUND',
  /**
   * Input that breaks a rule: `extensions.fields` lists every invalid input field with its
   * message, `extensions.field` names the first (services, argument guards, GraphQL coercion).
   */
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  /**
   * Well-formed input that clashes with the data as it is now: a duplicate email, or a dialog whose
   * state moved on; `extensions.reason` (a ConflictReason) says which state (services).
   */
  CONFLICT = 'CONFLICT',
  /** An operation past a WebSocket's limit of open ones; `extensions.max` is the limit (WebSocket server). */
  TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS',
  /**
   * A document over a configured limit; `extensions.limit` names it (tokens, depth, aliases,
   * directives, cost) and `extensions.max` gives its value (operation limits, before execution).
   */
  OPERATION_LIMIT_EXCEEDED = 'OPERATION_LIMIT_EXCEEDED',
  /** An HTTP body over MAX_BODY_BYTES, answered with status 413 (HTTP server). */
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  /** Too many failed attempts; `extensions.retryAfterSec` says when to try again (login throttling). */
  TOO_MANY_REQUESTS = 'TOO_MANY_REQUESTS',
  /** The server is shutting down, answered with status 503: send the request again (HTTP server). */
  SHUTTING_DOWN = 'SHUTTING_DOWN',
  /**
   * The database could not serve the request (stopped, restarting, a connection lost) and
   * nothing of it was written: its authentication, or a query or subscription. Over HTTP with
   * status 503 and Retry-After when nothing was answered. Send it again shortly.
   */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  /**
   * A resume point (`after`) older than the event log keeps (EVENT_RETENTION_DAYS): refetch the
   * data and subscribe again from the position or sequence read with it (subscriptions, Query.events).
   */
  EVENTS_EXPIRED = 'EVENTS_EXPIRED',
}

/** SERVICE_UNAVAILABLE's message, on every transport. */
export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unavailable; send the request again shortly';
/** SERVICE_UNAVAILABLE's Retry-After over HTTP, in seconds. */
export const DATABASE_UNAVAILABLE_RETRY_AFTER = '1';

/** `extensions.reason` of a CONFLICT about a dialog's state: what a UI switches on. */
export enum ConflictReason {
  /** The dialog is closed. */
  DIALOG_CLOSED = 'DIALOG_CLOSED',
  /** Taking a dialog needs the operator to be ONLINE. */
  NOT_ONLINE = 'NOT_ONLINE',
  /** The operator already holds their maximum of active dialogs. */
  AT_CAPACITY = 'AT_CAPACITY',
  /** The dialog is no longer in the Help queue. */
  NOT_QUEUED = 'NOT_QUEUED',
  /** The dialog is not where the operation needs it: with the bot, or already handed over. */
  NOT_WITH_BOT = 'NOT_WITH_BOT',
}

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid bearer token is required') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed for this role') {
    super(ErrorCode.FORBIDDEN, message);
  }
}

export class NotFoundError extends AppError {
  constructor(entity: string, id: string, field?: string) {
    super(ErrorCode.NOT_FOUND, `${entity} ${id} not found`, field ? { field } : {});
  }
}

/** One invalid input field and what is wrong with it. */
export interface InputIssue {
  readonly field: string;
  readonly message: string;
}

export class BadInputError extends AppError {
  /** Every invalid field, the first one first. */
  readonly issues: readonly InputIssue[];

  /** `others`: further invalid fields of the same input, reported in the same error. */
  constructor(field: string, message: string, others: readonly InputIssue[] = []) {
    const issues = [{ field, message }, ...others];
    super(ErrorCode.BAD_USER_INPUT, issues.map((i) => i.message).join('; '), { field, fields: issues });
    this.issues = issues;
  }
}

export class ConflictError extends AppError {
  /** `details`: the machine-readable `reason`, and what it clashes with (e.g. `dialogId`). */
  constructor(field: string, message: string, details: { readonly reason?: ConflictReason; readonly dialogId?: string } = {}) {
    super(ErrorCode.CONFLICT, message, { ...details, field });
  }
}

export class TooManyRequestsError extends AppError {
  constructor(retryAfterSec: number) {
    super(ErrorCode.TOO_MANY_REQUESTS, `Too many failed attempts; try again in ${retryAfterSec} s`, { retryAfterSec });
  }
}

export class EventsExpiredError extends AppError {
  constructor(field: string) {
    super(
      ErrorCode.EVENTS_EXPIRED,
      `The events after this ${field} are no longer kept: refetch, then resume from what you read`,
      {
        field,
      },
    );
  }
}
