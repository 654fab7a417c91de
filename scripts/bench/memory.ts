/**
 * Figure 5: memory, measured in child processes so that only the narration's own memory counts (the emulator, its
 * record of every job and this process's earlier sections stay here).
 *
 * - Long: one narration of `longMinutes` of audio through the production engine, each segment appended to a WAV
 *   file as it arrives (the CLI's path, WavFileWriter). Peak = the child's `maxRSS` (kernel figure). Target: at most
 *   2 × the WAV's size + 100 MiB.
 * - Many: `shortNarrations` one- and two-chunk narrations in one process, 10 at a time; after every `sampleEvery`
 *   the child forces two full GCs (`--expose-gc`) and samples RSS and heap, then once more after `settleSec` idle.
 *   The slope while running includes memory that is only held for a while: each HTTP request's timeout timer
 *   (AbortSignal.timeout, up to 30 s for a long-poll) lives until it expires, so the heap rises for the first 30 s
 *   of any steady load and then levels off. What stays for good is the residual between two samples taken after
 *   `settleSec` idle, one after a warm-up batch and one at the end. Flat = residual heap under 1 KB per narration.
 *   These jobs use a fast latency model (20 ms + 0.1 ms/char) and ~1 s clips: the figure is about what each
 *   narration leaves behind, not time or audio length.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONTINUE_COMMAND, longResult, manyResult, SETTLING_MARKER, type LongChildResult, type ManyChildResult, type MemorySample } from './childProtocol.js';
import { runChild, startChild } from './childProcess.js';
import { BENCH_SPEED, PrecomputedVoice, startEmulator, targetOf } from './rig.js';
import type { BenchSettings } from './settings.js';
import { slope } from './stats.js';
import { shortTexts, textForSeconds } from './texts.js';

const MiB = 1024 * 1024;

export interface LongMemory extends LongChildResult {
  /** 2 × output + 100 MiB. */
  readonly limitBytes: number;
}

export interface ManyMemory {
  readonly narrations: number;
  /** After every `sampleEvery` narrations, while running (forced GC, but request timers still pending). */
  readonly samples: readonly MemorySample[];
  /** Taken after the warm-up narrations and at the end, each after `settleSec` idle (absent when settleSec is 0). */
  readonly baseline: MemorySample | undefined;
  readonly settled: MemorySample | undefined;
  readonly errors: number;
  readonly gcExposed: boolean;
  /** Least-squares slopes over the samples taken while narrating, bytes per narration. */
  readonly heapSlopeBytes: number;
  readonly rssSlopeBytes: number;
  /** (settled − baseline) / narrations in between, bytes per narration: what stays for good. */
  readonly heapResidualBytes: number | undefined;
  readonly rssResidualBytes: number | undefined;
  readonly flat: boolean;
}

export interface MemoryResults {
  readonly long: LongMemory;
  readonly many: ManyMemory;
}

/** Heap growth per narration under which memory counts as flat. */
export const FLAT_HEAP_BYTES_PER_NARRATION = 1024;

/** The long narration in a child; resolves with its peak RSS against the target. */
export async function runLongMemory(settings: BenchSettings, progress: (line: string) => void): Promise<LongMemory> {
  const text = textForSeconds(settings.longMinutes * 60, BENCH_SPEED, 1);
  const voice = new PrecomputedVoice().prepare([text]);
  const emulator = await startEmulator(settings, { workers: settings.workers, seed: 7, voice });
  try {
    const outPath = path.join(tmpdir(), `narrator-bench-${process.pid}-${Date.now()}.wav`);
    const r = await runChild({ mode: 'long', target: targetOf(emulator), maxConcurrentJobs: settings.maxConcurrentJobs, text, outPath }, longResult);
    const long = { ...r, limitBytes: 2 * r.outputBytes + 100 * MiB };
    progress(
      `memory, long: ${(long.durationSec / 60).toFixed(1)} min of audio, ${(long.outputBytes / MiB).toFixed(1)} MiB WAV, ` +
        `peak RSS ${(long.maxRssBytes / MiB).toFixed(0)} MiB (limit ${(long.limitBytes / MiB).toFixed(0)} MiB)`,
    );
    return long;
  } finally {
    await emulator.close();
  }
}

