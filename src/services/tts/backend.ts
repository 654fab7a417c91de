/**
 * The one interface every text-to-speech backend implements: one chunk of text in, one WAV file out.
 * Backends know nothing of Discord, chunking or stitching; they own their transport's retries and must
 * leave nothing running on the worker once `synthesize` settles (cancel on abort).
 * They also say what the work cost in GPU seconds (per job as a `billed` event, in total on the result), for the
 * usage ledger: an attempt that failed after running was billed too.
 */
export type BackendKind = 'runpod' | 'flask' | 'local';

export interface SynthesisRequest {
  /** One chunk of cleaned text (≤ ~300 characters). */
  readonly text: string;
  /** An allow-listed voice name (never free text). */
  readonly voice: string;
  /** Speaking speed, 0.5–2.0 (F5-TTS `speed`). */
  readonly speed: number;
}

export interface SynthesisResult {
  /** The WAV file exactly as the worker produced it. */
  readonly wav: Uint8Array;
  /** How many times this chunk was re-submitted after a transient failure. */
  readonly retries: number;
  /**
   * GPU seconds billed for this chunk, every attempt included (RunPod: the jobs' `executionTime`; Flask: the measured
   * time of the jobs on the worker; local: 0). Undefined when the backend cannot tell.
   */
  readonly gpuSeconds?: number;
}

/** Things a backend reports while it works, for progress displays ("worker warming up…"). */
export type BackendEvent =
  | { readonly type: 'queued'; readonly jobId: string }
  | { readonly type: 'started'; readonly jobId: string }
  | { readonly type: 'retry'; readonly attempt: number; readonly reason: string; readonly delayMs: number }
  /** The job has sat in the queue for a while; `reason` says whether workers are starting or there are none. */
  | { readonly type: 'waiting'; readonly jobId: string; readonly reason: 'cold_start' | 'no_workers' | 'queue'; readonly waitedMs: number }
  /** One job ended and this is what it was billed (also for a job that failed): lets a failed chunk be accounted. */
  | { readonly type: 'billed'; readonly jobId: string; readonly gpuSeconds: number };

export interface SynthesizeOptions {
  readonly signal: AbortSignal;
  readonly onEvent?: (event: BackendEvent) => void;
  /** Prefetch: sent as RunPod's policy.lowPriority, so the job never makes the endpoint scale up on its own. */
  readonly lowPriority?: boolean;
}

export interface TtsBackend {
  readonly kind: BackendKind;
  /** Identifies what produces the audio (backend + endpoint/model); part of the cache key. */
  readonly identity: string;
  synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult>;
  /** Voices the backend itself knows, when it can tell (Flask `/voices`); undefined when it cannot. */
  listVoices?(signal?: AbortSignal): Promise<string[]>;
  /** At most this many jobs at once make sense (a Flask worker runs one); the scheduler uses the smaller limit. */
  readonly maxConcurrency?: number;
  /** Releases what the backend holds (worker threads); idempotent. */
  close?(): Promise<void>;
  /** Waits (at most `timeoutMs`) for clean-up the backend still does in the background (cancels being retried). */
  drain?(timeoutMs: number): Promise<boolean>;
}
