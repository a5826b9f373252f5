// The runner's sense of time, injected so waits are testable without real delays (tests pass a fake clock).
export interface Clock {
  /** wall-clock milliseconds (the same scale as the backend's trace timestamps) */
  now(): number;
  /** resolves after ms, or early when the signal aborts */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};
