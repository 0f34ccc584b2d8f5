import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';

interface Pool {
  acquireConnection: (this: Pool) => Promise<pg.Client>;
}

/**
 * Records what the app's pooled connections send, one entry per round trip, until stop(): a
 * query object of the driver's own carries BEGIN ahead of its statement, or COMMIT behind it.
 * Connections are watched as they are lent out.
 */
export function watchRoundTrips(em: EntityManager): { sent: string[]; stop: () => void } {
  const pool = em.getConnection().getKnex().client as Pool;
  const acquire = pool.acquireConnection;
  const sent: string[] = [];
  const restores = new Map<pg.Client, () => void>();
  const watch = (connection: pg.Client): void => {
    if (restores.has(connection)) return;
    const watched = connection as unknown as { query: (q: unknown) => unknown };
    const query = watched.query;
    watched.query = (q: unknown) => {
      const text = typeof q === 'string' ? q : (q as { text: string }).text;
      const kind = q instanceof pg.Query ? q.constructor.name : null;
      sent.push(kind === 'BeginThenStatement' ? `begin; ${text}` : kind === 'StatementThenCommit' ? `${text}; commit` : text);
      return query.call(connection, q);
    };
    restores.set(connection, () => (watched.query = query));
  };
  pool.acquireConnection = async function (this: Pool) {
    const connection = await acquire.call(this);
    watch(connection);
    return connection;
  };
  return {
    sent,
    stop: () => {
      pool.acquireConnection = acquire;
      for (const restore of restores.values()) restore();
    },
  };
}
