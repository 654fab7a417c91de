/**
 * What one benchmark run measures and at what size: the presets (`full`, `--quick`) and the command-line flags.
 *
 * Job times come from a latency model of the real worker (F5-TTS on a warm RunPod GPU: ~1.5 s + 15 ms per character,
 * 3–5 s for a typical chunk), multiplied by `timeScale` so the whole bench fits in a few minutes; the naive client's
 * polling intervals (1 s, 2 s in the seed) are scaled by the same factor so that its waste stays in proportion to
 * the job times. Everything the engine itself does runs at its production settings and real speed, so scaling
 * down makes our fixed overheads look *larger* relative to the jobs, never smaller.
 */
import { parseArgs } from 'node:util';

export const SECTIONS = ['latency', 'audio', 'text', 'memory', 'fairness', 'scale', 'playback'] as const;
export type Section = (typeof SECTIONS)[number];

export interface LatencyModelSettings {
  /** Fixed cost per job in real-world ms (before `timeScale`). */
  readonly a: number;
  /** Cost per character in real-world ms (before `timeScale`). */
  readonly b: number;
  /** Relative jitter: each job time is scaled by a factor in [1 − jitter, 1 + jitter]. */
  readonly jitter: number;
}

export interface BenchSettings {
  readonly preset: 'full' | 'quick' | 'custom';
  /** Repetitions for figures 1–3 and 6 (medians are reported). */
  readonly runs: number;
  /** Multiplies every modelled real-world time (job times, naive poll intervals). */
  readonly timeScale: number;
  readonly latency: LatencyModelSettings;
  /** The engine's MAX_CONCURRENT_JOBS (production default 6). */
  readonly maxConcurrentJobs: number;
  /** Workers of the emulated endpoint, all warm. */
  readonly workers: number;
  /** Latency figures: how many of the story's chunks are narrated (0 = the whole story, 29 chunks). */
  readonly latencyChunks: number;
  /** The naive client's fixed `/status` polling intervals, real-world seconds (before `timeScale`). */
  readonly naivePollSec: readonly number[];
  /** Audio path: measure each stage for at least this long (wall seconds). */
  readonly audioMinSec: number;
  /** Audio path: how many of the story's clips each pass processes (0 = all of them, ~3.6 min of narration). */
  readonly audioClips: number;
  /** Memory: length of the long narration, minutes of audio. */
  readonly longMinutes: number;
  /** Memory: short narrations run in one process, and how often RSS/heap are sampled. */
  readonly shortNarrations: number;
  readonly sampleEvery: number;
  /**
   * Memory: idle time before the last sample, seconds. Must outlast the longest request timeout of the RunPod
   * backend (a 15 s long-poll + 15 s), whose timers keep a little memory alive until they expire; 0 = skip.
   */
  readonly settleSec: number;
  /** Fairness: chunks of the long request and of the short one started while it runs. */
  readonly fairLongChunks: number;
  readonly fairShortChunks: number;
  /**
   * Scale: concurrent narrations through one process, and the workers (= MAX_CONCURRENT_JOBS) they share. At time
   * scale 0.2, 12 workers finish jobs as fast as 60 real ones would (the config allows up to 64).
   */
  readonly scaleNarrations: number;
  readonly scaleWorkers: number;
  /** Text path: input sizes in characters (the last one is a `/narrate file:` at its limit), and timed repetitions. */
  readonly textSizes: readonly number[];
  readonly textRepeats: number;
  readonly sections: readonly Section[];
}

const REAL_WORKER: LatencyModelSettings = { a: 1500, b: 15, jitter: 0.15 };

export const FULL: BenchSettings = {
  preset: 'full',
  runs: 5,
  timeScale: 0.2,
  latency: REAL_WORKER,
  maxConcurrentJobs: 6,
  workers: 6,
  latencyChunks: 0,
  naivePollSec: [1, 2],
  audioMinSec: 2,
  audioClips: 0,
  longMinutes: 30,
  shortNarrations: 1000,
  sampleEvery: 100,
  settleSec: 31,
  fairLongChunks: 100,
  fairShortChunks: 3,
  scaleNarrations: 200,
  scaleWorkers: 12,
  textSizes: [25_000, 100_000],
  textRepeats: 5,
  sections: SECTIONS,
};

export const QUICK: BenchSettings = {
  ...FULL,
  preset: 'quick',
  runs: 2,
  audioMinSec: 0.5,
  shortNarrations: 300,
  sampleEvery: 50,
  scaleNarrations: 60,
  textRepeats: 3,
};

export const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--time-scale F] [--workers N] [--max-jobs N]
                          [--only ${SECTIONS.join(',')}] [--out FILE] [--help]`;

export interface BenchArgs {
  readonly settings: BenchSettings;
  /** Where the JSON results go (default bench-results.json). */
  readonly out: string;
  readonly help: boolean;
}

/** Parses the flags documented at the top of scripts/bench.ts; throws an Error with the usage on bad input. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        runs: { type: 'string' },
        'time-scale': { type: 'string' },
        workers: { type: 'string' },
        'max-jobs': { type: 'string' },
        only: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${USAGE}`);
  }
  const base = values.quick ? QUICK : FULL;
  const int = (name: string, raw: string | undefined, fallback: number, max: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max} (got "${raw}")\n${USAGE}`);
    return n;
  };
  let timeScale = base.timeScale;
  if (values['time-scale'] !== undefined) {
    timeScale = Number(values['time-scale']);
    if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > 1) {
      throw new Error(`--time-scale must be a number in (0, 1] (got "${values['time-scale']}")\n${USAGE}`);
    }
  }
  let sections = base.sections;
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
    if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes a list of ${SECTIONS.join(', ')} (got "${values.only}")\n${USAGE}`);
    sections = SECTIONS.filter((s) => names.includes(s));
  }
  const maxConcurrentJobs = int('max-jobs', values['max-jobs'], base.maxConcurrentJobs, 64);
  const settings: BenchSettings = {
    ...base,
    preset: [values.runs, values['time-scale'], values.workers, values['max-jobs'], values.only].some((v) => v !== undefined) ? 'custom' : base.preset,
    runs: int('runs', values.runs, base.runs, 100),
    timeScale,
    maxConcurrentJobs,
    workers: int('workers', values.workers, values['max-jobs'] !== undefined && values.workers === undefined ? maxConcurrentJobs : base.workers, 64),
    sections,
  };
  return { settings, out: values.out ?? 'bench-results.json', help: values.help ?? false };
}

/** Job time in (scaled) ms for a chunk of `chars` characters, before jitter. */
export function scaledJobMs(settings: BenchSettings, chars: number): number {
  return (settings.latency.a + settings.latency.b * chars) * settings.timeScale;
}
