import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { now } from './cluster.js';

/** One stream a dashboard follows on one server process. */
export interface WatchSpec {
  readonly label: string;
  /** The event_topics row whose sequence this stream carries. */
  readonly topic: string;
  readonly server: number;
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

export interface Received {
  readonly sequence: number;
  readonly at: number;
}

/** When a subscription ended (error or close) and was opened again. */
export interface Interruption {
  readonly at: number;
  readonly reason: string;
}

const MAX_RESUBSCRIBES = 20;

export const queueWatch = (groupId: string | null, server: number): WatchSpec => ({
  label: `queueChanged(${groupId ?? 'Help'}) @${server}`,
  topic: groupId ? `queue:${groupId}` : 'queue:help',
  server,
  query: `subscription($g: ID, $after: Int) { queueChanged(groupId: $g, after: $after) { type sequence } }`,
  variables: { g: groupId },
});

export const dialogWatch = (dialogId: string, server: number): WatchSpec => ({
  label: `dialogEvents(${dialogId}) @${server}`,
  topic: `dialog:${dialogId}`,
  server,
  query: `subscription($d: ID!, $after: Int) { dialogEvents(dialogId: $d, after: $after) { type sequence } }`,
  variables: { d: dialogId },
});

/**
 * A graphql-ws subscriber that records every sequence number with its arrival time. When its
 * subscription ends (e.g. the server could not read an event during a database outage), it
 * records why and subscribes again after the last sequence it received (`after`), a bounded
 * number of times, so the server replays what it missed. A stream the server completes (a
 * dialog's, after it closed) has simply ended.
 */
export class Watcher {
  readonly received: Received[] = [];
  readonly interruptions: Interruption[] = [];
  readonly eventErrors: Interruption[] = [];
  private client: Client | null = null;
  private stopped = false;
  /** The server completed the stream (dialogEvents after CLOSED). */
  completed = false;

  constructor(
    readonly spec: WatchSpec,
    private readonly wsUrl: string,
    private readonly token: string,
  ) {}

  start(): void {
    if (this.stopped) return;
    const client = createClient({
      url: this.wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      connectionParams: { authorization: `Bearer ${this.token}` },
    });
    this.client = client;
    client.subscribe<Record<string, { sequence: number }>>(
      { query: this.spec.query, variables: { ...this.spec.variables, after: this.last ?? null } },
      {
        next: (result) => {
          const at = now();
          if (result.errors?.length) this.eventErrors.push({ at, reason: result.errors.map((e) => e.message).join('; ') });
          const event = result.data ? Object.values(result.data)[0] : undefined;
          if (event) this.received.push({ sequence: event.sequence, at });
        },
        error: (error) => this.interrupted(client, describe(error)),
        complete: () => {
          if (client === this.client) this.completed = true;
        },
      },
    );
  }

  private interrupted(client: Client, reason: string): void {
    if (this.stopped || client !== this.client) return;
    this.interruptions.push({ at: now(), reason });
    // Replaced by a new client; nothing waits for the old one to close.
    void client.dispose();
    this.client = null;
    if (this.interruptions.length <= MAX_RESUBSCRIBES) setTimeout(() => this.start(), 500);
  }

  get last(): number | undefined {
    return this.received.at(-1)?.sequence;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.dispose();
    this.client = null;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (Array.isArray(error)) return error.map((e: { message?: string }) => e.message ?? JSON.stringify(e)).join('; ');
  const close = error as { code?: number; reason?: string };
  if (typeof close?.code === 'number') return `socket closed ${close.code} ${close.reason ?? ''}`.trim();
  return JSON.stringify(error);
}
