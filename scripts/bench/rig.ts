/**
 * The bench's test rig: an emulated RunPod endpoint with a scaled latency model, and the engine wired exactly as
 * production wires it (`loadConfig` → `createEngine`: RunPodBackend with its default long-poll settings, the
 * FairScheduler, the cache's single-flight), only pointed at the emulator and with the disk cache off so that
 * every chunk is a real job.
 *
 * The environment is built from scratch, never from `process.env`, so a developer's `.env` cannot change what is
 * measured.
 */
import { loadConfig } from '../../src/services/config.js';
import { createEngine, type Engine, type EngineOptions } from '../../src/services/engine.js';
import type { Narration, NarrationSummary, Segment } from '../../src/services/orchestrator.js';
import { prepareText } from '../../src/services/text/index.js';
import { fakeSynthesize } from '../../test/support/fakeVoice.js';
import { latencyModel, startRunPodEmulator, type RunPodEmulator, type RunPodEmulatorOptions } from '../../test/support/runpodEmulator.js';
import type { BenchSettings } from './settings.js';

/** What a client needs to reach an emulator (possibly in another process). */
export interface EndpointTarget {
  readonly baseUrl: string;
  readonly endpointId: string;
  readonly apiKey: string;
}

export interface RigEmulatorOptions {
  readonly workers: number;
  /** Seed of the latency jitter: equal seeds give equal job times for equal texts. */
  readonly seed: number;
  /** Overrides the scaled model: fixed cost and per-character cost in ms, already scaled. */
  readonly jobMs?: { readonly a: number; readonly b: number };
  /** Default: a fresh PrecomputedVoice (synthesizes on demand). */
  readonly voice?: { readonly synth: NonNullable<RunPodEmulatorOptions['synth']> };
}

/** DEFAULT_SPEED of the production config: what the engine asks for when the request names none. */
export const BENCH_SPEED = 0.9;

/**
 * The emulator's fake voice, synthesized before the clock starts. On RunPod the audio is made on a GPU elsewhere
 * and costs the bot nothing, but the emulator runs in the bot's process (one clock for both), where making ~10 s
 * of fake speech takes 10–20 ms of CPU per job and would delay the bot's own work and timers.
 */
export class PrecomputedVoice {
  readonly #wavs = new Map<string, Uint8Array>();
  /** Clips that had to be made while the clock was running (should stay 0 in measured sections). */
  misses = 0;
  /** The texts that were not prepared (for the error message). */
  readonly missed: string[] = [];

  /** Synthesizes every chunk of `texts` now. */
  /** `firstChars`: also the chunks of the texts cut with this opening length (0 = none), as the bench narrates them. */
  prepare(texts: readonly string[], speed = BENCH_SPEED, firstChars?: number): this {
    for (const text of texts) for (const chunk of prepareText(text, { firstChars }).chunks) this.#make(chunk.text, speed);
    return this;
  }

  readonly synth = (text: string, speed: number): Uint8Array => {
    const wav = this.#wavs.get(`${speed}\u0000${text}`);
    if (wav) return wav;
    this.misses++;
    this.missed.push(text);
    return this.#make(text, speed);
  };

  #make(text: string, speed: number): Uint8Array {
    const wav = fakeSynthesize(text, speed);
    this.#wavs.set(`${speed}\u0000${text}`, wav);
    return wav;
  }
}

/** A warm endpoint (no cold starts) whose jobs take the settings' scaled `a + b × chars` with jitter. */
export function startEmulator(settings: BenchSettings, o: RigEmulatorOptions): Promise<RunPodEmulator> {
  const a = o.jobMs?.a ?? settings.latency.a * settings.timeScale;
  const b = o.jobMs?.b ?? settings.latency.b * settings.timeScale;
  return startRunPodEmulator({
    workers: o.workers,
    jobTimeMs: latencyModel({ a, b, jitter: settings.latency.jitter, seed: o.seed }),
    coldStartMs: 0,
    synth: (o.voice ?? new PrecomputedVoice()).synth,
  });
}

export function targetOf(emulator: RunPodEmulator): EndpointTarget {
  return { baseUrl: emulator.baseUrl, endpointId: emulator.endpointId, apiKey: emulator.apiKey };
}

/** The production engine against `target`, with MAX_CONCURRENT_JOBS = `maxConcurrentJobs` and no disk cache. */
export function createBenchEngine(target: EndpointTarget, maxConcurrentJobs: number, options: EngineOptions = {}): Engine {
  const config = loadConfig({
    TTS_BACKEND: 'runpod',
    RUNPOD_API_KEY: target.apiKey,
    RUNPOD_ENDPOINT_ID: target.endpointId,
    RUNPOD_BASE_URL: target.baseUrl,
    MAX_CONCURRENT_JOBS: String(maxConcurrentJobs),
    CACHE_MAX_MB: '0',
    LOG_LEVEL: 'silent',
  });
  return createEngine(config, undefined, undefined, options);
}

export interface Consumed {
  /** performance.now() when the consumer received segment 0, and the last segment. */
  readonly firstAt: number;
  readonly lastAt: number;
  readonly summary: NarrationSummary;
  readonly samples: number;
}

/** Iterates a narration to the end the way a player does; `onSegment` sees each segment. */
export async function consume(narration: Narration, onSegment?: (segment: Segment) => void | Promise<void>): Promise<Consumed> {
  let firstAt = Number.NaN;
  let lastAt = Number.NaN;
  let samples = 0;
  const iterator = narration.segments();
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { firstAt, lastAt, summary: next.value, samples };
    lastAt = performance.now();
    if (next.value.index === 0) firstAt = lastAt;
    samples += next.value.audio.samples.length;
    await onSegment?.(next.value);
  }
}
