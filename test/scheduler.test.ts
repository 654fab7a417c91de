/**
 * FairScheduler: the job limit holds, requests take turns, cancellation is prompt and nothing is left behind.
 * Tasks are driven by hand-released gates, so every ordering asserted here is deterministic.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTick } from 'node:timers/promises';
import { FairScheduler } from '../src/services/scheduler.js';
import { NarratorError, isNarratorError } from '../src/services/errors.js';

interface Gate {
  readonly promise: Promise<void>;
  open(): void;
  fail(err: unknown): void;
}

function gate(): Gate {
  let open!: () => void;
  let fail!: (err: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets every pending promise callback run (several microtask hops happen between a settle and the next start). */
async function flush(): Promise<void> {
  await nextTick();
}

/** A requester's chunks as gated tasks that record when they start. */
function gatedTasks(name: string, count: number, started: string[]) {
  const gates = Array.from({ length: count }, () => gate());
  const task = (i: number) => async (): Promise<string> => {
    started.push(`${name}${i}`);
    await gates[i]!.promise;
    return `${name}${i} done`;
  };
  return { gates, task };
}

describe('FairScheduler', () => {
  test('rejects a concurrency that is not a whole number ≥ 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new FairScheduler(bad), (err: unknown) => isNarratorError(err, 'config') && err.code === 'bad_concurrency');
    }
    assert.equal(new FairScheduler(6).concurrency, 6);
  });

  test('never runs more tasks at once than the limit, and runs them all', async () => {
    const scheduler = new FairScheduler(3);
    let inFlight = 0;
    let maxInFlight = 0;
    const results: Promise<number>[] = [];
    for (let i = 0; i < 60; i++) {
      results.push(
        scheduler.run(`req${i % 4}`, async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          assert.ok(scheduler.active <= 3);
          // Tasks of different lengths, so slots free in a mixed order.
          for (let t = 0; t < (i % 3) + 1; t++) await nextTick();
          inFlight--;
          return i;
        }),
      );
    }
    assert.equal(scheduler.active, 3);
    assert.equal(scheduler.queued, 57);
    assert.deepEqual(await Promise.all(results), Array.from({ length: 60 }, (_, i) => i));
    assert.equal(maxInFlight, 3);
    assert.equal(scheduler.active, 0);
    assert.equal(scheduler.queued, 0);
  });

  test('a request arriving later takes turns with a long one instead of waiting behind it', async () => {
    const scheduler = new FairScheduler(1);
    const started: string[] = [];
    const a = gatedTasks('a', 10, started);
    const b = gatedTasks('b', 3, started);
    const aDone = a.gates.map((_, i) => scheduler.run('A', a.task(i)));
    await flush();
    a.gates[0]!.open();
    await flush();
    assert.deepEqual(started, ['a0', 'a1']);

    // B arrives while a1 runs with a2…a9 still queued.
    const bDone = b.gates.map((_, i) => scheduler.run('B', b.task(i)));
    assert.deepEqual(
      scheduler.stats().map((s) => ({ ...s })),
      [
        { requesterId: 'A', queued: 8, active: 1, started: 2 },
        { requesterId: 'B', queued: 3, active: 0, started: 0 },
      ],
    );
    // Release whatever is running, one at a time, until everything has run.
    for (let n = 0; n < 12; n++) {
      const running = started.at(-1)!;
      const owner = running.startsWith('a') ? a : b;
      owner.gates[Number(running.slice(1))]!.open();
      await flush();
    }
    assert.deepEqual(started, ['a0', 'a1', 'b0', 'a2', 'b1', 'a3', 'b2', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9']);
    assert.deepEqual(await Promise.all(bDone), ['b0 done', 'b1 done', 'b2 done']);
    assert.equal((await Promise.all(aDone)).length, 10);
  });

  test('a newcomer gets the freed slots until it holds as many as the long request (fewest running first)', async () => {
    const scheduler = new FairScheduler(4);
    const started: string[] = [];
    const a = gatedTasks('a', 12, started);
    const b = gatedTasks('b', 3, started);
    const aDone = a.gates.map((_, i) => scheduler.run('A', a.task(i)));
    await flush();
    assert.deepEqual(started, ['a0', 'a1', 'a2', 'a3']);
    const bDone = b.gates.map((_, i) => scheduler.run('B', b.task(i)));
    // A's tasks end one by one: B (0 running) takes the first freed slot, and the second (1 against A's 2), then
    // they share equally. Plain round-robin would have given A every other slot: b0 a4 b1 a5.
    for (let i = 0; i < 4; i++) {
      a.gates[i]!.open();
      await flush();
    }
    assert.deepEqual(started.slice(4), ['b0', 'b1', 'a4', 'a5']);
    for (const g of [...a.gates, ...b.gates]) g.open();
    await Promise.all([...aDone, ...bDone]);
  });

  test('three requesters are served round-robin, each in its own FIFO order', async () => {
    const scheduler = new FairScheduler(2);
    const started: string[] = [];
    const all: Promise<unknown>[] = [];
    for (const name of ['x', 'y', 'z']) {
      for (let i = 0; i < 4; i++) {
        all.push(
          scheduler.run(name, async () => {
            started.push(`${name}${i}`);
            await nextTick();
          }),
        );
      }
    }
    await Promise.all(all);
    // Slots: x0 and x1 start at once (x is alone), then turns rotate y, z, x, …
    assert.deepEqual(started, ['x0', 'x1', 'y0', 'z0', 'x2', 'y1', 'z1', 'x3', 'y2', 'z2', 'y3', 'z3']);
  });

  test('a task aborted while queued rejects at once with the abort reason and never runs', async () => {
    const scheduler = new FairScheduler(1);
    const started: string[] = [];
    const blocker = gate();
    const first = scheduler.run('A', async () => {
      started.push('first');
      await blocker.promise;
    });
    const controller = new AbortController();
    const reason = new NarratorError('aborted', 'stopped', 'Stopped by /stop.');
    const queuedA = scheduler.run('B', async () => void started.push('b0'), { signal: controller.signal });
    const queuedB = scheduler.run('B', async () => void started.push('b1'), { signal: controller.signal });
    const other = scheduler.run('C', async () => void started.push('c0'));
    assert.equal(scheduler.queued, 3);

    controller.abort(reason);
    // Removed synchronously: the counts drop before any promise callback runs.
    assert.equal(scheduler.queued, 1);
    await assert.rejects(queuedA, (err: unknown) => err === reason);
    await assert.rejects(queuedB, (err: unknown) => err === reason);
    assert.deepEqual(scheduler.stats().map((s) => s.requesterId), ['A', 'C']);

    blocker.open();
    await first;
    await other;
    assert.deepEqual(started, ['first', 'c0']);
  });

  test('a plain AbortController abort becomes a NarratorError of kind aborted', async () => {
    const scheduler = new FairScheduler(1);
    const blocker = gate();
    const first = scheduler.run('A', () => blocker.promise);
    const controller = new AbortController();
    const queued = scheduler.run('B', async () => 'ran', { signal: controller.signal });
    controller.abort();
    await assert.rejects(queued, (err: unknown) => isNarratorError(err, 'aborted'));
    blocker.open();
    await first;
  });

  test('an already-aborted signal rejects without queueing', async () => {
    const scheduler = new FairScheduler(1);
    let ran = false;
    await assert.rejects(
      scheduler.run('A', async () => void (ran = true), { signal: AbortSignal.abort() }),
      (err: unknown) => isNarratorError(err, 'aborted'),
    );
    assert.equal(ran, false);
    assert.equal(scheduler.stats().length, 0);
  });

  test('a running task receives the abort through its signal and its slot frees when it settles', async () => {
    const scheduler = new FairScheduler(1);
    const controller = new AbortController();
    const seen: string[] = [];
    const running = scheduler.run(
      'A',
      (signal) =>
        new Promise<string>((_, reject) => {
          signal.addEventListener('abort', () => {
            seen.push('task saw abort');
            reject(new NarratorError('aborted', 'aborted', 'cancelled'));
          });
        }),
      { signal: controller.signal },
    );
    const next = scheduler.run('B', async () => 'next ran');
    await flush();
    assert.equal(scheduler.active, 1);
    controller.abort();
    await assert.rejects(running, (err: unknown) => isNarratorError(err, 'aborted'));
    assert.deepEqual(seen, ['task saw abort']);
    assert.equal(await next, 'next ran');
  });

  test('a task that throws synchronously or rejects frees its slot', async () => {
    const scheduler = new FairScheduler(1);
    const syncThrow = scheduler.run('A', () => {
      throw new Error('boom');
    });
    const rejects = scheduler.run('A', async () => {
      throw new Error('later boom');
    });
    const after = scheduler.run('A', async () => 'still running');
    await assert.rejects(syncThrow, /boom/);
    await assert.rejects(rejects, /later boom/);
    assert.equal(await after, 'still running');
    assert.equal(scheduler.active, 0);
  });

  test('keeps no state for requesters after their work is done (1000 requests)', async () => {
    const scheduler = new FairScheduler(4);
    const controller = new AbortController();
    const all: Promise<unknown>[] = [];
    for (let r = 0; r < 1000; r++) {
      // Every third request is cancelled while still queued; the others complete.
      const signal = r % 3 === 0 ? controller.signal : undefined;
      for (let i = 0; i < 3; i++) all.push(scheduler.run(`req-${r}`, async () => nextTick(), { signal }).catch(() => 'cancelled'));
    }
    assert.ok(scheduler.stats().length > 900);
    controller.abort();
    const outcomes = await Promise.all(all);
    assert.ok(outcomes.filter((o) => o === 'cancelled').length >= 990);
    assert.equal(scheduler.stats().length, 0);
    assert.equal(scheduler.active, 0);
    assert.equal(scheduler.queued, 0);
  });

  test('200 requesters × 100 tasks complete quickly', async () => {
    const scheduler = new FairScheduler(6);
    const shared = new AbortController();
    let completed = 0;
    const t0 = performance.now();
    const all: Promise<void>[] = [];
    for (let r = 0; r < 200; r++) {
      for (let i = 0; i < 100; i++) {
        // All tasks share one signal, as one narration's chunks do: must not cost a listener scan per task.
        all.push(scheduler.run(`r${r}`, async () => void completed++, { signal: shared.signal }));
      }
    }
    await Promise.all(all);
    const elapsed = performance.now() - t0;
    assert.equal(completed, 20_000);
    assert.equal(scheduler.stats().length, 0);
    assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  });
});
