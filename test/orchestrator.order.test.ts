/**
 * What the listener notices of the engine's scheduling, tested as properties under random async delays: the
 * first sentence's job goes out first and a narration's jobs go out in text order whatever the cache look-ups and
 * the jobs do; a failure or a cancel at any step leaves no job running and starts no further job; a missing voice
 * costs one job; pause/resume and a moved playback start act on which job starts next; audio that does not decode
 * is never cached. The backend is an in-process fake that records every job (start, end, abort reason).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AudioCache } from '../src/services/cache.js';
import { NarratorError } from '../src/services/errors.js';
import { Orchestrator, type Narration } from '../src/services/orchestrator.js';
import { FairScheduler } from '../src/services/scheduler.js';
import type { SynthesisRequest, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { fakeSynthesize, seededRandom } from './support/fakeVoice.js';

interface Job {
  readonly text: string;
  readonly lowPriority: boolean;
  state: 'running' | 'done' | 'failed' | 'aborted';
  abortReason?: unknown;
  /** Resolves a gated job (manual mode). */
  finish?: () => void;
}

/**
 * A backend whose jobs end after `delayMs(text)` (a number) or when the test calls `finish()` (delay undefined);
 * `fail(text)` makes a job fail for good. Records every job; `running` is what would still be billed on a GPU.
 */
class RecordingBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'recording';
  readonly jobs: Job[] = [];
  /** How many jobs had been submitted once the first failure had reached the orchestrator. */
  jobsAtFirstFailure: number | undefined;
  drained = 0;
  constructor(
    private readonly delayMs: (text: string) => number | undefined,
    private readonly fail: (text: string) => NarratorError | undefined = () => undefined,
    private readonly wav: (text: string, speed: number) => Uint8Array = fakeSynthesize,
  ) {}

  get running(): Job[] {
    return this.jobs.filter((j) => j.state === 'running');
  }

  started(text: string): boolean {
    return this.jobs.some((j) => j.text === text);
  }

  async synthesize(req: SynthesisRequest, opts: SynthesizeOptions) {
    const job: Job = { text: req.text, lowPriority: opts.lowPriority === true, state: 'running' };
    this.jobs.push(job);
    try {
      await new Promise<void>((resolve, reject) => {
        const ms = this.delayMs(req.text);
        const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
        job.finish = resolve;
        const onAbort = () => {
          clearTimeout(timer);
          job.abortReason = opts.signal.reason;
          reject(new NarratorError('aborted', 'aborted', 'job cancelled'));
        };
        if (opts.signal.aborted) onAbort();
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      });
    } catch (err) {
      job.state = 'aborted';
      throw err;
    }
    const failure = this.fail(req.text);
    if (failure) {
      job.state = 'failed';
      // Counted once the failure has reached the orchestrator (it travels through a few promise hops, during which
      // a chunk whose look-up just finished may still start — and is then aborted at once): from the next
      // event-loop turn on, nothing may start.
      setImmediate(() => (this.jobsAtFirstFailure ??= this.jobs.length));
      throw failure;
    }
    job.state = 'done';
    return { wav: this.wav(req.text, req.speed), retries: 0 };
  }

  async drain(): Promise<boolean> {
    this.drained++;
    return true;
  }
}

/** A cache whose look-ups take a random time, as disk reads under load do. */
class SlowCache extends AudioCache {
  constructor(dir: string, private readonly lookupMs: () => number) {
    super({ dir, maxBytes: 50_000_000 });
  }

  override async get(key: string): Promise<Uint8Array | undefined> {
    await sleep(this.lookupMs());
    return super.get(key);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Lets pending promise callbacks and abort propagation run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** `n` distinct sentences (≥ 40 characters, so the chunker keeps one sentence per chunk) tagged with `tag`. */
function sentences(tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `Đây là câu số ${i + 1} của bài ${tag}, đủ dài để đứng riêng một mình.`);
}

function makeOrchestrator(backend: TtsBackend, concurrency: number, cache?: AudioCache) {
  return new Orchestrator({
    backend,
    scheduler: new FairScheduler(concurrency),
    cache,
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
  });
}

async function drainSegments(narration: Narration): Promise<{ indices: number[]; error?: NarratorError }> {
  const indices: number[] = [];
  try {
    for await (const s of narration.segments()) indices.push(s.index);
    return { indices };
  } catch (err) {
    assert.ok(err instanceof NarratorError, String(err));
    return { indices, error: err };
  }
}

async function withCacheDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'narrator-order-'));
  try {
    return await body(dir);
  } finally {
    // A cache write of a chunk that finished as the narration stopped may still be renaming into place (drain waits
    // for backend calls, not for cache writes): retry on ENOTEMPTY instead of failing the clean-up.
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
}

