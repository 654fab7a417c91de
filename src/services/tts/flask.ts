/**
 * Direct backend for the worker's own Flask API (the seed's "local/Docker" mode, `F5_TTS_API_URL`):
 * `POST /tts` → poll `/tts/progress/{id}` → `GET /output/{file}` → `DELETE /tts/cleanup-file/{file}` and
 * `DELETE /tts/progress/{id}`.
 *
 * The Flask process runs one job at a time (a lock; a second POST gets 503 `busy`). So:
 * - this backend runs its own jobs strictly one after another (a mutex, on top of maxConcurrency = 1 for the
 *   scheduler), so they never compete with each other;
 * - a 503 `busy` means another client holds the worker: it is waited out (the answer's `estimated_wait` — the
 *   running job's age in seconds on the real worker — paces the wait, capped, with jitter), bounded only by the
 *   caller's signal (the narration's deadline), not by a retry count: a busy worker is not a failure.
 * The worker keeps a progress file per job and every output WAV until told otherwise, so each job leaves nothing
 * behind: after the download the file and the progress entry are deleted. On abort or a deadline the job is
 * killed; the kill only acts at the job's next batch and the worker thread then rewrites the progress entry, so the
 * entry is deleted only once the worker reports the job over (`/status` no longer names it), bounded in time. A
 * kill that lands too late lets the job complete: its output file is deleted too.
 * GPU seconds: the worker reports none, so each job is measured here, from the moment it was accepted (the worker
 * runs it at once: it holds a lock) until it was seen to end — completed, failed, or over after a kill.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from 'pino';
import { VOICE_NAME } from '../config.js';
import { NarratorError, abortError, isNarratorError, throwIfAborted } from '../errors.js';
import { silentLogger } from '../log.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from './backend.js';
import { backoffMs, httpGetBytes, httpRequest, parseBody, sleep, type HttpResponse } from './http.js';
import { withResubmits } from './retry.js';
import { classifyWorkerError, voiceNotInstalled } from './workerErrors.js';

export interface FlaskOptions {
  /** e.g. http://localhost:7860 */
  readonly baseUrl: string;
  readonly refNameTemplate: string;
  /** Give up on one job after this long (the worker's own limit is 600 s). */
  readonly jobTimeoutMs: number;
  readonly pollMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retryBaseMs?: number;
  /** Longest pause between two submissions while the worker is busy (default 5 s). */
  readonly busyMaxDelayMs?: number;
  /** After a kill, how long to wait for the worker to report the job over before cleaning up anyway (default 30 s). */
  readonly settleTimeoutMs?: number;
  readonly logger?: Logger;
}

const accepted = z.looseObject({ job_id: z.string().min(1), filename: z.string().min(1).optional() });
const progress = z.looseObject({
  progress: z.number(),
  status: z.string(),
  extra: z.unknown().optional(),
  filename: z.string().optional(),
});
const errorBody = z.looseObject({ error: z.string().optional(), message: z.string().optional() });
const busyBody = z.looseObject({ estimated_wait: z.number().nonnegative().max(86_400).nullish() });
const statusAnswer = z.looseObject({ current_job: z.string().nullish() });
const voicesAnswer = z.looseObject({ voices: z.array(z.looseObject({ id: z.string() })) });

export class FlaskBackend implements TtsBackend {
  readonly kind = 'flask';
  readonly identity: string;
  readonly maxConcurrency = 1;
  private readonly base: string;
  private readonly log: Logger;
  /** Settles when this process's previous job on the worker is over (see takeTurn). */
  private turn: Promise<void> = Promise.resolve();

