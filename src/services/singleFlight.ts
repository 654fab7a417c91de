/**
 * Single-flight: concurrent calls with the same key share one run of the producer instead of starting one each
 * (two people asking the bot to read the same message must not pay for two GPU jobs).
 *
 * The shared run is reference-counted by its waiters. A waiter whose own signal aborts leaves alone: its promise
 * rejects with `abortError`, the run continues for the others. When the last waiter leaves, the producer's signal is
 * aborted so the job behind it is cancelled, and the key is forgotten at once so a new call starts afresh instead of
 * joining a run that is shutting down. A failure rejects every waiter and is not remembered: the next call retries.
 *
 * Hand-written rather than a package: the usual single-flight helpers (p-memoize, dataloader) share the promise but
 * not the cancellation, which is the point here.
 */
import { abortError } from './errors.js';

export interface FlightOptions {
  /** This caller's cancellation: only this caller stops waiting unless it was the last one. */
  readonly signal?: AbortSignal;
}

export interface FlightResult<T> {
  readonly value: T;
  /** True when this call joined a run another call had already started. */
  readonly shared: boolean;
}

export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();

  /** How many keys have a producer running for at least one waiter. */
  get inFlight(): number {
    return this.#flights.size;
  }

  run(key: string, produce: (signal: AbortSignal) => Promise<T>, opts: FlightOptions = {}): Promise<FlightResult<T>> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const existing = this.#flights.get(key);
    const flight = existing ?? this.#start(key, produce);
    return new Promise<FlightResult<T>>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, shared: existing !== undefined, signal, onAbort: undefined };
      flight.waiters.add(waiter);
      if (signal) {
        // One listener per waiter: fine here because a waiter is usually one chunk already holding a scheduler slot,
        // so few waiters share a signal at once.
        waiter.onAbort = () => this.#leave(key, flight, waiter, signal);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
    });
  }

  #start(key: string, produce: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const flight: Flight<T> = { controller: new AbortController(), waiters: new Set() };
    this.#flights.set(key, flight);
    let result: Promise<T>;
    try {
      result = produce(flight.controller.signal);
    } catch (err) {
      result = Promise.reject(err);
    }
    // Waiters are registered synchronously after #start returns, before either handler can run.
    Promise.resolve(result).then(
      (value) => this.#settle(key, flight, (w) => w.resolve({ value, shared: w.shared })),
      (err: unknown) => this.#settle(key, flight, (w) => w.reject(err)),
    );
    return flight;
  }

  #leave(key: string, flight: Flight<T>, waiter: Waiter<T>, signal: AbortSignal): void {
    if (!flight.waiters.delete(waiter)) return;
    const reason = abortError(signal);
    waiter.reject(reason);
    if (flight.waiters.size > 0) return;
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    flight.controller.abort(reason);
  }

  #settle(key: string, flight: Flight<T>, notify: (waiter: Waiter<T>) => void): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    for (const waiter of flight.waiters) {
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      notify(waiter);
    }
    flight.waiters.clear();
  }
}

interface Flight<T> {
  readonly controller: AbortController;
  readonly waiters: Set<Waiter<T>>;
}

interface Waiter<T> {
  readonly resolve: (result: FlightResult<T>) => void;
  readonly reject: (reason: unknown) => void;
  readonly shared: boolean;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}
