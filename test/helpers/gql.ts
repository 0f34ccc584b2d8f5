import { expect } from 'vitest';

/**
 * A GraphQL answer's data as tests read it: JSON of whatever shape the query asked for, checked
 * by expect() rather than by the compiler (a type per query would restate the schema).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one untyped JSON type of the tests
export type GraphqlData = Record<string, any>;

export interface GraphqlError {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

export interface GraphqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: GraphqlError[];
}

/** A minimal GraphQL-over-HTTP client, as a front end would use it. */
export class GraphqlClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async request<T = GraphqlData>(query: string, variables?: Record<string, unknown>): Promise<GraphqlResult<T>> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GraphqlResult<T>, 'status'>;
    return { status: response.status, ...body };
  }

  /** Runs the operation and fails the test on any error. */
  async ok<T = GraphqlData>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const result = await this.request<T>(query, variables);
    if (result.errors?.length) {
      throw new Error(`unexpected GraphQL errors: ${JSON.stringify(result.errors)}`);
    }
    return result.data as T;
  }

  /** Runs the operation and asserts it failed with `code` (and `field`), returning the error. */
  async fails(
    query: string,
    variables: Record<string, unknown> | undefined,
    code: string,
    field?: string,
  ): Promise<GraphqlError> {
    const result = await this.request(query, variables);
    expect(result.status, JSON.stringify(result)).toBeLessThan(500);
    expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result.errors)).toBe(code);
    if (field !== undefined) expect(result.errors?.[0]?.extensions?.field).toBe(field);
    return result.errors![0];
  }
}
