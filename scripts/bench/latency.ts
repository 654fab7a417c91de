/**
 * Figures 1–3: first-audio overhead, schedule efficiency, and the naive baseline, on the same text with the same
 * job times.
 *
 * Each run gives the engine and each naive variant a fresh emulator with the same jitter seed, so every chunk takes
 * exactly the same time for all of them (the latency model's jitter depends on seed, text and occurrence only).
 * Before measuring, each client narrates a warm-up sentence (connections open, JIT warm), as a running bot would.
 *
 * Everything is measured twice, because the two placements disagree and the difference is instructive:
 * - `same-process`: engine and emulator share this process and so one clock (performance.now()). But the emulator
 *   also spends ~10 ms of CPU per job in that one event loop (it JSON-encodes each ~0.6 MB result twice), which
 *   delays the engine's reactions, though on RunPod that work happens on someone else's machine;
 * - `separate-process`: the client runs in a child process (child.ts) with its own core and event loop, as the bot
 *   runs apart from RunPod. The headline figures need no shared clock (see below); the breakdown lines the two
 *   processes' clocks up through performance.timeOrigin (same machine clock, sub-millisecond agreement).
 *
 * Definitions (t0 = the moment `narrate()` is called):
 * - first audio = when the consumer receives segment 0;
 * - floor of the first chunk = its job's `finishedAt − submittedAt` at the emulator (the platform's queue delay
 *   plus the GPU time: what the bot cannot avoid once it has sent the job; an emulator-internal difference);
 * - first-audio overhead = first audio − floor = (submittedAt − t0) + (first audio − finishedAt): text preparation,
 *   scheduling and the `/run` round trip before, and noticing the end, fetching, decoding and stitching after;
 * - total = when the consumer receives the last segment (the naive client: when all is decoded and joined — it
 *   plays nothing before, so its first audio is its total);
 * - ideal makespan = list scheduling of the recorded `jobMs` in submission order on min(workers,
 *   MAX_CONCURRENT_JOBS); schedule efficiency = total / ideal (1 is perfect; the emulator's 10 ms dispatch delay
 *   per job and every HTTP round trip count against the client). The excess, total − ideal, is lost at job
 *   hand-overs and does not shrink with the time scale, so the efficiency at real job times is also estimated as
 *   1 + excess / (ideal ÷ timeScale); `--time-scale 1` measures it directly.
 */
import { prepareText } from '../../src/services/text/index.js';
import type { RunPodEmulator, RunPodJobRecord } from '../../test/support/runpodEmulator.js';
import { naiveResult, oursResult } from './childProtocol.js';
import { runChild } from './childProcess.js';
import { naiveNarrate } from './naive.js';
import { consume, createBenchEngine, PrecomputedVoice, startEmulator, targetOf } from './rig.js';
import type { BenchSettings } from './settings.js';
import { listScheduleMakespan, spread, type Spread } from './stats.js';
import { storyChunks, textOf, VIETNAMESE_STORY, WARM_UP_TEXT } from './texts.js';

export const PLACEMENTS = ['same-process', 'separate-process'] as const;
export type Placement = (typeof PLACEMENTS)[number];

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
  readonly audioSec: number;
  /** `/status-sync` + `/status` requests per job at the emulator (warm-up included). */
  readonly statusRequestsPerJob: number;
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

export interface PlacementResults {
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
    /** total − ideal: the time lost at job hand-overs, which does not shrink with the time scale. */
    readonly excessMs: Spread;
    /** 1 + excess / (ideal ÷ timeScale): the efficiency the same excess would give at real job times. */
    readonly efficiencyAtRealJobTimes: Spread;
    readonly statusRequestsPerJob: Spread;
  };
  readonly naive: readonly NaiveSummary[];
}

export interface LatencyResults {
  readonly chars: number;
  readonly chunks: number;
  readonly workers: number;
  readonly maxConcurrentJobs: number;
  readonly placements: Readonly<Record<Placement, PlacementResults>>;
}

