/**
 * What a narration *should* sound like, and how close what a listener heard is to it — the audio oracle of the
 * end-to-end tests.
 *
 * The expected narration is computed by the engine itself, wired exactly as the bot wires it (`loadConfig` →
 * `createEngine` → the Orchestrator → the RunPod backend) against a private RunPod emulator speaking with the same
 * fake voice as the bot's emulator. So a test compares the bot's playback with the engine's output, and a
 * difference means playback (queueing, PCM conversion, Opus, the voice connection) lost or altered something.
 *
 * Comparison is by loudness envelope: RMS in 20 ms windows, at each signal's own sample rate (a window is a span of
 * time, so the engine's 24 kHz and Discord's 48 kHz need no resampling to be compared), then Pearson's r at the best
 * lag within a small range (the Opus codec and frame alignment shift the heard audio by a few ms). An envelope
 * carries the syllables, the pauses between sentences and the chunk boundaries — what a listener would notice
 * missing, repeated or reordered — while staying blind to what lossy Opus changes in the waveform.
 *
 * Which narration was playing when: the fake voice speaks every chunk at its own pitch (from a hash of the chunk's
 * text, `fakePitchHz`), so the pitch of successive 200 ms blocks of what was heard names the chunks in the order
 * a listener heard them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/services/config.js';
import { createEngine } from '../../src/services/engine.js';
import type { MonoAudio } from '../../src/services/audio/types.js';
import { dominantFrequency, rms } from './fakeDiscord/index.js';
import { startRunPodEmulator } from './runpodEmulator.js';

export interface ExpectedNarrationOptions {
  readonly text: string;
  /** The voice and speed the bot used (its defaults when the user gave none). */
  readonly voice: string;
  readonly speed: number;
  /** The bot's voice allow-list (TTS_VOICES), so that the plan is the same. */
  readonly voices: readonly string[];
  /** The fake voice of the bot's emulator (`RunPodEmulatorOptions.synth`). */
  readonly synth: (text: string, speed: number) => Uint8Array;
}

/** The narration the engine produces for this request: every segment, stitched, in order. */
export async function expectedNarration(opts: ExpectedNarrationOptions): Promise<MonoAudio> {
  const emulator = await startRunPodEmulator({ synth: opts.synth, workers: 8, jobTimeMs: () => 1, dispatchDelayMs: 1 });
  const cacheDir = await mkdtemp(join(tmpdir(), 'narrator-expected-'));
  const config = loadConfig({
    TTS_BACKEND: 'runpod',
    RUNPOD_API_KEY: emulator.apiKey,
    RUNPOD_ENDPOINT_ID: emulator.endpointId,
    RUNPOD_BASE_URL: emulator.baseUrl,
    TTS_VOICES: opts.voices.join(','),
    CACHE_DIR: cacheDir,
    CACHE_MAX_MB: '0',
  });
  const engine = createEngine(config);
  try {
    const narration = engine.orchestrator.narrate({ text: opts.text, voice: opts.voice, speed: opts.speed, maxTextChars: 6000 });
    const parts: Float32Array[] = [];
    let sampleRate = 0;
    for await (const segment of narration.segments()) {
      parts.push(segment.audio.samples);
      sampleRate = segment.audio.sampleRate;
    }
    const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      samples.set(part, at);
      at += part.length;
    }
    return { sampleRate, samples };
  } finally {
    await engine.close();
    await emulator.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/** RMS of consecutive `windowMs` windows (the last partial window is dropped). */
export function rmsEnvelope(audio: MonoAudio, windowMs = 20): Float64Array {
  const size = Math.round((audio.sampleRate * windowMs) / 1000);
  const count = Math.floor(audio.samples.length / size);
  const out = new Float64Array(count);
  for (let w = 0; w < count; w++) {
    let sum = 0;
    for (let i = w * size; i < (w + 1) * size; i++) sum += audio.samples[i]! * audio.samples[i]!;
    out[w] = Math.sqrt(sum / size);
  }
  return out;
}

/** Pearson's correlation of two equally long series (0 when either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  if (n < 2) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return va === 0 || vb === 0 ? 0 : cov / Math.sqrt(va * vb);
}

export interface EnvelopeMatch {
  /** Pearson's r of the two envelopes at the best lag. */
  readonly r: number;
  /** How much later (ms) `heard` is than `expected` at that lag (negative: earlier). */
  readonly lagMs: number;
}

/**
 * Compares what was heard with what was expected by their 20 ms RMS envelopes, at the best lag within ±`maxLagMs`;
 * the envelopes are compared over the span they overlap at that lag.
 */
export function envelopeMatch(heard: MonoAudio, expected: MonoAudio, maxLagMs = 200, windowMs = 20): EnvelopeMatch {
  const h = rmsEnvelope(heard, windowMs);
  const e = rmsEnvelope(expected, windowMs);
  const maxLag = Math.round(maxLagMs / windowMs);
  let best: EnvelopeMatch = { r: -1, lagMs: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    // heard[i + lag] against expected[i]
    const from = Math.max(0, -lag);
    const to = Math.min(e.length, h.length - lag);
    if (to - from < 10) continue;
    const r = pearson(h.subarray(from + lag, to + lag), e.subarray(from, to));
    if (r > best.r) best = { r, lagMs: lag * windowMs };
  }
  return best;
}

/** Seconds of audio. */
export function seconds(audio: MonoAudio): number {
  return audio.samples.length / audio.sampleRate;
}

/**
 * The chunks heard, in order: each audible `blockMs` block is labelled with the pitch in `pitches` (label → Hz)
 * within `toleranceHz` of its dominant frequency; runs shorter than `minBlocks` (blocks straddling two chunks) are
 * dropped and repeats collapsed. E.g. `['A1', 'A2', 'B1']`.
 */
export function heardSequence(audio: MonoAudio, pitches: Readonly<Record<string, number>>, blockMs = 200, toleranceHz = 4, minBlocks = 2): string[] {
  const size = Math.round((audio.sampleRate * blockMs) / 1000);
  const labels: (string | undefined)[] = [];
  for (let at = 0; at + size <= audio.samples.length; at += size) {
    const block = audio.samples.subarray(at, at + size);
    if (rms(block) < 0.01) {
      labels.push(undefined);
      continue;
    }
    const hz = dominantFrequency(block, audio.sampleRate);
    labels.push(Object.entries(pitches).find(([, p]) => Math.abs(p - hz) <= toleranceHz)?.[0]);
  }
  const sequence: string[] = [];
  for (let i = 0; i < labels.length; ) {
    let j = i;
    while (j < labels.length && labels[j] === labels[i]) j++;
    const label = labels[i];
    if (label !== undefined && j - i >= minBlocks && sequence.at(-1) !== label) sequence.push(label);
    i = j;
  }
  return sequence;
}
