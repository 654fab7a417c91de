/**
 * The narration engine's conductor: text → chunks → backend jobs → stitched audio segments, in order.
 *
 * All chunks are submitted at once to the process-wide FairScheduler (round-robin across narrations, so a long one
 * cannot starve a short one), through the on-disk cache (identical chunks, concurrent or repeated, cost one job).
 * Segments are yielded in order as soon as each one *and all before it* are ready, so playback starts after the
 * first chunk, not the last. One AbortSignal (the caller's, the deadline's, or `cancel()`) stops everything,
 * including the GPU jobs in flight. A chunk that fails for good stops the rest: what came before is still yielded,
 * then the error is thrown, so a player can play what it has and report the rest.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AudioCache } from './cache.js';
import { NarratorError, abortError } from './errors.js';
import { SPEED_MAX, SPEED_MIN } from './config.js';
import { silentLogger } from './log.js';
import type { FairScheduler } from './scheduler.js';
import { Stitcher } from './audio/stitch.js';
import { decodeWavMono } from './audio/wav.js';
import type { MonoAudio } from './audio/types.js';
import { prepareText, type Chunk } from './text/index.js';
import type { BackendEvent, TtsBackend } from './tts/backend.js';

export interface OrchestratorDeps {
  readonly backend: TtsBackend;
  readonly scheduler: FairScheduler;
  /** Omit to synthesize every chunk (identical concurrent chunks still share one job). */
  readonly cache?: AudioCache;
  readonly voices: readonly string[];
  readonly defaultVoice: string;
  readonly defaultSpeed: number;
  /** Whole-narration deadline; every job still running then is cancelled. */
  readonly narrationTimeoutMs: number;
  readonly logger?: Logger;
}

export interface NarrationRequest {
  readonly text: string;
  readonly voice?: string;
  readonly speed?: number;
  /** Skip the disk cache for this narration (always synthesize). */
  readonly noCache?: boolean;
  /** Longest accepted input, in characters (Discord's option limit is 6000; the CLI accepts books). */
  readonly maxTextChars?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: NarrationProgress) => void;
  /** Turns Discord mentions into names while cleaning the text. */
  readonly resolveMention?: (kind: 'user' | 'role' | 'channel', id: string) => string | undefined;
  // engine helper implements (stand-in fields from interfaces.md; the engine helper's version replaces them)
  readonly lowPriority?: boolean;
  readonly playbackStartAt?: number;
}

export type NarrationProgress =
  | { readonly type: 'chunk_ready'; readonly index: number; readonly done: number; readonly total: number; readonly fromCache: boolean }
  | { readonly type: 'backend'; readonly index: number; readonly event: BackendEvent };

export interface Segment {
  readonly index: number;
  readonly text: string;
  /** Mono samples at `sampleRate`: the pause before this chunk, then the chunk (trimmed, faded). */
  readonly audio: MonoAudio;
  readonly fromCache: boolean;
  readonly retries: number;
}

export interface NarrationSummary {
  readonly chunks: number;
  readonly sampleRate: number;
  readonly durationSec: number;
  /** From the start of synthesis to the first segment ready. */
  readonly firstAudioMs: number;
  /** From the start of synthesis to the last segment ready. */
  readonly totalMs: number;
  readonly retries: number;
  readonly cacheHits: number;
}

interface ChunkResult {
  readonly audio: MonoAudio;
  readonly fromCache: boolean;
  readonly retries: number;
  readonly readyAt: number;
}

export const DEFAULT_MAX_TEXT_CHARS = 200_000;

