/**
 * Cold starts on RunPod: knowing about them, and optionally paying to avoid them.
 *
 * - Notice: when a narration is queued, `coldNotice()` asks the endpoint's `/health` (bounded wait) whether any
 *   worker is idle or running; if none is, the reply says "the GPU is starting, first audio in about N s", N being
 *   the last cold start observed (`recordColdStart`, from a narration that found the endpoint cold, or a warm-up
 *   job that did). Kept in memory only: the process's own observations, a default until the first one.
 * - RUNPOD_WARM_ON_START: `start()` sends one tiny job, so the first real narration finds a worker up.
 * - RUNPOD_KEEP_WARM_MIN=N: after each narration (`activity()`), one tiny job every PING_EVERY_MS until N minutes
 *   have passed without a narration. Each job is billed (a few seconds of GPU), and it only keeps a worker up if
 *   the endpoint's idle timeout is longer than the interval — see the README.
 *
 * Warm-up jobs are ordinary RunPod jobs with an AbortController: `close()` (shutdown) stops the timer, aborts them
 * (the backend cancels each on RunPod) and waits for them, so none is left queued or running. Knows nothing of
 * Discord; the bot calls it.
 */
import type { Logger } from 'pino';
import { silentLogger } from '../log.js';
import { isCold, type RunPodHealth } from './runpod.js';

/** What this needs from the backend (RunPodBackend has both). */
export interface WarmableBackend {
  health(signal?: AbortSignal): Promise<RunPodHealth>;
  warmUp(voice: string, signal: AbortSignal): Promise<number>;
}

export interface WarmUpOptions {
  readonly warmOnStart: boolean;
  /** 0 = off. */
  readonly keepWarmMin: number;
  /** The voice the tiny job uses (the default voice: its reference is the one most likely cached on the worker). */
  readonly voice: string;
  readonly logger?: Logger;
  /** Interval of keep-warm jobs; default 2 min. */
  readonly pingEveryMs?: number;
  /** The estimate before any cold start was observed (the worker contract: 30–60 s). Default 45 s. */
  readonly defaultColdStartMs?: number;
  readonly now?: () => number;
}

/** How long a queued narration waits for `/health` before its reply goes on without the notice. */
export const COLD_PROBE_MS = 1_500;

export class WarmUp {
  private readonly log: Logger;
  private readonly now: () => number;
  private lastColdStartMs: number | undefined;
  private readonly jobs = new Set<{ readonly abort: AbortController; readonly done: Promise<void> }>();
  private keepUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly backend: WarmableBackend,
    private readonly opts: WarmUpOptions,
  ) {
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
  }

  /** Warm-up jobs queued or running now. */
  get activeJobs(): number {
    return this.jobs.size;
  }

  /** True while keep-warm jobs are scheduled (RUNPOD_KEEP_WARM_MIN after the last narration). */
  get keepingWarm(): boolean {
    return this.timer !== undefined;
  }

  /** The last observed cold start, or the default: what "about N s" says. */
  coldStartEstimateSec(): number {
    return Math.max(1, Math.round((this.lastColdStartMs ?? this.opts.defaultColdStartMs ?? 45_000) / 1000));
  }

  recordColdStart(ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0) return;
    this.lastColdStartMs = ms;
    this.log.info({ coldStartMs: Math.round(ms) }, 'observed a RunPod cold start');
  }

  /** The endpoint's health, or undefined when it does not answer within `timeoutMs`. */
  async probe(timeoutMs = COLD_PROBE_MS): Promise<RunPodHealth | undefined> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await this.backend.health(signal);
    } catch (err) {
      this.log.debug({ err: String(err) }, 'health probe failed');
      return undefined;
    }
  }

  /** Seconds until first audio when no worker is idle or running now; undefined when warm (or unknown). */
  async coldNotice(timeoutMs = COLD_PROBE_MS): Promise<number | undefined> {
    const health = await this.probe(timeoutMs);
    return health && isCold(health) ? this.coldStartEstimateSec() : undefined;
  }

  /** RUNPOD_WARM_ON_START: one tiny job now (after the bot has started). */
  start(): void {
    if (this.opts.warmOnStart) this.ping('start');
  }

  /** A narration was queued or finished: keep a worker warm for RUNPOD_KEEP_WARM_MIN from now. */
  activity(): void {
    if (this.closed || this.opts.keepWarmMin <= 0) return;
    this.keepUntil = this.now() + this.opts.keepWarmMin * 60_000;
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.now() >= this.keepUntil) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      this.ping('keep-warm');
    }, this.opts.pingEveryMs ?? 120_000);
    this.timer.unref();
  }

  /** Stops keep-warm, aborts warm-up jobs (cancelled on RunPod by the backend) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const job of this.jobs) job.abort.abort();
    await Promise.allSettled([...this.jobs].map((j) => j.done));
  }

  private ping(why: 'start' | 'keep-warm'): void {
    if (this.closed || this.jobs.size > 0) return; // one warm-up at a time is enough
    const abort = new AbortController();
    const done = (async () => {
      const health = await this.probe();
      if (abort.signal.aborted) return;
      const cold = health ? isCold(health) : false;
      const ms = await this.backend.warmUp(this.opts.voice, abort.signal);
      if (cold) this.recordColdStart(ms);
      this.log.info({ why, ms: Math.round(ms), cold }, 'RunPod warm-up job done');
    })().catch((err: unknown) => {
      if (!abort.signal.aborted) this.log.warn({ why, err: String(err) }, 'RunPod warm-up job failed');
    });
    const job = { abort, done };
    this.jobs.add(job);
    void done.finally(() => this.jobs.delete(job));
  }
}
