import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';

export type { Logger, LevelWithSilent as LogLevel, DestinationStream as LogDestination };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Keys replaced by "[redacted]" at the top of a logged object or one level down: a safety net
 * behind the rule that tokens, passwords and message texts are never passed to the logger.
 */
const REDACT = [
  'authorization',
  'token',
  'password',
  'text',
  '*.authorization',
  '*.token',
  '*.password',
  '*.text',
  'req.headers.authorization',
];

/**
 * JSON lines on stdout (or `destination`). Nothing is pretty-printed here: pipe the output
 * through `pino-pretty` in a terminal.
 */
export function createLogger(options: { level?: LevelWithSilent; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'handover' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    // stdout, written synchronously on the calling thread: nothing is lost when the process
    // exits, and a line costs one write, not a hop through libuv's thread pool and back.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * What the log gets of an unexpected error. A database error's message quotes the statement
 * with its parameter values (token and password hashes, emails): log what identifies the
 * failure (SQLSTATE, constraint, table) and where it happened, not the values.
 */
export function loggable(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const db = error as Error & { code?: unknown; constraint?: unknown; table?: unknown; column?: unknown; routine?: unknown };
  if (typeof db.code !== 'string' || !/^[0-9A-Z]{5}$/.test(db.code)) return error;
  const facts = [`sqlstate ${db.code}`];
  for (const key of ['constraint', 'table', 'column', 'routine'] as const) {
    if (typeof db[key] === 'string') facts.push(`${key} ${db[key]}`);
  }
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trim().startsWith('at '));
  return `${error.name} (${facts.join(', ')})\n${frames.join('\n')}`;
}
