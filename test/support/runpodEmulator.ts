/**
 * A local, faithful stand-in for a RunPod serverless endpoint running the F5-TTS worker
 * (../../shared/contracts/worker.md §1–2), for integration tests and the benchmark. Point a client at it with
 * `RUNPOD_BASE_URL = emulator.baseUrl` (`http://127.0.0.1:PORT/v2`) and `RUNPOD_ENDPOINT_ID = emulator.endpointId`.
 *
 * Three layers are emulated, each as the real one behaves:
 * - the RunPod API: routes, auth, a FIFO queue served by N workers running one job each, cold starts (a job stays
 *   IN_QUEUE while its worker boots), `policy.executionTimeout` → TIMED_OUT, `policy.ttl` → deleted (404),
 *   long-poll `/status-sync` that wakes the moment the job ends, cancel freeing the worker at once, retry, purge;
 * - the RunPod Python SDK's handling of what the handler gives back: a returned dict with a string `error` is
 *   popped to the job's top level (FAILED, rest of the dict in `output`); a raise becomes FAILED with `error` =
 *   JSON string `{error_type, error_message, error_traceback, hostname, worker_id, runpod_version}`; a non-string
 *   `error` gives COMPLETED without output; a result over the 10 MB limit gives COMPLETED without output;
 * - the F5-TTS handler itself (`runpod_handler_simple.py`): `Missing 'text' in input`, the Flask API's own
 *   validation surfacing as `Flask API error: <body>` (+ `status_code`), per-worker duplicate `job_id`s, and the two
 *   success generations (1: `audio_base64`; 2: `download_url` served here under /files/, plus an optional
 *   `confirmation_url` whose POST is recorded on the job).
 * Faults (`fault`, `httpFault`, `storm`, `download`, `outputOverride`) inject everything else. Where worker.md is
 * silent the choice follows RunPod's real behaviour as far as known and is marked "(RunPod)" or, when unverified,
 * "(guess)".
 *
 * Teardown invariant (issue 8): `close()` refuses — it still tears everything down, then rejects listing the jobs —
 * while a job is IN_QUEUE/IN_PROGRESS, so every test that touches the emulator proves it left nothing running on
 * the "GPU". A test that means to leave jobs running calls `cancelAll()` (or `close({ allowActive: true })`) first.
 *
 * Not modelled: webhooks (accepted, never called), result expiry after 30 min / 1 min, real rate limits (inject
 * 429s with `httpFault` or `storm`). The worker's wait for the download confirmation is modelled only as extra
 * run time (`confirmationWaitMs`): the confirmation can never arrive before the job ends, as in production.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { fakeSynthesize, latencyModel, type FakeWavFormat } from './fakeVoice.js';
import {
  DEFAULT_REF_NAME_TEMPLATE,
  DEFAULT_VOICES,
  flaskJsonText,
  invalidSpeedBody,
  resolveRefName,
  speedIsValid,
  workerFilename,
} from './flaskEmulator.js';
import { ChangeSignal, RequestLog, TimerSet, readBody, sendBytes, sendJson, sendText, startHttpServer, waitUntil } from './httpServer.js';

export { latencyModel, type LatencyModelOptions } from './fakeVoice.js';

export type RunPodJobStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export type RunPodFault =
  /** The handler returns `{error, status: 'failed', job_id, ...extra}` → FAILED, `error` at top level. */
  | { readonly kind: 'error'; readonly error: string; readonly extra?: Readonly<Record<string, unknown>>; readonly afterMs?: number; readonly dropOutput?: boolean }
  /** The handler raises → FAILED with the SDK's JSON error string. */
  | { readonly kind: 'raise'; readonly message: string; readonly errorType?: string; readonly afterMs?: number }
  /** The seed's vocabulary: the handler returns `{error: <code>, message}` (code e.g. `tts_failed`, `Server busy`). */
  | { readonly kind: 'seed-error'; readonly error: string; readonly message?: string; readonly afterMs?: number }
  /** COMPLETED without `output` (the result upload failed). */
  | { readonly kind: 'no-output'; readonly afterMs?: number }
  /** The handler returns a non-string `error` → COMPLETED without `output`. */
  | { readonly kind: 'non-string-error'; readonly afterMs?: number }
  /** Never finishes: TIMED_OUT at the execution timeout if there is one, else runs until cancelled. */
  | { readonly kind: 'hang' }
  /** The handler answers `Job already processed by this worker` (default after 5 ms). */
  | { readonly kind: 'duplicate'; readonly afterMs?: number }
  /** Succeeds, but takes `ms` instead of the planned time. */
  | { readonly kind: 'slow'; readonly ms: number };

export interface RunPodFaultContext {
  readonly input: Readonly<Record<string, unknown>>;
  readonly jobId: string;
  /** 1-based: how many executions this `input.text` has started so far, this one included (retries count). */
  readonly attemptForText: number;
  /** 0-based index of this execution among all executions the emulator started. */
  readonly jobIndex: number;
}

export type RunPodRoute =
  | 'run'
  | 'runsync'
  | 'status'
  | 'status-sync'
  | 'cancel'
  | 'retry'
  | 'purge-queue'
  | 'health'
  | 'files'
  | 'confirm'
  | 'unknown';

