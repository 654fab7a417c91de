/**
 * The measured side of the bench when it must run alone in a process (see childProtocol.ts for why): reads one job
 * from stdin, runs it against the emulator the parent started, prints one result line, exits.
 *
 * Started by childProcess.ts as `node --expose-gc --import tsx scripts/bench/child.ts`; not meant to be run by hand.
 */
import { rm, stat } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { WavFileWriter } from '../../src/services/audio/wavFileWriter.js';
import { prepareText } from '../../src/services/text/index.js';
import {
  CONTINUE_COMMAND,
  RESULT_MARKER,
  SETTLING_MARKER,
  childJob,
  type ChildJob,
  type LongChildResult,
  type ManyChildResult,
  type MemorySample,
  type NaiveChildResult,
  type OursChildResult,
  type ScaleChildResult,
} from './childProtocol.js';
import { naiveNarrate } from './naive.js';
import { consume, createBenchEngine } from './rig.js';

const epoch = (t: number): number => performance.timeOrigin + t;

/** Lines of stdin: the job first, then control lines. */
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function nextLine(): Promise<string> {
  const next = await stdinLines.next();
  if (next.done) throw new Error('stdin closed before the expected line');
  return next.value;
}

async function ours(job: Extract<ChildJob, { mode: 'ours' }>): Promise<OursChildResult> {
  const engine = createBenchEngine(job.target, job.maxConcurrentJobs);
  try {
    await consume(engine.orchestrator.narrate({ text: job.warmUpText }));
    const t0 = performance.now();
    const done = await consume(engine.orchestrator.narrate({ text: job.text }));
    return {
      firstAudioMs: done.firstAt - t0,
      totalMs: done.lastAt - t0,
      summaryFirstAudioMs: done.summary.firstAudioMs,
      summaryTotalMs: done.summary.totalMs,
      audioSec: done.summary.durationSec,
      t0Epoch: epoch(t0),
      firstEpoch: epoch(done.firstAt),
    };
  } finally {
    await engine.close();
  }
}

async function naive(job: Extract<ChildJob, { mode: 'naive' }>): Promise<NaiveChildResult> {
  const o = { target: job.target, concurrency: job.concurrency, pollMs: job.pollMs };
  await naiveNarrate({ ...o, chunks: prepareText(job.warmUpText).chunks });
  const t0 = performance.now();
  const result = await naiveNarrate({ ...o, chunks: prepareText(job.text).chunks });
  return { totalMs: performance.now() - t0, polls: result.polls, t0Epoch: epoch(t0) };
}

async function long(job: Extract<ChildJob, { mode: 'long' }>): Promise<LongChildResult> {
  const engine = createBenchEngine(job.target, job.maxConcurrentJobs);
  const baselineRssBytes = process.memoryUsage.rss();
  let sampledPeakRssBytes = baselineRssBytes;
  const sampler = setInterval(() => {
    sampledPeakRssBytes = Math.max(sampledPeakRssBytes, process.memoryUsage.rss());
  }, 100);
  let writer: WavFileWriter | undefined;
  try {
    const t0 = performance.now();
    const narration = engine.orchestrator.narrate({ text: job.text });
    // What the CLI does: each segment is appended to the file as it arrives.
    const done = await consume(narration, async (segment) => {
      writer ??= await WavFileWriter.create(job.outPath, segment.audio.sampleRate);
      await writer.append(segment.audio.samples);
    });
    await writer?.close();
    writer = undefined;
    const outputBytes = (await stat(job.outPath)).size;
    return {
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      baselineRssBytes,
      sampledPeakRssBytes,
      outputBytes,
      durationSec: done.summary.durationSec,
      chunks: done.summary.chunks,
      totalMs: done.lastAt - t0,
      firstAudioMs: done.firstAt - t0,
    };
  } finally {
    clearInterval(sampler);
    await writer?.abandon();
    await rm(job.outPath, { force: true });
    await engine.close();
  }
}