/** The story, or its first `latencyChunks` chunks. */
function latencyText(settings: BenchSettings): string {
  return settings.latencyChunks > 0 ? textOf(storyChunks(0).slice(0, settings.latencyChunks)) : VIETNAMESE_STORY;
}

/** The measured narration's jobs (the warm-up's left out), after checking each chunk ran exactly once and completed. */
function jobsOf(emulator: RunPodEmulator, chunkTexts: ReadonlySet<string>): RunPodJobRecord[] {
  const jobs = emulator.jobs.filter((j) => chunkTexts.has(String(j.input['text'])));
  const bad = jobs.filter((j) => j.status !== 'COMPLETED' || j.retries > 0 || j.finishedAt === undefined);
  if (jobs.length !== chunkTexts.size || bad.length > 0) {
    throw new Error(`bench: expected ${chunkTexts.size} completed jobs, the emulator saw ${jobs.length} (${bad.length} not completed)`);
  }
  return jobs;
}

function idealMs(jobs: readonly RunPodJobRecord[], slots: number): number {
  const ordered = [...jobs].sort((x, y) => x.submittedAt - y.submittedAt);
  return listScheduleMakespan(ordered.map((j) => j.jobMs), slots);
}

/** What a client observed, on the emulator's clock (performance.now() of this process). */
interface Observed {
  readonly t0: number;
  readonly firstAt: number;
  readonly firstAudioMs: number;
  readonly totalMs: number;
  readonly summaryFirstAudioMs: number;
  readonly summaryTotalMs: number;
  readonly audioSec: number;
}

async function observeOurs(emulator: RunPodEmulator, settings: BenchSettings, placement: Placement, text: string): Promise<Observed> {
  if (placement === 'separate-process') {
    const r = await runChild(
      { mode: 'ours', target: targetOf(emulator), maxConcurrentJobs: settings.maxConcurrentJobs, text, warmUpText: WARM_UP_TEXT },
      oursResult,
    );
    return { ...r, t0: r.t0Epoch - performance.timeOrigin, firstAt: r.firstEpoch - performance.timeOrigin };
  }
  const engine = createBenchEngine(targetOf(emulator), settings.maxConcurrentJobs);
  try {
    await consume(engine.orchestrator.narrate({ text: WARM_UP_TEXT }));
    const t0 = performance.now();
    const done = await consume(engine.orchestrator.narrate({ text }));
    return {
      t0,
      firstAt: done.firstAt,
      firstAudioMs: done.firstAt - t0,
      totalMs: done.lastAt - t0,
      summaryFirstAudioMs: done.summary.firstAudioMs,
      summaryTotalMs: done.summary.totalMs,
      audioSec: done.summary.durationSec,
    };
  } finally {
    await engine.close();
  }
}

async function runOurs(settings: BenchSettings, seed: number, voice: PrecomputedVoice, placement: Placement, text: string): Promise<OursRun> {
  const emulator = await startEmulator(settings, { workers: settings.workers, seed, voice });
  try {
    const o = await observeOurs(emulator, settings, placement, text);
    const chunks = prepareText(text).chunks;
    const jobs = jobsOf(emulator, new Set(chunks.map((c) => c.text)));
    const first = jobs.find((j) => j.input['text'] === chunks[0]!.text)!;
    const finishedAt = first.finishedAt!;
    const floor = finishedAt - first.submittedAt;
    const ideal = idealMs(jobs, Math.min(settings.workers, settings.maxConcurrentJobs));
    return {
      firstAudioMs: o.firstAudioMs,
      firstFloorMs: floor,
      firstOverheadMs: o.firstAudioMs - floor,
      firstPreSubmitMs: first.submittedAt - o.t0,
      firstDeliveryMs: o.firstAt - finishedAt,
      firstJobMs: first.jobMs,
      totalMs: o.totalMs,
      idealMs: ideal,
      efficiency: o.totalMs / ideal,
      summaryFirstAudioMs: o.summaryFirstAudioMs,
      summaryTotalMs: o.summaryTotalMs,
      audioSec: o.audioSec,
      statusRequestsPerJob: (emulator.requests.count('status-sync') + emulator.requests.count('status')) / emulator.jobs.length,
    };
  } finally {
    await emulator.close();
  }
}

