/** The comment that opens a statement planned for each call's values (see planPerCall). */
export const PLAN_PER_CALL = '/* plan per call */';

/**
 * `sql`, to be planned for each call's values: the driver sends it unnamed, where other raw SQL
 * is a named prepared statement. After a few runs of a prepared statement, PostgreSQL may keep a
 * generic plan, chosen without the values. For statements over windows of history (live figures,
 * SL reports) that plan can cost many times one made for the window at hand, e.g. when most of the
 * history falls inside it; the window's planning is cheap beside that.
 */
export function planPerCall(sql: string): string {
  return `${PLAN_PER_CALL}\n${sql}`;
}
