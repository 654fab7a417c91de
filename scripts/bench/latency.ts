/**
 * Figures 1–3: first-audio overhead, schedule efficiency, and the naive baseline, on the same text with the same
 * job times.
 *
 * Each run gives the engine and each naive variant a fresh emulator with the same jitter seed, so every chunk takes
 * exactly the same time in all of them (the latency model's jitter depends on seed, text and occurrence only).
 * Engine and emulator share this process and so one clock (performance.now()). Before measuring, each client
 * narrates a warm-up sentence on its emulator (connections open, JIT warm), as a bot that has been running would be.
 *
 * Definitions (all times from the moment `narrate()` is called, t0):
 * - first audio = when the consumer receives segment 0;
 * - floor of the first chunk = its job's `finishedAt − submittedAt` at the emulator (the platform's queue delay
 *   plus the GPU time: what the bot cannot avoid once it has sent the job);
 * - first-audio overhead = first audio − floor = (submittedAt − t0) + (first audio − finishedAt): text preparation,
 *   scheduling and the `/run` round trip before, and noticing the end, fetching, decoding and stitching after;
 * - total = when the consumer receives the last segment;
 * - ideal makespan = list scheduling of the recorded `jobMs` in submission order on min(workers,
 *   MAX_CONCURRENT_JOBS); schedule efficiency = total / ideal (1 is perfect; the emulator's ~10 ms dispatch delay
 *   per job counts against us).
 */
import { prepareText } from '../../src/services/text/index.js';
import type { RunPodJobRecord } from '../../test/support/runpodEmulator.js';
import { naiveNarrate } from './naive.js';
import { consume, createBenchEngine, startEmulator, targetOf } from './rig.js';
import type { BenchSettings } from './settings.js';
import { listScheduleMakespan, spread, type Spread } from './stats.js';
import { VIETNAMESE_STORY, WARM_UP_TEXT } from './texts.js';

export interface OursRun {
  readonly firstAudioMs: number;
  readonly firstFloorMs: number;
  readonly firstOverheadMs: number;
  /** t0 → the first chunk's job reached the emulator. */
  readonly firstPreSubmitMs: number;
  /** The first chunk's job finished → segment 0 in the consumer's hands. */
  readonly firstDeliveryMs: number;
  readonly firstJobMs: number;
  readonly totalMs: number;
  readonly idealMs: number;
  readonly efficiency: number;
  /** What the engine's own summary says (its clock starts when the Narration is constructed). */
  readonly summaryFirstAudioMs: number;
  readonly summaryTotalMs: number;
  readonly statusRequests: number;
  readonly audioSec: number;
}

export interface NaiveRun {
  readonly pollMs: number;
  /** Playable only when all is done: first audio = total. */
  readonly totalMs: number;
  readonly idealMs: number;
  readonly efficiency: number;
  readonly statusRequests: number;
}

export interface LatencyRun {
  readonly seed: number;
  readonly ours: OursRun;
  readonly naive: readonly NaiveRun[];
}

export interface NaiveSummary {
  readonly pollMs: number;
  readonly totalMs: Spread;
  readonly efficiency: Spread;
  /** ours / naive, per run, then the median. */
  readonly firstAudioRatio: Spread;
  readonly totalRatio: Spread;
  readonly statusRequestsPerChunk: number;
}

export interface LatencyResults {
  readonly chars: number;
  readonly chunks: number;
  readonly workers: number;
  readonly maxConcurrentJobs: number;
  readonly runs: readonly LatencyRun[];
  readonly ours: {
    readonly firstAudioMs: Spread;
    readonly firstOverheadMs: Spread;
    readonly firstPreSubmitMs: Spread;
    readonly firstDeliveryMs: Spread;
    readonly firstFloorMs: Spread;
    readonly totalMs: Spread;
    readonly idealMs: Spread;
    readonly efficiency: Spread;
    readonly statusRequestsPerChunk: number;
  };
  readonly naive: readonly NaiveSummary[];
}

const TEXT = VIETNAMESE_STORY;

/** Jobs since `mark`, after checking that each chunk ran exactly once and completed. */
function jobsOfRun(all: readonly RunPodJobRecord[], mark: number, chunkCount: number): RunPodJobRecord[] {
  const jobs = all.slice(mark);
  const bad = jobs.filter((j) => j.status !== 'COMPLETED' || j.retries > 0 || j.finishedAt === undefined);
  if (jobs.length !== chunkCount || bad.length > 0) {
    throw new Error(`bench: expected ${chunkCount} completed jobs, the emulator saw ${jobs.length} (${bad.length} not completed)`);
  }
  return jobs;
}

function ideal(jobs: readonly RunPodJobRecord[], slots: number): number {
  const ordered = [...jobs].sort((x, y) => x.submittedAt - y.submittedAt);
  return listScheduleMakespan(ordered.map((j) => j.jobMs), slots);
}

