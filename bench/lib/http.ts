import { Agent, request } from 'node:http';
import { ADMIN_TOKEN, type ServerChild } from './env.js';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface GqlResponse<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A GraphQL POST over a keep-alive agent; throws on any error. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const { body } = await gqlResponse<T>(url, token, query, variables);
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data as T;
}

/** A GraphQL POST with its HTTP status and errors as answered; throws only on transport or parse failure. */
export function gqlResponse<T = Record<string, unknown>>(
  url: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<{ status: number; body: GqlResponse<T> }> {
  const body = JSON.stringify({ query, variables });
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          // An empty token: an anonymous request (e.g. login).
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as GqlResponse<T> });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export function closeAgent(): void {
  agent.destroy();
}

/** A new INTEGRATION token (a bot's), made with the admin token. */
export async function integrationToken(server: ServerChild): Promise<string> {
  const { createApiToken } = await gql<{ createApiToken: { token: string } }>(
    server.url,
    ADMIN_TOKEN,
    `mutation { createApiToken(name: "bench bot", role: INTEGRATION) { token } }`,
  );
  return createApiToken.token;
}
