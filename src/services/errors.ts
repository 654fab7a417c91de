/**
 * Errors are values with a kind, so the edges (CLI, Discord commands) can turn them into short messages
 * and the engine can decide what to retry:
 * - `user`: the request itself is wrong (empty text, unknown voice…) — tell the user, never retry.
 * - `config`: the operator's configuration is wrong (bad key, unknown endpoint) — fatal until fixed.
 * - `transient`: the worker is busy, cold, rate-limited or the network failed — retry with backoff.
 * - `permanent`: the worker refused or failed this input for good — stop at once.
 * - `aborted`: someone cancelled (a /stop, a shutdown) — not a failure, nothing to report.
 * - `timeout`: the overall deadline passed.
 * `detail` carries what only the logs need (worker bodies, tracebacks); `message` is safe to show.
 */
export type ErrorKind = 'user' | 'config' | 'transient' | 'permanent' | 'aborted' | 'timeout';

export class NarratorError extends Error {
  override readonly name = 'NarratorError';
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isNarratorError(err: unknown, kind?: ErrorKind): err is NarratorError {
  return err instanceof NarratorError && (kind === undefined || err.kind === kind);
}

/** The error to throw when an AbortSignal fires: keeps a NarratorError reason, wraps anything else. */
export function abortError(signal: AbortSignal): NarratorError {
  const reason: unknown = signal.reason;
  if (reason instanceof NarratorError) return reason;
  return new NarratorError('aborted', 'aborted', 'Narration was cancelled.');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
