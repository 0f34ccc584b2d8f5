import { randomBytes } from 'node:crypto';
import type { GraphqlClient } from './gql.js';

let seq = 0;
export function unique(prefix: string): string {
  seq++;
  return `${prefix}-${seq}-${randomBytes(3).toString('hex')}`;
}

export interface GroupRef {
  id: string;
  name: string;
}

export async function createGroup(
  admin: GraphqlClient,
  input: { name?: string; slFirstResponseSec?: number; slNextResponseSec?: number; operatorIds?: string[] } = {},
): Promise<GroupRef> {
  const data = await admin.ok<{ createGroup: GroupRef }>(
    `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id name } }`,
    {
      input: {
        name: input.name ?? unique('group'),
        slFirstResponseSec: input.slFirstResponseSec ?? 60,
        slNextResponseSec: input.slNextResponseSec ?? 120,
        operatorIds: input.operatorIds,
      },
    },
  );
  return data.createGroup;
}

export interface OperatorRef {
  id: string;
  email: string;
  password: string;
}

export async function createOperator(
  admin: GraphqlClient,
  input: { groupIds?: string[]; maxDialogs?: number; autoLogoutSec?: number; email?: string } = {},
): Promise<OperatorRef> {
  const email = input.email ?? `${unique('op')}@example.com`;
  const password = 'correct horse battery';
  const data = await admin.ok<{ createOperator: { id: string } }>(
    `mutation($input: CreateOperatorInput!) { createOperator(input: $input) { id } }`,
    {
      input: {
        firstName: 'Ada',
        lastName: 'Operator',
        email,
        password,
        groupIds: input.groupIds,
        maxDialogs: input.maxDialogs,
        autoLogoutSec: input.autoLogoutSec,
      },
    },
  );
  return { id: data.createOperator.id, email, password };
}

export async function login(client: GraphqlClient, email: string, password: string): Promise<string> {
  const data = await client.ok<{ login: { token: string } }>(
    `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`,
    { email, password },
  );
  return data.login.token;
}

/** Issues an API token of `role` with the admin client. */
export async function apiToken(admin: GraphqlClient, role: string): Promise<string> {
  const data = await admin.ok<{ createApiToken: { token: string } }>(
    `mutation($name: String!, $role: Role!) { createApiToken(name: $name, role: $role) { token } }`,
    { name: unique(`token-${role}`), role },
  );
  return data.createApiToken.token;
}
