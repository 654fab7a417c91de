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

  test('the earliest deadline across requesters starts first; a requester that is ahead does not starve one behind', async () => {
    const scheduler = new FairScheduler(1);
    const started: string[] = [];
    const a = gatedTasks('a', 10, started);
    const b = gatedTasks('b', 3, started);
    // A long narration whose chunk k is needed at 5 s × k; its playback is far ahead of what B needs.
    const aDone = a.gates.map((_, i) => scheduler.run('A', a.task(i), { deadline: i * 5_000 }));
    await flush();
    a.gates[0]!.open();
    await flush();
    assert.deepEqual(started, ['a0', 'a1']);
    // B arrives while a1 runs: its first chunk is needed at 6 s, before A's a2 (10 s); then 11 s and 16 s.
    const bDone = b.gates.map((_, i) => scheduler.run('B', b.task(i), { deadline: 6_000 + i * 5_000 }));
    assert.deepEqual(
      scheduler.stats().map((s) => ({ ...s })),
      [
        { requesterId: 'A', queued: 8, active: 1, started: 2 },
        { requesterId: 'B', queued: 3, active: 0, started: 0 },
      ],
    );
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

  test('a newcomer whose first chunk is needed now takes the freed slots ahead of a long request that is ahead', async () => {
    const scheduler = new FairScheduler(4);
    const started: string[] = [];
    const a = gatedTasks('a', 12, started);
    const b = gatedTasks('b', 3, started);
    const aDone = a.gates.map((_, i) => scheduler.run('A', a.task(i), { deadline: 1_000 + i * 4_000 }));
    await flush();
    assert.deepEqual(started, ['a0', 'a1', 'a2', 'a3']);
    // B: needed from 2 s on, 1 s apart (short sentences); A's a4 is needed at 17 s.
    const bDone = b.gates.map((_, i) => scheduler.run('B', b.task(i), { deadline: 2_000 + i * 1_000 }));
    for (let i = 0; i < 4; i++) {
      a.gates[i]!.open();
      await flush();
    }
    assert.deepEqual(started.slice(4), ['b0', 'b1', 'b2', 'a4']);
    for (const g of [...a.gates, ...b.gates]) g.open();
    await Promise.all([...aDone, ...bDone]);
  });

  test('within a requester tasks start in queue order, whatever their deadlines; equal deadlines start in queue order', async () => {
    const scheduler = new FairScheduler(1);
    const started: string[] = [];
    const all: Promise<unknown>[] = [];
    const record = (name: string) => async () => void started.push(name);
    all.push(scheduler.run('X', record('x0'), { deadline: 10 }));
    all.push(scheduler.run('X', record('x1'), { deadline: 5 }));
    all.push(scheduler.run('Y', record('y0'), { deadline: 7 }));
    all.push(scheduler.run('Z', record('z0'), { deadline: 7 }));
    await Promise.all(all);
    // x0 was alone with a free slot; then X's head x1 (5) before y0 (7), and y0 before z0 (same deadline, queued first).
    assert.deepEqual(started, ['x0', 'x1', 'y0', 'z0']);
  });

  test('reserved places: an undecided place holds back its requester only; jobs start in reservation order whatever order they are decided in', async () => {
    const scheduler = new FairScheduler(2);
    const started: string[] = [];
    const handle = scheduler.open('N', 0);
    const tickets = [0, 1, 2, 3].map((i) => handle.reserve(i * 1_000));
    const other = scheduler.run('O', async () => void started.push('o0'), { deadline: 50_000 });
    await flush();
    assert.deepEqual(started, ['o0'], 'N holds nothing back from another requester');
    // Decided in the order 3, 1, 2 (cache look-ups finishing out of order); place 0 is still undecided.
    const record = (name: string) => async () => void started.push(name);
    const r3 = tickets[3]!.run(record('n3'));
    const r1 = tickets[1]!.run(record('n1'));
    await flush();
    assert.deepEqual(started, ['o0'], 'nothing of N starts while its first place is undecided');
    tickets[0]!.release(); // a cache hit: the place is given up without a job
    await flush();
    assert.deepEqual(started, ['o0', 'n1'], 'n3 waits for place 2');
    const r2 = tickets[2]!.run(record('n2'));
    await Promise.all([other, r1, r2, r3]);
    assert.deepEqual(started, ['o0', 'n1', 'n2', 'n3']);
    assert.equal(scheduler.queued, 0);
    handle.close();
    assert.equal(scheduler.stats().length, 0, 'closed and idle: forgotten');
  });

  test('setAnchor re-bases a requester: a prefetch moved to "now" overtakes another requester', async () => {
    const scheduler = new FairScheduler(1);
    const started: string[] = [];
    const blocker = gate();
    const first = scheduler.run('X', async () => {
      started.push('x0');
      await blocker.promise;
    });
    const current = scheduler.open('current', 0);
    const prefetch = scheduler.open('prefetch', 60_000);
    const record = (name: string) => async () => void started.push(name);
    const runs = [
      current.reserve(10_000).run(record('c0')),
      current.reserve(20_000).run(record('c1')),
      prefetch.reserve(0).run(record('p0')),
      prefetch.reserve(5_000).run(record('p1')),
    ];
    assert.equal(prefetch.anchor, 60_000);
    prefetch.setAnchor(0); // the current narration was stopped: the next one plays now
    blocker.open();
    await Promise.all([first, ...runs]);
    assert.deepEqual(started, ['x0', 'p0', 'p1', 'c0', 'c1']);
    current.close();
    prefetch.close();
  });

  test('a paused requester starts nothing (running jobs finish); resume starts its queue again', async () => {
    const scheduler = new FairScheduler(2);
    const started: string[] = [];
    const handle = scheduler.open('N', 0);
    const g = gatedTasks('n', 4, started);
    const done = g.gates.map((_, i) => handle.reserve(i).run(g.task(i)));
    await flush();
    assert.deepEqual(started, ['n0', 'n1']);
    handle.pause();
    assert.equal(handle.paused, true);
    g.gates[0]!.open();
    g.gates[1]!.open();
    await flush();
    await flush();
    assert.deepEqual(started, ['n0', 'n1'], 'no new job while paused');
    assert.equal(scheduler.active, 0);
    const other = scheduler.run('O', async () => 'other ran', { deadline: 1e9 });
    assert.equal(await other, 'other ran', 'the free slots serve others meanwhile');
    handle.resume();
    await flush();
    assert.deepEqual(started, ['n0', 'n1', 'n2', 'n3']);
    g.gates[2]!.open();
    g.gates[3]!.open();
    await Promise.all(done);
    handle.close();
    assert.equal(scheduler.stats().length, 0);
  });

  test('an aborted reservation drops the place; running it later never starts the task, whatever signal it brings', async () => {
    const scheduler = new FairScheduler(1);
    const handle = scheduler.open('N', 0);
    const reservation = new AbortController();
    const t0 = handle.reserve(0, reservation.signal);
    const t1 = handle.reserve(1);
    reservation.abort();
    assert.equal(scheduler.queued, 1, 'dropped synchronously');
    assert.equal(await t1.run(async () => 'second'), 'second', 'the dropped place does not hold the next one back');
    // The narration that reserved it has stopped: a shared look-up finishing later (its own signal still live) must
    // not start a job for it.
    let ran = false;
    await assert.rejects(
      t0.run(async () => void (ran = true)),
      (err: unknown) => isNarratorError(err, 'aborted'),
    );
    assert.equal(ran, false, 'the task never ran');
    assert.equal(scheduler.active + scheduler.queued, 0);
    handle.close();
    assert.equal(scheduler.stats().length, 0);
  });

  test('round-robin policy (for the bench): requesters take turns whatever their deadlines', async () => {
    const scheduler = new FairScheduler(1, { policy: 'round-robin' });
    const started: string[] = [];
    const all: Promise<unknown>[] = [];
    for (const [name, deadline] of [['x', 0], ['y', 1e6]] as const) {
      for (let i = 0; i < 3; i++) all.push(scheduler.run(name, async () => void started.push(`${name}${i}`), { deadline: deadline + i }));
    }
    await Promise.all(all);
    assert.deepEqual(started, ['x0', 'y0', 'x1', 'y1', 'x2', 'y2']);
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

  test('200 requesters × 100 tasks sharing one signal: one abort listener, every task once, each requester in order', async () => {
    const scheduler = new FairScheduler(6);
    const shared = new AbortController();
    // Count listener registrations on the shared signal: per-task listeners would make every add/remove scan a
    // list of thousands (quadratic), which is what the per-signal grouping prevents. Structural, not timed.
    let adds = 0;
    let removes = 0;
    const add = shared.signal.addEventListener.bind(shared.signal);
    const remove = shared.signal.removeEventListener.bind(shared.signal);
    shared.signal.addEventListener = ((...args: Parameters<typeof add>) => (adds++, add(...args))) as typeof add;
    shared.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removes++, remove(...args))) as typeof remove;
    const order = new Map<string, number[]>();
    let completed = 0;
    const all: Promise<void>[] = [];
    for (let r = 0; r < 200; r++) {
      for (let i = 0; i < 100; i++) {
        const id = `r${r}`;
        all.push(
          scheduler.run(
            id,
            async () => {
              completed++;
              order.set(id, [...(order.get(id) ?? []), i]);
            },
            { signal: shared.signal, deadline: r * 7 + i * 13 },
          ),
        );
      }
    }
    // The first 6 start at once (their listener comes and goes); the 19 994 queued ones share one.
    assert.ok(adds <= 7, `${adds} listeners registered for 20 000 tasks`);
    await Promise.all(all);
    assert.equal(completed, 20_000);
    assert.ok(removes <= 7);
    for (const [id, seen] of order) assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i), id);
    assert.equal(scheduler.stats().length, 0);
    assert.equal(scheduler.queued, 0);
  });
});
