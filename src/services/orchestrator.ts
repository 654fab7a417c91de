/**
 * The narration engine's conductor: text → chunks → backend jobs → stitched audio segments, in order.
 *
 * Every chunk has a deadline: the moment the listener will need it, i.e. the narration's playback start plus the
 * estimated audio of the chunks before it (from text length and speed, corrected by each chunk's real duration as
 * it arrives). All chunks reserve their places in the process-wide scheduler at once, in text order, before their
 * (asynchronous) cache look-ups: the scheduler starts the earliest deadline across narrations, and within one
 * narration strictly in text order, whatever order the look-ups finish in; a cache hit gives its place up without
 * taking a slot. Identical chunks, concurrent or repeated, cost one job (cache + single-flight).
 *
 * A narration someone listens to in real time (`paced`: voice playback) is held to the synthesis look-ahead
 * (SYNTH_LOOKAHEAD_SEC): a chunk's job starts only once its deadline is within that window (the scheduler holds it,
 * see scheduler.ts), so a 49-minute chapter holds at most that much audio ahead of the listener and a /stop wastes
 * at most that much; its whole-narration timeout then counts from when its last chunk is due. The CLI, file outputs
 * and the bench are not paced: they want everything as fast as the slots allow.
 *
 * Audio is decoded inside the job, before the cache stores it, so only audio that decoded is ever cached; a cached
 * entry that no longer decodes is deleted and synthesized again. Segments are yielded in order as soon as each one
 * *and all before it* are ready, so playback starts after the first chunk, not the last. One AbortSignal (the
 * caller's, the deadline's, or `cancel()`) stops everything, including the GPU jobs in flight. A chunk that fails
 * for good stops the chunks after it at once (inside its job, so no later job of the narration starts in the
 * slot it frees): what came before is still yielded, then the error is thrown. An abort reason handed to other
 * chunks is always a fresh error, never the failing attempt's own error object (a backend must be able to tell
 * its own outcome from a cancellation).
 *
 * Accounting (the usage ledger): each chunk owns a share of the plan's spoken characters (its code points plus the
 * separator before it, so the shares add up to `spokenChars` exactly). A chunk this narration sent to the backend
 * counts its share as synthesized and the GPU seconds the backend reported (failed attempts included, via its
 * `billed` events when the call failed); a cache hit, a repeat of an earlier chunk or a join of another narration's
 * identical job costs nothing. `usage()` reads the counters at any time (after a cancel or a failure: what was spent).
 * `startChunk` resumes a narration after a restart: only the chunks from there on are synthesized, yielded and counted.
 *
 * Several voices (text/voiceTags.ts): each chunk carries the voice that reads it, and everything that tells two chunks
 * apart — the job, the cache key, repeat detection, the characters to synthesize — uses the chunk's voice, so one
 * sentence in two voices is two jobs. `plan.voice` stays the narration's own voice (the text before any tag; what a
 * re-plan after a restart is given), `plan.voices` lists every voice heard.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AudioCache } from './cache.js';
import { NarratorError, abortError } from './errors.js';
import { SPEED_MAX, SPEED_MIN } from './config.js';
import { silentLogger } from './log.js';
import type { FairScheduler, RequesterHandle, SlotTicket } from './scheduler.js';
import { Stitcher } from './audio/stitch.js';
import { decodeWavMono } from './audio/wav.js';
import type { MonoAudio } from './audio/types.js';
import { countChars, prepareVoicedText, voiceNames, type Chunk, type DictionaryEntryInput, type VoicedChunk } from './text/index.js';
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
  /**
   * How far (ms) ahead of a paced narration's playback its chunks may be synthesized (SYNTH_LOOKAHEAD_SEC): a job
   * waits until its chunk is due within this window. Only for requests with `paced`; default none (no limit).
   */
  readonly synthLookaheadMs?: number;
  /** Target length of a narration's short opening chunk (see text/chunk.ts); 0 = no short opening. Default 40. */
  readonly firstChunkChars?: number;
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
  /** Prefetch: every job of this narration is sent at low priority (RunPod `policy.lowPriority`). */
  readonly lowPriority?: boolean;
  /** performance.now() time at which playback is expected to start (default: now). Chunk deadlines count from it. */
  readonly playbackStartAt?: number;
  /**
   * Someone listens to it in real time (voice playback): its jobs are held to the engine's synthesis look-ahead, so
   * a /stop wastes, and memory holds, at most that much audio. Off for the CLI, file outputs and the bench.
   */
  readonly paced?: boolean;
  /** The server's pronunciation dictionary, applied while cleaning (before chunking: part of the cache key's text). */
  readonly dictionary?: readonly DictionaryEntryInput[];
  /** The server's voice-tag aliases (lower-case alias → configured voice): `[minh]` may stand for `male_north_2`. */
  readonly aliases?: Readonly<Record<string, string>>;
  /**
   * Resume after a restart: synthesize and yield from this chunk index on (earlier chunks are skipped; past the end,
   * nothing). Segments keep their plan indexes; progress counts `done` from it out of the plan's total. Default 0.
   */
  readonly startChunk?: number;
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
  /** GPU seconds the backend billed for this narration's jobs (failed attempts included; cache hits cost 0). */
  readonly gpuSeconds: number;
  /** Spoken characters of the chunks this narration synthesized (not cache hits, repeats or shared jobs). */
  readonly charsSynthesized: number;
  /** Spoken characters of the chunks this narration covered (from `startChunk` on). */
  readonly spokenChars: number;
}

