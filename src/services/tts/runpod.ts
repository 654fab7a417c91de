/**
 * RunPod serverless backend: one F5-TTS job per chunk, submitted with `/run` and awaited with the long-poll
 * `/status-sync/{id}` route (wakes the moment the job ends, so no fixed polling delay is added to first audio),
 * falling back to `/status` polling with backoff + jitter where that route is missing.
 *
 * GPU time is billed per second, so an accepted job is never abandoned nor replaced while it may still run:
 * - status reads that fail (429, 5xx, network) are retried with capped, jittered backoff for as long as the job's
 *   ttl allows — an API storm delays the answer, it does not start a second job;
 * - a new job (fresh worker `job_id`) is submitted only after the old one is known to have ended (FAILED, TIMED_OUT,
 *   CANCELLED, or expired/404), and only for transient failures; permanent ones stop at once;
 * - every other way of stopping (abort, protocol error) cancels the job, retrying `/cancel` until it gets through
 *   or the job's ttl has passed. The attempt waits for that (so the scheduler slot stays taken while the job may
 *   still be on a GPU), and the cancel is also tracked for `drain()` at shutdown.
 * Whether to cancel is decided from what this attempt saw of its own job, never from an error object: an abort
 * reason can be another chunk's final error.
 * GPU seconds: every job's `executionTime` seen in a final state is billed (a `billed` event per job, the sum of all
 * attempts on the result); a job cancelled while it may have run gets one status read after the cancel to learn
 * what it was billed. Worker-sent times are clamped to the job's execution timeout.
 * Everything the worker sends is capped (MAX_AUDIO_BYTES) and its download/confirmation URLs go through
 * workerUrl.ts (https or listed hosts, no private addresses). The API key only ever goes to the RunPod API host,
 * never to the worker's URLs, and never into a message.
 * Also `health()` (the endpoint's `/health`, for /status and the cold-start notice) and `warmUp()` (a tiny job
 * whose audio is discarded, cancelled like any other on abort — see warmup.ts).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from 'pino';
import { VOICE_NAME } from '../config.js';
import { NarratorError, abortError, isNarratorError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { BackendEvent, SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from './backend.js';
import { backoffMs, httpRequest, parseBody, sleep, type HttpResponse } from './http.js';
import { withResubmits } from './retry.js';
import { classifyWorkerError, RETRY_BUDGET } from './workerErrors.js';
import { workerRequest, type WorkerUrlPolicy } from './workerUrl.js';

/** Default MAX_AUDIO_BYTES: ~30 times the audio of the longest chunk (280 characters ≈ 1 MB at 24 kHz 16-bit). */
export const DEFAULT_MAX_AUDIO_BYTES = 32 * 1024 * 1024;

export interface RunPodOptions {
  readonly apiKey: string;
  readonly endpointId: string;
  /** e.g. https://api.runpod.ai/v2 (tests: the emulator's URL). */
  readonly baseUrl: string;
  /** How a voice name becomes the worker's `ref_name`, e.g. `sample/{voice}.wav`. */
  readonly refNameTemplate: string;
  /** `policy.executionTimeout`: the worker is stopped (TIMED_OUT) after running this long. */
  readonly executionTimeoutMs: number;
  /** How long a job may wait in the queue; with the execution time it makes `policy.ttl`. Default 10 min. */
  readonly queueTimeoutMs?: number;
  /** `wait` of one long-poll request. Default 15 s. */
  readonly longPollMs?: number;
  /** Time a plain request may take. Default 15 s. */
  readonly requestTimeoutMs?: number;
  /** After this long in the queue, `/health` is asked whether workers are starting or missing. Default 8 s. */
  readonly queueNoticeMs?: number;
  /** Fallback `/status` polling interval bounds. Defaults 250 ms → 2 s. */
  readonly pollMinMs?: number;
  readonly pollMaxMs?: number;
  /** Backoff base between re-submissions. Default 2 × backoffBaseMs. */
  readonly retryBaseMs?: number;
  /** Backoff base of RunPod API retries (429/5xx/network, /cancel); the cap is 32 times it. Default 250 ms. */
  readonly backoffBaseMs?: number;
  /** Hosts the worker's download/confirmation URLs may use over http or at private addresses (WORKER_DOWNLOAD_HOSTS). */
  readonly workerHosts?: readonly string[];
  /** Largest audio accepted from the worker, downloaded or inline (MAX_AUDIO_BYTES). Default 32 MiB. */
  readonly maxAudioBytes?: number;
  /** A job whose executionTime exceeds the worker's own processing time by this much waited for something. Default 4 s. */
  readonly confirmationWaitWarnMs?: number;
  readonly logger?: Logger;
}

