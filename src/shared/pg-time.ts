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
