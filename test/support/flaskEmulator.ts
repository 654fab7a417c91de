/**
 * A local, faithful stand-in for the F5-TTS worker's Flask API (`flask_tts_api_optimized.py`, the seed's
 * "local/Docker" mode; ../../shared/contracts/worker.md §3), for integration tests and the benchmark.
 *
 * It reproduces the real server's behaviour, quirks included:
 * - one job at a time (a lock): a second POST /tts while a job runs gets 503 `busy`;
 * - validation order: invalid_json → missing_text → missing_ref_name → invalid_speed → ref_not_found → busy →
 *   inference_failed, then 202;
 * - the job runs in the background and writes progress the way the worker thread does: pending 0 → init 5 →
 *   loading_model 10 → generating_audio 15 → generating "Batch i/n" (10 + i/n × 75) → saving_audio 90 →
 *   completed 100 (+ filename); failures write −1 `failed`/`cancelled`; an unknown id reads `pending` 0;
 * - POST /tts/kill/{id} writes `cancelled` at once but the job only stops (and the lock is only released) at its
 *   next checkpoint: the batch progress callback, i.e. when the current batch ends; a kill during the last batch
 *   or saving_audio is too late and the job completes; steps between kill and checkpoint overwrite the
 *   `cancelled` progress, and the thread writes its own final entry when it stops — so a progress entry deleted
 *   right after the kill comes back, as in the real code;
 * - output WAVs stay in the output folder until DELETE /tts/cleanup-file/{filename} (which also drops the progress
 *   entry naming that file); progress entries stay until DELETE /tts/progress/{id};
 * - every JSON reply is Flask's `jsonify`: compact, keys sorted, trailing newline; unknown routes get Flask's
 *   HTML 404.
 * `invalid_speed` is in the contract but not in the public worker source, so its range is a guess (0.1–3.0).
 * (Not reproduced: the real POST /tts also writes a `progress_temp.json` that nothing ever deletes.)
 *
 * Teardown invariant: close() rejects, listing them, while a job still runs or a progress entry or an output file is
 * left — so every test that uses the emulator proves its client cleaned up on the worker (the server is closed
 * either way).
 *
 * The voice rules (`resolveRefName`, `speedIsValid`) are exported because the RunPod handler forwards its input
 * to this same API inside the worker: the RunPod emulator applies them to produce `Flask API error: …` failures.
 */
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { fakeSynthesize, latencyModel, seededRandom, textHash, type FakeWavFormat } from './fakeVoice.js';
import { ChangeSignal, RequestLog, TimerSet, readBody, sendBytes, sendText, startHttpServer, waitUntil } from './httpServer.js';

export const DEFAULT_VOICES: readonly string[] = ['narrator', 'female', 'male'];
/** What the seed's image wants; later builds want `{voice}` or `{voice}.wav`. */
export const DEFAULT_REF_NAME_TEMPLATE = 'sample/{voice}.wav';
/** (guess) The public worker does not validate speed; the contract lists `invalid_speed`. */
export const FLASK_SPEED_LIMITS = { min: 0.1, max: 3 } as const;
const DEFAULT_SPEED = 0.9;

// ---------------------------------------------------------------------------------------------------------
// Worker rules shared with the RunPod emulator