export interface RunPodEmulatorOptions {
  /** Port on 127.0.0.1; default 0 (a free one). */
  readonly port?: number;
  /** Default 'test-endpoint'. */
  readonly endpointId?: string;
  /** Default 'rpa_TESTKEY0000000000000000000000000000000000000000'. */
  readonly apiKey?: string;
  /** Workers of the endpoint (one job each); default 3. 0 = jobs wait IN_QUEUE forever ("no workers"). */
  readonly workers?: number;
  /** Planned execution time of a job from its input; default `latencyModel()`. */
  readonly jobTimeMs?: (input: Readonly<Record<string, unknown>>) => number;
  /** When > 0 every worker starts cold: the first job it takes waits this long IN_QUEUE while it boots. */
  readonly coldStartMs?: number;
  /** 1: `audio_base64` (the seed); 2: `download_url` (+ `confirmation_url`). Default 1. */
  readonly outputGeneration?: 1 | 2;
  /** Generation 2 only: include `confirmation_url` / `confirmed` (default true). */
  readonly confirmation?: boolean;
  /** Default true; false makes `/status-sync/{id}` a 404 like any unknown route. */
  readonly statusSync?: boolean;
  readonly wavFormat?: FakeWavFormat;
  /** Replaces the fake voice. */
  readonly synth?: (text: string, speed: number) => Uint8Array;
  /** Voices the worker's Flask API knows (default narrator, female, male). */
  readonly voices?: readonly string[];
  /** How `ref_name` must be spelled (default 'sample/{voice}.wav'). */
  readonly refNameTemplate?: string;
  readonly fault?: (ctx: RunPodFaultContext) => RunPodFault | undefined;
  /** Answer request n (1-based) of `route` with this bare status, before anything else happens. */
  readonly httpFault?: (route: RunPodRoute, n: number) => number | undefined;
  /**
   * How long a queued job waits before an idle worker takes it (default 10 ms): RunPod never starts a job
   * inside the /run call, and clients must be able to see IN_QUEUE.
   */
  readonly dispatchDelayMs?: number;
  /** Emit `{progress: n}` outputs while IN_PROGRESS (default true). */
  readonly progressUpdates?: boolean;
  /** Endpoint-level execution timeout, ms, for jobs without `policy.executionTimeout` (default none). */
  readonly executionTimeoutMs?: number;
  /** Result size limit (default 10 MB): bigger outputs are lost → COMPLETED without output. */
  readonly resultLimitBytes?: number;
  /**
   * An API storm: this fraction (0–1) of the calls to `routes` (default /status, /status-sync, /cancel) is answered
   * 429, or 503 for a `serverErrorShare` of them (default 0.2), chosen by a PRNG seeded with `seed` (default 1).
   */
  readonly storm?: { readonly fraction: number; readonly seed?: number; readonly serverErrorShare?: number; readonly routes?: readonly RunPodRoute[] };
  /** Generation 2: the newest handler's wait for a download confirmation, added to the run time (default 0). */
  readonly confirmationWaitMs?: number;
  /** Rewrites a successful handler output (e.g. point `download_url` elsewhere). */
  readonly outputOverride?: (output: Readonly<Record<string, unknown>>, job: RunPodJobRecord) => Record<string, unknown>;
  /** Answers the n-th (1-based) GET of a download URL another way than with the file. */
  readonly download?: (n: number) => RunPodDownloadFault | undefined;
}

export type RunPodDownloadFault =
  /** A redirect (302) to `location`. */
  | { readonly kind: 'redirect'; readonly location: string }
  /** A body of `bytes` zero bytes streamed with backpressure; with `declareLength`, Content-Length says so up front. */
  | { readonly kind: 'huge'; readonly bytes: number; readonly declareLength?: boolean };

export interface RunPodPolicy {
  readonly executionTimeout?: number;
  readonly ttl?: number;
  readonly lowPriority?: boolean;
}

export interface RunPodJobRecord {
  readonly id: string;
  readonly input: Readonly<Record<string, unknown>>;
  readonly policy: RunPodPolicy | undefined;
  readonly via: 'run' | 'runsync';
  readonly status: RunPodJobStatus;
  /** performance.now() values (ms). */
  readonly submittedAt: number;
  /** When the job last entered the queue (submission, or its last /retry). */
  readonly queuedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly workerId: string | undefined;
  /** Planned execution time (ms) of the current attempt; a `slow` fault replaces it when the job starts. */
  readonly jobMs: number;
  /** The fault injected into the current attempt, if any. */
  readonly fault: RunPodFault | undefined;
  readonly output: unknown;
  readonly error: string | undefined;
  readonly cancelled: boolean;
  /** Removed by its ttl or a purge: /status answers 404. */
  readonly deleted: boolean;
  readonly retries: number;
  /** Generation 2: GETs of its download_url. */
  readonly downloads: number;
  /** Generation 2: whether its confirmation_url was POSTed, and whether a download came first. */
  readonly confirmed: boolean;
  readonly confirmedAfterDownload: boolean | undefined;
  /** performance.now() when its ttl or a purge removed it. */
  readonly deletedAt: number | undefined;
}

