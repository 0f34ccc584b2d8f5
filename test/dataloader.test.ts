import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createGroup, createOperator } from './helpers/factories.js';

/** Two databases of different sizes; the same queries must cost the same number of statements. */
let small: TestApp;
let large: TestApp;

async function seed(t: TestApp, groups: number, perGroup: number): Promise<void> {
  const created = [];
  for (let i = 0; i < groups; i++) created.push(await createGroup(t.admin));
  // Each operator belongs to its own group and the next one.
  const work: Array<Promise<unknown>> = [];
  for (let i = 0; i < groups; i++) {
    for (let j = 0; j < perGroup / 2; j++) {
      work.push(createOperator(t.admin, { groupIds: [created[i].id, created[(i + 1) % groups].id] }));
    }
  }
  for (let i = 0; i < work.length; i += 25) await Promise.all(work.slice(i, i + 25));
}

beforeAll(async () => {
  [small, large] = await Promise.all([startTestApp(), startTestApp()]);
  await Promise.all([seed(small, 5, 4), seed(large, 50, 20), small.quiet(), large.quiet()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([small.stop(), large.stop()]);
});

async function statements(t: TestApp, query: string): Promise<number> {
  t.resetQueryCount();
  await t.admin.ok(query);
  return t.queryCount();
}

describe('no N+1 queries', () => {
  it.each([
    [
      'groups { operators { groups } }',
      `{ groups { id operators { id firstName email activeDialogCount groups { id name } } } }`,
    ],
    ['operators { groups { operators } }', `{ operators { id groups { id operators { id lastName } } } }`],
    ['users { operator { groups } }', `{ users { id operator { id groups { id } } } }`],
  ])('%s runs a constant number of SQL statements', async (_name, query) => {
    const few = await statements(small, query);
    const many = await statements(large, query);
    const { groups } = await large.admin.ok(`{ groups { operators { id } } }`);
    expect(groups).toHaveLength(50);
    expect(groups.every((g: { operators: unknown[] }) => g.operators.length === 20)).toBe(true);
    console.log(`${_name}: ${many} statements for 50 groups × 20 operators, ${few} for 5 × 4`);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(6);
  });
});
