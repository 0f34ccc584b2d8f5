import { UniqueConstraintViolationException } from '@mikro-orm/core';

/** True when `error` is a unique violation (optionally of the named constraint or index). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (!(error instanceof UniqueConstraintViolationException)) return false;
  if (constraint === undefined) return true;
  const named = (error as unknown as { constraint?: string }).constraint;
  return named === constraint || error.message.includes(constraint);
}