export interface RunPodHealth {
  readonly jobs: { completed: number; failed: number; inProgress: number; inQueue: number; retried: number };
  readonly workers: { idle: number; initializing: number; ready: number; running: number; throttled: number; unhealthy: number };
}

export interface RunPodEmulator {
  /** `http://127.0.0.1:PORT/v2` — what `RUNPOD_BASE_URL` should be. */
  readonly baseUrl: string;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly endpointId: string;
  readonly apiKey: string;
  /** Every job ever submitted, in submission order (live records). */
  readonly jobs: readonly RunPodJobRecord[];
  readonly requests: RequestLog<RunPodRoute>;
  /** Jobs IN_QUEUE or IN_PROGRESS (not deleted). */
  activeJobs(): RunPodJobRecord[];
  job(id: string): RunPodJobRecord | undefined;
  health(): RunPodHealth;
  /** Resolves once no job is queued or running; rejects after `timeoutMs` (default 10 s). */
  waitIdle(timeoutMs?: number): Promise<void>;
  /** Most jobs IN_PROGRESS at once: on the whole endpoint, and on each worker (always ≤ 1 if the model is right). */
  maxInProgress(): { readonly total: number; readonly perWorker: Readonly<Record<string, number>> };
  /** Bytes the download route has written to sockets so far (huge bodies are streamed with backpressure). */
  readonly downloadBytesSent: number;
  /**
   * What RunPod bills: the sum of `executionTime` (ms, rounded as /status reports it) of every attempt that ran and
   * ended — completed, failed, timed out, cancelled while running, or removed by its ttl while running.
   */
  readonly billedExecutionMs: number;
  /** Deliberate teardown: cancels every job still queued or running (as a /cancel would) and returns them. */
  cancelAll(): RunPodJobRecord[];
  /**
   * Stops the server and every timer. Rejects (after tearing down) when a job is still IN_QUEUE/IN_PROGRESS,
   * listing them, unless `allowActive` — a test that leaks jobs fails here instead of passing silently.
   */
  close(opts?: { readonly allowActive?: boolean }): Promise<void>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type JobState = Mutable<RunPodJobRecord> & { workerJobId: string | undefined };

type WorkerState = 'cold' | 'initializing' | 'idle' | 'running';
interface Worker {
  readonly id: string;
  state: WorkerState;
  job: JobState | undefined;
  /** The handler's in-memory `processed_jobs`: job_ids this worker completed. */
  readonly processed: Set<string>;
}

/** What the handler did, before the SDK turns it into a job result. */
type HandlerOutcome =
  | { readonly kind: 'return'; readonly value: Readonly<Record<string, unknown>>; readonly onSuccess?: () => void }
  | { readonly kind: 'raise'; readonly message: string; readonly errorType: string }
  | { readonly kind: 'lost' };

const TERMINAL: ReadonlySet<RunPodJobStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
/** How long the handler takes to answer without running inference (validation, duplicate, Flask 4xx). */
const HANDLER_FAST_MS = 5;
const MB = 1024 * 1024;
const RUNPOD_SDK_VERSION = '1.7.9';

const policySchema = z.looseObject({
  executionTimeout: z.number().int().positive().optional(),
  ttl: z.number().int().positive().optional(),
  lowPriority: z.boolean().optional(),
});
const runBodySchema = z.looseObject({
  input: z.record(z.string(), z.unknown()),
  policy: policySchema.optional(),
  webhook: z.string().optional(),
});

const ROUTES: Readonly<Record<string, { route: RunPodRoute; methods: readonly string[]; hasId: boolean }>> = {
  run: { route: 'run', methods: ['POST'], hasId: false },
  runsync: { route: 'runsync', methods: ['POST'], hasId: false },
  // (RunPod) status reads accept POST too, as RunPod's own curl examples use it.
  status: { route: 'status', methods: ['GET', 'POST'], hasId: true },
  'status-sync': { route: 'status-sync', methods: ['GET', 'POST'], hasId: true },
  cancel: { route: 'cancel', methods: ['POST'], hasId: true },
  retry: { route: 'retry', methods: ['POST'], hasId: true },
  'purge-queue': { route: 'purge-queue', methods: ['POST'], hasId: false },
  health: { route: 'health', methods: ['GET'], hasId: false },
};

export async function startRunPodEmulator(opts: RunPodEmulatorOptions = {}): Promise<RunPodEmulator> {
  const endpointId = opts.endpointId ?? 'test-endpoint';
  const apiKey = opts.apiKey ?? 'rpa_TESTKEY0000000000000000000000000000000000000000';
  const jobTimeMs = opts.jobTimeMs ?? latencyModel();
  const coldStartMs = opts.coldStartMs ?? 0;
  const generation = opts.outputGeneration ?? 1;
  const withConfirmation = opts.confirmation ?? true;
  const statusSync = opts.statusSync ?? true;
  const voices = opts.voices ?? DEFAULT_VOICES;
  const template = opts.refNameTemplate ?? DEFAULT_REF_NAME_TEMPLATE;
  const progressUpdates = opts.progressUpdates ?? true;
  const resultLimit = opts.resultLimitBytes ?? 10 * MB;
  const dispatchDelayMs = opts.dispatchDelayMs ?? 10;
  const synth = opts.synth ?? ((text: string, speed: number) => fakeSynthesize(text, speed, { format: opts.wavFormat ?? 'pcm16' }));

  const timers = new TimerSet();
  const changed = new ChangeSignal();
  const requests = new RequestLog<RunPodRoute>();
  const jobs: JobState[] = [];
  const byId = new Map<string, JobState>();
  const queue: JobState[] = [];
  const jobTimers = new Map<string, Set<NodeJS.Timeout>>();
  const files = new Map<string, { bytes: Uint8Array; job: JobState }>();
  const byWorkerJobId = new Map<string, JobState>();
  const textCounts = new Map<string, number>();
  const workers: Worker[] = Array.from({ length: opts.workers ?? 3 }, (_, i) => ({
    id: `emu${String(i + 1).padStart(2, '0')}worker`,
    state: coldStartMs > 0 ? 'cold' : 'idle',
    job: undefined,
    processed: new Set<string>(),
  }));
  let executions = 0;
  let maxTotal = 0;
  const maxPerWorker = new Map<string, number>();
  let downloadBytesSent = 0;
  let billedExecutionMs = 0;
  let downloads = 0;
  const stormRandom = seededRandom(opts.storm?.seed ?? 1);
  const stormRoutes = new Set<RunPodRoute>(opts.storm?.routes ?? ['status', 'status-sync', 'cancel']);
  const confirmationWaitMs = opts.confirmationWaitMs ?? 0;
  let pumpScheduled = false;
  let closed = false;
  let origin = '';

  // ------------------------------------------------------------------------------------------- scheduling

  const jobTimer = (job: JobState, fn: () => void, ms: number): void => {
    const handle = timers.set(() => {
      jobTimers.get(job.id)?.delete(handle as NodeJS.Timeout);
      fn();
    }, ms);
    if (handle === undefined) return;
    let set = jobTimers.get(job.id);
    if (!set) jobTimers.set(job.id, (set = new Set()));
    set.add(handle);
  };

  const clearJobTimers = (job: JobState): void => {
    for (const handle of jobTimers.get(job.id) ?? []) timers.clear(handle);
    jobTimers.delete(job.id);
  };

  const enqueue = (job: JobState): void => {
    // (RunPod) low-priority jobs wait behind normal ones.
    const at = job.policy?.lowPriority ? queue.length : queue.findIndex((j) => j.policy?.lowPriority === true);
    queue.splice(at === -1 ? queue.length : at, 0, job);
    schedulePump();
  };

  const removeFromQueue = (job: JobState): void => {
    const at = queue.indexOf(job);
    if (at !== -1) queue.splice(at, 1);
  };

  /** Dispatch a little later, never inside the request: a fresh job is observably IN_QUEUE first, as on RunPod. */
  const schedulePump = (): void => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    timers.set(() => {
      pumpScheduled = false;
      pump();
    }, dispatchDelayMs);
  };

