import pg from 'pg';
import { prepareStatement, runParsed, type Wire } from './pg-wire.js';

/** COMMIT as a prepared statement, parsed once per connection, so later ones only bind it. */
export const PREPARED_COMMIT = { name: 'handover_commit', text: 'commit' } as const;

const completeCommand = (pg.Query.prototype as unknown as { handleCommandComplete: (this: pg.Query, ...args: unknown[]) => void })
  .handleCommandComplete;

/**
 * A statement with PREPARED_COMMIT bound and executed after it, in the same write and under the
 * same Sync: the transaction's last statement and its COMMIT cost one round trip. When the
 * statement fails, PostgreSQL skips the COMMIT (everything up to the Sync) and the transaction
 * stays open, aborted, for a ROLLBACK; when the COMMIT fails, the transaction has ended.
 */
class StatementThenCommit extends pg.Query {
  /** Set once the statement itself has completed: an error after it is the COMMIT's. */
  statementDone = false;

  prepare(wire: Wire): void {
    const commitBeforeSync = Object.create(wire, {
      sync: {
        value: () => {
          runParsed(wire, PREPARED_COMMIT.name);
          wire.sync();
        },
      },
    }) as Wire;
    prepareStatement.call(this, commitBeforeSync);
  }

  handleCommandComplete(...args: unknown[]): void {
    this.statementDone = true;
    completeCommand.apply(this, args);
  }
}

/** What a statement sent with its COMMIT came to. */
export type StatementCommitted =
  | { readonly ok: true; readonly result: pg.QueryResult }
  /** transactionOpen: the statement failed, so the COMMIT never ran and the transaction waits, aborted, for a ROLLBACK. */
  | { readonly ok: false; readonly error: unknown; readonly transactionOpen: boolean };

/**
 * Runs `query` then COMMIT in one round trip. Only for a statement with values (the extended
 * protocol), on a connection that has PREPARED_COMMIT parsed already (pg marks a query's
 * statement as parsed on any ParseComplete).
 */
export function statementThenCommit(connection: pg.Client, query: pg.QueryConfig): Promise<StatementCommitted> {
  return new Promise((resolve) => {
    const submitted = connection.query(new StatementThenCommit(query));
    submitted.on('error', (error: unknown) => resolve({ ok: false, error, transactionOpen: !submitted.statementDone }));
    submitted.on('end', (results: pg.QueryResult | pg.QueryResult[]) =>
      // COMMIT's result comes last.
      resolve({ ok: true, result: Array.isArray(results) ? results[0] : results }),
    );
  });
}
