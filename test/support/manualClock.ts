/**
 * A scheduler clock that moves only when a test moves it (SchedulerClock: now, setTimer, clearTimer). Its timers fire
 * in time order, each at its own moment, as the clock passes them — so look-ahead tests are deterministic and never
 * wait for real time. `pendingTimers` lets a test prove nothing was left armed.
 */
import { setImmediate as nextTick } from 'node:timers/promises';
import type { SchedulerClock } from '../../src/services/scheduler.js';

export class ManualClock implements SchedulerClock {
  #t: number;
  #nextId = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = 0) {
    this.#t = startMs;
  }

  now(): number {
    return this.#t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.#nextId;
    this.#timers.set(id, { at: this.#t + ms, fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing each due timer at its own time (synchronously). */
  advance(ms: number): void {
    const end = this.#t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#t = due[1].at;
      due[1].fn();
    }
    this.#t = end;
  }

  /** `advance`, then one turn of the event loop so the tasks the timers started have run. */
  async advanceAndSettle(ms: number): Promise<void> {
    this.advance(ms);
    await nextTick();
  }
}