const STATES = ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
const runAnswer = z.object({ id: z.string().min(1), status: z.string().optional() });
const jobAnswer = z.looseObject({
  id: z.string().optional(),
  status: z.enum(STATES),
  delayTime: z.number().optional(),
  executionTime: z.number().optional(),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
});
type Job = z.infer<typeof jobAnswer>;
const workerOutput = z.looseObject({
  status: z.string().optional(),
  audio_base64: z.string().optional(),
  download_url: z.string().optional(),
  confirmation_url: z.string().optional(),
  error: z.unknown().optional(),
  message: z.string().optional(),
  confirmed: z.boolean().optional(),
  processing_time_seconds: z.number().optional(),
});
const count = z.number().int().min(0).max(1_000_000).optional();
const healthAnswer = z.looseObject({
  workers: z.looseObject({
    idle: count,
    ready: count,
    running: count,
    initializing: count,
    throttled: count,
  }),
  jobs: z.looseObject({ inQueue: count, inProgress: count }).optional(),
});

/** The endpoint's `/health`, as /status and the warm-up notice use it (missing figures are 0). */
export interface RunPodHealth {
  readonly workers: { readonly idle: number; readonly ready: number; readonly running: number; readonly initializing: number; readonly throttled: number };
  readonly jobs: { readonly inQueue: number; readonly inProgress: number };
}

/** No warm worker: a job submitted now pays a cold start (idle/ready/running all 0). */
export function isCold(h: RunPodHealth): boolean {
  return h.workers.idle + h.workers.ready + h.workers.running === 0;
}

/** The tiny job a warm-up sends: one short word, the cheapest request that still loads the model. */
export const WARM_UP_TEXT = 'Xin chào.';

/** How a wait for a job ended: in a final state (any of them), or gone from RunPod (404, ttl passed). */
type JobEnd = { readonly kind: 'final'; readonly job: Job } | { readonly kind: 'expired' };

export class RunPodBackend implements TtsBackend {
  readonly kind = 'runpod';
  readonly identity: string;
  private readonly api: string;
  private readonly log: Logger;
  private readonly backoffBase: number;
  private readonly urlPolicy: WorkerUrlPolicy;
  /** Whether `/status-sync` exists: learnt from the first answer, shared by all jobs. */
  private statusSync: boolean | undefined;
  /** Cancels still being retried; `drain()` awaits them. */
  private readonly cancels = new Set<Promise<boolean>>();
  /** Stops background cancel retries at `close()` (their jobs then end at their ttl). */
  private readonly closing = new AbortController();
  /** The worker's download-confirmation wait is warned about once (one backend per process). */
  private warnedConfirmationWait = false;

