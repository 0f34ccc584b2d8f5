import fc from 'fast-check';
import {
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLInputType,
} from 'graphql';

/**
 * fast-check arbitraries for any input type of the schema, biased towards what breaks servers:
 * huge, empty and odd strings, boundary ints, wrong types, ids of the wrong entity, crafted
 * cursors, nulls, huge lists. Ids of real rows are drawn as `RowRef`s and resolved against the
 * live database when the request is sent, so one arbitrary serves a changing dataset.
 */

/** A real row of `table`, the `index`-th (modulo) of those present when the request is sent. */
export class RowRef {
  constructor(
    readonly table: string,
    readonly index: number,
  ) {}
  toString(): string {
    return `RowRef(${this.table}#${this.index})`;
  }
}

/** Row ids by table, as the fuzz reads them from the database. */
export type IdPool = Readonly<Record<string, readonly string[]>>;

/** Replaces every `RowRef` in `value` with a real id (or a nil UUID when the table is empty). */
export function resolveRefs(value: unknown, pool: IdPool): unknown {
  if (value instanceof RowRef) {
    const ids = pool[value.table] ?? [];
    return ids.length ? ids[value.index % ids.length] : '00000000-0000-0000-0000-000000000000';
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, pool));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, pool)]));
  }
  return value;
}

const HUGE = 100_000;
/** Built on first use: a few megabytes nobody needs unless the fuzz runs. */
const huge = fc.constantFrom('x', '😀', ' ', 'é\u0301').map((unit) => unit.repeat(Math.ceil(HUGE / unit.length)));

const ODD_STRINGS = [
  '',
  ' ',
  '\t\n\r ',
  '\u0000',
  'a\u0000b',
  '😀👩‍👩‍👧‍👦🏳️‍🌈',
  '\u202Eevil\u202C',
  'שלום עולם',
  'مرحبا',
  'e\u0301\u0302\u0303\u0304',
  '\uD800',
  '\uDC00x',
  '\uFEFF',
  '\u200B',
  "'; drop table groups; --",
  '%s%n%x',
  '${process.env}',
  '<script>alert(1)</script>',
  'null',
  'NaN',
  '-0',
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...ODD_STRINGS), weight: 4 },
  { arbitrary: huge, weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
  { arbitrary: fc.constantFrom('Sales', 'Ada', 'correct horse battery', 'hello there', ' padded  '), weight: 4 },
);

/** base64url cursors: well-formed but impossible, and malformed. */
const cursor: fc.Arbitrary<string> = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '["+275760-09-13T00:00:00.000Z","00000000-0000-4000-8000-000000000000"]',
        '["-271821-04-20T00:00:00.000Z","00000000-0000-4000-8000-000000000000"]',
        '["0000-01-01T00:00:00.000Z","00000000-0000-4000-8000-000000000000"]',
        '["2026-01-01T00:00:00.000Z","not-a-uuid"]',
        '["2026-01-01T00:00:00.000Z"]',
        '[]',
        '{}',
        'null',
        '[1e400, "x"]',
        '["2026-01-01T00:00:00.000Z","00000000-0000-4000-8000-000000000000\\u0000"]',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.date({ noInvalidDate: true }), fc.uuid()).map(([d, id]) => JSON.stringify([d.toISOString(), id])),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  )
  .map((json) => Buffer.from(json).toString('base64url'));

const DATE_TIMES = [
  '2026-01-01T00:00:00Z',
  '1970-01-01T00:00:00.000Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01',
  '+275760-09-13T00:00:00.000Z',
  'yesterday',
  '',
];
const dateTime = fc.oneof(
  fc.constantFrom(...DATE_TIMES),
  fc.date({ noInvalidDate: true, min: new Date('1900-01-01'), max: new Date('2200-01-01') }).map((d) => d.toISOString()),
);

