import { ADMIN_TOKEN } from '../lib/env.js';
import { gql } from '../lib/http.js';

/** An operator seat: deleting its operator puts a replacement in the same seat. */
export interface OperatorSlot {
  id: string;
  email: string;
  readonly password: string;
  /** Session token, when logged in (as far as the clients know). */
  token: string | null;
  generation: number;
}

export interface KnownDialog {
  readonly id: string;
  /** Last status a response showed; others may have changed it since. */
  status: string;
  readonly watched: boolean;
}

/** What the clients know of the system: the seeded fixtures and every dialog they started. */
export interface World {
  readonly groups: string[];
  readonly scenarios: Array<{ id: string; fallbackGroupId: string | null }>;
  readonly operators: OperatorSlot[];
  readonly dialogs: KnownDialog[];
  readonly botToken: string;
}

export interface SeedSize {
  readonly groups: number;
  readonly operators: number;
  readonly scenarios: number;
  readonly watchedDialogs: number;
}

export const PASSWORD = 'chaos password 1';

export function randomMaxDialogs(r: number): number {
  return 2 + Math.floor(r * 7);
}

/** Sends one admin request (how depends on the caller: seeding fails fast, operations record outcomes). */
export type AdminCall = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`;

/** Creates an operator (OFFLINE, not logged in) in two groups. */
export async function createOperator(
  admin: AdminCall,
  groups: readonly string[],
  seat: number,
  generation: number,
  r: number,
): Promise<OperatorSlot> {
  const email = `op${seat}-g${generation}@chaos.local`;
  const groupIds = [
    ...new Set([groups[seat % groups.length], groups[(seat + 1 + Math.floor(r * groups.length)) % groups.length]]),
  ];
  const { createOperator: op } = await admin<{ createOperator: { id: string } }>(
    `mutation($input: CreateOperatorInput!) { createOperator(input: $input) { id } }`,
    {
      input: {
        firstName: 'Op',
        lastName: `${seat}.${generation}`,
        email,
        password: PASSWORD,
        groupIds,
        maxDialogs: randomMaxDialogs(r),
      },
    },
  );
  return { id: op.id, email, password: PASSWORD, token: null, generation };
}

export async function login(url: string, slot: OperatorSlot): Promise<string> {
  const { login: auth } = await gql<{ login: { token: string } }>(url, '', LOGIN, { e: slot.email, p: slot.password });
  return auth.token;
}

/** Groups, operators (OFFLINE), scenarios (some with a fallback group), a bot token and the dialogs to watch. */
export async function seed(url: string, size: SeedSize, random: () => number): Promise<World> {
  const groups: string[] = [];
  for (let i = 0; i < size.groups; i++) {
    const { createGroup } = await gql<{ createGroup: { id: string } }>(
      url,
      ADMIN_TOKEN,
      `mutation($n: String!) { createGroup(input: { name: $n, slFirstResponseSec: 30, slNextResponseSec: 60 }) { id } }`,
      { n: `chaos ${i}` },
    );
    groups.push(createGroup.id);
  }
  const admin: AdminCall = (query, variables) => gql(url, ADMIN_TOKEN, query, variables);
  const operators: OperatorSlot[] = [];
  for (let i = 0; i < size.operators; i++) operators.push(await createOperator(admin, groups, i, 0, random()));
  const scenarios: World['scenarios'] = [];
  for (let i = 0; i < size.scenarios; i++) {
    const fallbackGroupId = i === 0 ? null : groups[i % groups.length];
    const { createScenario } = await gql<{ createScenario: { id: string } }>(
      url,
      ADMIN_TOKEN,
      `mutation($n: String!, $g: ID) { createScenario(name: $n, fallbackGroupId: $g) { id } }`,
      { n: `chaos scenario ${i}`, g: fallbackGroupId },
    );
    scenarios.push({ id: createScenario.id, fallbackGroupId });
  }
  const { createApiToken } = await gql<{ createApiToken: { token: string } }>(
    url,
    ADMIN_TOKEN,
    `mutation { createApiToken(name: "chaos bot", role: INTEGRATION) { token } }`,
  );
  const world: World = { groups, scenarios, operators, dialogs: [], botToken: createApiToken.token };
  for (let i = 0; i < size.watchedDialogs; i++) {
    const { startDialog } = await gql<{ startDialog: { id: string; status: string } }>(
      url,
      world.botToken,
      `mutation($s: ID) { startDialog(input: { clientName: "watched", scenarioId: $s }) { id status } }`,
      { s: scenarios[i % scenarios.length].id },
    );
    world.dialogs.push({ id: startDialog.id, status: startDialog.status, watched: true });
  }
  return world;
}
