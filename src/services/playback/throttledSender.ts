/**
 * Sends the latest of a stream of values at most once per interval, one send at a time — for progress edits of a
 * Discord reply. A narration produces progress much faster than Discord lets a bot edit a message (and every edit
 * costs a REST call), and two edits in flight at once could land out of order, leaving a stale bar on screen.
 *
 * Values offered while a send is in flight or the interval has not passed replace each other; only the newest is
 * sent when the time comes. `finish(final)` drops what is pending, waits for the send in flight, and sends the
 * final value — so the last thing on screen is always the final state. A failed intermediate send is reported to
 * `onError` and does not stop later ones.
 */
export interface ThrottledSenderOptions {
  /** Minimum time between the starts of two sends. */
  readonly minIntervalMs: number;
  readonly onError?: (err: unknown) => void;
  /** Injected for tests; defaults to performance.now. */
  readonly now?: () => number;
}

export class ThrottledSender<T> {
  private pending: { value: T } | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStart = -Infinity;
  private finished = false;
  private readonly now: () => number;

  constructor(
    private readonly send: (value: T) => Promise<void>,
    private readonly options: ThrottledSenderOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Offers a new value; it is sent now if allowed, otherwise later (unless a newer one replaces it). */
  offer(value: T): void {
    if (this.finished) return;
    this.pending = { value };
    this.pump();
  }

  /** Sends `final` after any send in flight; later offers are ignored. Resolves (or rejects) with that send. */
  async finish(final: T): Promise<void> {
    await this.close();
    await this.send(final);
  }

  /** Drops what is pending, ignores later offers, and waits for the send in flight. */
  async close(): Promise<void> {
    this.finished = true;
    this.pending = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private pump(): void {
    if (this.finished || this.inFlight || !this.pending || this.timer) return;
    const wait = this.lastStart + this.options.minIntervalMs - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      this.timer.unref?.();
      return;
    }
    const { value } = this.pending;
    this.pending = undefined;
    this.lastStart = this.now();
    this.inFlight = this.send(value)
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => {
        this.inFlight = undefined;
        this.pump();
      });
  }
}