  const pump = (): void => {
    for (;;) {
      const worker = workers.find((w) => w.state === 'idle');
      const job = queue[0];
      if (!worker || !job) break;
      queue.shift();
      start(worker, job);
    }
    // Scale up: boot one cold worker per queued job not already covered by a booting one.
    let need = queue.length - workers.filter((w) => w.state === 'initializing').length;
    for (const worker of workers) {
      if (need <= 0) break;
      if (worker.state !== 'cold') continue;
      need--;
      worker.state = 'initializing';
      timers.set(() => {
        worker.state = 'idle';
        pump();
      }, coldStartMs);
    }
    changed.notify();
  };

  const freeWorker = (job: JobState): void => {
    const worker = workers.find((w) => w.job === job);
    if (!worker) return;
    worker.job = undefined;
    worker.state = 'idle';
    schedulePump();
  };

  // ------------------------------------------------------------------------------------------- the handler

  /** `runpod_handler_simple.py`: validation, the Flask API's answers, success in generation 1 or 2. */
  const runHandler = (worker: Worker, job: JobState, fault: RunPodFault | undefined): { outcome: HandlerOutcome; afterMs: number } | 'hang' => {
    const input = job.input;
    const text = input['text'];
    const refName = input['ref_name'] ?? 'sample/main.wav';
    const speed = input['speed'] ?? 0.9;
    const workerJobId = typeof input['job_id'] === 'string' ? input['job_id'] : `runpod_${Math.trunc(Date.now() / 1000)}`;
    job.workerJobId = workerJobId;
    const failed = (error: unknown, more: Record<string, unknown> = {}): HandlerOutcome => ({
      kind: 'return',
      value: { error, status: 'failed', job_id: workerJobId, ...more },
    });
    const fast = (outcome: HandlerOutcome): { outcome: HandlerOutcome; afterMs: number } => ({ outcome, afterMs: HANDLER_FAST_MS });
    const duplicate: HandlerOutcome = {
      kind: 'return',
      value: { error: 'Job already processed by this worker', status: 'duplicate', job_id: workerJobId },
    };

    switch (fault?.kind) {
      case 'hang':
        return 'hang';
      case 'duplicate':
        return { outcome: duplicate, afterMs: fault.afterMs ?? HANDLER_FAST_MS };
      case 'error': {
        const value: HandlerOutcome = fault.dropOutput
          ? { kind: 'return', value: { error: fault.error } }
          : failed(fault.error, { ...fault.extra });
        return { outcome: value, afterMs: fault.afterMs ?? job.jobMs };
      }
      case 'seed-error':
        return { outcome: { kind: 'return', value: { error: fault.error, message: fault.message ?? fault.error } }, afterMs: fault.afterMs ?? job.jobMs };
      case 'raise':
        return { outcome: { kind: 'raise', message: fault.message, errorType: fault.errorType ?? 'RuntimeError' }, afterMs: fault.afterMs ?? job.jobMs };
      case 'no-output':
        return { outcome: { kind: 'lost' }, afterMs: fault.afterMs ?? job.jobMs };
      case 'non-string-error':
        return { outcome: failed({ code: 'handler_exception', message: 'error was not a string' }), afterMs: fault.afterMs ?? job.jobMs };
      case 'slow':
      case undefined:
        break;
    }

    if (worker.processed.has(workerJobId)) return fast(duplicate);
    if (text === undefined || text === null || text === '') return fast({ kind: 'return', value: { error: "Missing 'text' in input", status: 'failed' } });
    // The handler forwards text/ref_name/speed to the Flask API, whose 4xx bodies come back verbatim.
    const flaskError = (statusCode: number, body: Record<string, unknown>): HandlerOutcome =>
      failed(`Flask API error: ${flaskJsonText(body)}`, { status_code: statusCode });
    if (typeof text !== 'string' || text.trim() === '') return fast(flaskError(400, { error: 'missing_text' }));
    if (typeof refName !== 'string' || refName.trim() === '') return fast(flaskError(400, { error: 'missing_ref_name' }));
    if (!speedIsValid(speed)) return fast(flaskError(400, invalidSpeedBody()));
    const ref = resolveRefName(refName, voices, template);
    if (!ref.ok) return fast(flaskError(ref.status, ref.body));

    const inferenceMs = fault?.kind === 'slow' ? fault.ms : job.jobMs;
    // The newest handler holds the job waiting for a confirmation that cannot come before the job ends.
    const afterMs = inferenceMs + (generation === 2 && withConfirmation ? confirmationWaitMs : 0);
    job.jobMs = afterMs;
    const filename = workerFilename(text, executions);
    const wav = synth(text, speed);
    const common = { filename, job_id: workerJobId, status: 'completed', sample_used: refName, processing_time_seconds: Math.round(inferenceMs / 10) / 100 };
    let value: Record<string, unknown>;
    if (generation === 1) {
      value = { ...common, audio_base64: Buffer.from(wav).toString('base64') };
    } else {
      // The worker builds the URL with an f-string: the file name goes in unencoded (spaces, Vietnamese letters).
      value = { ...common, download_url: `${origin}/files/${filename}` };
      if (withConfirmation) {
        value['confirmation_url'] = `${origin}/confirm-download/${encodeURIComponent(workerJobId)}`;
        value['confirmed'] = false;
      }
    }
    if (opts.outputOverride) value = opts.outputOverride(value, job);
    return {
      afterMs,
      outcome: {
        kind: 'return',
        value,
        onSuccess: () => {
          worker.processed.add(workerJobId);
          if (generation === 2) {
            files.set(filename, { bytes: wav, job });
            byWorkerJobId.set(workerJobId, job);
          }
        },
      },
    };
  };

