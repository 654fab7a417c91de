/**
 * The Flask emulator against the contract (shared/contracts/worker.md §3) and the worker's own source, driven
 * with plain fetch: validation order, the one-job lock (503 busy), the progress sequence, kill at the next
 * batch, clean-up, downloads, cold model load and injected failures.
 * Each test ends like a tidy client would — every job over, its output file and progress entry deleted through the
 * worker's own routes — and close() then proves the emulator holds nothing more (its teardown invariant).
 */
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { fakeSynthesize } from './support/fakeVoice.js';
import { startFlaskEmulator, type FlaskEmulator, type FlaskEmulatorOptions } from './support/flaskEmulator.js';

const Accepted = z.strictObject({
  job_id: z.string(),
  status: z.literal('processing'),
  message: z.string(),
  wav_url: z.string(),
  filename: z.string(),
  sample_used: z.string(),
  text_ref: z.string(),
});
const Progress = z.strictObject({
  progress: z.number(),
  status: z.string(),
  extra: z.string().nullable().optional(),
  timestamp: z.number().optional(),
  batch_current: z.number().optional(),
  batch_total: z.number().optional(),
  filename: z.string().optional(),
});
type Progress = z.infer<typeof Progress>;
const ErrorBody = z.looseObject({ error: z.string(), message: z.string().optional() });
const StatusBody = z.looseObject({ model_loaded: z.boolean(), busy: z.boolean(), current_job: z.string().nullable() });

const TEXT = 'Chú mèo nhỏ ngồi bên cửa sổ, nhìn mưa rơi suốt cả buổi chiều.';

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