async function runNaive(settings: BenchSettings, seed: number, pollMs: number, voice: PrecomputedVoice, placement: Placement, text: string): Promise<NaiveRun> {
  const emulator = await startEmulator(settings, { workers: settings.workers, seed, voice });
  const target = targetOf(emulator);
  const concurrency = settings.maxConcurrentJobs;
  try {
    let totalMs: number;
    let statusRequests: number;
    if (placement === 'separate-process') {
      const r = await runChild({ mode: 'naive', target, concurrency, pollMs, text, warmUpText: WARM_UP_TEXT }, naiveResult);
      totalMs = r.totalMs;
      statusRequests = r.polls;
    } else {
      await naiveNarrate({ target, chunks: prepareText(WARM_UP_TEXT).chunks, concurrency, pollMs });
      const t0 = performance.now();
      const result = await naiveNarrate({ target, chunks: prepareText(text).chunks, concurrency, pollMs });
      totalMs = performance.now() - t0;
      statusRequests = result.polls;
    }
    const chunks = prepareText(text).chunks;
    const ideal = idealMs(jobsOf(emulator, new Set(chunks.map((c) => c.text))), Math.min(settings.workers, concurrency));
    return { pollMs, totalMs, idealMs: ideal, efficiency: totalMs / ideal, statusRequests };
  } finally {
    await emulator.close();
  }
}

function summarize(runs: readonly LatencyRun[], pollsMs: readonly number[], chunks: number, timeScale: number): PlacementResults {
  const of = (f: (o: OursRun) => number): Spread => spread(runs.map((r) => f(r.ours)));
  return {
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
      excessMs: of((o) => o.totalMs - o.idealMs),
      efficiencyAtRealJobTimes: of((o) => 1 + (o.totalMs - o.idealMs) / (o.idealMs / timeScale)),
      statusRequestsPerJob: of((o) => o.statusRequestsPerJob),
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

export async function runLatency(settings: BenchSettings, progress: (line: string) => void): Promise<LatencyResults> {
  const text = latencyText(settings);
  const chunks = prepareText(text).chunks.length;
  const pollsMs = settings.naivePollSec.map((s) => Math.round(s * 1000 * settings.timeScale));
  const voice = new PrecomputedVoice().prepare([text, WARM_UP_TEXT]);
  const placements = {} as Record<Placement, PlacementResults>;
  for (const placement of PLACEMENTS) {
    const runs: LatencyRun[] = [];
    for (let r = 0; r < settings.runs; r++) {
      const seed = r + 1;
      const ours = await runOurs(settings, seed, voice, placement, text);
      const naive: NaiveRun[] = [];
      for (const pollMs of pollsMs) naive.push(await runNaive(settings, seed, pollMs, voice, placement, text));
      runs.push({ seed, ours, naive });
      progress(
        `latency (${placement}) run ${r + 1}/${settings.runs}: first audio ${ours.firstAudioMs.toFixed(0)} ms (overhead ${ours.firstOverheadMs.toFixed(1)} ms), ` +
          `total ${ours.totalMs.toFixed(0)} ms (ideal ${ours.idealMs.toFixed(0)}), naive ${naive.map((n) => n.totalMs.toFixed(0)).join(' / ')} ms`,
      );
    }
    placements[placement] = summarize(runs, pollsMs, chunks, settings.timeScale);
  }
  if (voice.misses > 0) throw new Error(`bench: the emulator had to synthesize ${voice.misses} clips while measuring: ${voice.missed.map((t) => JSON.stringify(t.slice(0, 60))).join(', ')}`);
  return { chars: text.length, chunks, workers: settings.workers, maxConcurrentJobs: settings.maxConcurrentJobs, placements };
}
