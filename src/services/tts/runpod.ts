/**
 * RunPod serverless backend: one F5-TTS job per chunk, submitted with `/run` and awaited with the long-poll
 * `/status-sync/{id}` route (wakes the moment the job ends, so no fixed polling delay is added to first audio),
 * falling back to `/status` polling with backoff + jitter where that route is missing.
 *
 * GPU time is billed per second, so every path that stops waiting — abort, deadline, protocol error — cancels the
 * job it submitted. Transient failures (busy worker, failed inference, rate limit, network) re-submit with a fresh
 * worker `job_id`; permanent ones stop at once. The API key only ever goes to the RunPod API host, never to the
 * worker's download or confirmation URLs, and never into a message.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from 'pino';
import { VOICE_NAME } from '../config.js';
import { NarratorError, abortError, isNarratorError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { BackendEvent, SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from './backend.js';
import { backoffMs, httpGetBytes, httpRequest, parseBody, sleep, type HttpResponse } from './http.js';
import { withResubmits } from './retry.js';
import { classifyWorkerError, RETRY_BUDGET } from './workerErrors.js';

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
  /** Backoff base between re-submissions. Default 500 ms. */
  readonly retryBaseMs?: number;
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
});
const healthAnswer = z.looseObject({
  workers: z.looseObject({
    idle: z.number().optional(),
    ready: z.number().optional(),
    running: z.number().optional(),
    initializing: z.number().optional(),
    throttled: z.number().optional(),
  }),
});

export class RunPodBackend implements TtsBackend {
  readonly kind = 'runpod';
  readonly identity: string;
  private readonly api: string;
  private readonly log: Logger;
  /** Whether `/status-sync` exists: learnt from the first answer, shared by all jobs. */
  private statusSync: boolean | undefined;

