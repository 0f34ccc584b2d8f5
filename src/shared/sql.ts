/** A piece of SQL with its `?` parameters, to be placed in a larger statement. */
export interface SqlFragment {
  readonly sql: string;
  readonly params: readonly unknown[];
}
