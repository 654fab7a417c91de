/**
 * Direct backend for the worker's own Flask API (the seed's "local/Docker" mode, `F5_TTS_API_URL`):
 * `POST /tts` → poll `/tts/progress/{id}` → `GET /output/{file}` → `DELETE /tts/progress/{id}`.
 * The Flask process runs one job at a time, so this backend asks the scheduler for a concurrency of 1 and
 * still treats `503 busy` as transient (another client may share the worker). On abort the job is killed.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from 'pino';
import { VOICE_NAME } from '../config.js';
import { NarratorError, isNarratorError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from './backend.js';
import { httpGetBytes, httpRequest, parseBody, sleep, type HttpResponse } from './http.js';
import { withResubmits } from './retry.js';
import { classifyWorkerError } from './workerErrors.js';

export interface FlaskOptions {
  /** e.g. http://localhost:7860 */
  readonly baseUrl: string;
  readonly refNameTemplate: string;
  /** Give up on one job after this long (the worker's own limit is 600 s). */
  readonly jobTimeoutMs: number;
  readonly pollMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retryBaseMs?: number;
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
const voicesAnswer = z.looseObject({ voices: z.array(z.looseObject({ id: z.string() })) });

export class FlaskBackend implements TtsBackend {
  readonly kind = 'flask';
  readonly identity: string;
  readonly maxConcurrency = 1;
  private readonly base: string;
  private readonly log: Logger;

  constructor(private readonly opts: FlaskOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.identity = `flask:${this.base}:${opts.refNameTemplate}`;
    this.log = opts.logger ?? silentLogger;
  }

  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    if (!VOICE_NAME.test(request.voice)) throw new NarratorError('user', 'voice_unknown', `"${request.voice}" is not a valid voice name.`);
    const refName = this.opts.refNameTemplate.split('{voice}').join(request.voice);
    const { value, retries } = await withResubmits(() => this.attempt(request, refName, options), {
      signal: options.signal,
      onEvent: options.onEvent,
      baseDelayMs: this.opts.retryBaseMs,
    });
    return { wav: value, retries };
  }

  async listVoices(signal?: AbortSignal): Promise<string[]> {
    const res = await this.get('/voices', signal);
    if (res.status !== 200) throw new NarratorError('transient', 'server_error', `The TTS worker could not list voices (HTTP ${res.status}).`);
    return parseBody(voicesAnswer, res, 'the voice list').voices.map((v) => v.id).filter((id) => VOICE_NAME.test(id));
  }

  private async attempt(request: SynthesisRequest, refName: string, options: SynthesizeOptions): Promise<Uint8Array> {
    const jobId = randomUUID();
    // Like RunPod's /run, the submission is not aborted mid-flight so that a started job is always known and killed.
    const res = await httpRequest(`${this.base}/tts`, {
      method: 'POST',
      body: { text: request.text, ref_name: refName, speed: request.speed, job_id: jobId },
      timeoutMs: this.opts.requestTimeoutMs ?? 15_000,
    });
    if (res.status !== 202 && res.status !== 200) throw this.submitError(res, request.voice);
    const job = parseBody(accepted, res, 'the job submission');
    options.onEvent?.({ type: 'queued', jobId: job.job_id });
    let done = false;
    try {
      const filename = await this.waitForJob(job.job_id, job.filename, options);
      done = true;
      const { status, bytes } = await httpGetBytes(`${this.base}/output/${encodeURIComponent(filename)}`, this.opts.requestTimeoutMs ?? 15_000, options.signal);
      if (status !== 200) throw new NarratorError('transient', 'download_failed', `Could not download the audio from the worker (HTTP ${status}).`);
      return bytes;
    } catch (err) {
      if (!done) await this.kill(job.job_id);
      throw err;
    } finally {
      await this.cleanup(job.job_id);
    }
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

  private submitError(res: HttpResponse, voice: string): NarratorError {
    const body = errorBody.safeParse(res.json);
    const code = body.success ? (body.data.error ?? '') : '';
    const detail = res.text.slice(0, 500);
    if (res.status === 503) return new NarratorError('transient', 'worker_busy', 'The TTS worker is busy with another job.', detail);
    if (res.status === 404 && code === 'ref_not_found') {
      return new NarratorError('user', 'voice_not_installed', `The voice "${voice}" is not installed on the worker.`, detail);
    }
    if (res.status === 400 && code === 'invalid_speed') return new NarratorError('user', 'speed_invalid', 'The worker rejected the speed.', detail);
    if (res.status === 500) return new NarratorError('transient', 'inference_failed', 'The TTS model failed on this sentence.', detail);
    return new NarratorError('permanent', 'bad_request', `The TTS worker rejected the request (HTTP ${res.status}${code ? `: ${code}` : ''}).`, detail);
  }

  private async kill(jobId: string): Promise<void> {
    try {
      await httpRequest(`${this.base}/tts/kill/${encodeURIComponent(jobId)}`, { method: 'POST', body: {}, timeoutMs: 5_000 });
    } catch (err) {
      this.log.warn({ jobId, err: String(err) }, 'could not kill a Flask TTS job');
    }
  }

  /** The seed's §5: the worker keeps a progress file per job until told to drop it. */
  private async cleanup(jobId: string): Promise<void> {
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
