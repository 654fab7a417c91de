/**
 * NarrationTrack and its PcmStream with the real engine (Orchestrator, FairScheduler, stitcher) and a backend whose
 * jobs finish only when the test says so: playback audio flows after the first chunk, the stream waits for later
 * chunks instead of ending, a failure mid-way ends the stream after what was received, and a cancel stops the
 * worker jobs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AudioResource } from '@discordjs/voice';
import { NarratorError, abortError } from '../src/services/errors.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import type { BackendEvent, SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { NarrationTrack, type TrackRequest } from '../src/services/playback/narrationTrack.js';
import { PcmStream } from '../src/services/playback/pcmStream.js';
import { readdir, readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { RECORDING_PREFIX } from '../src/services/audio/narrationRecording.js';
import { decodeTestWav, encodeTestWav } from './support/fakeVoice.js';
import { pollUntil } from './support/wait.js';

const RATE = 24_000;
const TONE_SECONDS = 0.3;

/** A 0.3 s tone whose pitch depends on the text: audible, never trimmed as silence. */
function toneWav(text: string): Uint8Array {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const hz = 180 + (h % 200);
  const samples = new Float32Array(Math.round(RATE * TONE_SECONDS));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * hz * i) / RATE);
  return encodeTestWav(samples, RATE, 'pcm16');
}

interface Job {
  readonly text: string;
  readonly signal: AbortSignal;
  readonly onEvent?: (event: BackendEvent) => void;
  release(): void;
  fail(err: unknown): void;
}

/** Jobs wait until released (or failed) by the test; aborted jobs are counted like RunPod cancellations. */
class GatedBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:gated';
  readonly jobs: Job[] = [];
  aborted = 0;
  private waiters: (() => void)[] = [];

  synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.aborted++;
        reject(abortError(options.signal));
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.jobs.push({
        text: request.text,
        signal: options.signal,
        onEvent: options.onEvent,
        release: () => {
          options.signal.removeEventListener('abort', onAbort);
          resolve({ wav: toneWav(request.text), retries: 0 });
        },
        fail: (err) => {
          options.signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async waitForJobs(n: number): Promise<void> {
    while (this.jobs.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }
}

// ≤ 80 characters: one chunk each, even first (the chunker cuts a longer first sentence short for a fast start).
const sentence = (i: number) => `Câu thứ ${i} kể về một ngày dài ở làng quê, khi mọi người ra đồng gặt lúa.`;
const textOf = (chunks: number) => Array.from({ length: chunks }, (_, i) => sentence(i + 1)).join(' ');

function setup(chunks: number) {
  const backend = new GatedBackend();
  const orchestrator = new Orchestrator({
    backend,
    scheduler: new FairScheduler(4),
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
  });
  const text = textOf(chunks);
  const plan = orchestrator.plan({ text });
  assert.equal(plan.chunks.length, chunks, 'the test text splits into the intended chunks');
  const request: TrackRequest = { text, voice: plan.voice, speed: plan.speed, chunksTotal: chunks, requesterId: '42', requesterName: 'Ana' };
  const track = new NarrationTrack(request, orchestrator);
  return { backend, orchestrator, track };
}

/** Reads every Opus packet currently buffered in the resource's stream. */
function readAvailable(resource: AudioResource): Buffer[] {
  const out: Buffer[] = [];
  for (let p = resource.playStream.read() as Buffer | null; p; p = resource.playStream.read() as Buffer | null) out.push(p);
  return out;
}

async function readUntilEnd(resource: AudioResource): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const packet of resource.playStream) out.push(packet as Buffer);
  return out;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  await pollUntil(() => check() || undefined, timeoutMs, what, 5);
}

/** This process's narration recordings still in the temp folder (each must be removed, whatever the outcome). */
async function leftoverRecordings(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith(RECORDING_PREFIX));
}

/** Removal after a cancel runs in the background: wait (bounded) for it. */
async function waitForNoRecordings(): Promise<void> {
  let left = await leftoverRecordings();
  for (let i = 0; i < 100 && left.length > 0; i++) {
    await sleep(20);
    left = await leftoverRecordings();
  }
  assert.deepEqual(left, [], 'temp files left behind');
}

