/**
 * The one re-submission loop the backends share: run an attempt; on a transient NarratorError, wait (exponential
 * backoff, full jitter) and run a fresh attempt while that error's budget lasts (see workerErrors.RETRY_BUDGET).
 * Each attempt must clean up after itself (cancel its job) before it throws.
 */
import { NarratorError, throwIfAborted } from '../errors.js';
import type { BackendEvent } from './backend.js';
import { backoffMs, sleep } from './http.js';
import { retryBudget } from './workerErrors.js';

export interface RetryOptions {
  readonly signal: AbortSignal;
  readonly onEvent?: (event: BackendEvent) => void;
  /** Base of the backoff; tests shrink it. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

export async function withResubmits<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions): Promise<{ value: T; retries: number }> {
  const used = new Map<string, number>();
  for (let n = 0; ; n++) {
    throwIfAborted(opts.signal);
    try {
      return { value: await attempt(n), retries: n };
    } catch (err) {
      if (!(err instanceof NarratorError) || err.kind !== 'transient') throw err;
      const count = (used.get(err.code) ?? 0) + 1;
      if (count > retryBudget(err)) throw err;
      used.set(err.code, count);
      const delayMs = backoffMs(n, opts.baseDelayMs ?? 500, opts.maxDelayMs ?? 8000);
      opts.onEvent?.({ type: 'retry', attempt: n + 1, reason: err.code, delayMs });
      await sleep(delayMs, opts.signal);
    }
  }
}
