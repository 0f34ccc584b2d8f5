import pg from 'pg';

/** BEGIN as a prepared statement, parsed once per connection, so later ones only bind it. */
export const PREPARED_BEGIN = { name: 'handover_begin', text: 'begin' } as const;

/** The part of pg's wire connection a query writes its messages with. */
interface Wire {
  bind(config: { statement: string; portal: string; values: readonly unknown[] }): void;
  execute(config: { portal: string }): void;
}

/** pg's own extended-protocol preparation (Parse, Bind, Describe, Execute, Sync). */
const prepareStatement = (pg.Query.prototype as unknown as { prepare: (this: pg.Query, wire: Wire) => void }).prepare;

/**
 * A statement with PREPARED_BEGIN bound and executed ahead of it, in the same write and under
 * the same Sync: a transaction's BEGIN costs no round trip of its own. Only for a statement with
 * values (the extended protocol), on a connection that has PREPARED_BEGIN parsed already: pg marks
 * a query's statement as parsed on any ParseComplete, so nothing but the statement's own Parse
 * may answer one.
 */
class BeginThenStatement extends pg.Query {
  prepare(wire: Wire): void {
    wire.bind({ statement: PREPARED_BEGIN.name, portal: '', values: [] });
    wire.execute({ portal: '' });
    prepareStatement.call(this, wire);
  }
}

/** Runs BEGIN and `query` in one round trip; the result is the statement's. */
export function beginWith(connection: pg.Client, query: pg.QueryConfig): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const submitted = connection.query(new BeginThenStatement(query));
    submitted.on('error', reject);
    submitted.on('end', (results: pg.QueryResult | pg.QueryResult[]) =>
      // BEGIN's result comes first.
      resolve(Array.isArray(results) ? results[results.length - 1] : results),
    );
  });
}
