/**
 * Offline backend: a real synthesizer in-process, no network — espeak-ng compiled to WebAssembly (npm `espeak-ng`,
 * GPL-3.0-or-later: an optional dependency, loaded only when this backend is used). It sounds robotic, but it lets a
 * new user hear the whole pipeline (chunking, stitching, playback) with no GPU and no account.
 * Synthesis runs in one worker thread (see espeakWorker.mjs); jobs queue there in order. The text is passed after
 * espeak's end-of-options marker, so user text can never act as a command-line option.
 */
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { NarratorError, abortError, throwIfAborted } from '../errors.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from './backend.js';

/** Voice names of the allow-list mapped to espeak-ng variants of its Vietnamese voice. */
const VARIANTS: Readonly<Record<string, string>> = { narrator: 'vi', female: 'vi+f3', male: 'vi+m3' };
const FALLBACK_VARIANTS = ['vi+f2', 'vi+m2', 'vi+f4', 'vi+m4', 'vi+m1', 'vi+f1'];

/** espeak's default rate is 175 words/min; F5-TTS speed 1.0 is a natural pace. */
export function espeakRate(speed: number): number {
  return Math.max(80, Math.min(450, Math.round(175 * speed)));
}

export function espeakVoice(voice: string): string {
  const known = VARIANTS[voice];
  if (known) return known;
  let h = 0;
  for (const ch of voice) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return FALLBACK_VARIANTS[h % FALLBACK_VARIANTS.length]!;
}

const reply = z.union([
  z.object({ ready: z.literal(true) }),
  z.object({ id: z.number(), wav: z.instanceof(Uint8Array), warnings: z.array(z.string()).optional() }),
  z.object({ id: z.number(), error: z.string() }),
]);

interface Pending {
  resolve(wav: Uint8Array): void;
  reject(err: unknown): void;
}

export class LocalBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'local:espeak-ng-1';
  readonly maxConcurrency = 1;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    throwIfAborted(options.signal);
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const wav = await new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => {
        // The thread finishes the current sentence (≈0.2 s) and its answer is then dropped.
        this.pending.delete(id);
        this.refreshRef();
        reject(abortError(options.signal));
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (w) => (options.signal.removeEventListener('abort', onAbort), resolve(w)),
        reject: (e) => (options.signal.removeEventListener('abort', onAbort), reject(e)),
      });
      this.refreshRef();
      options.onEvent?.({ type: 'started', jobId: `local-${id}` });
      worker.postMessage({ id, text: request.text, voice: espeakVoice(request.voice), rate: espeakRate(request.speed) });
    });
    // Runs on this machine's CPU: no GPU time is billed.
    return { wav, retries: 0, gpuSeconds: 0 };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./espeakWorker.mjs', import.meta.url));
    worker.on('message', (raw: unknown) => {
      const msg = reply.safeParse(raw);
      if (!msg.success || !('id' in msg.data)) return;
      const job = this.pending.get(msg.data.id);
      if (!job) return;
      this.pending.delete(msg.data.id);
      this.refreshRef();
      if ('error' in msg.data) job.reject(new NarratorError('permanent', 'local_tts_failed', 'The offline synthesizer failed.', msg.data.error));
      else job.resolve(msg.data.wav);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('espeak worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(err: unknown): void {
    const missing = String(err).includes('espeak-ng') && String(err).includes('Cannot find');
    const error = missing
      ? new NarratorError('config', 'local_tts_missing', 'The offline synthesizer (npm package espeak-ng) is not installed. Run npm install, or configure RunPod.')
      : new NarratorError('permanent', 'local_tts_failed', 'The offline synthesizer stopped unexpectedly.', String(err));
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }

  /** Keep the process alive only while a job is waiting on the thread. */
  private refreshRef(): void {
    if (!this.worker) return;
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}