  constructor(private readonly opts: RunPodOptions) {
    this.api = `${opts.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(opts.endpointId)}`;
    this.identity = `runpod:${opts.endpointId}:${opts.refNameTemplate}`;
    this.log = opts.logger ?? silentLogger;
  }

  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    const refName = this.refName(request.voice);
    const { value, retries } = await withResubmits(() => this.attempt(request, refName, options), {
      signal: options.signal,
      onEvent: options.onEvent,
      baseDelayMs: this.opts.retryBaseMs,
    });
    return { wav: value, retries };
  }

  /** One job from submission to audio; cancels the job if it stops waiting before the job ended. */
  private async attempt(request: SynthesisRequest, refName: string, options: SynthesizeOptions): Promise<Uint8Array> {
    const executionTimeout = this.opts.executionTimeoutMs;
    const ttl = executionTimeout + (this.opts.queueTimeoutMs ?? 600_000);
    // The client-side deadline mirrors the ttl: past it RunPod has deleted the job anyway.
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new NarratorError('timeout', 'job_deadline', 'The TTS job took too long and was cancelled.')),
      ttl + 5_000,
    );
    const signal = AbortSignal.any([options.signal, deadline.signal]);
    try {
      // The submission itself is never aborted mid-flight: a /run whose answer we dropped would leave a job we
      // cannot cancel. We let it answer, then cancel the job if the caller gave up meanwhile.
      const res = await this.call('POST', '/run', {
        body: { input: { text: request.text, ref_name: refName, speed: request.speed, job_id: randomUUID() }, policy: { executionTimeout, ttl } },
        retrySignal: signal,
        what: 'the job submission',
      });
      if (res.status === 404) {
        throw new NarratorError('config', 'endpoint_not_found', 'RunPod does not know this endpoint (HTTP 404). Check RUNPOD_ENDPOINT_ID.');
      }
      const { id } = parseBody(runAnswer, res, 'the job submission');
      options.onEvent?.({ type: 'queued', jobId: id });
      let finished = false;
      try {
        if (signal.aborted) throw abortError(signal);
        const job = await this.waitForJob(id, request.voice, signal, options.onEvent);
        finished = true;
        return await this.audioFrom(job, request.voice, signal);
      } catch (err) {
        if (!finished && !(isNarratorError(err) && err.code === 'job_expired') && !isTerminalError(err)) {
          await this.cancel(id);
        }
        throw err;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until the job reaches a final state; returns it when COMPLETED, throws otherwise. */
  private async waitForJob(id: string, voice: string, signal: AbortSignal, onEvent?: (e: BackendEvent) => void): Promise<Job> {
    const queuedAt = performance.now();
    let pollDelay = this.opts.pollMinMs ?? 250;
    let started = false;
    let nextHealthCheck = queuedAt + (this.opts.queueNoticeMs ?? 8_000);
    for (;;) {
      const askedAt = performance.now();
      // While queued, a long-poll must not outlast the moment to ask /health why (users wait for that notice).
      const untilNotice = nextHealthCheck - askedAt;
      const job = await this.fetchStatus(id, signal, pollDelay, started ? undefined : Math.max(1_000, untilNotice));
      pollDelay = Math.min(this.opts.pollMaxMs ?? 2_000, pollDelay * 1.5);
      switch (job.status) {
        case 'COMPLETED':
          return job;
        case 'FAILED':
          throw markTerminal(classifyWorkerError(job.error, job.output, voice));
        case 'TIMED_OUT':
          throw markTerminal(new NarratorError('transient', 'job_timed_out', 'The TTS job ran past its time limit on the worker.'));
        case 'CANCELLED':
          throw markTerminal(new NarratorError('permanent', 'cancelled_remotely', 'The TTS job was cancelled on RunPod.'));
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

  /** One status read: long-poll when the route exists, else a paced `/status` poll. */
  private async fetchStatus(id: string, signal: AbortSignal, pollDelay: number, maxWaitMs?: number): Promise<Job> {
    const path = `/status/${encodeURIComponent(id)}`;
    if (this.statusSync !== false) {
      const wait = Math.round(Math.min(this.opts.longPollMs ?? 15_000, maxWaitMs ?? Infinity));
      const res = await this.call('GET', `/status-sync/${encodeURIComponent(id)}?wait=${wait}`, {
        signal,
        timeoutMs: wait + (this.opts.requestTimeoutMs ?? 15_000),
        what: 'the job status',
      });
      if (res.status !== 404) {
        this.statusSync = true;
        return parseBody(jobAnswer, res, 'the job status');
      }
      if (this.statusSync === true) throw expired();
      // 404 from a route we have never seen work: either the route is missing or the job is gone. /status tells.
      const probe = await this.call('GET', path, { signal, what: 'the job status' });
      if (probe.status === 404) throw expired();
      this.statusSync = false;
      this.log.info('RunPod /status-sync is not available; polling /status instead');
      return parseBody(jobAnswer, probe, 'the job status');
    }
    await sleep(Math.round(pollDelay * (0.75 + Math.random() * 0.5)), signal);
    const res = await this.call('GET', path, { signal, what: 'the job status' });
    if (res.status === 404) throw expired();
    return parseBody(jobAnswer, res, 'the job status');
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
    if (o.audio_base64) return checkWav(Buffer.from(o.audio_base64, 'base64'));
    if (o.download_url) {
      const wav = await this.download(o.download_url, signal);
      if (o.confirmation_url) await this.confirm(o.confirmation_url);
      return wav;
    }
    throw new NarratorError('permanent', 'bad_response', 'The TTS worker returned neither audio nor a download link.', JSON.stringify(o).slice(0, 500));
  }

  private async download(url: string, signal: AbortSignal): Promise<Uint8Array> {
    checkHttpUrl(url, 'download_url');
    const timeoutMs = this.opts.requestTimeoutMs ?? 15_000;
    for (let attempt = 0; ; attempt++) {
      const { status, bytes } = await httpGetBytes(url, timeoutMs * 2, signal).catch((err: unknown) => {
        if (isNarratorError(err, 'transient') && attempt < 3) return { status: 0, bytes: new Uint8Array() };
        throw err;
      });
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
      checkHttpUrl(url, 'confirmation_url');
      const res = await httpRequest(url, { method: 'POST', body: {}, timeoutMs: 5_000 });
      if (res.status >= 300) this.log.warn({ status: res.status }, 'worker download confirmation refused');
    } catch (err) {
      this.log.warn({ err: String(err) }, 'worker download confirmation failed');
    }
  }

  /** Best effort, but persistent: a job left running bills GPU seconds nobody will hear. */
  private async cancel(id: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const res = await this.call('POST', `/cancel/${encodeURIComponent(id)}`, { what: 'the cancel request', noRetry: true });
        if (res.status < 300 || res.status === 404) {
          this.log.debug({ jobId: id }, 'RunPod job cancelled');
          return;
        }
      } catch (err) {
        if (isNarratorError(err, 'config')) break;
      }
      await sleep(backoffMs(attempt, 300, 3_000));
    }
    this.log.error({ jobId: id }, 'could not cancel a RunPod job; it will end at its ttl');
  }

  /** Asks `/health` why a job is still queued: workers warming up, none at all, or simply a queue. */
  private async queueReason(signal: AbortSignal): Promise<'cold_start' | 'no_workers' | 'queue'> {
    try {
      const res = await this.call('GET', '/health', { signal, what: 'the health check', noRetry: true });
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
   * here with backoff (the request is repeated, not the job). 404 is returned for the caller to interpret.
   */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    o: { body?: unknown; signal?: AbortSignal; retrySignal?: AbortSignal; timeoutMs?: number; what: string; noRetry?: boolean },
  ): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await httpRequest(`${this.api}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.opts.apiKey}` },
          body: o.body ?? (method === 'POST' ? {} : undefined),
          timeoutMs: o.timeoutMs ?? this.opts.requestTimeoutMs ?? 15_000,
          signal: o.signal,
        });
      } catch (err) {
        if (!isNarratorError(err, 'transient') || o.noRetry || attempt >= RETRY_BUDGET.network!) throw err;
        await sleep(backoffMs(attempt, 250), o.signal ?? o.retrySignal);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        throw new NarratorError('config', 'runpod_auth', `RunPod refused the API key (HTTP ${res.status}). Check RUNPOD_API_KEY.`);
      }
      if (res.status === 429 || res.status >= 500) {
        const code = res.status === 429 ? 'rate_limited' : 'server_error';
        if (o.noRetry || attempt >= RETRY_BUDGET[code]!) {
          throw new NarratorError('transient', code, res.status === 429 ? 'RunPod is rate-limiting requests.' : `RunPod is having trouble (HTTP ${res.status}).`);
        }
        await sleep(backoffMs(attempt, 250), o.signal ?? o.retrySignal);
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

/** Errors that come from a job's own final state: there is nothing left to cancel. */
const terminalErrors = new WeakSet<NarratorError>();
function markTerminal(err: NarratorError): NarratorError {
  terminalErrors.add(err);
  return err;
}
function isTerminalError(err: unknown): boolean {
  return err instanceof NarratorError && terminalErrors.has(err);
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

function checkHttpUrl(url: string, field: string): void {
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
    throw new NarratorError('permanent', 'bad_response', `The TTS worker returned an invalid ${field}.`);
  }
}
