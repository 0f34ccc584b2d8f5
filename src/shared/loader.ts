import DataLoader from 'dataloader';

/** A request-scoped loader of one row per key (null where there is none). */
export function rowLoader<V>(
  load: (keys: readonly string[]) => Promise<V[]>,
  keyOf: (row: V) => string,
): DataLoader<string, V | null> {
  return new DataLoader(async (keys) => {
    const rows = await load(keys);
    const byKey = new Map(rows.map((row) => [keyOf(row), row]));
    return keys.map((key) => byKey.get(key) ?? null);
  });
}

/** A request-scoped loader of many rows per key. */
export function listLoader<V, R = V>(
  load: (keys: readonly string[]) => Promise<R[]>,
  keyOf: (row: R) => string,
  valueOf: (row: R) => V,
): DataLoader<string, V[]> {
  return new DataLoader(async (keys) => {
    const rows = await load(keys);
    const byKey = new Map<string, V[]>();
    for (const row of rows) {
      const key = keyOf(row);
      const list = byKey.get(key);
      if (list) list.push(valueOf(row));
      else byKey.set(key, [valueOf(row)]);
    }
    return keys.map((key) => byKey.get(key) ?? []);
  });
}
