/** Polling for test conditions that no event announces (emulator state, playback progress). */

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined; rejects after `timeoutMs`
 * naming `what`. For state the fake's change feed does not see (the emulator's jobs, the bot's log); state the fake
 * records is better awaited with `fake.waitFor`, which re-checks on every change.
 */
export async function pollUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string, intervalMs = 20): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) throw new Error(`timed out after ${Math.round(timeoutMs)} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
