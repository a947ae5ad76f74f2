/**
 * Timers that end by themselves or with an `AbortSignal`.
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or at once (without rejecting) when
 * `signal` aborts, so that nothing waits on a timer past its owner's end.
 *
 * @param ms How long to wait.
 * @param signal Ends the wait early.
 * @returns Resolves when the time is up or the signal aborted.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