/** Two full collections with a turn of the event loop between, so finalizers and weak references settle. */
async function collect(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return true;
}

function memorySampleAt(narrations: number): MemorySample {
  const m = process.memoryUsage();
  return { narrations, rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
}

async function many(job: Extract<ChildJob, { mode: 'many' }>): Promise<ManyChildResult> {
  const engine = createBenchEngine(job.target, job.maxConcurrentJobs);
  const samples: MemorySample[] = [];
  let errors = 0;
  let gcExposed = false;
  let next = 0;
  /** Narrates up to `until`, sampling after every `sampleEvery`. */
  const narrateUntil = async (until: number): Promise<void> => {
    while (next < until) {
      const end = Math.min(until, (Math.floor(next / job.sampleEvery) + 1) * job.sampleEvery);
      const lane = async (): Promise<void> => {
        while (next < end) {
          const text = job.texts[next++]!;
          try {
            await consume(engine.orchestrator.narrate({ text }));
          } catch {
            errors++;
          }
        }
      };
      await Promise.all(Array.from({ length: job.concurrency }, lane));
      gcExposed = await collect();
      samples.push(memorySampleAt(end));
    }
  };
  /** Idles (the parent goes on meanwhile), then samples after a full GC. */
  const settle = async (): Promise<MemorySample> => {
    process.stdout.write(`${SETTLING_MARKER}\n`);
    await new Promise((resolve) => setTimeout(resolve, job.settleMs));
    await collect();
    return memorySampleAt(next);
  };
  try {
    if (job.settleMs === 0) {
      await narrateUntil(job.texts.length);
      return { samples, errors, gcExposed };
    }
    await narrateUntil(job.warmUp);
    const baseline = await settle();
    if ((await nextLine()) !== CONTINUE_COMMAND) throw new Error(`expected "${CONTINUE_COMMAND}" on stdin`);
    await narrateUntil(job.texts.length);
    const settled = await settle();
    return { samples, baseline, settled, errors, gcExposed };
  } finally {
    await engine.close();
  }
}

async function scale(job: Extract<ChildJob, { mode: 'scale' }>): Promise<ScaleChildResult> {
  const engine = createBenchEngine(job.target, job.maxConcurrentJobs);
  try {
    await consume(engine.orchestrator.narrate({ text: job.warmUpText }));
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const errorMessages: string[] = [];
    const outcomes = await Promise.all(
      job.texts.map(async (text) => {
        try {
          const done = await consume(engine.orchestrator.narrate({ text }));
          return { firstAudioMs: done.firstAt - t0, totalMs: done.lastAt - t0 };
        } catch (err) {
          errorMessages.push(err instanceof Error ? err.message : String(err));
          return undefined;
        }
      }),
    );
    const t1 = performance.now();
    const used = process.cpuUsage(cpu);
    loop.disable();
    const ok = outcomes.filter((o) => o !== undefined);
    return {
      wallMs: t1 - t0,
      t0Epoch: epoch(t0),
      t1Epoch: epoch(t1),
      errors: errorMessages.length,
      errorMessages: errorMessages.slice(0, 5),
      firstAudioMs: ok.map((o) => o.firstAudioMs),
      totalMs: ok.map((o) => o.totalMs),
      cpuUserMs: used.user / 1000,
      cpuSystemMs: used.system / 1000,
      loopDelayP50Ms: loop.percentile(50) / 1e6,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    await engine.close();
  }
}

async function main(): Promise<void> {
  const job = childJob.parse(JSON.parse(await nextLine()));
  let result: unknown;
  switch (job.mode) {
    case 'ours':
      result = await ours(job);
      break;
    case 'naive':
      result = await naive(job);
      break;
    case 'long':
      result = await long(job);
      break;
    case 'many':
      result = await many(job);
      break;
    case 'scale':
      result = await scale(job);
      break;
  }
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