export class Orchestrator {
  private readonly log: Logger;
  /** Every backend call still running, across narrations: cancelled jobs finish their clean-up (the /cancel) here. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly deps: OrchestratorDeps) {
    this.log = deps.logger ?? silentLogger;
  }

  get backendKind(): string {
    return this.deps.backend.kind;
  }

  /**
   * Checks a request and plans its chunks without starting anything: every user error (empty text, unknown voice,
   * speed out of range, too long) is thrown here, synchronously, before a single GPU second is spent.
   */
  plan(request: Pick<NarrationRequest, 'text' | 'voice' | 'speed' | 'maxTextChars' | 'resolveMention'>): NarrationPlan {
    const voice = request.voice ?? this.deps.defaultVoice;
    if (!this.deps.voices.includes(voice)) {
      throw new NarratorError('user', 'voice_unknown', `Unknown voice "${voice}". Available: ${this.deps.voices.join(', ')}.`);
    }
    const speed = request.speed ?? this.deps.defaultSpeed;
    if (!Number.isFinite(speed) || speed < SPEED_MIN || speed > SPEED_MAX) {
      throw new NarratorError('user', 'speed_out_of_range', `Speed must be between ${SPEED_MIN} and ${SPEED_MAX} (got ${speed}).`);
    }
    // The limit applies to the cleaned (spoken) text, in code points; prepareText checks it (and bounds the raw input).
    const maxSpokenChars = request.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
    const { chunks } = prepareText(request.text, { resolveMention: request.resolveMention, maxSpokenChars });
    return { voice, speed, chunks };
  }

  /** Plans (throwing user errors at once) and starts synthesizing every chunk. */
  narrate(request: NarrationRequest): Narration {
    const plan = this.plan(request);
    return new Narration(plan, request, this.deps, this.log, (p) => this.track(p));
  }

  /**
   * Waits until every backend call has settled — including the cancel requests of aborted jobs — or `timeoutMs`
   * passes. Call before the process exits, or a cancelled GPU job may be left running.
   */
  async drain(timeoutMs = 8_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.inflight.size > 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const forget = () => this.inflight.delete(p);
    p.then(forget, forget);
    return p;
  }
}

export interface NarrationPlan {
  readonly voice: string;
  readonly speed: number;
  readonly chunks: readonly Chunk[];
}

/** One narration in flight. Iterate `segments()` once; `cancel()` stops it from anywhere. */
export class Narration {
  readonly id = randomUUID();
  private readonly controller = new AbortController();
  /** Each chunk's result until it is yielded; then dropped, so a long narration never holds all its audio. */
  private readonly results: (Promise<ChunkResult> | undefined)[];
  /** One per chunk, each also stopped by the narration's own: a failure cancels only the chunks after it. */
  private readonly chunkControllers: AbortController[];
  private readonly startedAt = performance.now();
  private readonly deadline: NodeJS.Timeout;
  private iterated = false;