  constructor(private readonly opts: RunPodOptions) {
    this.api = `${opts.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(opts.endpointId)}`;
    this.identity = `runpod:${opts.endpointId}:${opts.refNameTemplate}`;
    this.log = opts.logger ?? silentLogger;
    this.backoffBase = opts.backoffBaseMs ?? 250;
    this.urlPolicy = { allowedHosts: opts.workerHosts ?? [], maxBytes: opts.maxAudioBytes ?? DEFAULT_MAX_AUDIO_BYTES };
  }

  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    const refName = this.refName(request.voice);
    let billedMs = 0;
    const bill = (jobId: string, ms: number): void => {
      billedMs += ms;
      options.onEvent?.({ type: 'billed', jobId, gpuSeconds: ms / 1000 });
    };
    const { value, retries } = await withResubmits(() => this.attempt(request, refName, options, bill), {
      signal: options.signal,
      onEvent: options.onEvent,
      baseDelayMs: this.opts.retryBaseMs ?? this.backoffBase * 2,
      maxDelayMs: (this.opts.retryBaseMs ?? this.backoffBase * 2) * 16,
    });
    return { wav: value, retries, gpuSeconds: billedMs / 1000 };
  }

  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.cancels.size > 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.cancels]), new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  async close(): Promise<void> {
    this.closing.abort();
  }

  /** The endpoint's `/health` (one request, no retries: a status display must answer quickly). */
  async health(signal?: AbortSignal): Promise<RunPodHealth> {
    const res = await this.call('GET', '/health', { signal, what: 'the health check', noRetry: true, maxBytes: 64 * 1024, timeoutMs: 5_000 });
    if (res.status === 404) throw new NarratorError('config', 'endpoint_not_found', 'RunPod does not know this endpoint (HTTP 404). Check RUNPOD_ENDPOINT_ID.');
    const { workers: w, jobs: j } = parseBody(healthAnswer, res, 'the health check');
    return {
      workers: { idle: w.idle ?? 0, ready: w.ready ?? 0, running: w.running ?? 0, initializing: w.initializing ?? 0, throttled: w.throttled ?? 0 },
      jobs: { inQueue: j?.inQueue ?? 0, inProgress: j?.inProgress ?? 0 },
    };
  }

  /**
   * A warm-up job: a tiny synthesis whose audio is thrown away, so a worker boots (or stays up) before a real
   * narration needs it. It is an ordinary job — aborting `signal` cancels it on RunPod, and `drain()` waits for
   * that cancel — so a warm-up never outlives shutdown. Resolves with the time it took (ms).
   */
  async warmUp(voice: string, signal: AbortSignal): Promise<number> {
    const started = performance.now();
    await this.synthesize({ text: WARM_UP_TEXT, voice, speed: 1 }, { signal });
    return performance.now() - started;
  }

  /**
   * One job from submission to audio. Returns or throws only once the job is known to have ended (or been
   * cancelled): the re-submission loop may then start a new one without two running for the same chunk.
   */
  private async attempt(
    request: SynthesisRequest,
    refName: string,
    options: SynthesizeOptions,
    bill: (jobId: string, ms: number) => void,
  ): Promise<Uint8Array> {
    const executionTimeout = this.opts.executionTimeoutMs;
    const ttl = executionTimeout + (this.opts.queueTimeoutMs ?? 600_000);
    const policy = { executionTimeout, ttl, ...(options.lowPriority ? { lowPriority: true } : {}) };
    // The submission itself is never aborted mid-flight: a /run whose answer we dropped would leave a job we
    // cannot cancel. We let it answer, then cancel the job if the caller gave up meanwhile.
    const res = await this.call('POST', '/run', {
      body: { input: { text: request.text, ref_name: refName, speed: request.speed, job_id: randomUUID() }, policy },
      retrySignal: options.signal,
      what: 'the job submission',
    });
    if (res.status === 404) {
      throw new NarratorError('config', 'endpoint_not_found', 'RunPod does not know this endpoint (HTTP 404). Check RUNPOD_ENDPOINT_ID.');
    }
    const { id } = parseBody(runAnswer, res, 'the job submission');
    options.onEvent?.({ type: 'queued', jobId: id });
    // RunPod deletes the job at its ttl (counted from when it received /run, which is before now): past this
    // moment the job cannot be running any more, whatever the API answered meanwhile.
    const expiresAt = performance.now() + ttl + 5_000;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new NarratorError('timeout', 'job_deadline', 'The TTS job took too long and was cancelled.')),
      expiresAt - performance.now(),
    );
    const signal = AbortSignal.any([options.signal, deadline.signal]);
    /** Set only from what this attempt saw of its own job: a final state, a 404, or its ttl passing. */
    let ended = false;
    try {
      if (signal.aborted) throw abortError(signal);
      const end = await this.waitForEnd(id, signal, options.onEvent);
      ended = true;
      if (end.kind === 'final') this.billJob(end.job, id, bill);
      if (end.kind === 'expired') throw expired();
      return await this.outcome(end.job, request.voice, signal);
    } catch (err) {
      if (!ended && !deadline.signal.aborted && (await this.cancel(id, expiresAt))) await this.billCancelled(id, bill);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Bills a job seen in a final state: its executionTime (ms), clamped to what its policy allows. */
  private billJob(job: Job, id: string, bill: (jobId: string, ms: number) => void): void {
    const ms = job.executionTime;
    if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return;
    bill(id, Math.min(ms, this.opts.executionTimeoutMs + 5_000));
  }

  /** After a cancel went through: one status read (no retries) to learn what the job ran, if it ran. Best effort. */
  private async billCancelled(id: string, bill: (jobId: string, ms: number) => void): Promise<void> {
    try {
      const res = await this.call('GET', `/status/${encodeURIComponent(id)}`, { what: 'the job status', noRetry: true, timeoutMs: 5_000, maxBytes: this.maxJsonBytes() });
      if (res.status !== 200) return;
      const job = jobAnswer.safeParse(res.json);
      if (job.success && job.data.status !== 'IN_QUEUE' && job.data.status !== 'IN_PROGRESS') this.billJob(job.data, id, bill);
    } catch {
      // Unknown cost: the ledger undercounts this job rather than delaying the narration's stop.
    }
  }

  /** Waits until the job reaches a final state or disappears. Status reads are retried as long as `signal` lets. */
  private async waitForEnd(id: string, signal: AbortSignal, onEvent?: (e: BackendEvent) => void): Promise<JobEnd> {
    const queuedAt = performance.now();
    let pollDelay = this.opts.pollMinMs ?? 250;
    let started = false;
    let nextHealthCheck = queuedAt + (this.opts.queueNoticeMs ?? 8_000);
    for (;;) {
      const askedAt = performance.now();
      // While queued, a long-poll must not outlast the moment to ask /health why (users wait for that notice).
      const untilNotice = nextHealthCheck - askedAt;
      const job = await this.fetchStatus(id, signal, pollDelay, started ? undefined : Math.max(1_000, untilNotice));
      if (job === 'expired') return { kind: 'expired' };
      pollDelay = Math.min(this.opts.pollMaxMs ?? 2_000, pollDelay * 1.5);
      switch (job.status) {
        case 'COMPLETED':
        case 'FAILED':
        case 'TIMED_OUT':
        case 'CANCELLED':
          return { kind: 'final', job };
        case 'IN_PROGRESS':
          if (!started) onEvent?.({ type: 'started', jobId: id });
          started = true;
          break;
        case 'IN_QUEUE':
          if (performance.now() >= nextHealthCheck) {
            nextHealthCheck = performance.now() + 30_000;
            const reason = await this.queueReason(signal);
            onEvent?.({ type: 'waiting', jobId: id, reason, waitedMs: Math.round(performance.now() - queuedAt) });
          }
          break;
      }
      // A long-poll that answers at once without a final state would otherwise spin; pace it.
      if (this.statusSync && performance.now() - askedAt < 100) await sleep(this.opts.pollMinMs ?? 250, signal);
    }
  }

  /** What a job in a final state means for the chunk: its audio, or the error to report or retry. */
  private async outcome(job: Job, voice: string, signal: AbortSignal): Promise<Uint8Array> {
    switch (job.status) {
      case 'FAILED':
        throw classifyWorkerError(job.error, job.output, voice);
      case 'TIMED_OUT':
        throw new NarratorError('transient', 'job_timed_out', 'The TTS job ran past its time limit on the worker.');
      case 'CANCELLED':
        throw new NarratorError('permanent', 'cancelled_remotely', 'The TTS job was cancelled on RunPod.');
      default:
        return this.audioFrom(job, voice, signal);
    }
  }

  /** One status read: long-poll when the route exists, else a paced `/status` poll. 'expired' = 404, the job is gone. */
  private async fetchStatus(id: string, signal: AbortSignal, pollDelay: number, maxWaitMs?: number): Promise<Job | 'expired'> {
    const path = `/status/${encodeURIComponent(id)}`;
    const maxBytes = this.maxJsonBytes();
    if (this.statusSync !== false) {
      const wait = Math.round(Math.min(this.opts.longPollMs ?? 15_000, maxWaitMs ?? Infinity));
      const res = await this.call('GET', `/status-sync/${encodeURIComponent(id)}?wait=${wait}`, {
        signal,
        timeoutMs: wait + (this.opts.requestTimeoutMs ?? 15_000),
        what: 'the job status',
        untilAborted: true,
        maxBytes,
      });
      if (res.status !== 404) {
        this.statusSync = true;
        return parseBody(jobAnswer, res, 'the job status');
      }
      if (this.statusSync === true) return 'expired';
      // 404 from a route we have never seen work: either the route is missing or the job is gone. /status tells.
      const probe = await this.call('GET', path, { signal, what: 'the job status', untilAborted: true, maxBytes });
      if (probe.status === 404) return 'expired';
      this.statusSync = false;
      this.log.info('RunPod /status-sync is not available; polling /status instead');
      return parseBody(jobAnswer, probe, 'the job status');
    }
    await sleep(Math.round(pollDelay * (0.75 + Math.random() * 0.5)), signal);
    const res = await this.call('GET', path, { signal, what: 'the job status', untilAborted: true, maxBytes });
    if (res.status === 404) return 'expired';
    return parseBody(jobAnswer, res, 'the job status');
  }

  /** A status answer may carry the audio inline as base64 (4/3 of its size), plus some JSON around it. */
  private maxJsonBytes(): number {
    return Math.ceil((this.urlPolicy.maxBytes * 4) / 3) + 64 * 1024;
  }

  /** Turns a COMPLETED job into WAV bytes, for both generations of the worker's output. */
  private async audioFrom(job: Job, voice: string, signal: AbortSignal): Promise<Uint8Array> {
    if (job.output === undefined || job.output === null) {
      throw new NarratorError('transient', 'no_output', 'The TTS worker finished without returning audio.');
    }
    const out = workerOutput.safeParse(job.output);
    if (!out.success) {
      throw new NarratorError('permanent', 'bad_response', 'The TTS worker returned an unexpected result.', JSON.stringify(job.output).slice(0, 500));
    }
    const o = out.data;
    if (o.error !== undefined) throw classifyWorkerError(o.error, { ...o, error: undefined }, voice);
    if (o.audio_base64) {
      const bytes = Buffer.from(o.audio_base64, 'base64');
      if (bytes.byteLength > this.urlPolicy.maxBytes) {
        throw new NarratorError('permanent', 'audio_too_large', `The TTS worker's audio is larger than MAX_AUDIO_BYTES (${Math.round(this.urlPolicy.maxBytes / 1024 / 1024)} MiB).`);
      }
      return checkWav(bytes);
    }
    if (o.download_url) {
      this.noticeConfirmationWait(job, o);
      const wav = await this.download(o.download_url, signal);
      if (o.confirmation_url) await this.confirm(o.confirmation_url);
      return wav;
    }
    throw new NarratorError('permanent', 'bad_response', 'The TTS worker returned neither audio nor a download link.', JSON.stringify(o).slice(0, 500));
  }

  /**
   * The newest handler holds every job 5 s + up to 60 s waiting for a download confirmation that can only be sent
   * once the job has ended: each chunk pays that wait. Seen as `confirmed: false` in a finished output, or as an
   * executionTime far above the worker's own processing time. The fix is on the endpoint, so say it once, loudly.
   */
  private noticeConfirmationWait(job: Job, o: z.infer<typeof workerOutput>): void {
    if (this.warnedConfirmationWait) return;
    const processingMs = o.processing_time_seconds === undefined ? undefined : o.processing_time_seconds * 1000;
    const extraMs = job.executionTime !== undefined && processingMs !== undefined ? job.executionTime - processingMs : undefined;
    const waited = o.confirmed === false || (extraMs !== undefined && extraMs > (this.opts.confirmationWaitWarnMs ?? 4_000));
    if (!waited) return;
    this.warnedConfirmationWait = true;
    this.log.warn(
      { executionMs: job.executionTime, processingMs, confirmed: o.confirmed },
      'The RunPod worker holds each job waiting for a download confirmation that the bot can only send after the job ends ' +
        '(newest F5-TTS-Vi handler): every chunk is delayed and billed for that wait. ' +
        'Fix: set DOWNLOAD_CONFIRMATION_TIMEOUT=0 in the RunPod endpoint\'s environment.',
    );
  }

  private async download(url: string, signal: AbortSignal): Promise<Uint8Array> {
    const timeoutMs = (this.opts.requestTimeoutMs ?? 15_000) * 2;
    for (let attempt = 0; ; attempt++) {
      const { status, bytes } = await workerRequest(url, { method: 'GET', timeoutMs, signal, what: 'download_url' }, this.urlPolicy).catch(
        (err: unknown) => {
          if (isNarratorError(err, 'transient') && attempt < 3) return { status: 0, bytes: new Uint8Array() };
          throw err;
        },
      );
      if (status === 200) return checkWav(bytes);
      if ((status === 0 || status === 429 || status >= 500) && attempt < 3) {
        await sleep(backoffMs(attempt, 300), signal);
        continue;
      }
      throw new NarratorError('transient', 'download_failed', `Could not download the audio from the worker (HTTP ${status}).`);
    }
  }

  /** The worker holds its result until we confirm the download; a failed confirmation only costs it a wait. */
  private async confirm(url: string): Promise<void> {
    try {
      const res = await workerRequest(url, { method: 'POST', body: {}, timeoutMs: 5_000, what: 'confirmation_url' }, { ...this.urlPolicy, maxBytes: 64 * 1024 });
      if (res.status >= 300) this.log.warn({ status: res.status }, 'worker download confirmation refused');
    } catch (err) {
      this.log.warn({ err: isNarratorError(err) ? err.message : String(err) }, 'worker download confirmation not sent');
    }
  }

  /**
   * Cancels a job that may still be running, retrying `/cancel` (backoff + jitter) until it gets through, RunPod
   * says the job is gone, or the job's ttl has passed. Tracked for `drain()`; `close()` stops the retries.
   */
  private cancel(id: string, expiresAt: number): Promise<boolean> {
    const done = this.cancelUntilEnded(id, expiresAt);
    this.cancels.add(done);
    void done.finally(() => this.cancels.delete(done));
    return done;
  }

  /** True when RunPod took the cancel (2xx: the job is now in a final state), false when it is gone or unknown. */
  private async cancelUntilEnded(id: string, expiresAt: number): Promise<boolean> {
    const cap = this.backoffBase * 32;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.call('POST', `/cancel/${encodeURIComponent(id)}`, { what: 'the cancel request', noRetry: true, timeoutMs: 5_000 });
        // 2xx: cancelled, or already in a final state (RunPod leaves those as they were); 404: gone.
        this.log.debug({ jobId: id, status: res.status }, 'RunPod job cancelled');
        return res.status < 300;
      } catch (err) {
        if (isNarratorError(err) && err.kind !== 'transient') {
          this.log.error({ jobId: id, err: err.message }, 'RunPod refused to cancel a job; it will end at its ttl');
          return false;
        }
      }
      if (attempt === 0) this.log.warn({ jobId: id }, 'could not cancel a RunPod job yet; retrying until it gets through');
      const delay = backoffMs(attempt, this.backoffBase, cap, Math.min(50, this.backoffBase));
      if (performance.now() + delay >= expiresAt) {
        this.log.info({ jobId: id }, 'a RunPod job could not be cancelled before its ttl; RunPod has removed it');
        return false;
      }
      try {
        await sleep(delay, this.closing.signal);
      } catch {
        this.log.error({ jobId: id }, 'shutting down before a RunPod job could be cancelled; it will end at its ttl');
        return false;
      }
    }
  }

  /** Asks `/health` why a job is still queued: workers warming up, none at all, or simply a queue. */
  private async queueReason(signal: AbortSignal): Promise<'cold_start' | 'no_workers' | 'queue'> {
    try {
      const res = await this.call('GET', '/health', { signal, what: 'the health check', noRetry: true, maxBytes: 64 * 1024 });
      const { workers: w } = parseBody(healthAnswer, res, 'the health check');
      const working = (w.idle ?? 0) + (w.ready ?? 0) + (w.running ?? 0);
      if (working === 0) return (w.initializing ?? 0) > 0 ? 'cold_start' : 'no_workers';
      return 'queue';
    } catch (err) {
      if (isNarratorError(err, 'aborted') || isNarratorError(err, 'timeout')) throw err;
      return 'queue';
    }
  }

  /**
   * One API call with the key. 401/403 are fatal configuration errors; 429, 5xx and network failures are retried
   * here with backoff (the request is repeated, not the job) — within the retry budget, or for as long as `signal`
   * allows with `untilAborted` (status reads of an accepted job). 404 is returned for the caller to interpret.
   */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    o: {
      body?: unknown;
      signal?: AbortSignal;
      retrySignal?: AbortSignal;
      timeoutMs?: number;
      what: string;
      noRetry?: boolean;
      untilAborted?: boolean;
      maxBytes?: number;
    },
  ): Promise<HttpResponse> {
    const cap = this.backoffBase * 32;
    const wait = (attempt: number) => sleep(backoffMs(Math.min(attempt, 30), this.backoffBase, cap, Math.min(50, this.backoffBase)), o.signal ?? o.retrySignal);
    const giveUp = (attempt: number, budget: number) => o.noRetry || (!o.untilAborted && attempt >= budget);
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await httpRequest(`${this.api}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.opts.apiKey}` },
          body: o.body ?? (method === 'POST' ? {} : undefined),
          timeoutMs: o.timeoutMs ?? this.opts.requestTimeoutMs ?? 15_000,
          signal: o.signal,
          maxBytes: o.maxBytes ?? 1024 * 1024,
        });
      } catch (err) {
        if (!isNarratorError(err, 'transient') || giveUp(attempt, RETRY_BUDGET.network!)) throw err;
        await wait(attempt);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        throw new NarratorError('config', 'runpod_auth', `RunPod refused the API key (HTTP ${res.status}). Check RUNPOD_API_KEY.`);
      }
      if (res.status === 429 || res.status >= 500) {
        const code = res.status === 429 ? 'rate_limited' : 'server_error';
        if (giveUp(attempt, RETRY_BUDGET[code]!)) {
          throw new NarratorError('transient', code, res.status === 429 ? 'RunPod is rate-limiting requests.' : `RunPod is having trouble (HTTP ${res.status}).`);
        }
        await wait(attempt);
        continue;
      }
      if (res.status >= 400 && res.status !== 404) {
        throw new NarratorError('permanent', 'bad_request', `RunPod rejected ${o.what} (HTTP ${res.status}).`, res.text.slice(0, 500));
      }
      return res;
    }
  }

  private refName(voice: string): string {
    if (!VOICE_NAME.test(voice)) throw new NarratorError('user', 'voice_unknown', `"${voice}" is not a valid voice name.`);
    return this.opts.refNameTemplate.split('{voice}').join(voice);
  }
}

function expired(): NarratorError {
  return new NarratorError('permanent', 'job_expired', 'The TTS job expired on RunPod before it finished (no worker took it in time).');
}

function checkWav(bytes: Uint8Array): Uint8Array {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(12, bytes.byteLength)).toString('latin1');
  if (bytes.byteLength < 12 || !head.startsWith('RIFF') || head.slice(8, 12) !== 'WAVE') {
    throw new NarratorError('permanent', 'bad_audio', 'The TTS worker returned something that is not a WAV file.');
  }
  return bytes;
}
