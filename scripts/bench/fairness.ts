/**
 * Figure 6: a short request (3 chunks) started while a long one (100 chunks) keeps every slot busy: how much later
 * does it finish than on an idle bot?
 *
 * Alone and contended runs use fresh emulators with the same jitter seed, so the short request's three jobs take
 * the same time in both. The short request starts once the long one has finished 2 × MAX_CONCURRENT_JOBS chunks
 * (steady state: all slots busy, the rest queued), plus an offset that differs per run — where the long jobs are in
 * their course when the short one arrives is what varies in real life. Completion = its last segment received.
 * The long narration is cancelled once the short one is done (its remaining jobs are not needed for the figure).
 */
import type { Narration } from '../../src/services/orchestrator.js';
import { prepareText } from '../../src/services/text/index.js';
import type { RunPodEmulator } from '../../test/support/runpodEmulator.js';
import { consume, createBenchEngine, PrecomputedVoice, startEmulator, targetOf } from './rig.js';
import { scaledJobMs, type BenchSettings } from './settings.js';
import { spread, type Spread } from './stats.js';
import { textWithChunks, WARM_UP_TEXT } from './texts.js';

export interface FairnessRun {
  readonly seed: number;
  /** How long after steady state the short request started. */
  readonly offsetMs: number;
  readonly aloneMs: number;
  readonly contendedMs: number;
  readonly ratio: number;
  /** Per short chunk: from the short request's start until its job reached the emulator (waiting for a slot). */
  readonly shortSlotWaitMs: readonly number[];
  /** Long-request jobs started while the short one was running (the long one is not starved either). */
  readonly longJobsStartedMeanwhile: number;
}

export interface FairnessResults {
  readonly longChunks: number;
  readonly shortChunks: number;
  readonly slots: number;
  readonly runs: readonly FairnessRun[];
  readonly ratio: Spread;
  readonly aloneMs: Spread;
  readonly contendedMs: Spread;
}

export async function runFairness(settings: BenchSettings, progress: (line: string) => void): Promise<FairnessResults> {
  const longText = textWithChunks(settings.fairLongChunks, 1);
  const shortText = textWithChunks(settings.fairShortChunks, 800);
  const shortChunks = new Set(prepareText(shortText).chunks.map((c) => c.text));
  const voice = new PrecomputedVoice().prepare([longText, shortText, WARM_UP_TEXT]);
  const slots = Math.min(settings.workers, settings.maxConcurrentJobs);
  const meanJobMs = scaledJobMs(settings, [...shortChunks].reduce((s, t) => s + t.length, 0) / shortChunks.size);

  type Narrate = (text: string, onReady?: () => void) => Narration;
  /** A fresh emulator and engine (warmed up) for one measurement. */
  const withEngine = async <T>(seed: number, body: (emulator: RunPodEmulator, narrate: Narrate) => Promise<T>): Promise<T> => {
    const emulator = await startEmulator(settings, { workers: settings.workers, seed, voice });
    const engine = createBenchEngine(targetOf(emulator), settings.maxConcurrentJobs);
    try {
      await consume(engine.orchestrator.narrate({ text: WARM_UP_TEXT }));
      return await body(emulator, (text, onReady) =>
        engine.orchestrator.narrate({ text, onProgress: (p) => (p.type === 'chunk_ready' ? onReady?.() : undefined) }),
      );
    } finally {
      await engine.close();
      await emulator.close();
    }
  };

  const runs: FairnessRun[] = [];
  for (let r = 0; r < settings.runs; r++) {
    const seed = 100 + r;
    const offsetMs = (r / settings.runs) * meanJobMs;
    const aloneMs = await withEngine(seed, async (_, narrate) => {
      const t0 = performance.now();
      const done = await consume(narrate(shortText));
      return done.lastAt - t0;
    });
    const contended = await withEngine(seed, async (emulator, narrate) => {
      let ready = 0;
      let steady: () => void = () => undefined;
      const steadyState = new Promise<void>((resolve) => (steady = resolve));
      const long = narrate(longText, () => {
        if (++ready >= 2 * slots) steady();
      });
      const longDone = consume(long).catch(() => undefined);
      await steadyState;
      await new Promise((resolve) => setTimeout(resolve, offsetMs));
      const t0 = performance.now();
      const done = await consume(narrate(shortText));
      const t1 = done.lastAt;
      long.cancel();
      await longDone;
      const shortJobs = emulator.jobs.filter((j) => shortChunks.has(String(j.input['text'])));
      const longMeanwhile = emulator.jobs.filter(
        (j) => !shortChunks.has(String(j.input['text'])) && j.startedAt !== undefined && j.startedAt >= t0 && j.startedAt <= t1,
      );
      return { ms: t1 - t0, waits: shortJobs.map((j) => j.submittedAt - t0), longMeanwhile: longMeanwhile.length };
    });
    runs.push({
      seed,
      offsetMs,
      aloneMs,
      contendedMs: contended.ms,
      ratio: contended.ms / aloneMs,
      shortSlotWaitMs: contended.waits,
      longJobsStartedMeanwhile: contended.longMeanwhile,
    });
    progress(
      `fairness run ${r + 1}/${settings.runs}: alone ${aloneMs.toFixed(0)} ms, during the long request ${contended.ms.toFixed(0)} ms ` +
        `(×${(contended.ms / aloneMs).toFixed(2)}); slot waits ${contended.waits.map((w) => w.toFixed(0)).join(', ')} ms`,
    );
  }
  if (voice.misses > 0) throw new Error(`bench: the emulator had to synthesize ${voice.misses} clips while measuring: ${voice.missed.map((t) => JSON.stringify(t.slice(0, 60))).join(', ')}`);
  return {
    longChunks: settings.fairLongChunks,
    shortChunks: settings.fairShortChunks,
    slots,
    runs,
    ratio: spread(runs.map((r) => r.ratio)),
    aloneMs: spread(runs.map((r) => r.aloneMs)),
    contendedMs: spread(runs.map((r) => r.contendedMs)),
  };
}