  constructor(
    readonly plan: NarrationPlan,
    private readonly request: NarrationRequest,
    private readonly deps: OrchestratorDeps,
    private readonly log: Logger,
    private readonly track: <T>(p: Promise<T>) => Promise<T>,
  ) {
    const outer = request.signal;
    if (outer) {
      if (outer.aborted) this.controller.abort(outer.reason);
      else outer.addEventListener('abort', () => this.controller.abort(outer.reason), { once: true, signal: this.controller.signal });
    }
    this.deadline = setTimeout(
      () => this.cancel(new NarratorError('timeout', 'narration_deadline', `The narration did not finish within ${Math.round(deps.narrationTimeoutMs / 1000)} s.`)),
      deps.narrationTimeoutMs,
    );
    this.deadline.unref();
    let done = 0;
    this.chunkControllers = plan.chunks.map(() => new AbortController());
    this.results = plan.chunks.map((chunk, i) => {
      const p = this.synthesizeChunk(chunk, this.chunkControllers[i]!).then((r) => {
        done++;
        request.onProgress?.({ type: 'chunk_ready', index: chunk.index, done, total: plan.chunks.length, fromCache: r.fromCache });
        return r;
      });
      // The iterator awaits these in order; a rejection seen by nobody yet must not crash the process.
      p.catch(() => undefined);
      return p;
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  // engine helper implements: thin stand-ins for interfaces.md (deadlines are not used; pause gates new jobs only).
  private playbackStart: number | undefined;
  private pauseGate: { promise: Promise<void>; open: () => void } | undefined;
  setPlaybackStart(atMs: number): void {
    this.playbackStart = atMs;
  }
  estimatedEndAt(): number {
    const chars = this.plan.chunks.reduce((n, c) => n + c.text.length, 0);
    return (this.playbackStart ?? this.request.playbackStartAt ?? this.startedAt) + (chars * 64) / this.plan.speed;
  }
  pauseSynthesis(): void {
    if (this.pauseGate) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.pauseGate = { promise, open };
  }
  resumeSynthesis(): void {
    this.pauseGate?.open();
    this.pauseGate = undefined;
  }
  private async whileNotPaused(signal: AbortSignal): Promise<void> {
    while (this.pauseGate && !signal.aborted) await Promise.race([this.pauseGate.promise, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
  }

  /** Stops everything: queued chunks never start, running jobs are cancelled on the worker. */
  cancel(reason: unknown = new NarratorError('aborted', 'aborted', 'Narration was cancelled.')): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    clearTimeout(this.deadline);
  }

  /**
   * The narration's audio, in order, each segment as soon as it and all before it are ready.
   * Returns the summary when the last segment has been yielded; throws the first failure after yielding
   * everything before it. Stopping the iteration early cancels the rest.
   */
  async *segments(): AsyncGenerator<Segment, NarrationSummary, undefined> {
    if (this.iterated) throw new Error('A narration can be iterated only once.');
    this.iterated = true;
    let stitcher: Stitcher | undefined;
    let firstAudioMs = 0;
    let lastReady = this.startedAt;
    let retries = 0;
    let cacheHits = 0;
    let samples = 0;
    let completed = false;
    try {
      for (const [i, chunk] of this.plan.chunks.entries()) {
        const result = await this.results[i]!;
        this.results[i] = undefined;
        if (i === 0) firstAudioMs = result.readyAt - this.startedAt;
        lastReady = Math.max(lastReady, result.readyAt);
        stitcher ??= new Stitcher({ sampleRate: result.audio.sampleRate });
        const piece = stitcher.push(result.audio, chunk.breakBefore);
        samples += piece.length;
        retries += result.retries;
        if (result.fromCache) cacheHits++;
        yield { index: i, text: chunk.text, audio: { sampleRate: stitcher.sampleRate, samples: piece }, fromCache: result.fromCache, retries: result.retries };
      }
      completed = true;
      const sampleRate = stitcher?.sampleRate ?? 24_000;
      return {
        chunks: this.plan.chunks.length,
        sampleRate,
        durationSec: samples / sampleRate,
        firstAudioMs: Math.round(firstAudioMs),
        totalMs: Math.round(lastReady - this.startedAt),
        retries,
        cacheHits,
      };
    } catch (err) {
      this.cancel(err);
      throw err;
    } finally {
      // Early `break`/`return` by the consumer, or a failure: nothing may keep running.
      if (!completed) this.cancel();
      clearTimeout(this.deadline);
    }
  }

  private async synthesizeChunk(chunk: Chunk, own: AbortController): Promise<ChunkResult> {
    const { backend, scheduler, cache } = this.deps;
    const signal = AbortSignal.any([this.controller.signal, own.signal]);
    const onEvent = (event: BackendEvent) => this.request.onProgress?.({ type: 'backend', index: chunk.index, event });
    const request = { text: chunk.text, voice: this.plan.voice, speed: this.plan.speed };
    let retries = 0;
    const produce = (s: AbortSignal) =>
      scheduler.run(this.id, async (slotSignal) => {
        if (this.pauseGate) await this.whileNotPaused(AbortSignal.any([s, slotSignal])); // engine helper implements
        const r = await this.track(backend.synthesize(request, { signal: AbortSignal.any([s, slotSignal]), onEvent }));
        retries = r.retries;
        return r.wav;
      }, { signal: s });
    try {
      let wav: Uint8Array;
      let fromCache = false;
      if (cache && !this.request.noCache) {
        const key = AudioCache.key({ backend: backend.identity, ...request });
        const got = await cache.getOrCreate(key, produce, { signal });
        wav = got.bytes;
        fromCache = got.hit;
      } else {
        wav = await produce(signal);
      }
      const audio = decodeWavMono(wav);
      return { audio, fromCache, retries, readyAt: performance.now() };
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      this.log.warn({ narration: this.id, chunk: chunk.index, err: errorForLog(err) }, 'chunk failed');
      // The chunks after a failed one would play after a hole: stop paying for them. The ones before still play.
      for (const later of this.chunkControllers.slice(chunk.index + 1)) later.abort(err);
      throw err;
    }
  }
}

function errorForLog(err: unknown): unknown {
  return err instanceof NarratorError ? { kind: err.kind, code: err.code, message: err.message, detail: err.detail } : String(err);
}
