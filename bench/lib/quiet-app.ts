import type { App } from '../../src/app.js';
import { eventually } from './eventually.js';

/** Stops an in-process app's background work (SL ticker, sweeps, webhook delivery), so statement counts see requests only. */
export async function quietApp(app: App): Promise<void> {
  app.services.slTicker.stop();
  await app.sweeper.stop();
  await app.services.webhookWorker.stop();
}

/**
 * Waits until every event committed so far is numbered and delivered to `app`, so no log read
 * is left to run (statement counts then see requests only).
 */
export async function settledApp(app: App): Promise<void> {
  let head = 0;
  await eventually(
    async () => {
      const [row] = await app.services.bus
        .fork()
        .execute<Array<{ unnumbered: boolean | null; head: string | null }>>(
          'select bool_or(position is null) as unnumbered, max(position) as head from event_log',
        );
      head = Number(row?.head ?? 0);
      return row?.unnumbered !== true;
    },
    10_000,
    'every event numbered',
  );
  await eventually(() => app.services.bus.position() >= head, 10_000, 'events delivered');
}