test('property: within each narration jobs are submitted in text order, chunk 0 first, whatever the cache and the jobs do', async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const random = seededRandom(seed);
    const concurrency = 1 + Math.floor(random() * 4);
    const narrations = 1 + Math.floor(random() * 3);
    await withCacheDir(async (dir) => {
      const cache = new SlowCache(dir, () => random() * 8);
      const backend = new RecordingBackend(() => random() * 12);
      const orch = makeOrchestrator(backend, concurrency, cache);
      const texts = Array.from({ length: narrations }, (_, n) => sentences(`${seed}-${n}`, 3 + Math.floor(random() * 6)));
      // Some chunks are already cached (from an earlier narration), at random places.
      const cached = new Set<string>();
      for (const text of texts.flat()) {
        if (random() < 0.25) {
          cached.add(text);
          await cache.set(AudioCache.key({ backend: backend.identity, voice: 'narrator', speed: 1, text }), fakeSynthesize(text, 1));
        }
      }
      const runs = texts.map((t) => orch.narrate({ text: t.join('\n') }));
      const results = await Promise.all(runs.map(drainSegments));
      for (const [n, text] of texts.entries()) {
        const r = results[n]!;
        assert.equal(r.error, undefined, `seed ${seed}`);
        assert.deepEqual(r.indices, text.map((_, i) => i), `seed ${seed}: every segment, in order`);
        const submitted = backend.jobs.map((j) => text.indexOf(j.text)).filter((i) => i >= 0);
        const expected = text.map((t, i) => (cached.has(t) ? -1 : i)).filter((i) => i >= 0);
        assert.deepEqual(submitted, expected, `seed ${seed}, concurrency ${concurrency}: narration ${n}'s jobs in text order, each once`);
      }
      assert.equal(backend.running.length, 0);
    });
  }
});

test('property: a failure or a cancel at a random step leaves no job running and starts none afterwards; other chunks get a fresh abort reason', async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const random = seededRandom(1000 + seed);
    const concurrency = 1 + Math.floor(random() * 4);
    const text = sentences(`f${seed}`, 4 + Math.floor(random() * 6));
    const failAt = Math.floor(random() * text.length);
    const cancelInstead = random() < 0.4;
    const failure = new NarratorError('permanent', 'worker_error', 'The TTS worker reported an error.');
    let stoppedAtJobs = -1;
    const backend = new RecordingBackend(
      () => 1 + random() * 10,
      (t) => (!cancelInstead && t === text[failAt] ? failure : undefined),
    );
    await withCacheDir(async (dir) => {
      const orch = makeOrchestrator(backend, concurrency, random() < 0.5 ? new SlowCache(dir, () => random() * 5) : undefined);
      const narration = orch.narrate({ text: text.join('\n') });
      const iterate = drainSegments(narration);
      if (cancelInstead) {
        // Cancel as soon as the chunk at failAt has started.
        while (!backend.started(text[failAt]!)) await sleep(1);
        narration.cancel();
        stoppedAtJobs = backend.jobs.length;
      }
      const r = await iterate;
      assert.equal(r.error?.code, cancelInstead ? 'aborted' : 'worker_error', `seed ${seed}`);
      if (!cancelInstead) assert.deepEqual(r.indices, text.slice(0, failAt).map((_, i) => i), `seed ${seed}: what came before still plays`);
      await orch.drain(1_000);
      await settle();
      if (!cancelInstead) stoppedAtJobs = backend.jobsAtFirstFailure ?? -1;
      assert.deepEqual(backend.running.map((j) => j.text), [], `seed ${seed}: no job left running`);
      assert.ok(stoppedAtJobs > 0, `seed ${seed}`);
      assert.equal(backend.jobs.length, stoppedAtJobs, `seed ${seed} (concurrency ${concurrency}): no job started after the narration stopped`);
      for (const job of backend.jobs.filter((j) => j.state === 'aborted')) {
        assert.notEqual(job.abortReason, failure, `seed ${seed}: an abort reason is never the failing attempt's own error`);
      }
    });
  }
});

test('a permanent failure (missing voice) with one slot costs exactly one job', async () => {
  const refNotFound = () => new NarratorError('permanent', 'ref_not_found', 'The voice "narrator" is not installed on the worker.');
  for (const withCache of [false, true]) {
    const backend = new RecordingBackend(() => 2, refNotFound);
    await withCacheDir(async (dir) => {
      const orch = makeOrchestrator(backend, 1, withCache ? new AudioCache({ dir, maxBytes: 10_000_000 }) : undefined);
      const r = await drainSegments(orch.narrate({ text: sentences('voice', 5).join('\n') }));
      assert.equal(r.error?.code, 'ref_not_found');
      await orch.drain(1_000);
      assert.equal(backend.jobs.length, 1, `cache ${withCache}: one job, not one per freed slot`);
    });
  }
});