async function runOurs(settings: BenchSettings, seed: number): Promise<OursRun> {
  const emulator = await startEmulator(settings, { workers: settings.workers, seed });
  const engine = createBenchEngine(targetOf(emulator), settings.maxConcurrentJobs);
  try {
    await consume(engine.orchestrator.narrate({ text: WARM_UP_TEXT }));
    const mark = emulator.jobs.length;
    const polls = emulator.requests.count('status-sync') + emulator.requests.count('status');
    const t0 = performance.now();
    const narration = engine.orchestrator.narrate({ text: TEXT });
    const done = await consume(narration);
    const chunks = narration.plan.chunks;
    const jobs = jobsOfRun(emulator.jobs, mark, chunks.length);
    const first = jobs.find((j) => j.input['text'] === chunks[0]!.text);
    if (!first || first.finishedAt === undefined) throw new Error('bench: no job found for the first chunk');
    const firstAudioMs = done.firstAt - t0;
    const floor = first.finishedAt - first.submittedAt;
    const totalMs = done.lastAt - t0;
    const idealMs = ideal(jobs, Math.min(settings.workers, settings.maxConcurrentJobs));
    return {
      firstAudioMs,
      firstFloorMs: floor,
      firstOverheadMs: firstAudioMs - floor,
      firstPreSubmitMs: first.submittedAt - t0,
      firstDeliveryMs: done.firstAt - first.finishedAt,
      firstJobMs: first.jobMs,
      totalMs,
      idealMs,
      efficiency: totalMs / idealMs,
      summaryFirstAudioMs: done.summary.firstAudioMs,
      summaryTotalMs: done.summary.totalMs,
      statusRequests: emulator.requests.count('status-sync') + emulator.requests.count('status') - polls,
      audioSec: done.summary.durationSec,
    };
  } finally {
    await engine.close();
    await emulator.close();
  }
}

async function runNaive(settings: BenchSettings, seed: number, pollMs: number): Promise<NaiveRun> {
  const emulator = await startEmulator(settings, { workers: settings.workers, seed });
  const target = targetOf(emulator);
  const concurrency = settings.maxConcurrentJobs;
  try {
    await naiveNarrate({ target, chunks: prepareText(WARM_UP_TEXT).chunks, concurrency, pollMs });
    const mark = emulator.jobs.length;
    const t0 = performance.now();
    const chunks = prepareText(TEXT).chunks;
    const result = await naiveNarrate({ target, chunks, concurrency, pollMs });
    const totalMs = performance.now() - t0;
    const jobs = jobsOfRun(emulator.jobs, mark, chunks.length);
    const idealMs = ideal(jobs, Math.min(settings.workers, concurrency));
    return { pollMs, totalMs, idealMs, efficiency: totalMs / idealMs, statusRequests: result.polls };
  } finally {
    await emulator.close();
  }
}

export async function runLatency(settings: BenchSettings, progress: (line: string) => void): Promise<LatencyResults> {
  const chunks = prepareText(TEXT).chunks.length;
  const pollsMs = settings.naivePollSec.map((s) => Math.round(s * 1000 * settings.timeScale));
  const runs: LatencyRun[] = [];
  for (let r = 0; r < settings.runs; r++) {
    const seed = r + 1;
    const ours = await runOurs(settings, seed);
    const naive: NaiveRun[] = [];
    for (const pollMs of pollsMs) naive.push(await runNaive(settings, seed, pollMs));
    runs.push({ seed, ours, naive });
    progress(
      `latency run ${r + 1}/${settings.runs}: first audio ${ours.firstAudioMs.toFixed(0)} ms (overhead ${ours.firstOverheadMs.toFixed(1)} ms), ` +
        `total ${ours.totalMs.toFixed(0)} ms (ideal ${ours.idealMs.toFixed(0)}), naive ${naive.map((n) => n.totalMs.toFixed(0)).join(' / ')} ms`,
    );
  }
  const of = (f: (o: OursRun) => number): Spread => spread(runs.map((r) => f(r.ours)));
  return {
    chars: TEXT.length,
    chunks,
    workers: settings.workers,
    maxConcurrentJobs: settings.maxConcurrentJobs,
    runs,
    ours: {
      firstAudioMs: of((o) => o.firstAudioMs),
      firstOverheadMs: of((o) => o.firstOverheadMs),
      firstPreSubmitMs: of((o) => o.firstPreSubmitMs),
      firstDeliveryMs: of((o) => o.firstDeliveryMs),
      firstFloorMs: of((o) => o.firstFloorMs),
      totalMs: of((o) => o.totalMs),
      idealMs: of((o) => o.idealMs),
      efficiency: of((o) => o.efficiency),
      statusRequestsPerChunk: runs.reduce((s, r) => s + r.ours.statusRequests, 0) / (runs.length * chunks),
    },
    naive: pollsMs.map((pollMs, k) => ({
      pollMs,
      totalMs: spread(runs.map((r) => r.naive[k]!.totalMs)),
      efficiency: spread(runs.map((r) => r.naive[k]!.efficiency)),
      firstAudioRatio: spread(runs.map((r) => r.ours.firstAudioMs / r.naive[k]!.totalMs)),
      totalRatio: spread(runs.map((r) => r.ours.totalMs / r.naive[k]!.totalMs)),
      statusRequestsPerChunk: runs.reduce((s, r) => s + r.naive[k]!.statusRequests, 0) / (runs.length * chunks),
    })),
  };
}
