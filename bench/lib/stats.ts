/** Percentile of a sample (nearest rank), in the sample's unit. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * This machine's clock in ms, precise to the microsecond: the fan-out's processes each read it
 * (one sends, another receives), so it is wall-clock based, not a process's own timer.
 */
export const now = (): number => performance.timeOrigin + performance.now();