describe('PcmStream', () => {
  test('counts stalls: silence inserted because the next segment came after the audio before it had played', () => {
    let now = 0;
    const stream = new PcmStream(() => now);
    const second = () => ({ sampleRate: RATE, samples: new Float32Array(RATE) });
    stream.pushSegment(second());
    stream.setPlaying(true);
    now = 900;
    stream.pushSegment(second()); // in time: 2 s queued after 0.9 s played
    now = 2_020;
    stream.pushSegment(second()); // 20 ms late: frame jitter, not a stall
    assert.deepEqual(stream.stalls, { count: 0, seconds: 0 });
    now = 3_520;
    stream.pushSegment(second()); // 3 s of audio (+20 ms jitter) had lasted until 3.02 s: 0.5 s of silence
    now = 3_600;
    stream.setPlaying(false); // paused (nobody listening): time does not count
    now = 60_000;
    stream.setPlaying(true);
    now = 60_100;
    stream.pushSegment(second()); // 3.6 + 0.1 s played of 4 s (+0.52 s silence): in time
    assert.equal(stream.stalls.count, 1);
    assert.ok(Math.abs(stream.stalls.seconds - 0.5) < 1e-9, `${stream.stalls.seconds} s`);
    stream.destroy();
  });

  test('delivers segments as they come, converted to 48 kHz stereo s16le, and ends only when told', async () => {
    const stream = new PcmStream();
    const got: Buffer[] = [];
    stream.on('data', (b: Buffer) => got.push(b));
    const ended = once(stream, 'end');
    stream.pushSegment({ sampleRate: RATE, samples: new Float32Array(RATE / 10).fill(0.25) });
    await sleep(10);
    const first = Buffer.concat(got).length;
    assert.ok(first > 0, 'the first segment flows before any other arrives');
    let isEnded = false;
    void ended.then(() => (isEnded = true));
    await sleep(30);
    assert.equal(isEnded, false, 'no segment queued, not ended: the stream waits');
    stream.pushSegment({ sampleRate: RATE, samples: new Float32Array(RATE / 10).fill(-0.25) });
    stream.end();
    await ended;
    const all = Buffer.concat(got);
    // 0.2 s at 48 kHz, 2 channels, 2 bytes — the resampler is length-exact after flush.
    assert.equal(all.length, 0.2 * 48_000 * 4);
    assert.equal(all.readInt16LE(0), all.readInt16LE(2), 'left = right');
    assert.ok(Math.abs(all.readInt16LE(4000) - 8192) < 50, 'first segment level kept');
    assert.ok(Math.abs(all.readInt16LE(all.length - 4000) + 8192) < 50, 'second segment follows it');
    assert.equal(stream.receivedSeconds, 0.2);
  });

  test('an end() with nothing received ends an empty stream', async () => {
    const stream = new PcmStream();
    const got: Buffer[] = [];
    stream.on('data', (b: Buffer) => got.push(b));
    stream.end();
    await once(stream, 'end');
    assert.equal(Buffer.concat(got).length, 0);
  });
});

