/**
 * The RunPod emulator against the contract (shared/contracts/worker.md §1–2), driven with plain fetch the way a
 * client would: job states, the queue and its workers, cold starts, long-polls, cancel, timeouts, ttl, auth,
 * injected HTTP failures, both output generations and both error vocabularies.
 */
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { decodeTestWav, fakeSynthesize } from './support/fakeVoice.js';
import { startRunPodEmulator, type RunPodEmulator, type RunPodEmulatorOptions } from './support/runpodEmulator.js';

const STATUSES = ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
const JobBody = z.strictObject({
  id: z.string(),
  status: z.enum(STATUSES),
  delayTime: z.number().int().nonnegative().optional(),
  executionTime: z.number().int().nonnegative().optional(),
  workerId: z.string().optional(),
  output: z.unknown().optional(),
  error: z.string().optional(),
  retries: z.number().int().optional(),
});
type JobBody = z.infer<typeof JobBody>;
const Gen1Output = z.strictObject({
  status: z.literal('completed'),
  audio_base64: z.string(),
  filename: z.string(),
  sample_used: z.string(),
  processing_time_seconds: z.number(),
  job_id: z.string(),
});
const Gen2Output = z.strictObject({
  status: z.literal('completed'),
  download_url: z.string(),
  filename: z.string(),
  sample_used: z.string(),
  processing_time_seconds: z.number(),
  job_id: z.string(),
  confirmation_url: z.string().optional(),
  confirmed: z.boolean().optional(),
});
const RaisedError = z.strictObject({
  error_type: z.string(),
  error_message: z.string(),
  error_traceback: z.string(),
  hostname: z.string(),
  worker_id: z.string(),
  runpod_version: z.string(),
});

const TEXT = 'Ngày xửa ngày xưa, ở một ngôi làng nhỏ ven sông, có một cậu bé rất thích nghe kể chuyện.';
const input = (text = TEXT, extra: Record<string, unknown> = {}) => ({ text, ref_name: 'sample/narrator.wav', speed: 0.9, job_id: `c-${Math.random()}`, ...extra });

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
  readonly contentType: string;
}