export interface ManyMemoryRun {
  /** Lets the child narrate the rest (after its baseline); resolves when it has finished narrating. */
  resume(): Promise<void>;
  readonly result: Promise<ManyMemory>;
}

/**
 * Starts the short-narrations child and returns once its warm-up narrations are done. The child then idles for
 * `settleSec` to take its baseline, waits for `resume()`, narrates the rest and idles again before its last sample.
 * The caller runs other sections during both idle spells (an idle process disturbs nothing) but not in between:
 * `resume()` resolves when the narrating is over.
 */
export async function startManyMemory(settings: BenchSettings, progress: (line: string) => void): Promise<ManyMemoryRun> {
  const texts = shortTexts(settings.shortNarrations, (i) => 1 + (i % 2), 1);
  // ~1 s of fake speech per clip whatever the chunk: many narrations, little audio.
  const clips = new PrecomputedVoice();
  const shortVoice = { synth: (text: string, speed: number) => clips.synth(text.slice(0, 14), speed) };
  const emulator = await startEmulator(settings, { workers: settings.workers, seed: 11, voice: shortVoice, jobMs: { a: 20, b: 0.1 } });
  const settles: (() => void)[] = [];
  const settled = [0, 1].map(() => new Promise<void>((resolve) => settles.push(resolve)));
  let settlesSeen = 0;
  const child = startChild(
    {
      mode: 'many',
      target: targetOf(emulator),
      maxConcurrentJobs: settings.maxConcurrentJobs,
      texts,
      sampleEvery: settings.sampleEvery,
      concurrency: 10,
      warmUp: Math.min(settings.sampleEvery, texts.length),
      settleMs: settings.settleSec * 1000,
    },
    manyResult,
    { onLine: (line) => (line === SETTLING_MARKER ? settles[settlesSeen++]?.() : undefined) },
  );
  const ended = child.result.then(
    () => undefined,
    () => undefined,
  );
  const result = child.result.then((r) => manyFigures(r, texts.length, settings, progress));
  // Observed now so that a failure while the caller is busy elsewhere is not an unhandled rejection.
  result.catch(() => undefined);
  const phase = async (n: 0 | 1): Promise<void> => {
    await Promise.race([settled[n], ended]);
  };
  await phase(0);
  return {
    resume: async () => {
      child.send(CONTINUE_COMMAND);
      await phase(1);
      await emulator.close();
    },
    result,
  };
}

function manyFigures(r: ManyChildResult, narrations: number, settings: BenchSettings, progress: (line: string) => void): ManyMemory {
  const heapSlopeBytes = slope(r.samples.map((s) => ({ x: s.narrations, y: s.heapUsedBytes })));
  const rssSlopeBytes = slope(r.samples.map((s) => ({ x: s.narrations, y: s.rssBytes })));
  const { baseline, settled } = r;
  const residual = (pick: (s: MemorySample) => number): number | undefined =>
    baseline && settled && settled.narrations > baseline.narrations ? (pick(settled) - pick(baseline)) / (settled.narrations - baseline.narrations) : undefined;
  const heapResidualBytes = residual((s) => s.heapUsedBytes);
  const many: ManyMemory = {
    narrations,
    samples: r.samples,
    baseline,
    settled,
    errors: r.errors,
    gcExposed: r.gcExposed,
    heapSlopeBytes,
    rssSlopeBytes,
    heapResidualBytes,
    rssResidualBytes: residual((s) => s.rssBytes),
    flat: r.errors === 0 && r.gcExposed && (heapResidualBytes ?? heapSlopeBytes) <= FLAT_HEAP_BYTES_PER_NARRATION,
  };
  progress(
    `memory, many: ${many.narrations} narrations, heap slope ${many.heapSlopeBytes.toFixed(0)} B/narration while running, ` +
      `${many.heapResidualBytes === undefined ? 'not settled' : `${many.heapResidualBytes.toFixed(0)} B/narration kept (settled ${settings.settleSec} s before and after)`}`,
  );
  return many;
}
