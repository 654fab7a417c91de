/**
 * FlaskBackend against the worker's Flask API emulator: submit → progress → output → cleanup, busy retries,
 * unknown voice, failures, kill on abort, and the voice list.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { NarratorError } from '../src/services/errors.js';
import { FlaskBackend } from '../src/services/tts/flask.js';
import { decodeWavMono } from '../src/services/audio/wav.js';
import { fakeSpeechSeconds } from './support/fakeVoice.js';
import { startFlaskEmulator, type FlaskEmulator, type FlaskEmulatorOptions } from './support/flaskEmulator.js';

const TEXT = 'Một buổi chiều mùa thu, gió thổi nhẹ qua những hàng cây.';
let emulator: FlaskEmulator | undefined;

afterEach(async () => {
  if (!emulator) return;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(emulator.currentJob(), undefined, 'the worker is left idle');
  await emulator.close();
  emulator = undefined;
});

async function setup(opts: FlaskEmulatorOptions = {}, template = 'sample/{voice}.wav') {
  emulator = await startFlaskEmulator({ jobTimeMs: () => 80, ...opts });
  const backend = new FlaskBackend({ baseUrl: emulator.baseUrl, refNameTemplate: template, jobTimeoutMs: 5_000, pollMs: 20, retryBaseMs: 5 });
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
  assert.equal(job.refName, 'sample/narrator.wav');
  assert.equal(backend.maxConcurrency, 1, 'one job at a time on a Flask worker');
});

test('503 busy (another client holds the worker) is retried until the worker is free', async () => {
  const { emu, backend } = await setup({ jobTimeMs: () => 150 });
  const other = fetch(`${emu.baseUrl}/tts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Người khác đang dùng máy.', ref_name: 'sample/narrator.wav', speed: 1 }) });
  assert.equal((await other).status, 202);
  const result = await synth(backend);
  assert.ok(result.retries >= 1);
  assert.ok(emu.requests.log.some((r) => r.route === 'tts' && r.status === 503));
});

test('an unknown voice on the worker is a user error naming the voice, not retried', async () => {
  const { emu, backend } = await setup({ voices: ['narrator'] });
  const err = await failure(synth(backend, { voice: 'female' }));
  assert.equal(err.code, 'voice_not_installed');
  assert.match(err.message, /"female"/);
  assert.equal(emu.requests.count('tts'), 1);
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

test('abort kills the running job on the worker', async () => {
  const { emu, backend } = await setup({ fault: () => ({ kind: 'hang' }) });
  const ac = new AbortController();
  const p = synth(backend, { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 120));
  ac.abort();
  assert.equal((await failure(p)).kind, 'aborted');
  await emu.waitIdle(2_000);
  assert.equal(emu.jobs[0]!.outcome, 'cancelled');
  assert.ok(emu.jobs[0]!.killRequestedAt !== undefined);
});

test('the voice list comes from GET /voices', async () => {
  const { backend } = await setup({ voices: ['narrator', 'female', 'bad name'] });
  assert.deepEqual((await backend.listVoices()).sort(), ['female', 'narrator'], 'names the worker cannot take are left out');
});