async function call(emu: RunPodEmulator, method: string, path: string, opts: { body?: unknown; raw?: string; key?: string | null } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.key !== null) headers['authorization'] = `Bearer ${opts.key ?? emu.apiKey}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${emu.baseUrl}/${emu.endpointId}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, contentType: res.headers.get('content-type') ?? '' };
}

async function run(emu: RunPodEmulator, jobInput: Record<string, unknown>, policy?: Record<string, unknown>): Promise<string> {
  const reply = await call(emu, 'POST', '/run', { body: policy ? { input: jobInput, policy } : { input: jobInput } });
  assert.equal(reply.status, 200, reply.text);
  const parsed = z.strictObject({ id: z.string(), status: z.literal('IN_QUEUE') }).parse(reply.json);
  return parsed.id;
}

async function status(emu: RunPodEmulator, id: string): Promise<JobBody> {
  const reply = await call(emu, 'GET', `/status/${id}`);
  assert.equal(reply.status, 200, reply.text);
  return JobBody.parse(reply.json);
}

async function statusSync(emu: RunPodEmulator, id: string, waitMs = 5000): Promise<JobBody> {
  const reply = await call(emu, 'GET', `/status-sync/${id}?wait=${waitMs}`);
  assert.equal(reply.status, 200, reply.text);
  return JobBody.parse(reply.json);
}

/** Polls /status until `done` holds (tests that must see intermediate states). */
async function pollUntil(emu: RunPodEmulator, id: string, done: (job: JobBody) => boolean, timeoutMs = 3000): Promise<JobBody> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const job = await status(emu, id);
    if (done(job)) return job;
    assert.ok(performance.now() < deadline, `job ${id} stuck at ${job.status}`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

async function emulator(t: TestContext, opts: RunPodEmulatorOptions = {}): Promise<RunPodEmulator> {
  const emu = await startRunPodEmulator(opts);
  t.after(() => emu.close());
  return emu;
}

const fixed = (ms: number) => () => ms;

describe('RunPod emulator: API surface', () => {
  test('401 without the right key, 404 for an unknown endpoint, job or route; the key never reaches the log', async (t) => {
    const emu = await emulator(t);
    const noKey = await call(emu, 'POST', '/run', { body: { input: { text: 'a' } }, key: null });
    assert.equal(noKey.status, 401);
    assert.ok(typeof z.object({ error: z.string() }).parse(noKey.json).error === 'string');
    assert.equal((await call(emu, 'GET', '/health', { key: 'rpa_WRONG' })).status, 401);

    const res = await fetch(`${emu.baseUrl}/other-endpoint/health`, { headers: { authorization: `Bearer ${emu.apiKey}` } });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'endpoint not found' });

    const unknownJob = await call(emu, 'GET', '/status/nope-u1');
    assert.equal(unknownJob.status, 404);
    assert.deepEqual(unknownJob.json, { error: 'request does not exist' });
    const unknownRoute = await call(emu, 'GET', '/stream/x/y');
    assert.equal(unknownRoute.status, 404);
    assert.equal(unknownRoute.json, undefined, 'an unknown route answers plain text');

    assert.equal(emu.jobs.length, 0, 'rejected requests create no job');
    assert.deepEqual(
      emu.requests.log.map((e) => [e.method, e.route, e.authorized, e.status]),
      [
        ['POST', 'run', false, 401],
        ['GET', 'health', false, 401],
        ['GET', 'health', true, 404],
        ['GET', 'status', true, 404],
        ['GET', 'unknown', true, 404],
      ],
    );
    assert.ok(emu.requests.log.every((e) => !e.path.includes(emu.apiKey)));
  });

  test('/run validates its body: 400 without an input object or with bad JSON', async (t) => {
    const emu = await emulator(t);
    for (const raw of ['{"text":"no input"}', '{"input":"text"}', '{"input":[1]}', 'not json', '{"input":{},"policy":{"ttl":-1}}']) {
      const reply = await call(emu, 'POST', '/run', { raw });
      assert.equal(reply.status, 400, raw);
      assert.equal(typeof z.object({ error: z.string() }).parse(reply.json).error, 'string');
    }
    assert.equal(emu.jobs.length, 0);
  });

  test('injected HTTP statuses: the first two /run calls get 429 and create nothing, the third works', async (t) => {
    const emu = await emulator(t, { httpFault: (route, n) => (route === 'run' && n <= 2 ? 429 : undefined) });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(emu, 'POST', '/run', { body: { input: input() } })).status);
    assert.deepEqual(statuses, [429, 429, 200]);
    assert.equal(emu.jobs.length, 1);
    assert.equal(emu.requests.count('run'), 3);
    await emu.waitIdle();
  });

  test('storm: a seeded fraction of /status, /status-sync and /cancel answered 429 or 503; /run untouched', async (t) => {
    const statusesOf = async (seed: number) => {
      const emu = await startRunPodEmulator({ jobTimeMs: fixed(10), storm: { fraction: 0.5, seed, serverErrorShare: 0.25 } });
      try {
        const id = await run(emu, input());
        const seen: number[] = [];
        for (let i = 0; i < 40; i++) seen.push((await call(emu, 'GET', `/status/${id}`)).status);
        for (let i = 0; i < 10; i++) seen.push((await call(emu, 'POST', `/run`, { body: { input: input() } })).status);
        await emu.cancelAll();
        return seen;
      } finally {
        await emu.close();
      }
    };
    void t;
    const a = await statusesOf(5);
    assert.deepEqual(a, await statusesOf(5), 'the same seed gives the same storm');
    const refused = a.slice(0, 40).filter((st) => st !== 200);
    assert.ok(refused.length >= 10 && refused.length <= 30, `${refused.length} of 40 refused`);
    assert.ok(refused.includes(429) && refused.includes(503));
    assert.deepEqual(a.slice(40), Array(10).fill(200), '/run is outside the storm');
  });

  test('close() refuses while a job is queued or running, names the jobs, and still shuts down; cancelAll() is the deliberate way out', async () => {
    const emu = await startRunPodEmulator({ workers: 1, fault: () => ({ kind: 'hang' }) });
    await run(emu, input('left running'));
    await run(emu, input('left queued'));
    await assert.rejects(emu.close(), (err: Error) => /2 job\(s\) still queued or running/.test(err.message) && err.message.includes('left queued'));
    await assert.rejects(call(emu, 'GET', '/health'), 'the server is down all the same');

    const tidy = await startRunPodEmulator({ workers: 1, fault: () => ({ kind: 'hang' }) });
    await run(tidy, input());
    assert.deepEqual(tidy.cancelAll().map((j) => j.status), ['CANCELLED']);
    await tidy.close();
  });
});

describe('RunPod emulator: job lifecycle', () => {
  test('IN_QUEUE → IN_PROGRESS (with progress output) → COMPLETED with the generation-1 audio', async (t) => {
    const emu = await emulator(t, { jobTimeMs: fixed(240), dispatchDelayMs: 100 });
    const jobInput = input();
    const id = await run(emu, jobInput);
    assert.equal((await status(emu, id)).status, 'IN_QUEUE', 'a fresh job is observably queued first');

    const running = await pollUntil(emu, id, (j) => j.status === 'IN_PROGRESS');
    assert.equal(typeof running.workerId, 'string');
    assert.equal(typeof running.delayTime, 'number');
    assert.equal(running.executionTime, undefined);
    const withProgress = await pollUntil(emu, id, (j) => j.output !== undefined || j.status !== 'IN_PROGRESS');
    assert.equal(withProgress.status, 'IN_PROGRESS', 'output can be present while the job still runs');
    assert.deepEqual(withProgress.output, { progress: 33 });

    const done = await statusSync(emu, id);
    assert.equal(done.status, 'COMPLETED');
    assert.ok((done.executionTime ?? 0) >= 235 && (done.executionTime ?? 0) < 2000, `executionTime ${done.executionTime}`);
    const record = emu.job(id);
    assert.equal(done.executionTime, Math.round((record?.finishedAt ?? 0) - (record?.startedAt ?? 0)));
    const out = Gen1Output.parse(done.output);
    assert.equal(out.job_id, jobInput.job_id);
    assert.equal(out.sample_used, 'sample/narrator.wav');
    assert.ok(out.filename.endsWith('.wav') && out.filename.includes('Ngày xửa ngày xưa'));
    assert.deepEqual(new Uint8Array(Buffer.from(out.audio_base64, 'base64')), fakeSynthesize(TEXT, 0.9));
    assert.equal(emu.job(id)?.status, 'COMPLETED');
  });

  test('one job per worker: extra jobs wait IN_QUEUE and start as workers free up; /health counts them', async (t) => {
    // Structural, not a snapshot race: the first two jobs hang until cancelled, so the state is fixed while we look.
    const emu = await emulator(t, { workers: 2, jobTimeMs: fixed(50), fault: ({ input: i }) => (String(i['text']).startsWith('hang') ? { kind: 'hang' } : undefined) });
    const ids = [];
    for (const text of ['hang 0', 'hang 1', `${TEXT} 2`, `${TEXT} 3`]) ids.push(await run(emu, input(text)));
    await pollUntil(emu, ids[1] ?? '', (j) => j.status === 'IN_PROGRESS');
    await pollUntil(emu, ids[0] ?? '', (j) => j.status === 'IN_PROGRESS');
    assert.deepEqual((await Promise.all(ids.map((id) => status(emu, id)))).map((j) => j.status), ['IN_PROGRESS', 'IN_PROGRESS', 'IN_QUEUE', 'IN_QUEUE']);
    const health = await call(emu, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, {
      jobs: { completed: 0, failed: 0, inProgress: 2, inQueue: 2, retried: 0 },
      workers: { idle: 0, initializing: 0, ready: 0, running: 2, throttled: 0, unhealthy: 0 },
    });
    assert.equal(emu.activeJobs().length, 4);

    for (const id of ids.slice(0, 2)) await call(emu, 'POST', `/cancel/${id}`);
    const finals = await Promise.all(ids.map((id) => statusSync(emu, id)));
    assert.deepEqual(finals.map((j) => j.status), ['CANCELLED', 'CANCELLED', 'COMPLETED', 'COMPLETED']);
    const [a, b, c, d] = emu.jobs;
    assert.ok(a && b && c && d);
    // Queued jobs start only once the first two have ended, and their delayTime shows the wait.
    assert.ok((c.startedAt ?? 0) >= (a.finishedAt ?? Infinity) && (d.startedAt ?? 0) >= (b.finishedAt ?? Infinity));
    assert.equal(finals[2]?.delayTime, Math.round((c.startedAt ?? 0) - c.queuedAt));
    assert.equal(new Set(emu.jobs.map((j) => j.workerId)).size, 2);
    // Recorded by the emulator at every start: never two jobs on one worker, never more than the two workers.
    const most = emu.maxInProgress();
    assert.equal(most.total, 2);
    assert.deepEqual(Object.values(most.perWorker), [1, 1]);
    await emu.waitIdle(1000);
    assert.deepEqual(emu.health().jobs, { completed: 2, failed: 0, inProgress: 0, inQueue: 0, retried: 0 });
  });

  test('cold start: the first job waits IN_QUEUE while its worker initialises; the warm worker then starts at once', async (t) => {
    const emu = await emulator(t, { workers: 1, coldStartMs: 200, jobTimeMs: fixed(50) });
    const health0 = emu.health().workers;
    assert.equal(health0.idle + health0.initializing + health0.running, 0, 'scaled to zero before the first job');
    const id = await run(emu, input());
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await status(emu, id)).status, 'IN_QUEUE');
    assert.equal(emu.health().workers.initializing, 1);
    const first = await statusSync(emu, id);
    assert.equal(first.status, 'COMPLETED');
    assert.ok((first.delayTime ?? 0) >= 195, `delayTime ${first.delayTime}`);

    const second = await statusSync(emu, await run(emu, input()));
    assert.equal(second.status, 'COMPLETED');
    // Warm: no cold start again (well under the 200 ms boot even when the machine is loaded).
    assert.ok((second.delayTime ?? Infinity) < 150, `warm delayTime ${second.delayTime}`);
  });

  test('/status-sync wakes the moment the job ends, and returns the live state when its wait elapses', async (t) => {
    const emu = await emulator(t, { jobTimeMs: fixed(300), fault: ({ input: i }) => (i['text'] === 'hang' ? { kind: 'hang' } : undefined) });
    const id = await run(emu, input());
    const job = await statusSync(emu, id, 10_000);
    const answeredAt = performance.now();
    assert.equal(job.status, 'COMPLETED');
    const finishedAt = emu.job(id)?.finishedAt ?? 0;
    // Woken by the completion, not by the 10 s wait running out (bound generous for a loaded 2-core machine).
    assert.ok(answeredAt - finishedAt < 2_000, `long-poll answered ${answeredAt - finishedAt} ms after the job ended`);

    const hung = await run(emu, input('hang'));
    const t0 = performance.now();
    const live = await statusSync(emu, hung, 150);
    const waited = performance.now() - t0;
    assert.ok(live.status === 'IN_PROGRESS' || live.status === 'IN_QUEUE');
    assert.ok(waited >= 145 && waited < 1000, `waited ${waited} ms`);
    emu.cancelAll();
  });

  test('statusSync: false turns /status-sync into a plain 404 while /status keeps working', async (t) => {
    const emu = await emulator(t, { statusSync: false, jobTimeMs: fixed(20) });
    const id = await run(emu, input());
    const reply = await call(emu, 'GET', `/status-sync/${id}?wait=1000`);
    assert.equal(reply.status, 404);
    assert.equal(reply.json, undefined);
    assert.equal((await pollUntil(emu, id, (j) => j.status === 'COMPLETED')).status, 'COMPLETED');
  });

  test('/runsync returns the finished job, or just {id, status} when the job outlives the wait', async (t) => {
    const emu = await emulator(t, { jobTimeMs: (i) => (i['text'] === 'long' ? 5000 : 60) });
    const quick = await call(emu, 'POST', '/runsync?wait=5000', { body: { input: input() } });
    const done = JobBody.parse(quick.json);
    assert.equal(done.status, 'COMPLETED');
    Gen1Output.parse(done.output);
    assert.equal(emu.jobs[0]?.via, 'runsync');

    const t0 = performance.now();
    const slow = await call(emu, 'POST', '/runsync?wait=10', { body: { input: input('long') } });
    const waited = performance.now() - t0;
    assert.ok(waited >= 995 && waited < 1500, `wait clamps to RunPod's 1000 ms minimum, waited ${waited}`);
    const parsed = z.strictObject({ id: z.string(), status: z.enum(['IN_QUEUE', 'IN_PROGRESS']) }).parse(slow.json);
    assert.equal(emu.job(parsed.id)?.status, 'IN_PROGRESS');
    emu.cancelAll();
  });

  test('cancel: a running job becomes CANCELLED and its worker takes the next job at once; a finished job stays', async (t) => {
    const emu = await emulator(t, { workers: 1, jobTimeMs: fixed(40), fault: ({ input: i }) => (i['text'] === 'hang' ? { kind: 'hang' } : undefined) });
    const hung = await run(emu, input('hang'));
    const next = await run(emu, input());
    await pollUntil(emu, hung, (j) => j.status === 'IN_PROGRESS');
    assert.equal((await status(emu, next)).status, 'IN_QUEUE');

    const cancelledAt = performance.now();
    const reply = await call(emu, 'POST', `/cancel/${hung}`);
    assert.deepEqual(reply.json, { id: hung, status: 'CANCELLED' });
    assert.equal((await statusSync(emu, next)).status, 'COMPLETED');
    assert.ok((emu.job(next)?.startedAt ?? Infinity) - cancelledAt < 60, 'the freed worker picked up the queued job at once');
    const cancelled = await status(emu, hung);
    assert.equal(cancelled.status, 'CANCELLED');
    assert.equal(cancelled.output, undefined);
    assert.equal(emu.job(hung)?.cancelled, true);

    const again = await call(emu, 'POST', `/cancel/${next}`);
    assert.deepEqual(again.json, { id: next, status: 'COMPLETED' });
    assert.equal((await status(emu, next)).status, 'COMPLETED');

    const queued = await run(emu, input('hang'));
    const queuedToo = await run(emu, input());
    await pollUntil(emu, queued, (j) => j.status === 'IN_PROGRESS');
    assert.deepEqual((await call(emu, 'POST', `/cancel/${queuedToo}`)).json, { id: queuedToo, status: 'CANCELLED' });
    assert.equal(emu.job(queuedToo)?.startedAt, undefined, 'a job cancelled in the queue never runs');
    await call(emu, 'POST', `/cancel/${queued}`);
    await emu.waitIdle(500);
  });

  test('policy.executionTimeout: a hung or too-slow job ends TIMED_OUT and frees its worker', async (t) => {
    const emu = await emulator(t, {
      workers: 1,
      jobTimeMs: fixed(30),
      fault: ({ input: i }) => (i['text'] === 'hang' ? { kind: 'hang' } : i['text'] === 'slow' ? { kind: 'slow', ms: 2000 } : undefined),
    });
    for (const text of ['hang', 'slow']) {
      const t0 = performance.now();
      const id = await run(emu, input(text), { executionTimeout: 120 });
      const job = await statusSync(emu, id);
      assert.equal(job.status, 'TIMED_OUT', text);
      assert.equal(job.output, undefined);
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 115 && elapsed < 1000, `${text}: timed out after ${elapsed} ms`);
    }
    const ok = await statusSync(emu, await run(emu, input(), { executionTimeout: 120 }));
    assert.equal(ok.status, 'COMPLETED', 'a job within its timeout completes, and the worker was free');
  });

  test('the endpoint-level execution timeout applies to jobs without a policy', async (t) => {
    const emu = await emulator(t, { executionTimeoutMs: 80, fault: () => ({ kind: 'hang' }) });
    assert.equal((await statusSync(emu, await run(emu, input()))).status, 'TIMED_OUT');
  });

  test('policy.lowPriority: a low-priority job waits behind normal ones', async (t) => {
    const emu = await emulator(t, { workers: 1, jobTimeMs: fixed(10), fault: ({ input: i }) => (i['text'] === 'hang' ? { kind: 'hang' } : undefined) });
    const blocker = await run(emu, input('hang'));
    await pollUntil(emu, blocker, (j) => j.status === 'IN_PROGRESS');
    const low = await run(emu, input('low'), { lowPriority: true });
    const normal = await run(emu, input('normal'));
    await call(emu, 'POST', `/cancel/${blocker}`);
    await Promise.all([statusSync(emu, low), statusSync(emu, normal)]);
    assert.ok((emu.job(normal)?.startedAt ?? Infinity) < (emu.job(low)?.startedAt ?? 0));
  });

  test('policy.ttl: past it the job is deleted and /status answers 404', async (t) => {
    const emu = await emulator(t, { workers: 0 });
    const id = await run(emu, input(), { ttl: 150 });
    assert.equal((await status(emu, id)).status, 'IN_QUEUE');
    const t0 = performance.now();
    const reply = await call(emu, 'GET', `/status-sync/${id}?wait=5000`);
    assert.equal(reply.status, 404, 'a long-poll on a job that expires answers 404 at once');
    assert.ok(performance.now() - t0 < 1000, "answered when the ttl struck, not at the end of the wait");
    assert.equal((await call(emu, 'GET', `/status/${id}`)).status, 404);
    assert.equal(emu.job(id)?.deleted, true);
    assert.equal(emu.activeJobs().length, 0);
  });

  test('/retry re-queues a FAILED job under the same id; other states are refused', async (t) => {
    const emu = await emulator(t, {
      jobTimeMs: fixed(20),
      fault: ({ attemptForText }) => (attemptForText === 1 ? { kind: 'error', error: 'TTS processing failed: CUDA error' } : undefined),
    });
    const id = await run(emu, input());
    assert.equal((await statusSync(emu, id)).status, 'FAILED');
    const reply = await call(emu, 'POST', `/retry/${id}`);
    assert.deepEqual(reply.json, { id, status: 'IN_QUEUE' });
    const queued = await status(emu, id);
    assert.equal(queued.error, undefined, 'the previous error is removed');
    const done = await statusSync(emu, id);
    assert.equal(done.status, 'COMPLETED');
    assert.equal(done.retries, 1);
    assert.equal(emu.health().jobs.retried, 1);
    assert.equal((await call(emu, 'POST', `/retry/${id}`)).status, 400);
  });

  test('/purge-queue removes queued jobs only', async (t) => {
    const emu = await emulator(t, { workers: 1, fault: ({ input: i }) => (i['text'] === 'hang' ? { kind: 'hang' } : undefined) });
    const running = await run(emu, input('hang'));
    await pollUntil(emu, running, (j) => j.status === 'IN_PROGRESS');
    const queued = [await run(emu, input()), await run(emu, input())];
    const reply = await call(emu, 'POST', '/purge-queue');
    assert.deepEqual(reply.json, { removed: 2, status: 'completed' });
    for (const id of queued) assert.equal((await call(emu, 'GET', `/status/${id}`)).status, 404);
    assert.equal((await status(emu, running)).status, 'IN_PROGRESS');
    emu.cancelAll();
  });

  test('waitIdle and close: close ends pending long-polls and leaves nothing running', async (t) => {
    const emu = await startRunPodEmulator({ fault: () => ({ kind: 'hang' }) });
    t.after(() => emu.close({ allowActive: true })); // a second close is harmless; this one only matters if an assertion throws
    const id = await run(emu, input());
    await assert.rejects(emu.waitIdle(50), /did not happen/);
    const pending = call(emu, 'GET', `/status-sync/${id}?wait=60000`).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 30));
    const t0 = performance.now();
    await emu.close({ allowActive: true }); // deliberately: this test is about ending a pending long-poll
    await pending;
    assert.ok(performance.now() - t0 < 500);
    await assert.rejects(emu.waitIdle(50), /closed/);
  });
});

