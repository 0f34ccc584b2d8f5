import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { handoverSchema, printHandoverSchema } from '../src/schema.js';

describe('schema.graphql', () => {
  it('is what the code emits (run `npm run schema` after changing the API)', async () => {
    const committed = await readFile(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printHandoverSchema(await handoverSchema()));
  });
});