  /** The RunPod SDK's view of the handler's outcome: which job status, `output` and `error` the API shows. */
  const settle = (job: JobState, outcome: HandlerOutcome): void => {
    if (outcome.kind === 'lost') return finish(job, 'COMPLETED', {});
    if (outcome.kind === 'raise') {
      const error = JSON.stringify({
        error_type: `<class '${outcome.errorType}'>`,
        error_message: outcome.message,
        error_traceback: `Traceback (most recent call last):\n  File "/app/runpod_handler_simple.py", line 64, in handler\n    raise ${outcome.errorType}(${JSON.stringify(outcome.message)})\n${outcome.errorType}: ${outcome.message}\n`,
        hostname: `${job.workerId ?? 'unknown'}-64411b27`,
        worker_id: job.workerId ?? 'unknown',
        runpod_version: RUNPOD_SDK_VERSION,
      });
      return finish(job, 'FAILED', { error });
    }
    const { error, ...rest } = outcome.value;
    if ('error' in outcome.value) {
      if (typeof error !== 'string') return finish(job, 'COMPLETED', {});
      return finish(job, 'FAILED', Object.keys(rest).length > 0 ? { error, output: rest } : { error });
    }
    if (Buffer.byteLength(JSON.stringify(outcome.value)) > resultLimit) return finish(job, 'COMPLETED', {});
    outcome.onSuccess?.();
    finish(job, 'COMPLETED', { output: outcome.value });
  };

  // ------------------------------------------------------------------------------------------- job lifecycle