test('pauseSynthesis: no new job starts (running ones finish); resumeSynthesis continues in order', async () => {
  const backend = new RecordingBackend(() => undefined);
  const orch = makeOrchestrator(backend, 2);
  const text = sentences('pause', 5);
  const narration = orch.narrate({ text: text.join('\n') });
  const iterate = drainSegments(narration);
  await settle();
  assert.deepEqual(backend.jobs.map((j) => text.indexOf(j.text)), [0, 1]);
  narration.pauseSynthesis();
  for (const j of backend.jobs) j.finish!();
  await settle();
  assert.equal(backend.jobs.length, 2, 'paused: the freed slots start nothing of this narration');
  narration.resumeSynthesis();
  await settle();
  assert.deepEqual(backend.jobs.map((j) => text.indexOf(j.text)), [0, 1, 2, 3]);
  while (backend.running.length > 0) {
    for (const j of backend.running) j.finish!();
    await settle();
  }
  assert.deepEqual((await iterate).indices, [0, 1, 2, 3, 4]);
});

test('setPlaybackStart reorders across narrations: a prefetch moved to now goes before a narration that is ahead', async () => {
  const backend = new RecordingBackend(() => undefined);
  const orch = makeOrchestrator(backend, 1);
  const a = sentences('a', 4);
  const b = sentences('b', 2);
  const now = performance.now();
  const current = orch.narrate({ text: a.join('\n') });
  const prefetch = orch.narrate({ text: b.join('\n'), playbackStartAt: current.estimatedEndAt(), lowPriority: true });
  assert.ok(current.estimatedEndAt() > now + 10_000, 'four ~50-character sentences last well over 10 s');
  assert.equal(prefetch.playbackStartAt, current.estimatedEndAt());
  assert.equal(prefetch.lowPriority, true);
  const runs = [drainSegments(current), drainSegments(prefetch)];
  const finishNext = async () => {
    await settle();
    backend.running[0]?.finish!();
    await settle();
  };
  await finishNext(); // a0
  await finishNext(); // a1
  // The current narration was stopped by the user; the prefetched one plays now.
  prefetch.setPlaybackStart(performance.now());
  while (backend.running.length > 0) await finishNext();
  await Promise.all(runs);
  assert.deepEqual(backend.jobs.map((j) => j.text), [a[0], a[1], a[2], b[0], b[1], a[3]]);
  // a2 had already started when b moved; b's deadlines (now, now + ~4 s) come before a3's (~12 s after a's start).
  assert.deepEqual(backend.jobs.map((j) => j.lowPriority), [false, false, false, true, true, false], 'the prefetch went at low priority');
});

test('audio that does not decode is never cached; a cached entry that does not decode is replaced', async () => {
  const undecodable = (text: string, speed: number): Uint8Array => {
    const wav = fakeSynthesize(text, speed).slice();
    const fmt = Buffer.from(wav.buffer, wav.byteOffset, wav.byteLength).indexOf('fmt ');
    wav[fmt + 8] = 0x55; // format tag: MP3 — the header check passes, decoding fails
    wav[fmt + 9] = 0;
    return wav;
  };
  const text = sentences('bad', 2);
  await withCacheDir(async (dir) => {
    const cache = new AudioCache({ dir, maxBytes: 10_000_000 });
    const bad = new RecordingBackend(() => 1, undefined, undecodable);
    const first = await drainSegments(makeOrchestrator(bad, 2, cache).narrate({ text: text.join('\n') }));
    assert.equal(first.error?.code, 'bad_audio');
    const key = (t: string) => AudioCache.key({ backend: 'recording', voice: 'narrator', speed: 1, text: t });
    assert.equal(await cache.get(key(text[0]!)), undefined, 'the undecodable audio was not stored');

    // An entry that was stored bad (by an older version, or damaged) is deleted and synthesized again.
    await cache.set(key(text[1]!), undecodable(text[1]!, 1));
    const good = new RecordingBackend(() => 1);
    const second = await drainSegments(makeOrchestrator(good, 2, cache).narrate({ text: text.join('\n') }));
    assert.equal(second.error, undefined);
    assert.deepEqual(second.indices, [0, 1]);
    assert.deepEqual(good.jobs.map((j) => j.text), text, 'the bad entry was synthesized again');
    const third = new RecordingBackend(() => 1);
    await drainSegments(makeOrchestrator(third, 2, cache).narrate({ text: text.join('\n') }));
    assert.equal(third.jobs.length, 0, 'and the good audio is what the cache holds now');
  });
});

test('drain also waits for the backend\'s own background clean-up', async () => {
  const backend = new RecordingBackend(() => 1);
  const orch = makeOrchestrator(backend, 2);
  await drainSegments(orch.narrate({ text: sentences('drain', 2).join('\n') }));
  assert.equal(await orch.drain(1_000), true);
  assert.equal(backend.drained, 1);
});