/** Flask's `jsonify`: compact separators, sorted keys, trailing newline. */
export function flaskJsonText(value: unknown): string {
  return `${JSON.stringify(sortKeys(value))}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The 400 body for a speed outside FLASK_SPEED_LIMITS. */
export function invalidSpeedBody(): Record<string, unknown> {
  return { error: 'invalid_speed', message: `speed must be a number between ${FLASK_SPEED_LIMITS.min} and ${FLASK_SPEED_LIMITS.max}` };
}

export function speedIsValid(speed: unknown): speed is number {
  return typeof speed === 'number' && Number.isFinite(speed) && speed >= FLASK_SPEED_LIMITS.min && speed <= FLASK_SPEED_LIMITS.max;
}

/** The worker's clean-up of `ref_name`: trim, drop a `voice:` prefix, make sure it ends in `.wav`. */
function cleanRefName(raw: string): string {
  let name = raw.trim();
  if (name.toLowerCase().startsWith('voice:')) name = name.slice(6);
  if (!name.toLowerCase().endsWith('.wav')) name = `${name}.wav`;
  return name;
}

export type RefNameResolution =
  | { readonly ok: true; readonly voice: string; readonly stem: string }
  | { readonly ok: false; readonly status: 400 | 404; readonly body: Record<string, unknown> };

/**
 * Which voice `refName` names: it must equal the template with `{voice}` replaced by a known voice, after the
 * worker's own clean-up (so with template `{voice}`, both `narrator` and `narrator.wav` work, and the seed's
 * `sample/narrator.wav` gives `ref_not_found`, as on later builds).
 */
export function resolveRefName(refName: string, voices: readonly string[], template: string): RefNameResolution {
  const cleaned = cleanRefName(refName);
  if (cleaned.split(/[\\/]/).includes('..')) {
    return { ok: false, status: 400, body: { error: 'path_traversal_attempt', message: 'Invalid ref_name.' } };
  }
  const voice = voices.find((v) => cleanRefName(template.replaceAll('{voice}', v)) === cleaned);
  if (voice !== undefined) return { ok: true, voice, stem: cleaned.replace(/^.*[\\/]/, '').replace(/\.wav$/i, '') };
  return {
    ok: false,
    status: 404,
    body: {
      error: 'ref_not_found',
      message: "Reference voice file not found for the given 'ref_name'.",
      details: { original_ref_name: refName, cleaned_ref_name: cleaned, full_path_checked: `/app/sample/${cleaned}` },
    },
  };
}

/**
 * The worker's output file name: `f5tts_<UTC stamp>_<6 random>_<first 5 words>.wav`, keeping letters (any
 * script), digits, spaces, `-` and `_` — so Vietnamese names with spaces reach the URL, as they do for real.
 */
export function workerFilename(text: string, salt: number): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  const random = seededRandom(textHash(text) ^ salt);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const rand = Array.from({ length: 6 }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  const preview = [...text.split(/\s+/).filter(Boolean).slice(0, 5).join(' ')].filter((c) => /[\p{L}\p{N} _-]/u.test(c)).join('').trim();
  return `f5tts_${stamp}_${rand}${preview ? `_${preview}` : ''}.wav`;
}

// ---------------------------------------------------------------------------------------------------------
// Emulator

export type FlaskFault =
  /** POST /tts answers 500 `inference_failed` (e.g. the reference transcription failed); the lock is released. */
  | { readonly kind: 'inference-failed'; readonly message?: string }
  /** The job fails in the background during batch `atBatch` (default 1): progress −1 `failed`. */
  | { readonly kind: 'fail'; readonly message?: string; readonly atBatch?: number }
  /** Inference stalls after generating_audio: no batch ever completes; a kill still works at the next checkpoint. */
  | { readonly kind: 'hang' }
  /** The job takes `ms` instead of the planned time. */
  | { readonly kind: 'slow'; readonly ms: number };

export interface FlaskFaultContext {
  readonly text: string;
  readonly jobId: string;
  /** 1-based: how many POST /tts got this text so far, this one included. */
  readonly attemptForText: number;
  /** 0-based index among POST /tts that passed validation and the busy check (this one's turn). */
  readonly jobIndex: number;
}

export type FlaskRoute = 'health' | 'status' | 'voices' | 'tts' | 'progress' | 'progress-delete' | 'kill' | 'output' | 'cleanup-file' | 'unknown';

export interface FlaskEmulatorOptions {
  readonly voices?: readonly string[];
  readonly refNameTemplate?: string;
  /** Planned job time from the request (`{text, speed, ref_name}`); default `latencyModel()`. */
  readonly jobTimeMs?: (input: Readonly<Record<string, unknown>>) => number;
  /** Internal F5-TTS batches for a text; default one per started 100 characters. */
  readonly batches?: (text: string) => number;
  /** When > 0 the model is not loaded at start: the first job spends this long in loading_model. */
  readonly coldStartMs?: number;
  readonly synth?: (text: string, speed: number) => Uint8Array;
  readonly wavFormat?: FakeWavFormat;
  readonly fault?: (ctx: FlaskFaultContext) => FlaskFault | undefined;
  /** Answer request n (1-based) of `route` with this bare status instead (e.g. a proxy's 502). */
  readonly httpFault?: (route: FlaskRoute, n: number) => number | undefined;
  /**
   * Awaited by the worker thread right after it enters `saving_audio`: a test holds a job in that short phase
   * (a kill then arrives there for sure, however slow the machine) instead of racing a poller against 4 % of a job.
   */
  readonly holdSaving?: (jobId: string) => Promise<void>;
  /**
   * Each state of a running job stays until a GET /tts/progress has reported it: a poller sees every phase, in
   * order, however loaded the machine (the phases are a few % of a job each). For tests of the progress sequence.
   */
  readonly lockstep?: boolean;
}

export type FlaskJobOutcome = 'running' | 'completed' | 'failed' | 'cancelled';

export interface FlaskJobRecord {
  readonly id: string;
  readonly text: string;
  readonly refName: string;
  readonly voice: string;
  readonly speed: number;
  readonly filename: string;
  readonly batches: number;
  /** Planned duration (ms), cold start excluded; a `slow` fault replaces it. */
  readonly jobMs: number;
  readonly fault: FlaskFault | undefined;
  /** performance.now() values. */
  readonly submittedAt: number;
  finishedAt: number | undefined;
  outcome: FlaskJobOutcome;
  /** When POST /tts/kill was accepted for this job. */
  killRequestedAt: number | undefined;
  /** Whether someone sent DELETE /tts/progress/{id} (the seed's clean-up). */
  progressDeleted: boolean;
  downloads: number;
  /** Whether its output file was deleted through DELETE /tts/cleanup-file/{filename}. */
  fileDeleted: boolean;
}

export interface FlaskEmulator {
  /** `http://127.0.0.1:PORT` — what `F5_TTS_API_URL` should be. */
  readonly baseUrl: string;
  readonly jobs: readonly FlaskJobRecord[];
  readonly requests: RequestLog<FlaskRoute>;
  /** The job holding the lock, if any. */
  currentJob(): FlaskJobRecord | undefined;
  /** Resolves once no job holds the lock; rejects after `timeoutMs` (default 10 s). */
  waitIdle(timeoutMs?: number): Promise<void>;
  /** What the worker still holds: the running job, progress entries (by job id), output files (by name). */
  leftovers(): { readonly running: string | undefined; readonly progress: string[]; readonly files: string[] };
  /** Stops the server; rejects (after stopping it) when leftovers() is not empty. */
  close(): Promise<void>;
}