/** What a narration has spent so far: valid at any time, also after a cancel or a failure. */
export interface NarrationUsage {
  readonly charsSynthesized: number;
  readonly gpuSeconds: number;
  readonly cacheHits: number;
  readonly chunksDone: number;
}

interface ChunkResult {
  readonly audio: MonoAudio;
  readonly fromCache: boolean;
  readonly retries: number;
  readonly readyAt: number;
}

export const DEFAULT_MAX_TEXT_CHARS = 200_000;

/**
 * Speech rate of the narrator voice at speed 1, in characters (code points) per second, for deadline estimates
 * until real durations are known. shared/notes/text-and-audio.md measures ~0.064 s per character at speed 0.9,
 * i.e. 0.0576 s at speed 1 ≈ 17.4 characters/s (F5-TTS sizes its output as reference rate × text length ÷ speed,
 * so the rate scales with speed exactly). Rounded down to 17: a slightly longer estimate errs by milliseconds.
 */
export const SPEECH_CHARS_PER_SEC = 17;
/** What the stitcher adds around a chunk: the pause before it, plus the ~50 ms margins trimming keeps at each edge. */
const GAP_MS: Record<Chunk['breakBefore'], number> = { none: 0, sentence: 250, speaker: 400, paragraph: 600 };
const MARGINS_MS = 100;

/** Estimated playback length of one chunk (its pause included), in ms. */
export function estimateChunkMs(chunk: Pick<Chunk, 'text' | 'breakBefore'>, speed: number): number {
  return ([...chunk.text].length / (SPEECH_CHARS_PER_SEC * speed)) * 1000 + MARGINS_MS + GAP_MS[chunk.breakBefore];
}

/**
 * Each chunk's share of the plan's spoken characters: its own code points plus the separator the chunker dropped
 * before it (a space or line break, two for a paragraph), the last chunk absorbing any difference, so that the shares
 * add up to `plan.spokenChars` exactly and "all synthesized" means the same number as "asked".
 */