  const start = (worker: Worker, job: JobState): void => {
    worker.state = 'running';
    worker.job = job;
    job.status = 'IN_PROGRESS';
    job.startedAt = performance.now();
    job.workerId = worker.id;
    job.output = undefined;
    const running = jobs.filter((j) => j.status === 'IN_PROGRESS' && !j.deleted);
    maxTotal = Math.max(maxTotal, running.length);
    const onWorker = running.filter((j) => j.workerId === worker.id).length;
    maxPerWorker.set(worker.id, Math.max(maxPerWorker.get(worker.id) ?? 0, onWorker));
    const text = typeof job.input['text'] === 'string' ? job.input['text'] : '';
    const attemptForText = (textCounts.get(text) ?? 0) + 1;
    textCounts.set(text, attemptForText);
    const fault = opts.fault?.({ input: job.input, jobId: job.id, attemptForText, jobIndex: executions });
    job.fault = fault;
    const plan = runHandler(worker, job, fault);
    executions++;

    const limit = job.policy?.executionTimeout ?? opts.executionTimeoutMs;
    const runsFor = plan === 'hang' ? Infinity : plan.afterMs;
    if (plan !== 'hang' && (limit === undefined || plan.afterMs <= limit)) {
      jobTimer(job, () => settle(job, plan.outcome), plan.afterMs);
    }
    if (limit !== undefined && runsFor > limit) jobTimer(job, () => finish(job, 'TIMED_OUT', {}), limit);
    // Progress updates (`runpod.serverless.progress_update`): output present while IN_PROGRESS.
    if (progressUpdates && runsFor > HANDLER_FAST_MS * 3) {
      const span = Number.isFinite(runsFor) ? runsFor : 60;
      for (const pct of [33, 66]) jobTimer(job, () => setProgress(job, pct), (span * pct) / 100);
    }
    changed.notify();
  };

  const setProgress = (job: JobState, progress: number): void => {
    if (job.status !== 'IN_PROGRESS') return;
    job.output = { progress };
    changed.notify();
  };

  const finish = (job: JobState, status: RunPodJobStatus, result: { output?: unknown; error?: string }): void => {
    clearJobTimers(job);
    job.status = status;
    job.finishedAt = performance.now();
    if (job.startedAt !== undefined) billedExecutionMs += Math.round(job.finishedAt - job.startedAt);
    job.output = result.output;
    job.error = result.error;
    freeWorker(job);
    changed.notify();
  };

  const submit = (input: Record<string, unknown>, policy: RunPodPolicy | undefined, via: 'run' | 'runsync'): JobState => {
    const now = performance.now();
    const job: JobState = {
      id: `${randomUUID()}-u1`,
      input,
      policy,
      via,
      status: 'IN_QUEUE',
      submittedAt: now,
      queuedAt: now,
      startedAt: undefined,
      finishedAt: undefined,
      workerId: undefined,
      jobMs: jobTimeMs(input),
      fault: undefined,
      output: undefined,
      error: undefined,
      cancelled: false,
      deleted: false,
      retries: 0,
      downloads: 0,
      confirmed: false,
      confirmedAfterDownload: undefined,
      deletedAt: undefined,
      workerJobId: undefined,
    };
    jobs.push(job);
    byId.set(job.id, job);
    enqueue(job);
    // policy.ttl counts from submission, queue and run time together; past it the job is gone (404).
    if (policy?.ttl !== undefined) timers.set(() => remove(job), policy.ttl);
    changed.notify();
    return job;
  };

  const remove = (job: JobState): void => {
    if (job.deleted) return;
    removeFromQueue(job);
    if (job.status === 'IN_PROGRESS') {
      if (job.startedAt !== undefined) billedExecutionMs += Math.round(performance.now() - job.startedAt);
      clearJobTimers(job);
      freeWorker(job);
    }
    job.deleted = true;
    job.deletedAt = performance.now();
    changed.notify();
  };

  const cancel = (job: JobState): void => {
    if (TERMINAL.has(job.status)) return; // (RunPod) a finished job stays as it was
    removeFromQueue(job);
    job.cancelled = true;
    finish(job, 'CANCELLED', {});
  };

  const retry = (job: JobState): void => {
    job.retries++;
    job.status = 'IN_QUEUE';
    job.queuedAt = performance.now();
    job.startedAt = undefined;
    job.finishedAt = undefined;
    job.workerId = undefined;
    job.output = undefined; // (RunPod) "the previous output is removed"
    job.error = undefined;
    job.fault = undefined;
    job.jobMs = jobTimeMs(job.input);
    enqueue(job);
    changed.notify();
  };

  // ------------------------------------------------------------------------------------------- views

  const render = (job: JobState): Record<string, unknown> => {
    const body: Record<string, unknown> = { id: job.id, status: job.status };
    if (job.startedAt !== undefined) {
      body['delayTime'] = Math.round(job.startedAt - job.queuedAt);
      if (job.finishedAt !== undefined) body['executionTime'] = Math.round(job.finishedAt - job.startedAt);
      body['workerId'] = job.workerId;
    }
    if (job.output !== undefined) body['output'] = job.output;
    if (job.error !== undefined) body['error'] = job.error;
    if (job.retries > 0) body['retries'] = job.retries;
    return body;
  };

  const isActive = (job: JobState): boolean => !job.deleted && (job.status === 'IN_QUEUE' || job.status === 'IN_PROGRESS');