describe('RunPod emulator: outputs and failures', () => {
  test('generation 2: download_url serves the WAV without the API key, and the confirmation is recorded', async (t) => {
    const emu = await emulator(t, { outputGeneration: 2, jobTimeMs: fixed(20), wavFormat: 'float32' });
    const id = await run(emu, input());
    const out = Gen2Output.parse((await statusSync(emu, id)).output);
    assert.ok(out.download_url.startsWith(`${emu.origin}/files/`));
    assert.ok(out.download_url.includes(' '), 'the worker puts the raw file name (spaces, Vietnamese) in the URL');
    assert.equal(out.confirmed, false);
    assert.equal(emu.job(id)?.confirmed, false);

    const wav = await fetch(out.download_url);
    assert.equal(wav.status, 200);
    const bytes = new Uint8Array(await wav.arrayBuffer());
    assert.deepEqual(bytes, fakeSynthesize(TEXT, 0.9, { format: 'float32' }));
    assert.equal(decodeTestWav(bytes).formatTag, 3);
    assert.equal(emu.job(id)?.downloads, 1);

    const confirm = await fetch(out.confirmation_url ?? '', { method: 'POST' });
    assert.equal(confirm.status, 200);
    assert.equal(emu.job(id)?.confirmed, true);
    assert.equal(emu.job(id)?.confirmedAfterDownload, true);
    assert.deepEqual(
      emu.requests.log.filter((e) => e.route === 'files' || e.route === 'confirm').map((e) => [e.route, e.authorized]),
      [
        ['files', false],
        ['confirm', false],
      ],
    );
    assert.equal((await fetch(`${emu.origin}/files/nope.wav`)).status, 404);
  });

  test('generation 2 without confirmation: no confirmation_url', async (t) => {
    const emu = await emulator(t, { outputGeneration: 2, confirmation: false, jobTimeMs: fixed(10) });
    const out = Gen2Output.parse((await statusSync(emu, await run(emu, input()))).output);
    assert.equal(out.confirmation_url, undefined);
    assert.equal(out.confirmed, undefined);
  });

  test('a returned error string: FAILED, error at top level, the rest of the dict in output', async (t) => {
    const emu = await emulator(t, {
      jobTimeMs: fixed(10),
      fault: ({ input: i }) =>
        i['text'] === 'busy'
          ? { kind: 'error', error: 'Flask API is processing another job' }
          : i['text'] === 'bare'
            ? { kind: 'error', error: 'Processing timeout after 600 seconds', dropOutput: true }
            : { kind: 'error', error: 'Flask API error: {"error":"inference_failed"}\n', extra: { status_code: 500 } },
    });
    const busyInput = input('busy');
    const busy = await statusSync(emu, await run(emu, busyInput));
    assert.equal(busy.status, 'FAILED');
    assert.equal(busy.error, 'Flask API is processing another job');
    assert.deepEqual(busy.output, { status: 'failed', job_id: busyInput.job_id });

    const flask = await statusSync(emu, await run(emu, input('other')));
    assert.equal(flask.error, 'Flask API error: {"error":"inference_failed"}\n');
    assert.deepEqual(z.object({ status_code: z.number() }).parse(flask.output).status_code, 500);

    const bare = await statusSync(emu, await run(emu, input('bare')));
    assert.equal(bare.status, 'FAILED');
    assert.equal(bare.output, undefined);
    assert.equal(emu.health().jobs.failed, 3);
  });

  test('a raise: FAILED with error = the SDK JSON string; the seed vocabulary fails the same way', async (t) => {
    const emu = await emulator(t, {
      jobTimeMs: fixed(10),
      fault: ({ input: i }) =>
        i['text'] === 'raise' ? { kind: 'raise', message: 'CUDA out of memory' } : { kind: 'seed-error', error: 'tts_failed', message: 'Batch 2 failed' },
    });
    const raised = await statusSync(emu, await run(emu, input('raise')));
    assert.equal(raised.status, 'FAILED');
    assert.equal(raised.output, undefined);
    const info = RaisedError.parse(JSON.parse(raised.error ?? ''));
    assert.equal(info.error_message, 'CUDA out of memory');
    assert.equal(info.error_type, "<class 'RuntimeError'>");
    assert.equal(info.worker_id, raised.workerId);
    assert.ok(info.error_traceback.startsWith('Traceback'));

    const seed = await statusSync(emu, await run(emu, input('seed')));
    assert.equal(seed.status, 'FAILED');
    assert.equal(seed.error, 'tts_failed');
    assert.deepEqual(seed.output, { message: 'Batch 2 failed' });
  });

  test('COMPLETED without output: a lost upload, a non-string error, or a result over the size limit', async (t) => {
    const emu = await emulator(t, {
      jobTimeMs: fixed(10),
      resultLimitBytes: 64 * 1024,
      fault: ({ input: i }) => (i['text'] === 'lost' ? { kind: 'no-output' } : i['text'] === 'weird' ? { kind: 'non-string-error' } : undefined),
    });
    for (const text of ['lost', 'weird', 'x '.repeat(400)]) {
      const job = await statusSync(emu, await run(emu, input(text)));
      assert.equal(job.status, 'COMPLETED', text.slice(0, 10));
      assert.equal(job.output, undefined, text.slice(0, 10));
      assert.equal(job.error, undefined);
    }
    const small = await statusSync(emu, await run(emu, input('Ừ, được.'))); // ~47 kB of base64: under the limit
    Gen1Output.parse(small.output);
  });

  test('the handler itself: missing text, duplicate job_id on a worker, unknown voice, bad speed', async (t) => {
    const emu = await emulator(t, { workers: 1, jobTimeMs: fixed(10), refNameTemplate: '{voice}' });
    const missing = await statusSync(emu, await run(emu, { text: '', ref_name: 'narrator', job_id: 'a' }));
    assert.equal(missing.status, 'FAILED');
    assert.equal(missing.error, "Missing 'text' in input");

    const once = { text: TEXT, ref_name: 'narrator.wav', speed: 1, job_id: 'same-id' };
    assert.equal((await statusSync(emu, await run(emu, once))).status, 'COMPLETED');
    const dup = await statusSync(emu, await run(emu, once));
    assert.equal(dup.status, 'FAILED');
    assert.equal(dup.error, 'Job already processed by this worker');
    assert.deepEqual(dup.output, { status: 'duplicate', job_id: 'same-id' });

    const seedSpelling = await statusSync(emu, await run(emu, { ...once, job_id: 'b', ref_name: 'sample/narrator.wav' }));
    assert.equal(seedSpelling.status, 'FAILED');
    assert.match(seedSpelling.error ?? '', /^Flask API error: \{.*"error":"ref_not_found".*\}\n$/);
    assert.deepEqual(z.object({ status_code: z.number() }).parse(seedSpelling.output).status_code, 404);

    const speed = await statusSync(emu, await run(emu, { ...once, job_id: 'c', speed: '0.9' }));
    assert.match(speed.error ?? '', /^Flask API error: .*invalid_speed/);

    const forced = await startRunPodEmulator({ fault: () => ({ kind: 'duplicate' }) });
    t.after(() => forced.close());
    const forcedDup = await statusSync(forced, await run(forced, input()));
    assert.equal(forcedDup.error, 'Job already processed by this worker');
  });

  test('fault context: attemptForText counts executions of a text, jobIndex counts all executions', async (t) => {
    const seen: string[] = [];
    const emu = await emulator(t, {
      workers: 1,
      jobTimeMs: fixed(5),
      fault: (ctx) => {
        seen.push(`${String(ctx.input['text'])}#${ctx.attemptForText}@${ctx.jobIndex}`);
        return undefined;
      },
    });
    for (const text of ['a', 'b', 'a']) await statusSync(emu, await run(emu, input(text)));
    assert.deepEqual(seen, ['a#1@0', 'b#1@1', 'a#2@2']);
  });
});