async function call(emu: FlaskEmulator, method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
  const init: RequestInit = { method };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(`${emu.baseUrl}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

async function submit(emu: FlaskEmulator, body: Record<string, unknown>): Promise<z.infer<typeof Accepted>> {
  const reply = await call(emu, 'POST', '/tts', body);
  assert.equal(reply.status, 202, reply.text);
  return Accepted.parse(reply.json);
}

async function progress(emu: FlaskEmulator, id: string): Promise<Progress> {
  const reply = await call(emu, 'GET', `/tts/progress/${encodeURIComponent(id)}`);
  assert.equal(reply.status, 200);
  return Progress.parse(reply.json);
}

/** Polls progress as fast as it can until `done`, returning every distinct state seen. */
async function watch(emu: FlaskEmulator, id: string, done: (p: Progress) => boolean, timeoutMs = 5000): Promise<Progress[]> {
  const seen: Progress[] = [];
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const p = await progress(emu, id);
    const last = seen.at(-1);
    if (!last || last.status !== p.status || last.progress !== p.progress || last.extra !== p.extra) seen.push(p);
    if (done(p)) return seen;
    assert.ok(performance.now() < deadline, `stuck at ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const ended = (p: Progress): boolean => p.progress === 100 || p.progress === -1;

async function emulator(t: TestContext, opts: FlaskEmulatorOptions = {}): Promise<FlaskEmulator> {
  const emu = await startFlaskEmulator(opts);
  t.after(async () => {
    await tidyUp(emu);
    await emu.close();
  });
  return emu;
}

/** What a client should do after its jobs: wait for the worker to be idle, delete each output file and progress entry. */
async function tidyUp(emu: FlaskEmulator): Promise<void> {
  await emu.waitIdle(5000);
  for (const j of emu.jobs) {
    await call(emu, 'DELETE', `/tts/cleanup-file/${encodeURIComponent(j.filename)}`);
    await call(emu, 'DELETE', `/tts/progress/${encodeURIComponent(j.id)}`);
  }
}

const job = (text = TEXT, extra: Record<string, unknown> = {}) => ({ text, ref_name: 'sample/narrator.wav', speed: 0.9, ...extra });

describe('Flask emulator: read-only routes', () => {
  test('/health, /status and /voices answer like the worker, with jsonify formatting', async (t) => {
    const emu = await emulator(t, { voices: ['narrator', 'young_woman'] });
    const health = await call(emu, 'GET', '/health');
    assert.equal(health.text, '{"service":"f5-tts","status":"healthy"}\n', 'compact, keys sorted, trailing newline');
    const status = StatusBody.parse((await call(emu, 'GET', '/status')).json);
    assert.deepEqual([status.model_loaded, status.busy, status.current_job], [true, false, null]);
    const voices = z
      .strictObject({
        voices: z.array(z.strictObject({ id: z.string(), wav: z.string(), txt: z.string().nullable(), path: z.string(), size_mb: z.number(), reference_text: z.string() })),
        count: z.number(),
        sample_dir: z.string(),
      })
      .parse((await call(emu, 'GET', '/voices')).json);
    assert.deepEqual(voices.voices.map((v) => [v.id, v.wav, v.path]), [
      ['narrator', 'narrator.wav', 'sample/narrator.wav'],
      ['young_woman', 'young_woman.wav', 'sample/young_woman.wav'],
    ]);
    assert.equal(voices.count, 2);
    const unknown = await call(emu, 'GET', '/nope');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /<title>404 Not Found<\/title>/);
    assert.equal((await call(emu, 'GET', '/tts')).status, 405);
    assert.deepEqual(Progress.parse((await call(emu, 'GET', '/tts/progress/never-seen')).json), { progress: 0, status: 'pending' });
  });
});

describe('Flask emulator: POST /tts', () => {
  test('validation: invalid_json, missing_text, missing_ref_name, invalid_speed, ref_not_found — and no job starts', async (t) => {
    const emu = await emulator(t);
    const cases: [string | Record<string, unknown>, number, string][] = [
      ['{"text": ', 400, 'invalid_json'],
      [{ ref_name: 'sample/narrator.wav' }, 400, 'missing_text'],
      [{ text: '   ', ref_name: 'sample/narrator.wav' }, 400, 'missing_text'],
      [{ text: TEXT }, 400, 'missing_ref_name'],
      [job(TEXT, { speed: 0 }), 400, 'invalid_speed'],
      [job(TEXT, { speed: 'fast' }), 400, 'invalid_speed'],
      [job(TEXT, { ref_name: 'sample/nobody.wav' }), 404, 'ref_not_found'],
      [job(TEXT, { ref_name: 'narrator' }), 404, 'ref_not_found'],
      [job(TEXT, { ref_name: '../../etc/passwd' }), 400, 'path_traversal_attempt'],
    ];
    for (const [body, status, error] of cases) {
      const reply = typeof body === 'string' ? await call(emu, 'POST', '/tts', undefined, body) : await call(emu, 'POST', '/tts', body);
      assert.equal(reply.status, status, `${JSON.stringify(body)} → ${reply.text}`);
      assert.equal(ErrorBody.parse(reply.json).error, error);
    }
    assert.equal(emu.jobs.length, 0);
    assert.equal(StatusBody.parse((await call(emu, 'GET', '/status')).json).busy, false);
  });

  test('refNameTemplate: later builds want `{voice}` or `{voice}.wav` and refuse the seed spelling', async (t) => {
    const emu = await emulator(t, { refNameTemplate: '{voice}', jobTimeMs: () => 10 });
    for (const ref of ['narrator', 'narrator.wav', 'voice:narrator']) {
      const accepted = await submit(emu, job(TEXT, { ref_name: ref }));
      assert.equal(accepted.sample_used, 'narrator');
      await emu.waitIdle(1000);
    }
    assert.equal((await call(emu, 'POST', '/tts', job(TEXT, { ref_name: 'sample/narrator.wav' }))).status, 404);
  });

  test('202, then pending → init → loading_model → generating_audio → Batch i/n → saving_audio → completed; the WAV downloads', async (t) => {
    // lockstep: each state waits for the poller, so all nine are seen even on a loaded machine.
    const emu = await emulator(t, { jobTimeMs: () => 800, batches: () => 3, lockstep: true });
    const accepted = await submit(emu, job(TEXT, { job_id: 'chunk-1' }));
    assert.equal(accepted.job_id, 'chunk-1');
    assert.equal(accepted.sample_used, 'narrator');
    const seen = await watch(emu, 'chunk-1', ended);
    assert.deepEqual(
      seen.map((p) => [p.progress, p.status, p.extra ?? null]),
      [
        [0, 'pending', null],
        [5, 'init', null],
        [10, 'loading_model', null],
        [15, 'generating_audio', null],
        [35, 'generating', 'Batch 1/3'],
        [60, 'generating', 'Batch 2/3'],
        [85, 'generating', 'Batch 3/3'],
        [90, 'saving_audio', null],
        [100, 'completed', seen.at(-1)?.extra ?? null],
      ],
    );
    const last = seen.at(-1);
    // The worker's own wording with its elapsed seconds; how many depends on the machine's load, not asserted.
    assert.match(last?.extra ?? '', /^Completed in \d+\.\d\ds$/);
    assert.equal(last?.filename, accepted.filename);
    assert.deepEqual([seen[5]?.batch_current, seen[5]?.batch_total], [2, 3]);

    const wav = await fetch(accepted.wav_url);
    assert.equal(wav.status, 200);
    assert.equal(wav.headers.get('content-type'), 'audio/x-wav');
    assert.deepEqual(new Uint8Array(await wav.arrayBuffer()), fakeSynthesize(TEXT, 0.9));
    assert.equal(emu.jobs[0]?.downloads, 1);
    assert.equal(emu.jobs[0]?.outcome, 'completed');
    assert.equal((await call(emu, 'GET', '/output/missing.wav')).status, 404);
  });

  test('one job at a time: 503 busy with current_job and estimated_wait; free again once the job ends', async (t) => {
    const emu = await emulator(t, { jobTimeMs: () => 300 });
    const first = await submit(emu, job());
    const busy = await call(emu, 'POST', '/tts', job('Câu thứ hai.'));
    assert.equal(busy.status, 503);
    const body = z
      .strictObject({ error: z.literal('busy'), message: z.string(), current_job: z.string(), estimated_wait: z.number().int() })
      .parse(busy.json);
    assert.equal(body.current_job, first.job_id);
    const status = StatusBody.parse((await call(emu, 'GET', '/status')).json);
    assert.deepEqual([status.busy, status.current_job], [true, first.job_id]);
    assert.equal(emu.currentJob()?.id, first.job_id);
    await emu.waitIdle(2000);
    await submit(emu, job('Câu thứ hai.'));
    assert.equal(emu.jobs.length, 2);
  });

  test('kill: cancelled at once in progress, but the lock is held until the current batch ends', async (t) => {
    const emu = await emulator(t, { jobTimeMs: () => 1000, batches: () => 4 }); // batches of 200 ms
    const { job_id: id } = await submit(emu, job());
    const other = await call(emu, 'POST', '/tts/kill/someone-else');
    assert.equal(other.status, 400);
    assert.equal(z.looseObject({ status: z.literal('not_running') }).parse(other.json).status, 'not_running');

    await watch(emu, id, (p) => p.extra === 'Batch 1/4');
    const killedAt = performance.now();
    const kill = await call(emu, 'POST', `/tts/kill/${id}`);
    assert.equal(kill.status, 200);
    assert.deepEqual(z.looseObject({ status: z.string(), job_id: z.string() }).parse(kill.json).status, 'cancelled');
    assert.deepEqual([(await progress(emu, id)).progress, (await progress(emu, id)).status], [-1, 'cancelled']);
    assert.equal(StatusBody.parse((await call(emu, 'GET', '/status')).json).busy, true, 'still busy until the batch checkpoint');
    assert.equal((await call(emu, 'POST', '/tts', job('Câu khác.'))).status, 503);

    await emu.waitIdle(2000);
    // Order, not milliseconds: the lock was released after the kill was accepted, at the batch checkpoint.
    assert.ok(emu.jobs[0]!.finishedAt! > killedAt, 'the lock was held past the kill');
    const final = await progress(emu, id);
    assert.deepEqual([final.progress, final.status, final.extra], [-1, 'cancelled', `Job ${id} was cancelled`]);
    assert.equal(emu.jobs[0]?.outcome, 'cancelled');
    assert.ok(emu.jobs[0]?.killRequestedAt !== undefined);
    await submit(emu, job('Câu khác.'));
  });

  test('a kill during saving_audio comes too late: the job completes', async (t) => {
    // The job waits in saving_audio until the kill has been answered: the phase is 4 % of a job, which a poller on
    // a loaded machine could miss entirely.
    let killed!: () => void;
    const killAnswered = new Promise<void>((resolve) => (killed = resolve));
    const emu = await emulator(t, { jobTimeMs: () => 1200, batches: () => 1, holdSaving: () => killAnswered });
    const { job_id: id } = await submit(emu, job());
    await watch(emu, id, (p) => p.status === 'saving_audio');
    assert.equal((await call(emu, 'POST', `/tts/kill/${id}`)).status, 200);
    killed();
    await emu.waitIdle(2000);
    assert.equal((await progress(emu, id)).status, 'completed');
    assert.equal(emu.jobs[0]?.outcome, 'completed');
  });

  test('a hung inference is stopped by a kill at its next checkpoint', async (t) => {
    const emu = await emulator(t, { jobTimeMs: () => 100, fault: () => ({ kind: 'hang' }) });
    const { job_id: id } = await submit(emu, job());
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await progress(emu, id)).status, 'generating_audio');
    assert.equal(emu.currentJob()?.id, id);
    await call(emu, 'POST', `/tts/kill/${id}`);
    await emu.waitIdle(1000);
    assert.equal(emu.jobs[0]?.outcome, 'cancelled');
  });

  test('failures: 500 inference_failed at submit, or progress −1 failed in the background; the lock is released', async (t) => {
    const emu = await emulator(t, {
      jobTimeMs: () => 100,
      batches: () => 2,
      fault: ({ attemptForText, text }) =>
        text === 'boom' && attemptForText === 1
          ? { kind: 'inference-failed', message: 'text_ref_failed: empty' }
          : text === 'oom'
            ? { kind: 'fail', message: 'CUDA out of memory', atBatch: 2 }
            : undefined,
    });
    const refused = await call(emu, 'POST', '/tts', job('boom'));
    assert.equal(refused.status, 500);
    assert.deepEqual(refused.json, { error: 'inference_failed', message: 'text_ref_failed: empty' });
    assert.equal(StatusBody.parse((await call(emu, 'GET', '/status')).json).busy, false);

    const { job_id: id } = await submit(emu, job('oom'));
    const seen = await watch(emu, id, ended);
    assert.deepEqual(seen.at(-1), { ...seen.at(-1), progress: -1, status: 'failed', extra: 'CUDA out of memory' });
    assert.equal(seen.at(-2)?.extra, 'Batch 2/2', 'it failed during the second batch');
    await emu.waitIdle(1000);
    assert.equal(emu.jobs[0]?.outcome, 'failed');
    await submit(emu, job('boom'));
  });

  test('an entry deleted right after a kill comes back when the worker thread stops; the WAV stays until cleanup-file', async (t) => {
    const emu = await emulator(t, { jobTimeMs: () => 1000, batches: () => 4 });
    const { job_id: id } = await submit(emu, job());
    await watch(emu, id, (p) => p.extra === 'Batch 1/4');
    assert.equal((await call(emu, 'POST', `/tts/kill/${id}`)).status, 200);
    await call(emu, 'DELETE', `/tts/progress/${id}`);
    assert.deepEqual(emu.leftovers().progress, [], 'deleted for now');
    await emu.waitIdle(2000);
    assert.deepEqual(emu.leftovers().progress, [id], 'rewritten by the worker thread');
    assert.deepEqual((await progress(emu, id)).status, 'cancelled');
    await call(emu, 'DELETE', `/tts/progress/${id}`);

    const done = await submit(emu, job('Câu khác.'));
    await emu.waitIdle(2000);
    assert.equal((await fetch(done.wav_url).then((r) => r.arrayBuffer())).byteLength > 44, true);
    assert.deepEqual(emu.leftovers().files, [done.filename], 'downloading does not delete the file');
    const del = await call(emu, 'DELETE', `/tts/cleanup-file/${encodeURIComponent(done.filename)}`);
    assert.deepEqual(del.json, { filename: done.filename, status: 'deleted' });
    assert.equal(emu.jobs[1]?.fileDeleted, true);
    assert.deepEqual(emu.leftovers(), { running: undefined, progress: [], files: [] }, 'cleanup-file also drops the entry naming the file');
    assert.equal((await call(emu, 'DELETE', `/tts/cleanup-file/${encodeURIComponent(done.filename)}`)).status, 404);
  });

  test('close() refuses, listing them, while a job runs or an entry or a file is left', async () => {
    const emu = await startFlaskEmulator({ jobTimeMs: () => 20 });
    const { job_id: id, filename } = await submit(emu, job());
    await assert.rejects(emu.close(), (err: Error) => err.message.includes(id) && err.message.includes('running'));
    const again = await startFlaskEmulator({ jobTimeMs: () => 20 });
    await submit(again, job());
    await again.waitIdle(1000);
    await assert.rejects(again.close(), (err: Error) => err.message.includes(again.jobs[0]!.filename));
    assert.notEqual(filename, '');
  });

  test('DELETE /tts/progress/{id} cleans up (recorded); the id then reads pending', async (t) => {
    const emu = await emulator(t, { jobTimeMs: () => 20 });
    const { job_id: id } = await submit(emu, job());
    await emu.waitIdle(1000);
    const del = await call(emu, 'DELETE', `/tts/progress/${id}`);
    assert.deepEqual(del.json, { status: 'deleted' });
    assert.equal(emu.jobs[0]?.progressDeleted, true);
    assert.deepEqual(await progress(emu, id), { progress: 0, status: 'pending' });
  });

  test('cold model: model_loaded false until the first job has spent coldStartMs in loading_model', async (t) => {
    const emu = await emulator(t, { coldStartMs: 250, jobTimeMs: () => 40 });
    assert.equal(StatusBody.parse((await call(emu, 'GET', '/status')).json).model_loaded, false);
    const t0 = performance.now();
    const { job_id: id } = await submit(emu, job());
    const seen = await watch(emu, id, ended);
    assert.ok(performance.now() - t0 >= 250);
    assert.ok(seen.some((p) => p.status === 'loading_model'));
    assert.equal(StatusBody.parse((await call(emu, 'GET', '/status')).json).model_loaded, true);
    // The second job does not load the model again: it runs shorter than the first, whose extra was the load
    // (a comparison of the two runs, which the machine's load stretches alike — no absolute bound).
    const second = await submit(emu, job('Lần hai nhanh hơn.'));
    assert.equal((await watch(emu, second.job_id, ended)).at(-1)?.status, 'completed');
    await emu.waitIdle(1000);
    const [a, b] = emu.jobs.map((j) => j.finishedAt! - j.submittedAt);
    assert.ok(b! < a!, `second job ${b} ms, first ${a} ms`);
  });

  test('httpFault: a bare 502 for the first POST /tts, then normal service', async (t) => {
    const emu = await emulator(t, { jobTimeMs: () => 10, httpFault: (route, n) => (route === 'tts' && n === 1 ? 502 : undefined) });
    const first = await call(emu, 'POST', '/tts', job());
    assert.equal(first.status, 502);
    assert.equal(first.json, undefined);
    await submit(emu, job());
    assert.equal(emu.requests.count('tts'), 2);
    assert.equal(emu.jobs.length, 1);
  });
});
