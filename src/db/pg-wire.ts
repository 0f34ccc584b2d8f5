import pg from 'pg';

/** The part of pg's wire connection a query writes its extended-protocol messages with. */
export interface Wire {
  bind(config: { statement: string; portal: string; values: readonly unknown[] }): void;
  execute(config: { portal: string }): void;
  sync(): void;
}

/** pg's own extended-protocol preparation of a query (Parse, Bind, Describe, Execute, Sync). */
export const prepareStatement = (pg.Query.prototype as unknown as { prepare: (this: pg.Query, wire: Wire) => void }).prepare;

/** Binds and executes a statement the connection has already parsed (no values, no Sync). */
export function runParsed(wire: Wire, statement: string): void {
  wire.bind({ statement, portal: '', values: [] });
  wire.execute({ portal: '' });
}
