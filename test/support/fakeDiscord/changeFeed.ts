/**
 * One "something changed" signal for the whole fake, and waits built on it. Every recorder (REST call, gateway
 * packet, voice frame) calls `notify()`; a wait re-evaluates its probe on each notification. Probing state instead
 * of listening for specific events means a wait started after the fact still sees what already happened, and a
 * test can wait for any combination of conditions without the fake having to foresee it.
 */
import { NarratorError } from '../../../src/services/errors.js';

interface PendingWait {
  check(): void;
  cancel(reason: NarratorError): void;
}

export class ChangeFeed {
  readonly #waits = new Set<PendingWait>();

  notify(): void {
    for (const wait of [...this.#waits]) wait.check();
  }

  /** Resolves with the probe's first non-undefined value; rejects with a `timeout` NarratorError naming `what`. */
  waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    try {
      const first = probe();
      if (first !== undefined) return Promise.resolve(first);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        this.#waits.delete(wait);
        clearTimeout(timer);
      };
      const wait: PendingWait = {
        check: () => {
          let value: T | undefined;
          try {
            value = probe();
          } catch (err) {
            finish();
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          if (value !== undefined) {
            finish();
            resolve(value);
          }
        },
        cancel: (reason) => {
          finish();
          reject(reason);
        },
      };
      const timer = setTimeout(() => {
        wait.cancel(new NarratorError('timeout', 'fake_discord_wait', `Fake Discord: timed out after ${timeoutMs} ms waiting for ${what}.`));
      }, timeoutMs);
      this.#waits.add(wait);
    });
  }

  /** Fails every pending wait (the fake is closing), so no test hangs on a promise that can no longer settle. */
  dispose(): void {
    for (const wait of [...this.#waits]) {
      wait.cancel(new NarratorError('aborted', 'fake_discord_closed', 'Fake Discord was closed while a test was still waiting.'));
    }
  }
}
