/**
 * FlaskBackend against the worker's Flask API emulator: submit → progress → output → cleanup, a busy worker waited
 * out, this process's jobs serialized, unknown voice, failures, kill on abort, and the voice list. Every test ends
 * with the emulator's close(), which fails when a job still runs or a progress entry / output file is left.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { NarratorError } from '../src/services/errors.js';
import { FlaskBackend } from '../src/services/tts/flask.js';
import { decodeWavMono } from '../src/services/audio/wav.js';
import { fakeSpeechSeconds } from './support/fakeVoice.js';
import { startFlaskEmulator, type FlaskEmulator, type FlaskEmulatorOptions } from './support/flaskEmulator.js';
import { pollUntil } from './support/wait.js';

const TEXT = 'Một buổi chiều mùa thu, gió thổi nhẹ qua những hàng cây.';
let emulator: FlaskEmulator | undefined;

afterEach(async () => {
  if (!emulator) return;
  const closing = emulator;
  emulator = undefined;
  await closing.close(); // rejects when anything is left on the worker
});

/** Another client of the same worker: starts a job directly, and later fetches and cleans it up. */
async function otherClient(emu: FlaskEmulator, text = 'Người khác đang dùng máy.') {
  const res = await fetch(`${emu.baseUrl}/tts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, ref_name: 'sample/narrator.wav', speed: 1 }) });
  assert.equal(res.status, 202);
  const { job_id: id, filename } = (await res.json()) as { job_id: string; filename: string };
  return {
    id,
    async cleanUp() {
      await emu.waitIdle();
      await fetch(`${emu.baseUrl}/tts/cleanup-file/${encodeURIComponent(filename)}`, { method: 'DELETE' });
      await fetch(`${emu.baseUrl}/tts/progress/${encodeURIComponent(id)}`, { method: 'DELETE' });
    },
  };
}

async function setup(opts: FlaskEmulatorOptions = {}, template = 'sample/{voice}.wav') {
  emulator = await startFlaskEmulator({ jobTimeMs: () => 80, ...opts });
  // busyMaxDelayMs shrinks the pause between two asks of a busy worker (5 s in production).
  const backend = new FlaskBackend({ baseUrl: emulator.baseUrl, refNameTemplate: template, jobTimeoutMs: 5_000, pollMs: 20, retryBaseMs: 5, busyMaxDelayMs: 150 });
  return { emu: emulator, backend };
}

const synth = (b: FlaskBackend, o: { voice?: string; signal?: AbortSignal; text?: string } = {}) =>
  b.synthesize({ text: o.text ?? TEXT, voice: o.voice ?? 'narrator', speed: 1 }, { signal: o.signal ?? new AbortController().signal });

async function failure(p: Promise<unknown>): Promise<NarratorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NarratorError, String(err));
    return err;
  }
  assert.fail('expected a failure');
}

test('a job goes submit → progress → output, and its progress record is deleted afterwards', async () => {
  const { emu, backend } = await setup();
  const result = await synth(backend);
  const audio = decodeWavMono(result.wav);
  assert.ok(Math.abs(audio.samples.length / audio.sampleRate - (fakeSpeechSeconds(TEXT, 1) + 0.16)) < 0.05);
  const job = emu.jobs[0]!;
  assert.equal(job.outcome, 'completed');
  assert.equal(job.downloads, 1);
  assert.equal(job.progressDeleted, true);
  assert.equal(job.fileDeleted, true, 'the output WAV is deleted on the worker after the download');
  assert.deepEqual(emu.leftovers(), { running: undefined, progress: [], files: [] });
  assert.equal(job.refName, 'sample/narrator.wav');
  assert.equal(backend.maxConcurrency, 1, 'one job at a time on a Flask worker');
});

test('503 busy (another client holds the worker) is waited out, however long, and is not a failure', async () => {
  // The other client's job hangs until we have seen more busy answers than any retry budget, then it is killed.
  const { emu, backend } = await setup({ fault: (c) => (c.text.startsWith('Người khác') ? { kind: 'hang' } : undefined) });
  const other = await otherClient(emu);
  const events: string[] = [];
  const ours = backend.synthesize({ text: TEXT, voice: 'narrator', speed: 1 }, { signal: new AbortController().signal, onEvent: (e) => events.push(e.type === 'waiting' ? `waiting:${e.reason}` : e.type) });
  const busyAnswers = () => emu.requests.log.filter((r) => r.route === 'tts' && r.status === 503).length;
  await pollUntil(() => busyAnswers() > 8 || undefined, 20_000, 'more busy answers than the old retry budget');
  await fetch(`${emu.baseUrl}/tts/kill/${other.id}`, { method: 'POST' });
  const result = await ours;
  assert.equal(result.retries, 0, 'waiting for a free worker is not a re-submission');
  assert.ok(events.includes('waiting:queue'), 'reported as queued, not as a retry');
  const [theirs, mine] = emu.jobs;
  assert.equal(mine!.text, TEXT);
  assert.ok(mine!.submittedAt >= theirs!.finishedAt!, 'ours started after theirs ended');
  await other.cleanUp();
});

test('waiting for a busy worker ends at once when the caller aborts; nothing of ours was started', async () => {
  const { emu, backend } = await setup({ jobTimeMs: () => 1_500 });
  const other = await otherClient(emu);
  const ac = new AbortController();
  const p = synth(backend, { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 100));
  ac.abort();
  assert.equal((await failure(p)).kind, 'aborted');
  assert.equal(emu.jobs.length, 1, 'only the other client’s job ever ran');
  await other.cleanUp();
});

test('this process’s own jobs take turns on the one worker: never a 503 between them', async () => {
  const { emu, backend } = await setup({ jobTimeMs: () => 60 });
  const texts = Array.from({ length: 5 }, (_, i) => `Câu số ${i + 1} của cùng một tiến trình.`);
  const results = await Promise.all(texts.map((text) => synth(backend, { text })));
  assert.equal(results.length, 5);
  assert.equal(emu.requests.log.filter((r) => r.route === 'tts' && r.status === 503).length, 0);
  assert.equal(emu.jobs.length, 5);
});

test('an unknown voice on the worker is a user error naming the voice, not retried', async () => {
  const { emu, backend } = await setup({ voices: ['narrator'] });
  const err = await failure(synth(backend, { voice: 'female' }));
  assert.equal(err.code, 'voice_not_installed');
  assert.match(err.message, /"female"/);
  assert.equal(emu.requests.count('tts'), 1);
});

test('ref_not_found for a voice the worker lists: the message names the path it checked and REF_NAME_TEMPLATE', async () => {
  // A newer worker build wants `{voice}`; the seed's template makes it look under sample/sample/.
  const { backend } = await setup({ voices: ['3_Nu'], refNameTemplate: '{voice}' }, 'sample/{voice}.wav');
  assert.deepEqual(await backend.listVoices(), ['3_Nu'], 'the voice is listed');
  const err = await failure(synth(backend, { voice: '3_Nu' }));
  assert.equal(err.code, 'voice_not_installed');
  assert.match(err.message, /sample\/sample\/3_Nu\.wav/);
  assert.match(err.message, /REF_NAME_TEMPLATE/);
});

test('inference_failed is retried once; a job that fails in the background is retried once then reported', async () => {
  let { emu, backend } = await setup({ fault: (c) => (c.attemptForText === 1 ? { kind: 'inference-failed' } : undefined) });
  assert.equal((await synth(backend)).retries, 1);
  await emu.close();
  ({ emu, backend } = await setup({ fault: () => ({ kind: 'fail', message: 'CUDA out of memory' }) }));
  const err = await failure(synth(backend));
  assert.equal(err.code, 'tts_failed');
  assert.equal(emu.jobs.length, 2);
});

test('abort kills the running job on the worker and cleans up after the worker rewrites its progress', async () => {
  // Long batches: the kill takes effect ~300 ms later, when the worker thread writes the final `cancelled` entry.
  const { emu, backend } = await setup({ fault: () => ({ kind: 'hang' }), jobTimeMs: () => 1_500 });
  const ac = new AbortController();
  const p = synth(backend, { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 120));
  ac.abort();
  assert.equal((await failure(p)).kind, 'aborted');
  // synthesize settled only after the job was over on the worker and its entry was deleted for good.
  assert.equal(emu.jobs[0]!.outcome, 'cancelled');
  assert.ok(emu.jobs[0]!.killRequestedAt !== undefined);
  assert.deepEqual(emu.leftovers(), { running: undefined, progress: [], files: [] });
});

test('property: an abort at any moment of a job leaves nothing on the worker (a late kill lets it complete)', async () => {
  const { emu, backend } = await setup({ jobTimeMs: () => 200 });
  for (let i = 0; i < 12; i++) {
    const ac = new AbortController();
    const p = synth(backend, { signal: ac.signal, text: `Câu thứ ${i} bị dừng giữa chừng.` });
    await new Promise((r) => setTimeout(r, Math.random() * 260));
    ac.abort();
    await p.catch(() => undefined);
    assert.deepEqual(emu.leftovers(), { running: undefined, progress: [], files: [] }, `run ${i}`);
  }
  const outcomes = new Set(emu.jobs.map((j) => j.outcome));
  assert.ok(!outcomes.has('running'));
});

test('the voice list comes from GET /voices', async () => {
  const { backend } = await setup({ voices: ['narrator', 'female', 'bad name'] });
  assert.deepEqual((await backend.listVoices()).sort(), ['female', 'narrator'], 'names the worker cannot take are left out');
});

test('GPU seconds: each job is measured on the worker (a failed one that ran included) and summed on the result', async () => {
  // The first job fails in its background thread after running; the resubmitted one completes.
  const { emu, backend } = await setup({ jobTimeMs: () => 150, fault: (c) => (c.attemptForText === 1 ? { kind: 'fail', message: 'CUDA out of memory' } : undefined) });
  const events: { type: string; gpuSeconds?: number }[] = [];
  const startedAt = performance.now();
  const result = await backend.synthesize({ text: TEXT, voice: 'narrator', speed: 1 }, { signal: new AbortController().signal, onEvent: (e) => events.push(e) });
  const wallSeconds = (performance.now() - startedAt) / 1000;
  assert.equal(result.retries, 1);
  assert.equal(emu.jobs.length, 2);
  const billed = events.filter((e) => e.type === 'billed').map((e) => e.gpuSeconds!);
  assert.equal(billed.length, 2, 'one bill per job, the failed one too');
  assert.ok(billed.every((s) => s > 0));
  assert.ok(Math.abs(result.gpuSeconds! - (billed[0]! + billed[1]!)) < 1e-9);
  // The completed job ran its planned 150 ms on the worker before it was seen to end; nothing is billed outside the call.
  assert.ok(billed[1]! >= 0.1, `completed job billed ${billed[1]} s`);
  assert.ok(result.gpuSeconds! <= wallSeconds);
});
