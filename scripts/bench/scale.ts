/**
 * Figure 7: many narrations at once through one bot process. The bot runs in a child process (its CPU time and
 * event-loop delay are then its own), the emulator here, with `scaleWorkers` workers and MAX_CONCURRENT_JOBS set to
 * match — more than the production default of 6, so that the bot has to keep many jobs moving at once.
 *
 * Bounded by the workers, not the bot, means: no errors, the workers busy nearly all the time (utilisation = busy
 * worker-time / (workers × wall time)), the wall time close to the ideal makespan of the same jobs, and the bot's
 * CPU and event-loop delay small.
 */
import { prepareText } from '../../src/services/text/index.js';
import { scaleResult } from './childProtocol.js';
import { runChild } from './childProcess.js';
import { PrecomputedVoice, startEmulator, targetOf } from './rig.js';
import type { BenchSettings } from './settings.js';
import { listScheduleMakespan, quantile } from './stats.js';
import { shortTexts, WARM_UP_TEXT } from './texts.js';

export interface ScaleResults {
  readonly narrations: number;
  readonly chunks: number;
  readonly workers: number;
  readonly errors: number;
  readonly errorMessages: readonly string[];
  readonly wallMs: number;
  readonly idealMs: number;
  /** wall / ideal. */
  readonly efficiency: number;
  readonly utilisation: number;
  /** Bot CPU (user + system) as a share of one core over the wall time. */
  readonly botCpuShare: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly firstAudioP50Ms: number;
  readonly firstAudioP95Ms: number;
  readonly totalP50Ms: number;
  readonly totalP95Ms: number;
  readonly maxRssBytes: number;
}

export async function runScale(settings: BenchSettings, progress: (line: string) => void): Promise<ScaleResults> {
  const texts = shortTexts(settings.scaleNarrations, (i) => 1 + (i % 2), 1);
  const chunkTexts = new Set(texts.flatMap((t) => prepareText(t).chunks.map((c) => c.text)));
  const voice = new PrecomputedVoice().prepare([...texts, WARM_UP_TEXT]);
  const workers = settings.scaleWorkers;
  const emulator = await startEmulator(settings, { workers, seed: 21, voice });
  try {
    const r = await runChild({ mode: 'scale', target: targetOf(emulator), maxConcurrentJobs: workers, texts, warmUpText: WARM_UP_TEXT }, scaleResult);
    const jobs = emulator.jobs.filter((j) => chunkTexts.has(String(j.input['text'])));
    const completed = jobs.filter((j) => j.status === 'COMPLETED' && j.finishedAt !== undefined && j.startedAt !== undefined);
    const errors = r.errors + (completed.length === chunkTexts.size ? 0 : 1);
    const errorMessages = completed.length === chunkTexts.size ? r.errorMessages : [...r.errorMessages, `${completed.length} of ${chunkTexts.size} jobs completed`];
    const busyMs = completed.reduce((s, j) => s + (j.finishedAt! - j.startedAt!), 0);
    const idealMs = listScheduleMakespan(
      [...completed].sort((x, y) => x.submittedAt - y.submittedAt).map((j) => j.jobMs),
      workers,
    );
    const result: ScaleResults = {
      narrations: texts.length,
      chunks: chunkTexts.size,
      workers,
      errors,
      errorMessages,
      wallMs: r.wallMs,
      idealMs,
      efficiency: r.wallMs / idealMs,
      utilisation: busyMs / (workers * r.wallMs),
      botCpuShare: (r.cpuUserMs + r.cpuSystemMs) / r.wallMs,
      loopDelayP99Ms: r.loopDelayP99Ms,
      loopDelayMaxMs: r.loopDelayMaxMs,
      firstAudioP50Ms: quantile(r.firstAudioMs, 0.5),
      firstAudioP95Ms: quantile(r.firstAudioMs, 0.95),
      totalP50Ms: quantile(r.totalMs, 0.5),
      totalP95Ms: quantile(r.totalMs, 0.95),
      maxRssBytes: r.maxRssBytes,
    };
    progress(
      `scale: ${result.narrations} narrations (${result.chunks} chunks) on ${workers} workers in ${result.wallMs.toFixed(0)} ms ` +
        `(ideal ${idealMs.toFixed(0)}), utilisation ${(result.utilisation * 100).toFixed(1)} %, bot CPU ${(result.botCpuShare * 100).toFixed(0)} % of a core, ${errors} errors`,
    );
    return result;
  } finally {
    await emulator.close();
  }
}