  constructor(private readonly opts: FlaskOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.identity = `flask:${this.base}:${opts.refNameTemplate}`;
    this.log = opts.logger ?? silentLogger;
  }

  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    if (!VOICE_NAME.test(request.voice)) throw new NarratorError('user', 'voice_unknown', `"${request.voice}" is not a valid voice name.`);
    const refName = this.opts.refNameTemplate.split('{voice}').join(request.voice);
    let billedMs = 0;
    const bill = (jobId: string, ms: number): void => {
      billedMs += ms;
      options.onEvent?.({ type: 'billed', jobId, gpuSeconds: ms / 1000 });
    };
    const { value, retries } = await withResubmits(() => this.attempt(request, refName, options, bill), {
      signal: options.signal,
      onEvent: options.onEvent,
      baseDelayMs: this.opts.retryBaseMs,
    });
    return { wav: value, retries, gpuSeconds: billedMs / 1000 };
  }

  async listVoices(signal?: AbortSignal): Promise<string[]> {
    const res = await this.get('/voices', signal);
    if (res.status !== 200) throw new NarratorError('transient', 'server_error', `The TTS worker could not list voices (HTTP ${res.status}).`);
    return parseBody(voicesAnswer, res, 'the voice list').voices.map((v) => v.id).filter((id) => VOICE_NAME.test(id));
  }

  private async attempt(
    request: SynthesisRequest,
    refName: string,
    options: SynthesizeOptions,
    bill: (jobId: string, ms: number) => void,
  ): Promise<Uint8Array> {
    const release = await this.takeTurn(options.signal);
    try {
      const job = await this.submit(request, refName, options);
      const acceptedAt = performance.now();
      options.onEvent?.({ type: 'queued', jobId: job.job_id });
      let filename: string;
      try {
        filename = await this.waitForJob(job.job_id, job.filename, options);
        bill(job.job_id, performance.now() - acceptedAt);
      } catch (err) {
        // Aborted, past its deadline, failed or unreadable: stop it if it still runs, then clean up once it is over.
        const jobFailed = isNarratorError(err) && err.code === 'tts_failed';
        await this.cleanupAfterEnd(job.job_id, !jobFailed);
        bill(job.job_id, performance.now() - acceptedAt);
        throw err;
      }
      try {
        const { status, bytes } = await httpGetBytes(`${this.base}/output/${encodeURIComponent(filename)}`, this.opts.requestTimeoutMs ?? 15_000, options.signal);
        if (status !== 200) throw new NarratorError('transient', 'download_failed', `Could not download the audio from the worker (HTTP ${status}).`);
        return bytes;
      } finally {
        await this.deleteFile(filename);
        await this.deleteProgress(job.job_id);
      }
    } finally {
      release();
    }
  }

  /** One of this process's jobs on the worker at a time: resolves with the release once it is this call's turn. */
  private async takeTurn(signal: AbortSignal): Promise<() => void> {
    const previous = this.turn;
    let release!: () => void;
    this.turn = new Promise<void>((resolve) => (release = resolve));
    try {
      await abortable(previous, signal);
    } catch (err) {
      // Give up the place in line without blocking the ones behind: they wait for our predecessor instead.
      void previous.then(release);
      throw err;
    }
    return release;
  }

  /**
   * POST /tts until the worker takes the job. 503 `busy` is waited out; the submission itself is not aborted
   * mid-flight (like RunPod's /run) so that a started job is always known and can be killed.
   */
  private async submit(request: SynthesisRequest, refName: string, options: SynthesizeOptions): Promise<z.infer<typeof accepted>> {
    const jobId = randomUUID();
    const waitingSince = performance.now();
    for (let busyCount = 0; ; busyCount++) {
      throwIfAborted(options.signal);
      const res = await httpRequest(`${this.base}/tts`, {
        method: 'POST',
        body: { text: request.text, ref_name: refName, speed: request.speed, job_id: jobId },
        timeoutMs: this.opts.requestTimeoutMs ?? 15_000,
      });
      if (res.status === 202 || res.status === 200) return parseBody(accepted, res, 'the job submission');
      if (res.status !== 503) throw this.submitError(res, request.voice, refName);
      const hint = busyBody.safeParse(res.json);
      const delayMs = this.busyDelayMs(busyCount, hint.success ? hint.data.estimated_wait : undefined);
      if (busyCount === 0) this.log.debug({ detail: res.text.slice(0, 300) }, 'Flask worker busy with another client; waiting');
      options.onEvent?.({ type: 'waiting', jobId, reason: 'queue', waitedMs: Math.round(performance.now() - waitingSince) });
      await sleep(delayMs, options.signal);
    }
  }

  /**
   * How long to wait before asking a busy worker again. The real worker's `estimated_wait` is how long the current
   * job has run (seconds): a job that has run long is likely near its end, so the hint is used as the pause, never
   * shorter than the backoff floor nor longer than busyMaxDelayMs; without a hint, exponential backoff. Jitter
   * keeps several waiting clients from knocking at the same instant.
   */
  private busyDelayMs(busyCount: number, estimatedWaitSec: number | null | undefined): number {
    const floor = this.opts.pollMs ?? 200;
    const cap = this.opts.busyMaxDelayMs ?? 5_000;
    const base = estimatedWaitSec ? estimatedWaitSec * 1000 : backoffMs(busyCount, floor * 2, cap);
    return Math.min(cap, Math.max(floor, base)) * (0.75 + Math.random() * 0.5);
  }

  private async waitForJob(jobId: string, filename: string | undefined, options: SynthesizeOptions): Promise<string> {
    const deadline = performance.now() + this.opts.jobTimeoutMs;
    let started = false;
    for (;;) {
      await sleep(this.opts.pollMs ?? 200, options.signal);
      const res = await this.get(`/tts/progress/${encodeURIComponent(jobId)}`, options.signal);
      if (res.status >= 500) continue; // a poll that failed says nothing about the job
      const p = parseBody(progress, res, 'the job progress');
      if (p.status === 'completed' || p.progress >= 100) {
        const file = p.filename ?? filename;
        if (!file) throw new NarratorError('permanent', 'bad_response', 'The TTS worker finished without naming its output file.');
        return file;
      }
      if (p.progress < 0 || p.status === 'failed' || p.status === 'cancelled') {
        if (p.status === 'cancelled') throw new NarratorError('permanent', 'cancelled_remotely', 'The TTS job was cancelled on the worker.');
        throw classifyWorkerError(`TTS processing failed: ${typeof p.extra === 'string' ? p.extra : ''}`.trim());
      }
      if (!started && p.status !== 'pending') {
        started = true;
        options.onEvent?.({ type: 'started', jobId });
      }
      if (performance.now() > deadline) {
        throw new NarratorError('timeout', 'job_deadline', 'The TTS job took too long and was cancelled.');
      }
    }
  }

  private submitError(res: HttpResponse, voice: string, refName: string): NarratorError {
    const body = errorBody.safeParse(res.json);
    const code = body.success ? (body.data.error ?? '') : '';
    const detail = res.text.slice(0, 500);
    if (res.status === 404 && code === 'ref_not_found') return voiceNotInstalled(voice, `ref_name "${refName}": ${detail}`);
    if (res.status === 400 && code === 'invalid_speed') return new NarratorError('user', 'speed_invalid', 'The worker rejected the speed.', detail);
    if (res.status === 500) return new NarratorError('transient', 'inference_failed', 'The TTS model failed on this sentence.', detail);
    return new NarratorError('permanent', 'bad_request', `The TTS worker rejected the request (HTTP ${res.status}${code ? `: ${code}` : ''}).`, detail);
  }

  /**
   * After a job ended other than by our download (aborted, past its deadline, failed): kill it if asked, wait until
   * the worker is done with it — `/status` no longer names it AND its progress entry is final; its thread writes the
   * final entry just before it releases the lock, so an entry deleted earlier comes back — then delete the output
   * file if it completed anyway, and the entry. A kill the worker refused (`not_running`: its thread had not
   * started yet) is sent again once `/status` names the job. Bounded by settleTimeoutMs.
   */
  private async cleanupAfterEnd(jobId: string, kill: boolean): Promise<void> {
    const deadline = performance.now() + (this.opts.settleTimeoutMs ?? 30_000);
    let killed = !kill || (await this.kill(jobId));
    let last: z.infer<typeof progress> | undefined;
    for (;;) {
      const running = await this.stillRunning(jobId);
      if (running === true && !killed) killed = await this.kill(jobId);
      last = await this.readProgress(jobId);
      const final = last !== undefined && (last.progress >= 100 || last.progress < 0 || last.status === 'completed');
      if (running !== true && (final || running === undefined)) break;
      if (performance.now() > deadline) {
        this.log.warn({ jobId }, 'the Flask worker did not finish a cancelled job in time; cleaning up anyway');
        break;
      }
      await sleep(this.opts.pollMs ?? 200);
    }
    if (last?.status === 'completed' && last.filename) await this.deleteFile(last.filename);
    await this.deleteProgress(jobId);
  }

  private async readProgress(jobId: string): Promise<z.infer<typeof progress> | undefined> {
    try {
      const p = progress.safeParse((await this.get(`/tts/progress/${encodeURIComponent(jobId)}`)).json);
      return p.success ? p.data : undefined;
    } catch (err) {
      if (!isNarratorError(err)) throw err;
      return undefined;
    }
  }

  /** Whether `/status` still names the job as the current one; undefined when the worker could not say. */
  private async stillRunning(jobId: string): Promise<boolean | undefined> {
    try {
      const res = await this.get('/status');
      const status = statusAnswer.safeParse(res.json);
      return res.status === 200 && status.success ? status.data.current_job === jobId : undefined;
    } catch (err) {
      if (!isNarratorError(err)) throw err;
      return undefined;
    }
  }

  /** POST /tts/kill; true when the worker accepted it (400 `not_running` when the job is not the current one). */
  private async kill(jobId: string): Promise<boolean> {
    try {
      const res = await httpRequest(`${this.base}/tts/kill/${encodeURIComponent(jobId)}`, { method: 'POST', body: {}, timeoutMs: 5_000 });
      return res.status === 200;
    } catch (err) {
      this.log.warn({ jobId, err: String(err) }, 'could not kill a Flask TTS job');
      return false;
    }
  }

  /** The worker keeps every output WAV until told; both handler generations offer this route. */
  private async deleteFile(filename: string): Promise<void> {
    try {
      const res = await httpRequest(`${this.base}/tts/cleanup-file/${encodeURIComponent(filename)}`, { method: 'DELETE', timeoutMs: 5_000 });
      if (res.status !== 200 && res.status !== 404) this.log.debug({ status: res.status }, 'output file cleanup refused');
    } catch (err) {
      if (!isNarratorError(err)) throw err;
      this.log.debug('output file cleanup failed');
    }
  }

  /** The seed's §5: the worker keeps a progress file per job until told to drop it. */
  private async deleteProgress(jobId: string): Promise<void> {
    try {
      await httpRequest(`${this.base}/tts/progress/${encodeURIComponent(jobId)}`, { method: 'DELETE', timeoutMs: 5_000 });
    } catch (err) {
      if (!isNarratorError(err)) throw err;
      this.log.debug({ jobId }, 'progress cleanup failed');
    }
  }

  private get(path: string, signal?: AbortSignal): Promise<HttpResponse> {
    return httpRequest(`${this.base}${path}`, { timeoutMs: this.opts.requestTimeoutMs ?? 15_000, signal });
  }
}

/** `promise`, or the signal's abort error as soon as it is aborted. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
