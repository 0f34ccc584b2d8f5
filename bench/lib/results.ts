import { cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';

export type Figures = Record<string, number | string | boolean | null>;

export interface BenchResult {
  readonly name: string;
  readonly parameters: Record<string, unknown>;
  readonly figures: Figures;
  /** product / baseline, where the benchmark has a baseline */
  readonly ratio?: number | null;
  readonly targets?: Record<string, string>;
  readonly notes?: string;
}

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly node: string;
  readonly postgres: string;
  readonly platform: string;
}

export function machine(postgres: string): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    postgres,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function printTable(results: readonly BenchResult[]): void {
  for (const r of results) {
    console.log(`\n== ${r.name} ${JSON.stringify(r.parameters)}`);
    const rows = Object.entries(r.figures).map(([k, v]) => `  ${k.padEnd(44)} ${String(v)}`);
    console.log(rows.join('\n'));
    if (r.ratio !== undefined) console.log(`  ${'ratio (product / baseline)'.padEnd(44)} ${r.ratio}`);
    if (r.targets) for (const [k, v] of Object.entries(r.targets)) console.log(`  target ${k}: ${v}`);
    if (r.notes) console.log(`  note: ${r.notes}`);
  }
}

export async function writeResults(
  path: string,
  data: { machine: Machine; quick: boolean; results: readonly BenchResult[] },
): Promise<void> {
  await writeFile(path, `${JSON.stringify({ at: new Date().toISOString(), ...data }, null, 2)}\n`);
}
