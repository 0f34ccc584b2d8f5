import { percentile } from '../lib/stats.js';
import type { LogLine } from './cluster.js';
import { isViolation, phaseOf, streamOk, type InvariantCheck, type Phase, type StreamCheck } from './checks.js';
import type { Window } from './cluster.js';
import { OP_KINDS, type OpResult } from './ops.js';

export interface Summary {
  readonly ops: number;
  readonly byKind: Record<string, Record<string, number>>;
  readonly errorsByPhase: Record<Phase, Record<string, number>>;
  readonly latencyMs: Record<string, { p50: number; p99: number; n: number }>;
  /** Each distinct error answer: kind, outcome, phase and message, most frequent first. */
  readonly errorMessages: ReadonlyArray<{ kind: string; outcome: string; phase: Phase; message: string; count: number }>;
  readonly outcomeViolations: number;
  /** The operations behind outcomeViolations (the first 20): seconds after the traffic started. */
  readonly violatingOps: ReadonlyArray<{
    kind: string;
    outcome: string;
    phase: Phase;
    server: number;
    startS: number;
    endS: number;
    message: string;
  }>;
  readonly invariants: readonly InvariantCheck[];
  readonly streams: {
    readonly watched: number;
    readonly events: number;
    readonly strictPairs: number;
    /** Events missing anywhere (violations: every stream resumes from the event log). */
    readonly missing: number;
    /** From the end of the traffic until every stream had caught up with event_topics. */
    readonly catchUpMs: number | null;
    /** Why subscriptions ended during the database outage, with counts. */
    readonly interruptionsInOutage: Record<string, number>;
    readonly eventErrors: number;
    readonly failing: readonly StreamCheck[];
  };
  readonly serverLog: {
    readonly deadlockLines: number;
    readonly deadlockSamples: readonly string[];
    readonly topErrors: ReadonlyArray<{ text: string; count: number }>;
  };
}

function bump(table: Record<string, number>, key: string): void {
  table[key] = (table[key] ?? 0) + 1;
}

/** The same message with ids and numbers blanked, so repeats count as one. */
function shape(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

export function summarize(
  results: readonly OpResult[],
  windows: { serverKills: readonly Window[]; dbOutages: readonly Window[] },
  invariants: readonly InvariantCheck[],
  streams: readonly StreamCheck[],
  catchUpMs: number | null,
  logs: readonly LogLine[],
): Summary {
  const byKind: Summary['byKind'] = {};
  const errorsByPhase: Summary['errorsByPhase'] = { normal: {}, 'server-kill': {}, 'db-outage': {} };
  const durations: Record<string, number[]> = { all: [] };
  const messages = new Map<string, { kind: string; outcome: string; phase: Phase; message: string; count: number }>();
  let outcomeViolations = 0;
  const violatingOps: Array<Summary['violatingOps'][number]> = [];
  const t0 = Math.min(...results.map((r) => r.startedAt));
  for (const r of results) {
    bump((byKind[r.kind] ??= {}), r.outcome);
    const phase = phaseOf(r, windows.serverKills, windows.dbOutages);
    if (r.outcome !== 'OK' && r.outcome !== 'SKIPPED') {
      bump(errorsByPhase[phase], r.outcome);
      const message = shape(r.message ?? '');
      const key = `${r.kind}|${r.outcome}|${phase}|${message}`;
      const entry = messages.get(key) ?? { kind: r.kind, outcome: r.outcome, phase, message, count: 0 };
      entry.count++;
      messages.set(key, entry);
    }
    if (isViolation(r.outcome, phase)) {
      outcomeViolations++;
      const at = (t: number): number => Math.round((t - t0) / 100) / 10;
      if (violatingOps.length < 20)
        violatingOps.push({
          kind: r.kind,
          outcome: r.outcome,
          phase,
          server: r.server,
          startS: at(r.startedAt),
          endS: at(r.endedAt),
          message: r.message ?? '',
        });
    }
    if (phase === 'normal' && r.outcome !== 'SKIPPED') {
      const ms = r.endedAt - r.startedAt;
      durations['all'].push(ms);
      (durations[r.kind] ??= []).push(ms);
    }
  }
  const latencyMs: Summary['latencyMs'] = {};
  for (const [kind, values] of Object.entries(durations))
    latencyMs[kind] = { p50: percentile(values, 50), p99: percentile(values, 99), n: values.length };
  const errors = new Map<string, number>();
  for (const line of logs) {
    if (!/error|failed|deadlock/i.test(line.text) || /^\s+at /.test(line.text)) continue;
    const key = shape(line.text);
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }
  return {
    ops: results.length,
    byKind,
    errorsByPhase,
    latencyMs,
    errorMessages: [...messages.values()].sort((a, b) => b.count - a.count),
    outcomeViolations,
    violatingOps,
    invariants,
    streams: {
      watched: streams.length,
      events: streams.reduce((n, s) => n + s.events, 0),
      strictPairs: streams.reduce((n, s) => n + s.strictPairs, 0),
      missing: streams.reduce((n, s) => n + s.missing + s.tailMissing, 0),
      catchUpMs,
      interruptionsInOutage: streams
        .flatMap((s) => s.interruptionsInOutage)
        .reduce<Record<string, number>>((t, reason) => {
          bump(t, shape(reason));
          return t;
        }, {}),
      eventErrors: streams.reduce((n, s) => n + s.eventErrors, 0),
      failing: streams.filter((s) => !streamOk(s)),
    },
    serverLog: {
      deadlockLines: logs.filter((l) => /deadlock/i.test(l.text)).length,
      deadlockSamples: [
        ...new Set(logs.filter((l) => /deadlock/i.test(l.text)).map((l) => `server ${l.server}: ${shape(l.text)}`)),
      ].slice(0, 5),
      topErrors: [...errors]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([text, count]) => ({ text, count })),
    },
  };
}

