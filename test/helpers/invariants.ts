import pg from 'pg';
import { expect } from 'vitest';

/** Asserts MISSION's invariants directly in the database. */
export async function assertInvariants(databaseUrl: string): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const overCapacity = await db.query(
      `select id from operators where active_dialog_count > max_dialogs or active_dialog_count < 0`,
    );
    expect(overCapacity.rows, 'operators above their maximum').toEqual([]);
    const counts = await db.query(`
      select o.id, o.active_dialog_count, count(d.id)::int as real
        from operators o left join dialogs d on d.operator_id = o.id and d.status = 'ASSIGNED'
       group by o.id having o.active_dialog_count <> count(d.id)`);
    expect(counts.rows, 'active count differs from assigned dialogs').toEqual([]);
    const states = await db.query(`
      select id, status from dialogs
       where status not in ('BOT', 'QUEUED', 'ASSIGNED', 'CLOSED')
          or (status = 'ASSIGNED' and operator_id is null)
          or (status in ('BOT', 'QUEUED') and operator_id is not null)
          or (status = 'CLOSED' and closed_at is null)`);
    expect(states.rows, 'dialogs in an impossible state').toEqual([]);
    const offlineHolding = await db.query(`
      select o.id from operators o join dialogs d on d.operator_id = o.id and d.status = 'ASSIGNED'
       where o.status = 'OFFLINE' group by o.id`);
    expect(offlineHolding.rows, 'offline operators holding dialogs').toEqual([]);
    const lastMessage = await db.query(`
      select d.id from dialogs d
       where d.last_message_seq is distinct from (select max(m.seq) from messages m where m.dialog_id = d.id)`);
    expect(lastMessage.rows, "dialogs whose last_message_seq is not their newest message's").toEqual([]);
  } finally {
    await db.end();
  }
}
