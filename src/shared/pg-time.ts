/**
 * Raw queries return timestamptz as Postgres text ("2026-11-24 03:40:00.123+00"); the ORM
 * maps entity fields itself, raw rows go through this.
 */
export function pgDate(value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  let iso = value.replace(' ', 'T');
  if (/[+-]\d\d$/.test(iso)) iso += ':00';
  return new Date(iso);
}

/**
 * Dates the API accepts from clients: years 1..9999. JavaScript reaches ±275760 and the
 * database's own range differs at both ends; a calendar date outside this is a mistake.
 */
export function isStorableDate(date: Date): boolean {
  const year = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && year >= 1 && year <= 9999;
}
