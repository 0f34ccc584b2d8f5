import pg from 'pg';

/** Bulk seeding with plain SQL (fast, and independent of the API under test). */
export async function withDb<T>(url: string, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

export async function seedGroups(db: pg.Client, count: number, prefix: string, firstResponseSec = 60): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `insert into groups (id, name, sl_first_response_sec, sl_next_response_sec, created_at)
     select gen_random_uuid(), $1 || i, $2, 120, now() from generate_series(1, $3) i returning id`,
    [prefix, firstResponseSec, count],
  );
  return rows.map((r) => r.id);
}

/** `count` ONLINE operators; operator k joins groups k and k+1 (mod the number of groups). */
export async function seedOperators(
  db: pg.Client,
  count: number,
  groups: readonly string[],
  maxDialogs: number,
  prefix: string,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `with u as (
       insert into users (id, email, first_name, last_name, role, created_at)
       select gen_random_uuid(), $1 || i || '@bench.local', 'Op', i::text, 'OPERATOR', now() from generate_series(1, $2) i
       returning id, last_name)
     insert into operators (id, user_id, max_dialogs, status, last_activity_at, created_at)
     select gen_random_uuid(), u.id, $3, 'ONLINE', now(), now() from u order by u.last_name::int returning id`,
    [prefix, count, maxDialogs],
  );
  const ids = rows.map((r) => r.id);
  const pairs: string[] = [];
  ids.forEach((id, k) => {
    pairs.push(`('${groups[k % groups.length]}', '${id}', now())`);
    if (groups.length > 1) pairs.push(`('${groups[(k + 1) % groups.length]}', '${id}', now())`);
  });
  await db.query(
    `insert into group_members (group_id, operator_id, created_at) values ${pairs.join(', ')} on conflict do nothing`,
  );
  return ids;
}
