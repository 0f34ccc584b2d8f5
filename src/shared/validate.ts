import { BadInputError, type InputIssue } from './errors.js';

/** Input checks shared by the services. Each throws BAD_USER_INPUT naming the field. */

export const MAX_NAME_LENGTH = 200;

export function requiredName(field: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new BadInputError(field, `${field} must not be empty`);
  if (trimmed.length > MAX_NAME_LENGTH) {
    throw new BadInputError(field, `${field} must be at most ${MAX_NAME_LENGTH} characters`);
  }
  return trimmed;
}

export function intInRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadInputError(field, `${field} must be an integer in ${min}..${max}`);
  }
  return value;
}

// Deliberately simple: one @, no spaces, a dot in the domain. Real checking is the login mail.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function email(field: string, value: string): string {
  const normalized = value.trim().toLowerCase();
  if (normalized.length > 254 || !EMAIL.test(normalized)) {
    throw new BadInputError(field, `${field} is not a valid email address`);
  }
  return normalized;
}

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

/** The minimum strength: 10..1024 characters, and not the account's own email. */
export function password(field: string, value: string, accountEmail: string): string {
  if (value.length < MIN_PASSWORD_LENGTH) {
    throw new BadInputError(field, `${field} must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (value.length > MAX_PASSWORD_LENGTH) throw new BadInputError(field, `${field} is too long`);
  if (value.trim().toLowerCase() === accountEmail.trim().toLowerCase()) {
    throw new BadInputError(field, `${field} must not be the account's email`);
  }
  return value;
}

export function text(field: string, value: string, max: number): string {
  if (value.trim().length === 0) throw new BadInputError(field, `${field} must not be empty`);
  if (value.length > max) throw new BadInputError(field, `${field} must be at most ${max} characters`);
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Ids are the UUIDs the API returns, in PostgreSQL's lowercase spelling; anything else cannot name
 * a row. Another spelling of the same UUID is refused too: ids are compared as strings (event
 * topics, routing's "same operator" checks), and the database would take it for the same row.
 */
export function isId(value: string): boolean {
  return UUID.test(value);
}

type Checks<T extends readonly unknown[]> = { readonly [K in keyof T]: () => T[K] };

/**
 * Runs every check, even after one fails, and returns their values; if any threw BAD_USER_INPUT,
 * throws one BAD_USER_INPUT listing every invalid field (`extensions.fields`). Other errors pass
 * through at once.
 */
export function validateAll<T extends readonly unknown[]>(...checks: Checks<T>): T {
  const values: unknown[] = [];
  const issues: InputIssue[] = [];
  for (const check of checks as ReadonlyArray<() => unknown>) {
    try {
      values.push(check());
    } catch (error) {
      if (!(error instanceof BadInputError)) throw error;
      issues.push(...error.issues);
      values.push(undefined);
    }
  }
  const [first, ...others] = issues;
  if (first) throw new BadInputError(first.field, first.message, others);
  return values as unknown as T;
}