export function violations(summary: Summary): number {
  return summary.outcomeViolations + summary.invariants.reduce((n, c) => n + c.violations, 0) + summary.streams.failing.length;
}

export function printSummary(s: Summary): void {
  const outcomes = [...new Set(Object.values(s.byKind).flatMap((t) => Object.keys(t)))].sort((a, b) =>
    a === 'OK' ? -1 : b === 'OK' ? 1 : a.localeCompare(b),
  );
  console.log(`\n== operations (${s.ops}) by kind and outcome`);
  console.log(['kind'.padEnd(20), ...outcomes.map((o) => o.padStart(Math.max(6, o.length)))].join(' '));
  for (const kind of OP_KINDS) {
    const row = s.byKind[kind] ?? {};
    console.log([kind.padEnd(20), ...outcomes.map((o) => String(row[o] ?? 0).padStart(Math.max(6, o.length)))].join(' '));
  }
  console.log('\n== errors by phase (normal / server killed / database restarting)');
  for (const [phase, table] of Object.entries(s.errorsByPhase)) {
    const entries = Object.entries(table);
    console.log(`  ${phase.padEnd(12)} ${entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
  }
  console.log(`  violations (INTERNAL, 5xx, timeouts or transport errors outside their phase): ${s.outcomeViolations}`);
  for (const v of s.violatingOps)
    console.log(`    ${v.kind} ${v.outcome} on server ${v.server}, ${v.startS}–${v.endS} s into the traffic: ${v.message}`);
  const outsideOutage = s.errorMessages.filter((m) => m.phase !== 'db-outage');
  console.log('  error answers outside the database outage, most frequent first:');
  for (const m of outsideOutage.slice(0, 15))
    console.log(`    ${String(m.count).padStart(5)} × ${m.kind} ${m.outcome} (${m.phase}): ${m.message}`);
  console.log('\n== latency outside the outages, ms (p50 / p99, n)');
  for (const [kind, l] of Object.entries(s.latencyMs)) console.log(`  ${kind.padEnd(20)} ${l.p50} / ${l.p99}  (${l.n})`);
  console.log('\n== invariants (SQL, after the final sweep)');
  for (const c of s.invariants)
    console.log(
      `  ${c.violations === 0 ? 'ok  ' : 'FAIL'} ${c.name}${c.violations ? `: ${c.violations}, e.g. ${JSON.stringify(c.sample)}` : ''}`,
    );
  console.log('\n== subscriptions (queueChanged per group and Help, dialogEvents) on the surviving processes');
  console.log(
    `  ${s.streams.watched} streams, ${s.streams.events} events, ${s.streams.strictPairs} consecutive pairs checked strictly`,
  );
  console.log(
    `  events missing (listener outages and resubscriptions included; each resubscription resumes with after): ${s.streams.missing}`,
  );
  console.log(
    `  streams caught up with event_topics ${s.streams.catchUpMs === null ? 'NOT within the limit' : `${(s.streams.catchUpMs / 1000).toFixed(1)} s after the traffic ended`}`,
  );
  const ended = Object.entries(s.streams.interruptionsInOutage);
  console.log(
    `  subscriptions ended during the outage (then subscribed again with after): ${ended.length ? ended.map(([why, n]) => `${n} × ${why}`).join('; ') : 'none'}`,
  );
  console.log(`  events answered with errors: ${s.streams.eventErrors}`);
  console.log(
    `  ${s.streams.failing.length === 0 ? 'ok  ' : 'FAIL'} every stream in order with no gap (outages included), complete up to event_topics`,
  );
  for (const f of s.streams.failing) console.log(`    ${JSON.stringify(f)}`);
  console.log('\n== server logs');
  console.log(`  lines mentioning a deadlock: ${s.serverLog.deadlockLines}`);
  for (const line of s.serverLog.deadlockSamples) console.log(`    ${line}`);
  for (const e of s.serverLog.topErrors) console.log(`  ${String(e.count).padStart(5)} × ${e.text}`);
}