export function chunkSpokenChars(plan: { readonly chunks: readonly Chunk[]; readonly spokenChars: number }): number[] {
  const shares = plan.chunks.map((c, i) => countChars(c.text) + (i === 0 ? 0 : c.breakBefore === 'paragraph' ? 2 : 1));
  const last = shares.length - 1;
  if (last >= 0) shares[last] = Math.max(0, shares[last]! + plan.spokenChars - shares.reduce((a, b) => a + b, 0));
  return shares;
}

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
   * Checks a request and plans its chunks without starting anything: every user error (empty text, unknown voice or
   * voice tag, speed out of range, too long) is thrown here, synchronously, before a single GPU second is spent.
   */
  plan(request: Pick<NarrationRequest, 'text' | 'voice' | 'speed' | 'maxTextChars' | 'resolveMention' | 'dictionary' | 'aliases'>): NarrationPlan {
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
    // An unknown [tag] is a user error thrown here too, before any job.
    const { chunks, spokenChars, voices } = prepareVoicedText(request.text, {
      resolveMention: request.resolveMention,
      maxSpokenChars,
      dictionary: request.dictionary,
      firstChars: this.deps.firstChunkChars,
      defaultVoice: voice,
      names: voiceNames(this.deps.voices, request.aliases),
    });
    return { voice, voices, speed, chunks, spokenChars };
  }

  /**
   * Spoken characters of the plan's chunks whose audio is not in the cache now: what narrating it would synthesize
   * (a chunk repeated in the plan counts once, as the narration synthesizes it once). Without a cache, all of them.
   * One stat per distinct chunk; no single-flight, no side effects. A forecast: an entry may be evicted meanwhile.
   */
  async charsToSynthesize(plan: NarrationPlan): Promise<number> {
    const shares = chunkSpokenChars(plan);
    const { cache, backend } = this.deps;
    if (!cache) return shares.reduce((a, b) => a + b, 0);
    const firstOf = new Map<string, number>();
    plan.chunks.forEach((c, i) => {
      if (!firstOf.has(sameAudio(c))) firstOf.set(sameAudio(c), i);
    });
    const missing = await Promise.all(
      [...firstOf.values()].map(async (i) => {
        const { voice, text } = plan.chunks[i]!;
        const present = await cache.has(AudioCache.key({ backend: backend.identity, voice, speed: plan.speed, text }));
        return present ? 0 : shares[i]!;
      }),
    );
    return missing.reduce((a, b) => a + b, 0);
  }

  /** Plans (throwing user errors at once) and starts synthesizing every chunk. */
  narrate(request: NarrationRequest): Narration {
    const start = request.startChunk ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new NarratorError('user', 'bad_start_chunk', `startChunk must be a whole number ≥ 0 (got ${start}).`);
    }
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
    // The backend may still be cancelling jobs in the background (a cancel retried after its call settled).
    const { backend, cache } = this.deps;
    const cancelled = backend.drain ? await backend.drain(Math.max(0, deadline - performance.now())) : true;
    // The cache re-reads its folder after a write, off the first-audio path: let that finish before the caller exits.
    await cache?.settled();
    return cancelled;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const forget = () => this.inflight.delete(p);
    p.then(forget, forget);
    return p;
  }
}