interface ProgressRecord {
  progress: number;
  status: string;
  extra: string | null;
  timestamp: number;
  batch_current?: number;
  batch_total?: number;
  filename?: string;
}

const ttsBody = z.looseObject({
  text: z.unknown().optional(),
  ref_name: z.unknown().optional(),
  speed: z.unknown().optional(),
  job_id: z.unknown().optional(),
});

/** Raised inside a job at a checkpoint when the job was killed (the worker's InterruptedError). */
class Interrupted extends Error {}

export async function startFlaskEmulator(opts: FlaskEmulatorOptions = {}): Promise<FlaskEmulator> {
  const voices = opts.voices ?? DEFAULT_VOICES;
  const template = opts.refNameTemplate ?? DEFAULT_REF_NAME_TEMPLATE;
  const jobTimeMs = opts.jobTimeMs ?? latencyModel();
  const batchesFor = opts.batches ?? ((text: string) => Math.max(1, Math.ceil([...text].length / 100)));
  const synth = opts.synth ?? ((text: string, speed: number) => fakeSynthesize(text, speed, { format: opts.wavFormat ?? 'pcm16' }));

  const timers = new TimerSet();
  const changed = new ChangeSignal();
  const requests = new RequestLog<FlaskRoute>();
  const jobs: FlaskJobRecord[] = [];
  const progress = new Map<string, ProgressRecord>();
  const files = new Map<string, { bytes: Uint8Array; job: FlaskJobRecord }>();
  const cancelled = new Set<string>();
  const textCounts = new Map<string, number>();
  let modelLoaded = !(opts.coldStartMs !== undefined && opts.coldStartMs > 0);
  let current: FlaskJobRecord | undefined;
  let currentStartedAt: number | undefined;
  let closed = false;
  let faultCalls = 0;

  const writeProgress = (jobId: string, value: number, status: string, extra: string | null = null, more: Partial<ProgressRecord> = {}): void => {
    progress.set(jobId, { progress: value, status, extra, timestamp: Date.now() / 1000, ...more });
    reported.delete(jobId);
  };
  /** `lockstep`: job ids whose current state a GET has reported, and the worker waiting for that. */
  const reported = new Set<string>();
  const awaitingReport = new Map<string, () => void>();
  const shown = async (jobId: string): Promise<void> => {
    if (!opts.lockstep || reported.has(jobId)) return;
    await new Promise<void>((resolve) => awaitingReport.set(jobId, resolve));
  };

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    sendText(res, status, flaskJsonText(body), 'application/json');
  };

  const htmlError = (res: ServerResponse, status: 404 | 405): void => {
    const title = status === 404 ? '404 Not Found' : '405 Method Not Allowed';
    const text =
      status === 404
        ? 'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.'
        : 'The method is not allowed for the requested URL.';
    sendText(res, status, `<!doctype html>\n<html lang=en>\n<title>${title}</title>\n<h1>${title.slice(4)}</h1>\n<p>${text}</p>\n`, 'text/html; charset=utf-8');
  };

  const release = (job: FlaskJobRecord, outcome: FlaskJobOutcome): void => {
    job.outcome = outcome;
    job.finishedAt = performance.now();
    cancelled.delete(job.id);
    if (current === job) {
      current = undefined;
      currentStartedAt = undefined;
    }
    changed.notify();
  };

  /** The worker thread (`process_job_async`), step by step, with its cancellation checkpoints. */
  const runJob = async (job: FlaskJobRecord): Promise<void> => {
    // Five short steps (4 % each) around the batches (80 %), so every status is observable by a poller.
    const step = job.jobMs * 0.04;
    const batchMs = (job.jobMs * 0.8) / job.batches;
    const checkpoint = (message: string): void => {
      if (cancelled.has(job.id)) throw new Interrupted(message);
    };
    try {
      await timers.sleep(step);
      checkpoint('Job cancelled before start');
      await shown(job.id);
      writeProgress(job.id, 5, 'init');
      await timers.sleep(step);
      await shown(job.id);
      writeProgress(job.id, 10, 'loading_model');
      checkpoint('Job cancelled');
      await timers.sleep(step + (modelLoaded ? 0 : (opts.coldStartMs ?? 0)));
      modelLoaded = true;
      await shown(job.id);
      writeProgress(job.id, 15, 'generating_audio');
      await timers.sleep(step);
      if (job.fault?.kind === 'hang') {
        for (;;) {
          await timers.sleep(batchMs);
          checkpoint(`Job ${job.id} was cancelled`);
        }
      }
      for (let i = 1; i <= job.batches; i++) {
        // The progress callback runs as each batch begins; it is also the kill checkpoint.
        checkpoint(`Job ${job.id} was cancelled`);
        await shown(job.id);
        writeProgress(job.id, Math.trunc(10 + (i / job.batches) * 75), 'generating', `Batch ${i}/${job.batches}`, {
          batch_current: i,
          batch_total: job.batches,
        });
        await timers.sleep(batchMs);
        if (job.fault?.kind === 'fail' && i === Math.min(job.batches, job.fault.atBatch ?? 1)) {
          throw new Error(job.fault.message ?? 'CUDA out of memory. Tried to allocate 2.00 GiB');
        }
      }
      await shown(job.id);
      writeProgress(job.id, 90, 'saving_audio');
      await opts.holdSaving?.(job.id);
      await timers.sleep(step);
      files.set(job.filename, { bytes: synth(job.text, job.speed), job });
      const elapsed = (performance.now() - job.submittedAt) / 1000;
      await shown(job.id);
      writeProgress(job.id, 100, 'completed', `Completed in ${elapsed.toFixed(2)}s`, { filename: job.filename });
      release(job, 'completed');
    } catch (err) {
      if (err instanceof Interrupted) {
        writeProgress(job.id, -1, 'cancelled', err.message);
        release(job, 'cancelled');
      } else {
        writeProgress(job.id, -1, 'failed', err instanceof Error ? err.message : String(err));
        release(job, 'failed');
      }
    }
  };

  const postTts = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req, 50 * 1024 * 1024);
    let parsed: unknown;
    try {
      if (raw === 'too-large') throw new Error('413 Request Entity Too Large');
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      reply(res, 400, { error: 'invalid_json', message: err instanceof Error ? err.message : String(err) });
      return;
    }
    // Flask reads `(payload or {})`: null acts as an empty object; another non-object breaks the view (guess: 400).
    const body = ttsBody.safeParse(parsed ?? {});
    if (!body.success) {
      reply(res, 400, { error: 'invalid_json', message: 'Expected a JSON object' });
      return;
    }
    const { text, ref_name: refName, speed = DEFAULT_SPEED, job_id: customId } = body.data;
    if (typeof text !== 'string' || text.trim() === '') return reply(res, 400, { error: 'missing_text' });
    if (typeof refName !== 'string' || refName.trim() === '') return reply(res, 400, { error: 'missing_ref_name' });
    if (!speedIsValid(speed)) return reply(res, 400, invalidSpeedBody());
    const ref = resolveRefName(refName, voices, template);
    if (!ref.ok) return reply(res, ref.status, ref.body);
    if (current !== undefined) {
      return reply(res, 503, {
        error: 'busy',
        message: 'Server is processing another job. Please try again later.',
        current_job: current.id,
        estimated_wait: currentStartedAt === undefined ? null : Math.trunc((performance.now() - currentStartedAt) / 1000),
      });
    }
    const jobId = typeof customId === 'string' && customId !== '' ? customId : `job_${Date.now()}_${jobs.length}`;
    const attemptForText = (textCounts.get(text) ?? 0) + 1;
    textCounts.set(text, attemptForText);
    const fault = opts.fault?.({ text, jobId, attemptForText, jobIndex: faultCalls++ });
    if (fault?.kind === 'inference-failed') {
      return reply(res, 500, { error: 'inference_failed', message: fault.message ?? 'text_ref_failed: PhoWhisper returned empty transcription.' });
    }
    const job: FlaskJobRecord = {
      id: jobId,
      text,
      refName,
      voice: ref.voice,
      speed,
      filename: workerFilename(text, jobs.length),
      batches: Math.max(1, Math.trunc(batchesFor(text))),
      jobMs: fault?.kind === 'slow' ? fault.ms : jobTimeMs({ text, speed, ref_name: refName }),
      fault,
      submittedAt: performance.now(),
      finishedAt: undefined,
      outcome: 'running',
      killRequestedAt: undefined,
      progressDeleted: false,
      downloads: 0,
      fileDeleted: false,
    };
    jobs.push(job);
    current = job;
    currentStartedAt = job.submittedAt;
    cancelled.delete(jobId);
    writeProgress(jobId, 0, 'pending');
    changed.notify();
    void runJob(job);
    reply(res, 202, {
      job_id: jobId,
      status: 'processing',
      message: 'Job started. Poll /tts/progress/{job_id} for status',
      wav_url: `${baseUrl}/output/${encodeURIComponent(job.filename)}`,
      filename: job.filename,
      sample_used: ref.stem,
      text_ref: `Reference text of ${ref.voice}.`,
    });
  };

  const route = (method: string, path: string): { route: FlaskRoute; param?: string; allowed: boolean } => {
    const m = /^\/(tts\/progress|tts\/kill|tts\/cleanup-file|output)\/(.+)$/.exec(path);
    if (m) {
      const param = m[2] ?? '';
      if (m[1] === 'tts/cleanup-file') return { route: 'cleanup-file', param, allowed: method === 'DELETE' };
      if (m[1] === 'tts/progress') return { route: method === 'DELETE' ? 'progress-delete' : 'progress', param, allowed: method === 'GET' || method === 'DELETE' };
      if (m[1] === 'tts/kill') return { route: 'kill', param, allowed: method === 'POST' };
      return { route: 'output', param, allowed: method === 'GET' || method === 'HEAD' };
    }
    if (path === '/health') return { route: 'health', allowed: method === 'GET' };
    if (path === '/status') return { route: 'status', allowed: method === 'GET' };
    if (path === '/voices') return { route: 'voices', allowed: method === 'GET' };
    if (path === '/tts') return { route: 'tts', allowed: method === 'POST' };
    return { route: 'unknown', allowed: true };
  };

  const server = await startHttpServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const r = route(method, url.pathname);
    const n = requests.record(req, res, r.route, true);
    const injected = opts.httpFault?.(r.route, n);
    if (injected !== undefined) {
      req.resume();
      return sendText(res, injected, `${injected} injected by the emulator\n`);
    }
    if (r.route === 'unknown') return htmlError(res, 404);
    if (!r.allowed) return htmlError(res, 405);
    let param = '';
    try {
      param = decodeURIComponent(r.param ?? '');
    } catch {
      return htmlError(res, 404);
    }

    switch (r.route) {
      case 'health':
        return reply(res, 200, { status: 'healthy', service: 'f5-tts' });
      case 'status':
        return reply(res, 200, {
          api_version: '3.0-optimized',
          model_loaded: modelLoaded,
          busy: current !== undefined,
          current_job: current?.id ?? null,
          job_duration: currentStartedAt === undefined ? null : (performance.now() - currentStartedAt) / 1000,
          gpu_available: false,
        });
      case 'voices':
        return reply(res, 200, {
          voices: [...voices].sort().map((id) => ({
            id,
            wav: `${id}.wav`,
            txt: `${id}.txt`,
            path: `sample/${id}.wav`,
            size_mb: 0.52,
            reference_text: `Reference text of ${id}.`,
          })),
          count: voices.length,
          sample_dir: 'sample',
        });
      case 'tts':
        return postTts(req, res);
      case 'progress':
        reply(res, 200, progress.get(param) ?? { progress: 0, status: 'pending' });
        if (progress.has(param)) {
          reported.add(param);
          awaitingReport.get(param)?.();
          awaitingReport.delete(param);
        }
        return;
      case 'progress-delete': {
        progress.delete(param);
        for (const job of jobs) if (job.id === param) job.progressDeleted = true;
        return reply(res, 200, { status: 'deleted' });
      }
      case 'kill': {
        if (current?.id !== param) {
          return reply(res, 400, { status: 'not_running', message: `Job ${param} is not currently running`, current_job: current?.id ?? null });
        }
        cancelled.add(param);
        current.killRequestedAt = performance.now();
        writeProgress(param, -1, 'cancelled', 'Job cancelled by user');
        return reply(res, 200, { status: 'cancelled', job_id: param, message: 'Job cancelled. GPU memory released.' });
      }
      case 'cleanup-file': {
        const file = files.get(param);
        if (!file) return reply(res, 404, { status: 'not_found', message: `File ${param} not found` });
        files.delete(param);
        file.job.fileDeleted = true;
        // The real route also drops the (first) progress entry that names this file.
        for (const [id, p] of progress) {
          if (p.filename === param) {
            progress.delete(id);
            break;
          }
        }
        return reply(res, 200, { status: 'deleted', filename: param });
      }
      case 'output': {
        const file = files.get(param);
        if (!file) return reply(res, 404, { error: 'File not found', path: `/app/output/${param}` });
        file.job.downloads++;
        return sendBytes(res, 200, file.bytes, 'audio/x-wav');
      }
    }
  });
  const baseUrl = server.origin;
  const leftovers = () => ({ running: current?.id, progress: [...progress.keys()], files: [...files.keys()] });

  return {
    baseUrl,
    jobs,
    requests,
    currentJob: () => current,
    async waitIdle(timeoutMs = 10_000) {
      await waitUntil(changed, timers, () => closed || current === undefined, timeoutMs, 'Flask emulator idle');
      if (closed) throw new Error('Flask emulator closed');
    },
    leftovers,
    async close() {
      const left = leftovers();
      closed = true;
      timers.clearAll();
      changed.notify();
      await server.close();
      if (left.running !== undefined || left.progress.length > 0 || left.files.length > 0) {
        throw new Error(`Flask emulator closed with work left on the worker: ${JSON.stringify(left)}`);
      }
    },
  };
}
