/**
 * FairScheduler's synthesis look-ahead: a paced requester's task does not start while its deadline is more than the
 * look-ahead beyond now; it starts when time brings it within reach (one timer, no polling), and cancelling, pausing
 * or closing leaves no timer behind. A fake clock drives time, so nothing here waits for real time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTick } from 'node:timers/promises';
import { FairScheduler } from '../src/services/scheduler.js';
import { isNarratorError } from '../src/services/errors.js';
import { ManualClock } from './support/manualClock.js';

/** A requester's places, each run with a task that records its start and finishes at once. */
function reserveChunks(handle: ReturnType<FairScheduler['open']>, offsets: readonly number[], started: number[], signal?: AbortSignal, first = 0): Promise<number>[] {
  return offsets.map((offset, n) => {
    const i = first + n;
    const ticket = handle.reserve(offset, signal);
    const done = ticket.run(
      async () => {
        started.push(i);
        return i;
      },
      { signal },
    );
    done.catch(() => undefined);
    return done;
  });
}

describe('FairScheduler look-ahead', () => {
  test('a task waits until its deadline is within the look-ahead, then starts without polling; text order holds', async () => {
    const clock = new ManualClock(1_000);
    const scheduler = new FairScheduler(4, { clock });
    const started: number[] = [];
    const handle = scheduler.open('paced', clock.now(), { lookaheadMs: 10_000 });
    const results = reserveChunks(handle, [0, 5_000, 10_000, 15_000, 20_000, 25_000], started);
    await nextTick();
    // Due now, in 5 s and in 10 s: within reach. The one due in 15 s is held, and with it everything after.
    assert.deepEqual(started, [0, 1, 2]);
    assert.equal(scheduler.queued, 3);
    assert.equal(scheduler.held, 3, 'all three wait for the listener, not for a slot (/status tells them apart)');
    assert.equal(clock.pendingTimers, 1, 'one timer for the held narration, not one per chunk');
    assert.equal(scheduler.timers, 1);
    await clock.advanceAndSettle(4_999);
    assert.deepEqual(started, [0, 1, 2], 'still 1 ms too far ahead');
    await clock.advanceAndSettle(1);
    assert.deepEqual(started, [0, 1, 2, 3]);
    await clock.advanceAndSettle(10_000);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
    assert.equal(scheduler.held, 0);
    assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4, 5]);
    handle.close();
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(scheduler.stats(), []);
  });

  test('a held narration takes no slot: an unpaced one (and one due sooner) runs at once, whatever the order of arrival', async () => {
    const clock = new ManualClock(1_000);
    const scheduler = new FairScheduler(1, { clock });
    const started: string[] = [];
    const paced = scheduler.open('paced', clock.now(), { lookaheadMs: 1_000 });
    const far = paced.reserve(60_000).run(async () => void started.push('paced far'));
    await nextTick();
    const cli = scheduler.run('cli', async () => void started.push('cli'), { deadline: clock.now() + 3_600_000 });
    await cli;
    assert.deepEqual(started, ['cli'], 'an unpaced requester is never held, even with a later deadline');
    await clock.advanceAndSettle(59_000);
    await far;
    assert.deepEqual(started, ['cli', 'paced far']);
    paced.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('re-anchoring moves the window: earlier playback releases at once, later playback holds again', async () => {
    const clock = new ManualClock(1_000);
    const scheduler = new FairScheduler(2, { clock });
    const started: number[] = [];
    const handle = scheduler.open('paced', clock.now() + 30_000, { lookaheadMs: 10_000 });
    const results = reserveChunks(handle, [0, 20_000], started);
    await nextTick();
    assert.deepEqual(started, [], 'playback is expected in 30 s: nothing is due within 10 s');
    handle.setAnchor(clock.now());
    await nextTick();
    assert.deepEqual(started, [0], 'playback starts now: the first chunk is due');
    handle.setAnchor(clock.now() + 100_000);
    await clock.advanceAndSettle(15_000);
    assert.deepEqual(started, [0], 'the second chunk moved 100 s later');
    await clock.advanceAndSettle(95_000);
    assert.deepEqual(started, [0, 1]);
    await Promise.all(results);
    handle.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('cancelled while held: nothing starts, the promises reject, no timer is left', async () => {
    const clock = new ManualClock(1_000);
    const scheduler = new FairScheduler(2, { clock });
    const started: number[] = [];
    const controller = new AbortController();
    const handle = scheduler.open('paced', clock.now(), { lookaheadMs: 5_000 });
    const results = reserveChunks(handle, [0, 10_000, 20_000], started, controller.signal);
    await nextTick();
    assert.deepEqual(started, [0]);
    assert.equal(clock.pendingTimers, 1);
    controller.abort();
    assert.equal(clock.pendingTimers, 0, 'the timer goes with the last queued task');
    assert.equal(scheduler.timers, 0);
    for (const r of results.slice(1)) await assert.rejects(r, (err: unknown) => isNarratorError(err, 'aborted'));
    await clock.advanceAndSettle(60_000);
    assert.deepEqual(started, [0]);
    handle.close();
    assert.equal(scheduler.queued, 0);
    assert.deepEqual(scheduler.stats(), []);
  });

  test('paused while held: no timer and nothing starts until resumed; a stopped listener clock freezes the window', async () => {
    const clock = new ManualClock(1_000);
    const scheduler = new FairScheduler(2, { clock });
    const started: number[] = [];
    const handle = scheduler.open('paced', clock.now(), { lookaheadMs: 5_000 });
    const results = reserveChunks(handle, [0, 10_000, 20_000], started);
    await nextTick();
    handle.pause();
    assert.equal(clock.pendingTimers, 0, 'a paused narration waits for resume, not for time');
    assert.equal(scheduler.held, 2, 'paused: held, not waiting for a slot');
    await clock.advanceAndSettle(30_000);
    assert.deepEqual(started, [0]);
    handle.resume();
    await nextTick();
    assert.deepEqual(started, [0, 1, 2], 'both deadlines are within reach now');
    await Promise.all(results);

    // A user's pause: the listener's clock stops, so the window stops where it was.
    const more = reserveChunks(handle, [40_000, 50_000], started, undefined, 3);
    handle.setListening(false);
    await clock.advanceAndSettle(100_000);
    assert.deepEqual(started, [0, 1, 2], 'time passes, the listener does not move: nothing further starts');
    assert.equal(clock.pendingTimers, 0);
    // Resumed 100 s later: the player re-bases the deadlines on where the listener is, and the clock runs again.
    handle.setAnchor(handle.anchor + 100_000);
    handle.setListening(true);
    await nextTick();
    assert.deepEqual(started, [0, 1, 2], 'due 10 s from the listener\'s position: 5 s beyond the look-ahead');
    await clock.advanceAndSettle(5_000);
    assert.deepEqual(started, [0, 1, 2, 3]);
    await clock.advanceAndSettle(10_000);
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    await Promise.all(more);
    handle.close();
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(scheduler.stats(), []);
  });

  test('earliest deadline first across paced narrations once they are within reach; MAX is still the one limit', async () => {
    const clock = new ManualClock(1_000);
    const scheduler = new FairScheduler(1, { clock });
    const order: string[] = [];
    const a = scheduler.open('a', clock.now(), { lookaheadMs: 10_000 });
    const b = scheduler.open('b', clock.now(), { lookaheadMs: 10_000 });
    const gates: Array<() => void> = [];
    const run = (h: typeof a, name: string, offset: number) =>
      h.reserve(offset).run(
        () =>
          new Promise<void>((resolve) => {
            order.push(name);
            gates.push(resolve);
          }),
      );
    const all = [run(a, 'a0', 0), run(a, 'a1', 8_000), run(b, 'b0', 2_000), run(b, 'b1', 30_000)];
    await nextTick();
    assert.deepEqual(order, ['a0']);
    gates.shift()!();
    await nextTick();
    assert.deepEqual(order, ['a0', 'b0'], 'b0 (due in 2 s) before a1 (due in 8 s)');
    gates.shift()!();
    await nextTick();
    assert.deepEqual(order, ['a0', 'b0', 'a1'], 'b1 is held: a1 takes the slot');
    gates.shift()!();
    await clock.advanceAndSettle(20_000);
    assert.deepEqual(order, ['a0', 'b0', 'a1', 'b1']);
    gates.shift()!();
    await Promise.all(all);
    a.close();
    b.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('a negative look-ahead is refused', () => {
    const scheduler = new FairScheduler(1);
    assert.throws(() => scheduler.open('x', 0, { lookaheadMs: -1 }), (err: unknown) => isNarratorError(err, 'config'));
  });
});