export interface NarrationPlan {
  /** The narration's own voice: it reads the text before any tag (and all of a text without tags). */
  readonly voice: string;
  /** Every voice that reads something, in order of first appearance (`[voice]` alone without tags). */
  readonly voices: readonly string[];
  readonly speed: number;
  readonly chunks: readonly VoicedChunk[];
  /** Characters of the cleaned (dictionary-applied) text, code points: what limits and budgets count. */
  readonly spokenChars: number;
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
  private deadline: NodeJS.Timeout;
  /** The look-ahead this narration's jobs are held to (paced narrations only). */
  private readonly lookaheadMs: number | undefined;
  /** This narration's place in the scheduler: its deadlines' anchor, its reserved places, pause. */
  private readonly slots: RequesterHandle;
  /** Estimated playback length of each chunk (ms), and of the whole narration. */
  private readonly estimatesMs: number[];
  private readonly totalEstimateMs: number;
  /** Sum of (real − estimated) length over chunks whose audio arrived: shifts every later deadline. */
  private correctionMs = 0;
  private playbackStart: number;
  private iterated = false;
  /** First chunk synthesized and yielded (`startChunk`); each chunk's share of the spoken characters. */
  private readonly first: number;
  private readonly shares: readonly number[];
  /** What was spent so far (see `usage()`). */
  private readonly spent = { charsSynthesized: 0, gpuSeconds: 0, cacheHits: 0, chunksDone: 0 };

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
    this.lookaheadMs = request.paced ? deps.synthLookaheadMs : undefined;
    this.deadline = this.armDeadline(deps.narrationTimeoutMs);
    this.playbackStart = request.playbackStartAt ?? deps.scheduler.now();
    const startChunk = request.startChunk ?? 0;
    // Past the end (the text re-planned shorter, e.g. after a dictionary change): nothing is left to narrate.
    this.first = Math.min(startChunk, plan.chunks.length);
    this.shares = chunkSpokenChars(plan);
    // Only the chunks from `first` on are played: they alone make the estimates and the deadlines.
    this.estimatesMs = plan.chunks.map((c, i) => (i < this.first ? 0 : estimateChunkMs(c, plan.speed)));
    this.totalEstimateMs = this.estimatesMs.reduce((sum, ms) => sum + ms, 0);
    this.slots = deps.scheduler.open(this.id, this.playbackStart, { lookaheadMs: this.lookaheadMs });
    this.extendDeadline();
    const useCache = deps.cache !== undefined && !request.noCache;
    /** With the cache, a chunk repeated in this narration waits for its first occurrence instead of a place. */
    const firstByText = new Map<string, Promise<ChunkResult>>();
    const lastIndexOf = new Map<string, number>();
    if (useCache) plan.chunks.forEach((c, i) => i >= this.first && lastIndexOf.set(sameAudio(c), i));
    let done = this.first;
    let offsetMs = 0;
    this.chunkControllers = plan.chunks.map(() => new AbortController());
    // Places are reserved here, synchronously and in text order, before any asynchronous cache look-up.
    this.results = plan.chunks.map((chunk, i) => {
      if (i < this.first) return undefined;
      const own = this.chunkControllers[i]!;
      const signal = AbortSignal.any([this.controller.signal, own.signal]);
      const same = sameAudio(chunk);
      const earlier = useCache ? firstByText.get(same) : undefined;
      let p: Promise<ChunkResult>;
      if (earlier) {
        p = earlier.then((r) => ({ ...r, fromCache: true }));
        if (lastIndexOf.get(same) === i) firstByText.delete(same);
      } else {
        const ticket = this.slots.reserve(offsetMs, signal);
        p = this.synthesizeChunk(chunk, signal, ticket).then((r) => {
          // The real length replaces the estimate for every deadline after this chunk (all still queued ones are).
          this.correct(i, r.audio);
          return r;
        });
        // Kept only while a later repeat is still to come, so a long narration does not hold all its audio.
        if (useCache && lastIndexOf.get(same)! > i) firstByText.set(same, p);
      }
      offsetMs += this.estimatesMs[i]!;
      p = p.then((r) => {
        done++;
        this.spent.chunksDone++;
        if (r.fromCache) this.spent.cacheHits++;
        request.onProgress?.({ type: 'chunk_ready', index: chunk.index, done, total: plan.chunks.length, fromCache: r.fromCache });
        return r;
      });
      // The iterator awaits these in order; a rejection seen by nobody yet must not crash the process.
      p.catch(() => undefined);
      return p;
    });
    // Close the scheduler handle once every chunk has settled. Counted, not Promise.allSettled: that would keep every
    // chunk's audio (its settled value) until the last one settles — a whole 49-minute narration in memory.
    let unsettled = this.results.filter((r) => r !== undefined).length;
    const settled = (): void => {
      if (--unsettled === 0) this.slots.close();
    };
    if (unsettled === 0) this.slots.close();
    for (const r of this.results) r?.then(settled, settled);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * What this narration has spent so far — characters synthesized, GPU seconds billed, cache hits, chunks ready —
   * for settling the ledger at any end (completed, cancelled, failed). Jobs still running when it is read (a cancel
   * being processed) add to it when they end.
   */
  usage(): NarrationUsage {
    return { ...this.spent, gpuSeconds: roundSeconds(this.spent.gpuSeconds) };
  }

  /** Whether this narration's jobs are sent at low priority (a prefetch). */
  get lowPriority(): boolean {
    return this.request.lowPriority === true;
  }

