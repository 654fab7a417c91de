/**
 * Wires the engine from the config: backend, process-wide deadline-first scheduler, disk cache, orchestrator, and
 * for RunPod the warm-up keeper (cold-start notice, RUNPOD_WARM_ON_START / RUNPOD_KEEP_WARM_MIN), closed first.
 * The CLI and the bot both start here, so they behave the same.
 */
import type { Logger } from 'pino';
import { AudioCache } from './cache.js';
import type { Config } from './config.js';
import { registerSecret, silentLogger } from './log.js';
import { Orchestrator } from './orchestrator.js';
import { FairScheduler, type SchedulerClock, type SchedulerOptions } from './scheduler.js';
import type { TtsBackend } from './tts/backend.js';
import { createBackend } from './tts/index.js';
import { WarmUp, type WarmableBackend } from './tts/warmup.js';

export interface Engine {
  readonly config: Config;
  readonly backend: TtsBackend;
  readonly scheduler: FairScheduler;
  readonly orchestrator: Orchestrator;
  /** For /status (size, hit rate). */
  readonly cache: AudioCache;
  /** RunPod only: cold-start notice and warm-up jobs (RUNPOD_WARM_ON_START, RUNPOD_KEEP_WARM_MIN). */
  readonly warmUp?: WarmUp;
  close(): Promise<void>;
}

export interface EngineOptions {
  /** Scheduling policy; `round-robin` exists only for the bench's comparison. */
  readonly schedulerPolicy?: SchedulerOptions['policy'];
  /** The short opening chunk's target length (0 = off); only the bench's before/after comparison changes it. */
  readonly firstChunkChars?: number;
  /** The scheduler's clock (deadlines, look-ahead): only the bench's long-narration model runs it faster than time. */
  readonly schedulerClock?: SchedulerClock;
}

export function createEngine(
  config: Config,
  logger: Logger = silentLogger,
  backend: TtsBackend = createBackend(config, logger),
  options: EngineOptions = {},
): Engine {
  registerSecret(config.runpod.apiKey);
  registerSecret(config.discord.token);
  const scheduler = new FairScheduler(Math.min(config.maxConcurrentJobs, backend.maxConcurrency ?? Infinity), { policy: options.schedulerPolicy, clock: options.schedulerClock });
  // With CACHE_MAX_MB=0 the cache keeps no files but still merges identical concurrent chunks into one job.
  const cache = new AudioCache({ dir: config.cacheDir, maxBytes: config.cacheMaxBytes, log: logger });
  const orchestrator = new Orchestrator({
    backend,
    scheduler,
    cache,
    voices: config.voices,
    defaultVoice: config.defaultVoice,
    defaultSpeed: config.defaultSpeed,
    narrationTimeoutMs: config.narrationTimeoutMs,
    synthLookaheadMs: config.synthLookaheadMs,
    firstChunkChars: options.firstChunkChars,
    logger,
  });
  const warmable = backend as Partial<WarmableBackend>;
  const warmUp =
    typeof warmable.health === 'function' && typeof warmable.warmUp === 'function'
      ? new WarmUp(warmable as WarmableBackend, {
          warmOnStart: config.runpod.warmOnStart ?? false,
          keepWarmMin: config.runpod.keepWarmMin ?? 0,
          voice: config.defaultVoice,
          logger,
        })
      : undefined;
  return {
    config,
    backend,
    scheduler,
    orchestrator,
    cache,
    warmUp,
    close: async () => {
      // Warm-up jobs first: aborted, each is cancelled on RunPod, and the backend's drain below waits for that.
      await warmUp?.close();
      // Let aborted jobs finish cancelling on the worker (and the backend's background cancels) before tear-down.
      const drained = await orchestrator.drain();
      if (!drained) logger.warn('some TTS jobs were still being cancelled at shutdown');
      await backend.close?.();
    },
  };
}