const INT_EDGES = [-(2 ** 31), -1, 0, 1, 2, 5, 250, 300, 86_400, 2 ** 31 - 1];
const int = fc.oneof({ arbitrary: fc.constantFrom(...INT_EDGES), weight: 4 }, { arbitrary: fc.integer(), weight: 1 });
const float = fc.oneof(
  fc.constantFrom(0, -0, 0.5, -1.5, 1e308, -1e308, 5e-324),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
/** Values of the wrong type for anything: coercion must refuse them as BAD_USER_INPUT. */
const wrongType = fc.constantFrom<unknown>(2 ** 31, -(2 ** 31) - 1, 1.5, '1', true, [], {}, [null], { id: 1 });

export interface Hints {
  /** Tables whose row ids are valid ID values. */
  readonly tables: readonly string[];
  /** The table an ID argument or input field of this name mostly draws from (the right entity). */
  readonly tableOf?: (field: string) => string | undefined;
  /** Extra candidates per argument or input-field name (e.g. real emails for `email`). */
  readonly byName?: Readonly<Record<string, fc.Arbitrary<unknown>>>;
}

function idArb(hints: Hints, field: string): fc.Arbitrary<unknown> {
  const own = hints.tableOf?.(field);
  return fc.oneof(
    { arbitrary: fc.nat().map((i) => new RowRef(own ?? hints.tables[i % hints.tables.length], i)), weight: own ? 8 : 0 },
    { arbitrary: fc.tuple(fc.constantFrom(...hints.tables), fc.nat()).map(([table, i]) => new RowRef(table, i)), weight: 3 },
    { arbitrary: fc.uuid(), weight: 1 },
    {
      arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '1', '0'),
      weight: 1,
    },
    { arbitrary: hostileString, weight: 1 },
    { arbitrary: cursor, weight: 1 },
  );
}

/** A short item for huge lists: a real or random id, or a short odd string. */
function smallValue(hints: Hints, field: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.nat().map((i) => new RowRef(hints.tableOf?.(field) ?? hints.tables[i % hints.tables.length], i)),
    fc.uuid(),
    fc.constantFrom(...ODD_STRINGS),
  );
}

function scalarArb(name: string, hints: Hints, field: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'ID':
      return idArb(hints, field);
    case 'String':
      return field === 'after'
        ? fc.oneof({ weight: 3, arbitrary: cursor }, { weight: 1, arbitrary: hostileString })
        : hostileString;
    case 'Int':
      return int;
    case 'Float':
      return float;
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return dateTime;
    default:
      throw new Error(`no arbitrary for scalar ${name}: add one to test/helpers/hostile-input.ts`);
  }
}

/**
 * Values for an argument or input field of `type` named `field`. Non-null types mostly get a
 * value (sometimes null, sometimes a wrong type); nullable ones also null or left out
 * (`undefined`, dropped by JSON).
 */
export function inputArb(type: GraphQLInputType, field: string, hints: Hints): fc.Arbitrary<unknown> {
  const inner = getNullableType(type);
  let value: fc.Arbitrary<unknown>;
  if (isScalarType(inner)) value = scalarArb(inner.name, hints, field);
  else if (isEnumType(inner)) value = fc.constantFrom<unknown>(...inner.getValues().map((v) => v.name), 'NOT_A_VALUE', '');
  else if (isListType(inner)) {
    const item = inputArb(inner.ofType, field, hints);
    value = fc.oneof(
      { arbitrary: fc.constant([]), weight: 2 },
      { arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }), weight: 4 },
      // Huge, but of one small repeated value: thousands of ids, not thousands of 100k strings.
      {
        arbitrary: fc
          .tuple(smallValue(hints, field), fc.constantFrom(1_000, 10_000))
          .map(([v, n]) => Array.from({ length: n }, () => v)),
        weight: 1,
      },
    );
  } else if (isInputObjectType(inner)) {
    const fields = Object.values(inner.getFields());
    value = fc.record(Object.fromEntries(fields.map((f) => [f.name, inputArb(f.type, f.name, hints)])), {
      requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name),
    });
  } else {
    throw new Error(`unexpected input type ${String(type)}`);
  }
  const named = hints.byName?.[field];
  if (named) value = fc.oneof(value, named);
  return isNonNullType(type)
    ? fc.oneof({ arbitrary: value, weight: 30 }, { arbitrary: wrongType, weight: 1 }, { arbitrary: fc.constant(null), weight: 1 })
    : fc.oneof(
        { arbitrary: value, weight: 10 },
        { arbitrary: fc.constantFrom(null, undefined), weight: 4 },
        { arbitrary: wrongType, weight: 1 },
      );
}