describe('NarrationTrack', () => {
  test('a late segment is counted as a stall, on the track and in the end-of-narration log', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const { backend, orchestrator } = setup(2);
    const text = textOf(2);
    const track = new NarrationTrack({ text, voice: 'narrator', speed: 1, chunksTotal: 2, requesterId: '1', requesterName: 'a' }, orchestrator, logger);
    const resource = track.createAudioResource();
    await backend.waitForJobs(2);
    backend.jobs[0]!.release();
    await once(resource.playStream, 'readable');
    track.setPlaying(true); // the player consumes in real time from here
    await sleep(600); // chunk 1 lasts 0.3 s: the listener hears at least 0.3 s of silence
    backend.jobs[1]!.release();
    await readUntilEnd(resource);
    track.playbackStarted();
    track.playbackEnded();
    const outcome = await track.finished;
    assert.equal(outcome.kind, 'completed');
    if (outcome.kind !== 'completed') return;
    assert.equal(outcome.stalls.count, 1);
    assert.ok(outcome.stalls.seconds >= 0.25, `${outcome.stalls.seconds} s`);
    assert.deepEqual(track.stalls, outcome.stalls);
    const done = lines.find((l) => l['msg'] === 'narration finished');
    assert.equal(done?.['stalls'], 1);
    assert.ok(Number(done?.['stallSec']) >= 0.25);
    await outcome.audio?.dispose();
  });


  test('playback audio flows after the first chunk while the next is still synthesizing', async () => {
    const { backend, track } = setup(2);
    const resource = track.createAudioResource();
    assert.equal(track.snapshot().phase, 'synthesizing');
    await backend.waitForJobs(2);
    backend.jobs[0]!.release();
    await once(resource.playStream, 'readable');
    const early = readAvailable(resource);
    assert.ok(early.length >= 5, `Opus packets before chunk 2 is done (${early.length})`);
    assert.equal(resource.playStream.readableEnded, false);

    await sleep(50);
    assert.equal(resource.playStream.readableEnded, false, 'still open while chunk 2 synthesizes');
    backend.jobs[1]!.release();
    const rest = await readUntilEnd(resource);
    const packets = early.length + rest.length;
    // Two 0.3 s chunks plus the pause between sentences (~0.25 s): ~0.85 s of 20 ms frames.
    assert.ok(packets >= 38 && packets <= 50, `${packets} packets for ~0.85 s`);
    assert.equal(track.snapshot().chunksReady, 2);

    track.playbackStarted();
    track.playbackEnded();
    const outcome = await track.finished;
    assert.equal(outcome.kind, 'completed');
    if (outcome.kind !== 'completed') return;
    assert.equal(outcome.summary.chunks, 2);
    assert.equal(outcome.played, true);
    assert.ok(outcome.audio, 'the recording');
    assert.ok(Math.abs(outcome.audio.durationSec - packets * 0.02) < 0.1);
    const wav = decodeTestWav(await readFile(outcome.audio.wav.path));
    assert.ok(Math.abs(wav.samples.length / wav.sampleRate - outcome.audio.durationSec) < 0.001, 'the WAV holds it all');
    assert.ok(outcome.audio.ogg && outcome.audio.ogg.bytes > 0, 'and the Ogg Opus fallback');
    await outcome.audio.dispose();
    assert.deepEqual(await leftoverRecordings(), []);
  });

  test('a failure mid-way ends the stream after what was received and reports the rest', async () => {
    const { backend, track } = setup(3);
    const resource = track.createAudioResource();
    await backend.waitForJobs(3);
    backend.jobs[0]!.release();
    backend.jobs[1]!.fail(new NarratorError('permanent', 'worker_error', 'The TTS worker failed.', 'Traceback: secret stuff'));
    const packets = await readUntilEnd(resource);
    // Only chunk 1 (0.3 s = 15 frames) played, the stream ended instead of hanging.
    assert.ok(packets.length >= 13 && packets.length <= 18, `${packets.length} packets`);
    assert.equal(backend.jobs[2]!.signal.aborted, true, 'the chunk after the failure is cancelled on the worker');
    const snap = track.snapshot();
    assert.ok(snap.failedMidway instanceof NarratorError, 'the reply can say it failed while the rest plays');

    track.playbackStarted();
    track.playbackEnded();
    const outcome = await track.finished;
    assert.equal(outcome.kind, 'failed');
    if (outcome.kind !== 'failed') return;
    assert.equal(outcome.chunksDone, 1);
    assert.equal(outcome.chunksTotal, 3);
    assert.equal((outcome.error as NarratorError).code, 'worker_error');
    assert.ok(outcome.audio && Math.abs(outcome.audio.durationSec - TONE_SECONDS) < 0.02);
    await outcome.audio.dispose();
    assert.deepEqual(await leftoverRecordings(), []);
  });

  test('a failure on the first chunk leaves nothing to play', async () => {
    const { backend, track } = setup(2);
    track.startSynthesis();
    await backend.waitForJobs(2);
    backend.jobs[0]!.fail(new NarratorError('config', 'runpod_auth', 'RunPod refused the API key.'));
    await new Promise<void>((r) => track.once('synthesized', () => r()));
    assert.equal(track.hasAudioToPlay, false);
    track.playbackEnded();
    const outcome = await track.finished;
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.kind === 'failed' && outcome.audio, undefined);
    assert.deepEqual(await leftoverRecordings(), []);
  });

  test('cancel stops the worker jobs and finishes at once', async () => {
    const { backend, track } = setup(3);
    const resource = track.createAudioResource();
    await backend.waitForJobs(3);
    track.cancel('stopped', '<@7>');
    const outcome = await track.finished;
    assert.deepEqual(outcome, { kind: 'cancelled', reason: 'stopped', by: '<@7>' });
    await waitFor('jobs aborted', () => backend.aborted === 3);
    assert.ok(backend.jobs.every((j) => j.signal.aborted));
    await waitFor('the playback stream closes', () => resource.playStream.destroyed);
    track.cancel('skipped');
    assert.equal(track.outcome?.kind === 'cancelled' && track.outcome.reason, 'stopped', 'the first reason stays');
    await waitForNoRecordings();
  });

  test('a queued track costs nothing until it starts, and reports backend waits and progress', async () => {
    const { backend, track } = setup(2);
    const changes: string[] = [];
    track.on('change', () => changes.push(track.snapshot().phase));
    track.setQueuePosition(2);
    assert.equal(track.snapshot().queuePosition, 2);
    await sleep(20);
    assert.equal(backend.jobs.length, 0, 'no GPU job for a queued narration');
    track.startSynthesis();
    await backend.waitForJobs(2);
    backend.jobs[0]!.onEvent?.({ type: 'waiting', jobId: 'j1', reason: 'cold_start', waitedMs: 5000 });
    assert.equal(track.snapshot().waiting, 'cold_start');
    backend.jobs[0]!.release();
    await waitFor('chunk ready', () => track.snapshot().chunksReady === 1);
    assert.equal(track.snapshot().waiting, undefined, 'a ready chunk clears the wait notice');
    assert.ok(changes.includes('queued') && changes.includes('synthesizing'));
    track.cancel('shutdown');
  });
});
