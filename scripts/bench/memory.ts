/**
 * Figure 5: memory, measured in child processes so that only the narration's own memory counts (the emulator, its
 * record of every job and this process's earlier sections stay here).
 *
 * - Long: one narration of `longMinutes` of audio through the production engine, each segment appended to a WAV
 *   file as it arrives (the CLI's path, WavFileWriter). Peak = the child's `maxRSS` (kernel figure). Target: at most
 *   2 × the WAV's size + 100 MB.
 * - Many: `shortNarrations` one- and two-chunk narrations in one process, 10 at a time; after every `sampleEvery`
 *   the child forces two full GCs (`--expose-gc`) and samples RSS and heap, then once more after `settleSec` idle.
 *   The slope while running includes memory that is only held for a while: each HTTP request's timeout timer
 *   (AbortSignal.timeout, up to 30 s for a long-poll) lives until it expires, so the heap rises for the first 30 s
 *   of any steady load and then levels off. What stays for good is the residual: settled sample − first sample.
 *   Flat = residual heap under 1 KB per narration (1 MB per 1000). These jobs use a fast latency model (20 ms +
 *   0.1 ms/char) and ~1 s clips: the figure is about what each narration leaves behind, not time or audio length.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { longResult, manyResult, type LongChildResult, type MemorySample } from './childProtocol.js';
import { runChild } from './childProcess.js';
import { BENCH_SPEED, PrecomputedVoice, startEmulator, targetOf } from './rig.js';
import type { BenchSettings } from './settings.js';
import { slope } from './stats.js';
import { shortTexts, textForSeconds } from './texts.js';

const MB = 1024 * 1024;

export interface LongMemory extends LongChildResult {
  /** 2 × output + 100 MB. */
  readonly limitBytes: number;
}

export interface ManyMemory {
  readonly narrations: number;
  readonly samples: readonly MemorySample[];
  /** Taken `settleSec` after the last narration (undefined when settleSec is 0). */
  readonly settled: MemorySample | undefined;
  readonly errors: number;
  readonly gcExposed: boolean;
  /** Least-squares slopes over the samples taken while narrating, bytes per narration. */
  readonly heapSlopeBytes: number;
  readonly rssSlopeBytes: number;
  /** (settled − first sample) / narrations in between, bytes per narration: what stays for good. */
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

async function runLong(settings: BenchSettings): Promise<LongMemory> {
  const text = textForSeconds(settings.longMinutes * 60, BENCH_SPEED, 1);
  const voice = new PrecomputedVoice().prepare([text]);
  const emulator = await startEmulator(settings, { workers: settings.workers, seed: 7, voice });
  try {
    const outPath = path.join(tmpdir(), `narrator-bench-${process.pid}-${Date.now()}.wav`);
    const r = await runChild({ mode: 'long', target: targetOf(emulator), maxConcurrentJobs: settings.maxConcurrentJobs, text, outPath }, longResult);
    return { ...r, limitBytes: 2 * r.outputBytes + 100 * MB };
  } finally {
    await emulator.close();
  }
}

async function runMany(settings: BenchSettings): Promise<ManyMemory> {
  const texts = shortTexts(settings.shortNarrations, (i) => 1 + (i % 2), 1);
  // ~1 s of fake speech per clip whatever the chunk: many narrations, little audio.
  const clips = new PrecomputedVoice();
  const shortVoice = { synth: (text: string, speed: number) => clips.synth(text.slice(0, 14), speed) };
  const emulator = await startEmulator(settings, { workers: settings.workers, seed: 11, voice: shortVoice, jobMs: { a: 20, b: 0.1 } });
  try {
    const r = await runChild(
      { mode: 'many', target: targetOf(emulator), maxConcurrentJobs: settings.maxConcurrentJobs, texts, sampleEvery: settings.sampleEvery, concurrency: 10, settleMs: settings.settleSec * 1000 },
      manyResult,
    );
    const heapSlopeBytes = slope(r.samples.map((s) => ({ x: s.narrations, y: s.heapUsedBytes })));
    const rssSlopeBytes = slope(r.samples.map((s) => ({ x: s.narrations, y: s.rssBytes })));
    const first = r.samples[0];
    const residual = (pick: (s: MemorySample) => number): number | undefined =>
      r.settled && first && r.settled.narrations > first.narrations ? (pick(r.settled) - pick(first)) / (r.settled.narrations - first.narrations) : undefined;
    const heapResidualBytes = residual((s) => s.heapUsedBytes);
    return {
      narrations: texts.length,
      samples: r.samples,
      settled: r.settled,
      errors: r.errors,
      gcExposed: r.gcExposed,
      heapSlopeBytes,
      rssSlopeBytes,
      heapResidualBytes,
      rssResidualBytes: residual((s) => s.rssBytes),
      flat: r.errors === 0 && r.gcExposed && (heapResidualBytes ?? heapSlopeBytes) <= FLAT_HEAP_BYTES_PER_NARRATION,
    };
  } finally {
    await emulator.close();
  }
}

export async function runMemory(settings: BenchSettings, progress: (line: string) => void): Promise<MemoryResults> {
  const long = await runLong(settings);
  progress(
    `memory, long: ${(long.durationSec / 60).toFixed(1)} min of audio, ${(long.outputBytes / MB).toFixed(1)} MB WAV, ` +
      `peak RSS ${(long.maxRssBytes / MB).toFixed(0)} MB (limit ${(long.limitBytes / MB).toFixed(0)} MB)`,
  );
  const many = await runMany(settings);
  progress(
    `memory, many: ${many.narrations} narrations, heap slope ${many.heapSlopeBytes.toFixed(0)} B/narration while running, ` +
      `${many.heapResidualBytes === undefined ? 'not settled' : `${many.heapResidualBytes.toFixed(0)} B/narration after ${settings.settleSec} s idle`}`,
  );
  return { long, many };
}
