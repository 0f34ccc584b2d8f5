import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';

/** True when `error` is a unique violation (optionally of the named constraint or index). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (!(error instanceof UniqueConstraintViolationException)) return false;
  if (constraint === undefined) return true;
  const named = (error as unknown as { constraint?: string }).constraint;
  return named === constraint || error.message.includes(constraint);
}

/**
 * SQLSTATEs of a database that cannot serve any statement now: connection exceptions (class
 * 08), transaction rollbacks (40: serialization, deadlock), insufficient resources (53: too
 * many connections), operator intervention (57: shutdown, restart, cancel) and lock not
 * available (55P03). Any other is the statement's own failure, a bug: not worth sending again.
 */
const UNAVAILABLE_STATE = /^(?:08|40|53|57)|^55P03$/;
/** In class 08, but the statement's own failure: the server refused what was sent (more than 65,535 bound values, say). */
const PROTOCOL_VIOLATION = '08P01';

/** The DriverException behind `error`: graphql-js and graphql-ws wrap a resolver's or a stream's as `originalError`. */
function driverCause(error: unknown): DriverException | null {
  let current = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (current instanceof DriverException) return current;
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return null;
}

/**
 * Whether `error` is the database failing to serve a statement at all (stopped, restarting,
 * failing over, a connection lost), not the statement failing: a request refused so may be
 * sent again shortly.
 */
export function databaseUnavailable(error: unknown): boolean {
  const driver = driverCause(error);
  if (!driver) return false;
  // pg sets `severity` on what the server answered; without it the connection itself failed
  // (refused, reset, ended, timed out).
  if (typeof (driver as { severity?: unknown }).severity !== 'string') return true;
  return typeof driver.code === 'string' && driver.code !== PROTOCOL_VIOLATION && UNAVAILABLE_STATE.test(driver.code);
}
