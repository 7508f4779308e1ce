// A small counting semaphore with a bounded queue: at most `max` tasks run at once, at most
// `maxWaiting` wait; beyond that run() refuses at once (BusyError) instead of queueing without end.
// Used to bound password hashing (scrypt runs on libuv's thread pool, which the spool's fdatasync
// shares: a login storm — API logins, gateways reconnecting after a restart — must not take every
// thread) and report computations.
export class BusyError extends Error {
  override readonly name = 'BusyError';
}

export interface Semaphore {
  run<T>(task: () => Promise<T>): Promise<T>;
  stats(): { running: number; waiting: number; peakRunning: number };
}

export function createSemaphore(max: number, maxWaiting: number): Semaphore {
  let running = 0;
  let peakRunning = 0;
  const waiting: (() => void)[] = [];
  // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return {
    async run(task) {
      if (running >= max) {
        if (waiting.length >= maxWaiting) throw new BusyError(`${max} running and ${maxWaiting} waiting`);
        await new Promise<void>((r) => waiting.push(r));
      } else running++;
      peakRunning = Math.max(peakRunning, running);
      try {
        return await task();
      } finally {
        release();
      }
    },
    stats: () => ({ running, waiting: waiting.length, peakRunning }),
  };
}
