/**
 * `work`'s answer, or `late` once `ms` have passed without one. The work itself goes on (a
 * statement cannot be called back from a connection that stopped answering); only the caller
 * stops waiting for it.
 */
export async function withinTime<T>(ms: number, late: T, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late), ms);
  });
  try {
    return await Promise.race([work(), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
