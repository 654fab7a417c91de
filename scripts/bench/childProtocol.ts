/**
 * What the bench parent and its measured child processes say to each other: one job as JSON on the child's stdin,
 * one result as a JSON line on its stdout (after a marker, so stray output cannot be mistaken for it). Both sides
 * validate with these schemas: the child's answer is an external payload like any other.
 *
 * Children exist for isolation: a child's `maxRSS` is the narration's alone (not the emulator's, not earlier
 * sections'), its CPU time is the bot's alone, and its event loop is not shared with the emulator.
 * Times inside a child are its own performance.now(); `…Epoch` fields are `performance.timeOrigin + now()` so the
 * parent can line them up with the emulator's records (same machine clock, sub-millisecond agreement).
 */
import { z } from 'zod';

export const RESULT_MARKER = 'BENCH-CHILD-RESULT ';
/** Printed by a 'many' child each time it has finished narrating and starts idling: the parent may go on meanwhile. */
export const SETTLING_MARKER = 'BENCH-CHILD-SETTLING';
/** The control line that lets a 'many' child go on after its baseline. */
export const CONTINUE_COMMAND = 'continue';

const target = z.object({ baseUrl: z.url(), endpointId: z.string().min(1), apiKey: z.string().min(1) });

export const childJob = z.discriminatedUnion('mode', [
  /** One narration of `text` through the production engine, after a warm-up narration. */
  z.object({ mode: z.literal('ours'), target, maxConcurrentJobs: z.number().int().positive(), text: z.string(), warmUpText: z.string() }),
  /** The same with the naive client. */
  z.object({ mode: z.literal('naive'), target, concurrency: z.number().int().positive(), pollMs: z.number().positive(), text: z.string(), warmUpText: z.string() }),
  /** One long narration streamed to a WAV file, for peak RSS. */
  z.object({ mode: z.literal('long'), target, maxConcurrentJobs: z.number().int().positive(), text: z.string(), outPath: z.string() }),
  /**
   * Many short narrations in one process, memory sampled after every `sampleEvery` (after a forced GC). With
   * `settleMs` > 0: after the first `warmUp` narrations the child idles `settleMs`, takes a baseline sample, prints
   * SETTLING_MARKER first and waits for a `continue` line; after the rest it idles again and takes a last sample.
   */
  z.object({
    mode: z.literal('many'),
    target,
    maxConcurrentJobs: z.number().int().positive(),
    texts: z.array(z.string()),
    sampleEvery: z.number().int().positive(),
    concurrency: z.number().int().positive(),
    warmUp: z.number().int().nonnegative(),
    settleMs: z.number().int().nonnegative(),
  }),
  /** All `texts` narrated at once through one engine. */
  z.object({ mode: z.literal('scale'), target, maxConcurrentJobs: z.number().int().positive(), texts: z.array(z.string()), warmUpText: z.string() }),
]);
export type ChildJob = z.infer<typeof childJob>;

export const oursResult = z.object({
  firstAudioMs: z.number(),
  totalMs: z.number(),
  summaryFirstAudioMs: z.number(),
  summaryTotalMs: z.number(),
  audioSec: z.number(),
  t0Epoch: z.number(),
  firstEpoch: z.number(),
});
export type OursChildResult = z.infer<typeof oursResult>;

export const naiveResult = z.object({ totalMs: z.number(), polls: z.number().int(), t0Epoch: z.number() });
export type NaiveChildResult = z.infer<typeof naiveResult>;

export const longResult = z.object({
  maxRssBytes: z.number(),
  /** RSS after imports and engine creation, before narrating. */
  baselineRssBytes: z.number(),
  /** Highest RSS seen by a 100 ms sampler (maxRSS is the kernel's exact figure). */
  sampledPeakRssBytes: z.number(),
  outputBytes: z.number(),
  durationSec: z.number(),
  chunks: z.number().int(),
  totalMs: z.number(),
  firstAudioMs: z.number(),
});
export type LongChildResult = z.infer<typeof longResult>;

export const memorySample = z.object({
  narrations: z.number().int(),
  rssBytes: z.number(),
  heapUsedBytes: z.number(),
  externalBytes: z.number(),
  arrayBuffersBytes: z.number(),
});
export type MemorySample = z.infer<typeof memorySample>;

export const manyResult = z.object({
  samples: z.array(memorySample),
  /** Idle-settled samples after the warm-up and at the end (absent when settleMs is 0). */
  baseline: memorySample.optional(),
  settled: memorySample.optional(),
  errors: z.number().int(),
  gcExposed: z.boolean(),
});
export type ManyChildResult = z.infer<typeof manyResult>;

export const scaleResult = z.object({
  wallMs: z.number(),
  t0Epoch: z.number(),
  t1Epoch: z.number(),
  errors: z.number().int(),
  errorMessages: z.array(z.string()),
  firstAudioMs: z.array(z.number()),
  totalMs: z.array(z.number()),
  cpuUserMs: z.number(),
  cpuSystemMs: z.number(),
  loopDelayP50Ms: z.number(),
  loopDelayP99Ms: z.number(),
  loopDelayMaxMs: z.number(),
  maxRssBytes: z.number(),
});
export type ScaleChildResult = z.infer<typeof scaleResult>;
