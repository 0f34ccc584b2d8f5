import pg from 'pg';
import { prepareStatement, runParsed, type Wire } from './pg-wire.js';

/** BEGIN as a prepared statement, parsed once per connection, so later ones only bind it. */
export const PREPARED_BEGIN = { name: 'handover_begin', text: 'begin' } as const;

/**
 * A statement with PREPARED_BEGIN bound and executed ahead of it, in the same write and under
 * the same Sync: a transaction's BEGIN costs no round trip of its own. Only for a statement with
 * values (the extended protocol), on a connection that has PREPARED_BEGIN parsed already: pg marks
 * a query's statement as parsed on any ParseComplete, so nothing but the statement's own Parse
 * may answer one.
 */
class BeginThenStatement extends pg.Query {
  prepare(wire: Wire): void {
    runParsed(wire, PREPARED_BEGIN.name);
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