  const health = (): RunPodHealth => {
    const live = jobs.filter((j) => !j.deleted);
    const count = (s: RunPodJobStatus): number => live.filter((j) => j.status === s).length;
    const workersIn = (s: WorkerState): number => workers.filter((w) => w.state === s).length;
    return {
      jobs: {
        completed: count('COMPLETED'),
        failed: count('FAILED') + count('TIMED_OUT'),
        inProgress: count('IN_PROGRESS'),
        inQueue: count('IN_QUEUE'),
        retried: jobs.reduce((n, j) => n + j.retries, 0),
      },
      // (guess) `ready` = warm workers free to take a job; cold (scaled-to-zero) workers are not counted.
      workers: { idle: workersIn('idle'), initializing: workersIn('initializing'), ready: workersIn('idle'), running: workersIn('running'), throttled: 0, unhealthy: 0 },
    };
  };

  /** Resolves when the job ends (or is deleted), `waitMs` passes, or the client goes away — whichever first. */
  const awaitEnd = (job: JobState, waitMs: number, res: ServerResponse): Promise<void> =>
    new Promise<void>((resolve) => {
      const ended = (): boolean => closed || job.deleted || TERMINAL.has(job.status);
      if (ended()) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        stop();
        timers.clear(timer);
        res.off('close', done);
        resolve();
      };
      const stop = changed.subscribe(() => {
        if (ended()) done();
      });
      timer = timers.set(done, waitMs);
      res.once('close', done);
    });

  // ------------------------------------------------------------------------------------------- HTTP

  const notFoundRoute = (res: ServerResponse): void => sendText(res, 404, '404 page not found\n'); // (guess) Go's default mux answer
  const noSuchJob = (res: ServerResponse): void => sendJson(res, 404, { error: 'request does not exist' }); // (RunPod)

  const readRunBody = async (req: IncomingMessage, res: ServerResponse, limitBytes: number): Promise<z.infer<typeof runBodySchema> | undefined> => {
    const raw = await readBody(req, limitBytes);
    if (raw === 'too-large') {
      sendJson(res, 413, { error: `request body exceeds ${limitBytes / MB} MB` }); // (guess) status code
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      sendJson(res, 400, { error: 'invalid JSON body' });
      return undefined;
    }
    const parsed = runBodySchema.safeParse(json);
    if (!parsed.success) {
      sendJson(res, 400, { error: `invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` });
      return undefined;
    }
    return parsed.data;
  };

  const waitParam = (url: URL, fallback: number, min: number): number => {
    const raw = Number(url.searchParams.get('wait') ?? fallback);
    return Math.min(300_000, Math.max(min, Number.isFinite(raw) ? raw : fallback));
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL, op: string, id: string | undefined): Promise<void> => {
    switch (op) {
      case 'run': {
        const body = await readRunBody(req, res, 10 * MB);
        if (!body) return;
        const job = submit(body.input, body.policy, 'run');
        return sendJson(res, 200, { id: job.id, status: 'IN_QUEUE' });
      }
      case 'runsync': {
        const body = await readRunBody(req, res, 20 * MB);
        if (!body) return;
        const job = submit(body.input, body.policy, 'runsync');
        await awaitEnd(job, waitParam(url, 90_000, 1000), res);
        if (job.deleted) return noSuchJob(res);
        return sendJson(res, 200, TERMINAL.has(job.status) ? render(job) : { id: job.id, status: job.status });
      }
      case 'purge-queue': {
        const purged = [...queue];
        for (const job of purged) remove(job); // (guess) purged jobs are gone, like expired ones
        return sendJson(res, 200, { removed: purged.length, status: 'completed' });
      }
      case 'health':
        return sendJson(res, 200, health());
    }
    const job = id === undefined ? undefined : byId.get(id);
    if (!job || job.deleted) return noSuchJob(res);
    switch (op) {
      case 'status':
        return sendJson(res, 200, render(job));
      case 'status-sync':
        await awaitEnd(job, waitParam(url, 90_000, 0), res);
        return job.deleted ? noSuchJob(res) : sendJson(res, 200, render(job));
      case 'cancel':
        cancel(job);
        return sendJson(res, 200, { id: job.id, status: job.status });
      case 'retry':
        if (job.status !== 'FAILED' && job.status !== 'TIMED_OUT') {
          // (guess) RunPod's wording; only the 400 is documented behaviour.
          return sendJson(res, 400, { error: `job ${job.id} is ${job.status}; only FAILED or TIMED_OUT jobs can be retried` });
        }
        retry(job);
        return sendJson(res, 200, { id: job.id, status: 'IN_QUEUE' });
    }
    return notFoundRoute(res);
  };

  const stormAnswer = (route: RunPodRoute): number | undefined => {
    if (!opts.storm || !stormRoutes.has(route)) return undefined;
    if (stormRandom() >= opts.storm.fraction) return undefined;
    return stormRandom() < (opts.storm.serverErrorShare ?? 0.2) ? 503 : 429;
  };

  const server = await startHttpServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authorized = req.headers.authorization === `Bearer ${apiKey}`;
    const segments = url.pathname.split('/').filter(Boolean);

    // Worker-side URLs (generation 2): the pod's own HTTP server, no RunPod key involved.
    if ((segments[0] === 'files' || segments[0] === 'confirm-download') && segments.length === 2) {
      const route: RunPodRoute = segments[0] === 'files' ? 'files' : 'confirm';
      // Recorded first: an optional call would skip evaluating its arguments when no fault is configured.
      const nth = requests.record(req, res, route, authorized);
      const injected = opts.httpFault?.(route, nth);
      req.resume();
      if (injected !== undefined) return sendText(res, injected, `${injected} injected by the emulator\n`);
      let name: string;
      try {
        name = decodeURIComponent(segments[1] ?? '');
      } catch {
        return sendJson(res, 404, { error: 'File not found' });
      }
      if (route === 'files') {
        const file = method === 'GET' ? files.get(name) : undefined;
        if (!file) return sendJson(res, 404, { error: 'File not found' });
        file.job.downloads++;
        const override = opts.download?.(++downloads);
        if (override?.kind === 'redirect') {
          res.writeHead(302, { location: override.location, 'content-length': '0' });
          return void res.end();
        }
        if (override?.kind === 'huge') return streamZeros(res, override.bytes, override.declareLength ?? false, (n) => (downloadBytesSent += n));
        downloadBytesSent += file.bytes.byteLength;
        return sendBytes(res, 200, file.bytes, 'audio/x-wav');
      }
      const job = method === 'POST' ? byWorkerJobId.get(name) : undefined;
      if (!job) return sendJson(res, 404, { error: 'unknown job' });
      if (!job.confirmed) job.confirmedAfterDownload = job.downloads > 0;
      job.confirmed = true;
      return sendText(res, 200, flaskJsonText({ status: 'confirmed', job_id: name, timestamp: Date.now() / 1000 }), 'application/json');
    }

    const [v2, endpoint, op = '', id, ...extra] = segments;
    const spec = v2 === 'v2' ? ROUTES[op] : undefined;
    const shapeOk = spec !== undefined && (spec.hasId ? id !== undefined && extra.length === 0 : id === undefined) && spec.methods.includes(method);
    const route: RunPodRoute = shapeOk && !(op === 'status-sync' && !statusSync) ? spec.route : 'unknown';
    // Recorded first: an optional call would skip evaluating its arguments when no fault is configured.
    const nth = requests.record(req, res, route, authorized);
    const injected = opts.httpFault?.(route, nth) ?? stormAnswer(route);
    if (injected !== undefined) {
      req.resume();
      return sendText(res, injected, `${injected} injected by the emulator\n`);
    }
    if (v2 !== 'v2') {
      req.resume();
      return notFoundRoute(res);
    }
    if (!authorized) {
      req.resume();
      return sendJson(res, 401, { error: 'Unauthorized: invalid or missing API key' });
    }
    if (endpoint !== endpointId) {
      req.resume();
      return sendJson(res, 404, { error: 'endpoint not found' });
    }
    if (route === 'unknown') {
      req.resume();
      return notFoundRoute(res);
    }
    return handleApi(req, res, url, op, id);
  }, opts.port ?? 0);
  origin = server.origin;

  return {
    baseUrl: `${origin}/v2`,
    origin,
    endpointId,
    apiKey,
    jobs,
    requests,
    activeJobs: () => jobs.filter(isActive),
    job: (id) => byId.get(id),
    health,
    async waitIdle(timeoutMs = 10_000) {
      await waitUntil(changed, timers, () => closed || !jobs.some(isActive), timeoutMs, 'RunPod emulator idle');
      if (closed) throw new Error('RunPod emulator closed');
    },
    maxInProgress: () => ({ total: maxTotal, perWorker: Object.fromEntries(maxPerWorker) }),
    get downloadBytesSent() {
      return downloadBytesSent;
    },
    get billedExecutionMs() {
      return billedExecutionMs;
    },
    cancelAll() {
      const active = jobs.filter(isActive);
      for (const job of active) cancel(job);
      return active;
    },
    async close(closeOpts = {}) {
      // Only the first close judges: the state a later (clean-up) close sees is the one the first one left.
      const left = closed ? [] : jobs.filter(isActive).map((j) => `${j.id} ${j.status} "${String(j.input['text']).slice(0, 40)}"`);
      closed = true;
      timers.clearAll();
      changed.notify();
      await server.close();
      if (left.length > 0 && !closeOpts.allowActive) {
        throw new Error(`RunPod emulator closed with ${left.length} job(s) still queued or running (a leak):\n  ${left.join('\n  ')}`);
      }
    },
  };
}

/** Streams `total` zero bytes, waiting for the socket to drain (so `onSent` counts what the client really took). */
function streamZeros(res: ServerResponse, total: number, declareLength: boolean, onSent: (n: number) => void): void {
  const piece = Buffer.alloc(64 * 1024);
  res.writeHead(200, { 'content-type': 'audio/x-wav', ...(declareLength ? { 'content-length': String(total) } : {}) });
  let left = total;
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(piece.byteLength, left);
      left -= n;
      onSent(n);
      if (!res.write(n === piece.byteLength ? piece : piece.subarray(0, n))) return void res.once('drain', pump);
    }
    if (left === 0) res.end();
  };
  res.once('close', () => (left = 0));
  pump();
}

/** mulberry32: a small seeded PRNG, so a storm is the same storm on every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
