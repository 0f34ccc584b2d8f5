/** One step of an ordered shutdown; undefined when that part never started. */
export type StopStep = () => Promise<void> | void | undefined;

/**
 * Runs the steps in order, each even when an earlier one failed (PostgreSQL must stop even
 * if the app did not stop cleanly). Failures are logged; the result is the process exit code:
 * 0 when everything stopped, 1 otherwise.
 */
export async function stopInOrder(
  steps: ReadonlyArray<readonly [name: string, stop: StopStep]>,
  log: (message: string, error: unknown) => void,
): Promise<number> {
  let code = 0;
  for (const [name, stop] of steps) {
    try {
      await stop();
    } catch (error) {
      log(`stopping ${name} failed`, error);
      code = 1;
    }
  }
  return code;
}
