/**
 * RunPodBackend against the RunPod serverless emulator: every state, both output generations, both error
 * vocabularies, HTTP faults, cancellation — and after each test, no job left running on the "GPU".
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { NarratorError } from '../src/services/errors.js';
import type { BackendEvent } from '../src/services/tts/backend.js';
import { RunPodBackend, type RunPodOptions } from '../src/services/tts/runpod.js';
import { decodeWavMono } from '../src/services/audio/wav.js';
import { fakeSpeechSeconds } from './support/fakeVoice.js';
import { startRunPodEmulator, type RunPodEmulator, type RunPodEmulatorOptions } from './support/runpodEmulator.js';

const TEXT = 'Xin chào, đây là một thử nghiệm của hệ thống đọc truyện.';
let emulator: RunPodEmulator | undefined;

afterEach(async () => {
  if (!emulator) return;
  // The invariant of the whole backend: whatever happened, nothing is left running on the endpoint.
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(emulator.activeJobs().map((j) => j.status), [], 'no job left queued or running');
  await emulator.close();
  emulator = undefined;
});

async function setup(emu: RunPodEmulatorOptions = {}, backend: Partial<RunPodOptions> = {}) {
  emulator = await startRunPodEmulator({ jobTimeMs: () => 60, ...emu });
  const rp = new RunPodBackend({
    apiKey: emulator.apiKey,
    endpointId: emulator.endpointId,
    baseUrl: emulator.baseUrl,
    refNameTemplate: 'sample/{voice}.wav',
    executionTimeoutMs: 10_000,
    retryBaseMs: 5,
    backoffBaseMs: 5,
    workerHosts: ['127.0.0.1'],
    pollMinMs: 20,
    pollMaxMs: 50,
    ...backend,
  });
  return { emu: emulator, rp };
}

function synth(rp: RunPodBackend, o: { text?: string; voice?: string; signal?: AbortSignal; events?: BackendEvent[] } = {}) {
  return rp.synthesize(
    { text: o.text ?? TEXT, voice: o.voice ?? 'narrator', speed: 1 },
    { signal: o.signal ?? new AbortController().signal, onEvent: (e) => o.events?.push(e) },
  );
}

async function failure(p: Promise<unknown>): Promise<NarratorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NarratorError, `expected NarratorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the synthesis to fail');
}

function assertNoKey(err: NarratorError, key: string) {
  assert.ok(!`${err.message} ${err.detail ?? ''} ${err.stack}`.includes(key), 'the API key must not appear in errors');
}

test('generation 1 (audio_base64) with long-poll: the WAV arrives right after the job, no fixed polling', async () => {
  const { emu, rp } = await setup({ jobTimeMs: () => 300 });
  const events: BackendEvent[] = [];
  const result = await synth(rp, { events });
  const audio = decodeWavMono(result.wav);
  assert.ok(Math.abs(audio.samples.length / audio.sampleRate - (fakeSpeechSeconds(TEXT, 1) + 0.16)) < 0.05);
  assert.equal(result.retries, 0);
  // One long-poll that the job's completion answered: no polling at all (timing is the benchmark's business).
  assert.equal(emu.requests.count('status-sync'), 1);
  assert.equal(emu.requests.count('status'), 0, 'no /status polling when /status-sync exists');
  const job = emu.jobs[0]!;
  assert.equal(job.input['ref_name'], 'sample/narrator.wav');
  assert.equal(job.input['speed'], 1);
  assert.equal(typeof job.input['job_id'], 'string');
  assert.ok(job.policy?.executionTimeout && job.policy.ttl && job.policy.ttl > job.policy.executionTimeout);
  assert.deepEqual(events.map((e) => e.type).filter((t) => t !== 'started'), ['queued', 'billed']);
  // The job's executionTime is what RunPod bills, and what the result reports.
  assert.ok(emu.billedExecutionMs >= 300);
  assert.equal(result.gpuSeconds, emu.billedExecutionMs / 1000);
});

test('generation 2 (download_url + confirmation_url): downloaded without the key, then confirmed', async () => {
  const { emu, rp } = await setup({ outputGeneration: 2 });
  const result = await synth(rp);
  assert.ok(decodeWavMono(result.wav).samples.length > 0);
  const job = emu.jobs[0]!;
  assert.equal(job.downloads, 1);
  assert.equal(job.confirmed, true);
  assert.equal(job.confirmedAfterDownload, true);
  const fileRequests = emu.requests.log.filter((r) => r.route === 'files' || r.route === 'confirm');
  assert.ok(fileRequests.length >= 2 && fileRequests.every((r) => !r.authorized), 'the RunPod key never goes to the worker');
});

test('without /status-sync the backend falls back to /status polling and still finishes', async () => {
  const { emu, rp } = await setup({ statusSync: false, jobTimeMs: () => 200 });
  await synth(rp);
  // Backoff from 20 ms capped at 50 ms over a 200 ms job: a handful of polls, not one per millisecond.
  assert.ok(emu.requests.count('status') >= 2 && emu.requests.count('status') <= 15, `${emu.requests.count('status')} polls`);
  await synth(rp, { text: `${TEXT} Lần hai.` });
  assert.equal(emu.requests.log.filter((r) => r.path.includes('/status-sync/')).length, 1, 'the missing route is learnt once');
});

test('transient worker errors re-submit with a fresh job_id: busy, failed inference, crash, duplicate, no output', async () => {
  const faults = [
    { kind: 'error', error: 'Flask API is processing another job' },
    { kind: 'seed-error', error: 'tts_failed', message: 'CUDA hiccup' },
    { kind: 'raise', message: 'RuntimeError: out of memory' },
    { kind: 'duplicate' },
    { kind: 'no-output' },
    { kind: 'non-string-error' },
  ] as const;
  for (const fault of faults) {
    const { emu, rp } = await setup({ fault: (ctx) => (ctx.attemptForText === 1 ? fault : undefined) });
    const events: BackendEvent[] = [];
    const result = await synth(rp, { events });
    assert.equal(result.retries, 1, `${fault.kind}: one retry`);
    assert.equal(emu.jobs.length, 2);
    assert.notEqual(emu.jobs[0]!.input['job_id'], emu.jobs[1]!.input['job_id'], 'every retry gets a fresh job_id');
    assert.ok(events.some((e) => e.type === 'retry'));
    await emu.close();
    emulator = undefined;
  }
});

test('a failed inference is retried once, then reported; busy is retried several times', async () => {
  let { emu, rp } = await setup({ fault: () => ({ kind: 'seed-error', error: 'tts_failed', message: 'x' }) });
  let err = await failure(synth(rp));
  assert.equal(err.code, 'tts_failed');
  assert.equal(emu.jobs.length, 2);
  await emu.close();
  ({ emu, rp } = await setup({ fault: (c) => (c.attemptForText <= 4 ? { kind: 'error', error: 'Flask API is processing another job' } : undefined) }));
  const ok = await synth(rp);
  assert.equal(ok.retries, 4);
  err = await failure(Promise.reject(new NarratorError('user', 'x', 'y')));
  assert.equal(err.kind, 'user');
});

test('permanent errors stop at once with a clear message: unknown voice, bad request, worker timeout, unknown error', async () => {
  const cases = [
    [{ kind: 'error', error: 'Flask API error: {"error":"ref_not_found"}', extra: { status_code: 404 } }, 'voice_not_installed', /voice "narrator" is not installed/],
    [{ kind: 'error', error: "Missing 'text' in input" }, 'bad_request', /rejected/],
    [{ kind: 'seed-error', error: 'timeout', message: 'Processing timeout' }, 'worker_timeout', /too long/],
    [{ kind: 'error', error: 'Something odd happened' }, 'worker_error', /reported an error/],
  ] as const;
  for (const [fault, code, message] of cases) {
    const { emu, rp } = await setup({ fault: () => fault });
    const err = await failure(synth(rp));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    assert.equal(emu.jobs.length, 1, `${code}: not retried`);
    assertNoKey(err, emu.apiKey);
    await emu.close();
    emulator = undefined;
  }
});

test('TIMED_OUT (policy.executionTimeout) is retried once, then reported', async () => {
  const { emu, rp } = await setup({ fault: () => ({ kind: 'hang' }) }, { executionTimeoutMs: 150 });
  const err = await failure(synth(rp));
  assert.equal(err.code, 'job_timed_out');
  assert.deepEqual(emu.jobs.map((j) => j.status), ['TIMED_OUT', 'TIMED_OUT']);
});

test('401 and an unknown endpoint are fatal configuration errors that never echo the key', async () => {
  const { emu } = await setup();
  const wrongKey = new RunPodBackend({ apiKey: 'rpa_WRONGKEY_123456789', endpointId: emu.endpointId, baseUrl: emu.baseUrl, refNameTemplate: '{voice}', executionTimeoutMs: 1000 });
  let err = await failure(synth(wrongKey));
  assert.equal(err.kind, 'config');
  assert.match(err.message, /RUNPOD_API_KEY/);
  assertNoKey(err, 'rpa_WRONGKEY_123456789');
  const wrongEndpoint = new RunPodBackend({ apiKey: emu.apiKey, endpointId: 'nope', baseUrl: emu.baseUrl, refNameTemplate: '{voice}', executionTimeoutMs: 1000 });
  err = await failure(synth(wrongEndpoint));
  assert.equal(err.code, 'endpoint_not_found');
  assertNoKey(err, emu.apiKey);
  assert.equal(emu.jobs.length, 0);
});

test('429 and 5xx answers are retried without creating duplicate jobs', async () => {
  const { emu, rp } = await setup({
    httpFault: (route, n) => (route === 'run' && n <= 2 ? 429 : route === 'status-sync' && n === 1 ? 502 : undefined),
  });
  await synth(rp);
  assert.equal(emu.requests.count('run'), 3);
  assert.equal(emu.jobs.length, 1);
});

test('abort while a job runs: the job is cancelled on the endpoint and the caller gets an abort error', async () => {
  const { emu, rp } = await setup({ jobTimeMs: () => 5_000 });
  const ac = new AbortController();
  const p = synth(rp, { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(emu.jobs[0]!.status, 'IN_PROGRESS');
  ac.abort();
  const err = await failure(p);
  assert.equal(err.kind, 'aborted');
  assert.equal(emu.jobs[0]!.status, 'CANCELLED');
  assert.equal(emu.requests.count('cancel'), 1);
});

test('abort while the submission is in flight still cancels the job it created', async () => {
  const { emu, rp } = await setup({ jobTimeMs: () => 5_000, httpFault: (route, n) => (route === 'run' && n === 1 ? 429 : undefined) });
  const ac = new AbortController();
  const p = synth(rp, { signal: ac.signal });
  setTimeout(() => ac.abort(), 2);
  const err = await failure(p);
  assert.equal(err.kind, 'aborted');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(emu.jobs.every((j) => j.status === 'CANCELLED'));
});

test('a job that outlives its ttl in the queue (no workers) is reported as expired', async () => {
  const { emu, rp } = await setup({ workers: 0 }, { executionTimeoutMs: 100, queueTimeoutMs: 200, longPollMs: 100 });
  const err = await failure(synth(rp));
  assert.equal(err.code, 'job_expired');
  assert.match(err.message, /expired/);
  assert.equal(emu.jobs[0]!.deleted, true);
});

test('a job waiting on a cold endpoint reports why, while it waits: workers warming up', async () => {
  // The production long-poll (15 s) must not delay the notice: it comes while the worker is still booting.
  const { rp } = await setup({ coldStartMs: 2_500, workers: 1 }, { queueNoticeMs: 200, longPollMs: 15_000 });
  const events: BackendEvent[] = [];
  await synth(rp, { events });
  const waiting = events.findIndex((e) => e.type === 'waiting');
  const started = events.findIndex((e) => e.type === 'started');
  const event = events[waiting];
  assert.ok(event && event.type === 'waiting' && event.reason === 'cold_start', JSON.stringify(events));
  assert.ok(started === -1 || waiting < started, 'told before the job started');
});

test('no workers at all is told apart from a cold start', async () => {
  const { rp } = await setup({ workers: 0 }, { queueNoticeMs: 50, longPollMs: 100 });
  const events: BackendEvent[] = [];
  const ac = new AbortController();
  const p = synth(rp, { events, signal: ac.signal });
  await new Promise((r) => setTimeout(r, 400));
  ac.abort();
  await failure(p);
  const waiting = events.find((e) => e.type === 'waiting');
  assert.ok(waiting && waiting.type === 'waiting' && waiting.reason === 'no_workers', JSON.stringify(events));
});

test('the voice name goes through the ref_name template and is validated', async () => {
  const { emu, rp } = await setup({ refNameTemplate: '{voice}' }, { refNameTemplate: '{voice}' });
  await synth(rp, { voice: 'female' });
  assert.equal(emu.jobs[0]!.input['ref_name'], 'female');
  const err = await failure(synth(rp, { voice: '../etc/passwd' }));
  assert.equal(err.code, 'voice_unknown');
  assert.equal(emu.jobs.length, 1);
});