  /** performance.now() time at which playback is expected to start (or started). */
  get playbackStartAt(): number {
    return this.playbackStart;
  }

  /** Re-bases every chunk deadline: the player calls it when playback really starts. */
  setPlaybackStart(atMs: number): void {
    this.playbackStart = atMs;
    this.slots.setAnchor(atMs + this.correctionMs);
    this.extendDeadline();
  }

  /**
   * The listener's clock runs (playing) or not (a user paused the player): while it is stopped, a paced
   * narration's look-ahead window stays where it was. The player re-bases the deadlines when it resumes.
   */
  setListening(listening: boolean): void {
    this.slots.setListening(listening);
  }

  /** performance.now() time at which this narration's audio is expected to end (estimates corrected by real lengths). */
  estimatedEndAt(): number {
    return this.playbackStart + this.totalEstimateMs + this.correctionMs;
  }

  /** While paused none of its queued chunks starts a job (running jobs finish). */
  pauseSynthesis(): void {
    this.slots.pause();
  }

  resumeSynthesis(): void {
    this.slots.resume();
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
      for (let i = this.first; i < this.plan.chunks.length; i++) {
        const chunk = this.plan.chunks[i]!;
        const result = await this.results[i]!;
        this.results[i] = undefined;
        if (i === this.first) firstAudioMs = result.readyAt - this.startedAt;
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
        chunks: this.plan.chunks.length - this.first,
        sampleRate,
        durationSec: samples / sampleRate,
        firstAudioMs: Math.round(firstAudioMs),
        totalMs: Math.round(lastReady - this.startedAt),
        retries,
        cacheHits,
        gpuSeconds: roundSeconds(this.spent.gpuSeconds),
        charsSynthesized: this.spent.charsSynthesized,
        spokenChars: this.shares.slice(this.first).reduce((a, b) => a + b, 0),
      };
    } catch (err) {
      this.cancel(stoppedBy(err));
      throw err;
    } finally {
      // Early `break`/`return` by the consumer, or a failure: nothing may keep running.
      if (!completed) this.cancel();
      clearTimeout(this.deadline);
    }
  }

  private armDeadline(ms: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => this.cancel(new NarratorError('timeout', 'narration_deadline', `The narration did not finish within ${Math.round(this.deps.narrationTimeoutMs / 1000)} s.`)),
      Math.max(0, ms),
    );
    timer.unref();
    return timer;
  }

  /**
   * A paced narration's last job starts only a look-ahead before its audio is due, so a 49-minute narration takes
   * ~49 minutes to synthesize: its whole-narration deadline counts from when its last chunk is due, not from its
   * start (which would cancel it mid-way). Unpaced narrations keep the plain timeout.
   */
  private extendDeadline(): void {
    if (this.lookaheadMs === undefined || this.controller.signal.aborted) return;
    const timeout = this.deps.narrationTimeoutMs;
    // Deadlines are on the scheduler's clock (performance.now() in the bot; a fake one in tests).
    const lastDueIn = this.estimatedEndAt() - this.lookaheadMs - this.deps.scheduler.now();
    const sinceStart = performance.now() - this.startedAt;
    clearTimeout(this.deadline);
    this.deadline = this.armDeadline(Math.max(timeout - sinceStart, lastDueIn + timeout));
  }

  private correct(index: number, audio: MonoAudio): void {
    const chunk = this.plan.chunks[index]!;
    const realMs = (audio.samples.length / audio.sampleRate) * 1000 + GAP_MS[chunk.breakBefore];
    this.correctionMs += realMs - this.estimatesMs[index]!;
    this.slots.setAnchor(this.playbackStart + this.correctionMs);
  }

  /** Stops the chunks after `index` with a fresh reason: synchronous, so their queued places go before any slot frees. */
  private stopAfter(index: number, err: unknown): void {
    const reason = stoppedBy(err);
    for (const later of this.chunkControllers.slice(index + 1)) later.abort(reason);
  }

  private async synthesizeChunk(chunk: VoicedChunk, signal: AbortSignal, ticket: SlotTicket): Promise<ChunkResult> {
    const { backend, cache } = this.deps;
    const request = { text: chunk.text, voice: chunk.voice, speed: this.plan.speed };
    const lowPriority = this.request.lowPriority === true;
    let retries = 0;
    /** Audio decoded inside the job (so the cache stores only audio that decodes), kept to avoid decoding twice. */
    let decoded: { wav: Uint8Array; audio: MonoAudio } | undefined;
    const produce = (s: AbortSignal): Promise<Uint8Array> =>
      ticket.run(
        async (slotSignal) => {
          /** GPU seconds of this call's jobs as they end: what a call that fails was billed. */
          let billed = 0;
          const onEvent = (event: BackendEvent) => {
            if (event.type === 'billed' && Number.isFinite(event.gpuSeconds) && event.gpuSeconds > 0) billed += event.gpuSeconds;
            this.request.onProgress?.({ type: 'backend', index: chunk.index, event });
          };
          try {
            let r: Awaited<ReturnType<TtsBackend['synthesize']>>;
            try {
              r = await this.track(backend.synthesize(request, { signal: slotSignal, onEvent, ...(lowPriority ? { lowPriority } : {}) }));
            } catch (err) {
              this.spent.gpuSeconds += billed;
              throw err;
            }
            const gpu = r.gpuSeconds;
            this.spent.gpuSeconds += gpu !== undefined && Number.isFinite(gpu) && gpu >= 0 ? gpu : billed;
            this.spent.charsSynthesized += this.shares[chunk.index] ?? 0;
            retries = r.retries;
            decoded = { wav: r.wav, audio: decodeWavMono(r.wav) };
            return r.wav;
          } catch (err) {
            // A failure for good: stop the later chunks now, before this task settles and its slot goes to one of them.
            if (!slotSignal.aborted && !signal.aborted) this.stopAfter(chunk.index, err);
            throw err;
          }
        },
        { signal: s },
      );
    const decode = (wav: Uint8Array): MonoAudio => (decoded?.wav === wav ? decoded.audio : decodeWavMono(wav));
    try {
      let audio: MonoAudio;
      let fromCache = false;
      if (cache && !this.request.noCache) {
        const key = AudioCache.key({ backend: backend.identity, ...request });
        let got = await cache.getOrCreate(key, produce, { signal });
        try {
          audio = decode(got.bytes);
        } catch (err) {
          if (!got.hit) throw err;
          // Cached bytes that no longer decode would fail this sentence forever: drop them and synthesize again.
          this.log.warn({ narration: this.id, chunk: chunk.index, err: errorForLog(err) }, 'cached audio does not decode; synthesizing again');
          await cache.delete(key);
          got = await cache.getOrCreate(key, produce, { signal });
          audio = decode(got.bytes);
        }
        fromCache = got.hit;
      } else {
        audio = decode(await produce(signal));
      }
      return { audio, fromCache, retries, readyAt: performance.now() };
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      this.log.warn({ narration: this.id, chunk: chunk.index, err: errorForLog(err) }, 'chunk failed');
      // The chunks after a failed one would play after a hole: stop paying for them. The ones before still play.
      this.stopAfter(chunk.index, err);
      throw err;
    } finally {
      ticket.release();
    }
  }
}

/** Two chunks of a plan sound the same when both their voice and their text are: the key of repeat detection. */
function sameAudio(chunk: VoicedChunk): string {
  return `${chunk.voice}\u0000${chunk.text}`;
}

/** The abort reason other chunks get when one fails: a fresh error (the failure itself stays the attempt's own). */
function stoppedBy(err: unknown): NarratorError {
  return new NarratorError('aborted', 'stopped_after_failure', 'Stopped because another part of the narration failed.', undefined, { cause: err });
}

/** GPU seconds to the millisecond: sums of floats must not show as 1.2000000000000002 in a ledger. */
function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function errorForLog(err: unknown): unknown {
  return err instanceof NarratorError ? { kind: err.kind, code: err.code, message: err.message, detail: err.detail } : String(err);
}
