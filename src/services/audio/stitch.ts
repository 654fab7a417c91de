/**
 * Turns the worker's per-chunk clips into one continuous narration, one clip at a time, so playback can start as
 * soon as the first chunk arrives.
 *
 * Each clip's edges are trimmed at about −45 dBFS (keeping a 50 ms margin so word onsets and breaths survive),
 * faded in and out over ~10 ms so no join clicks, and preceded by a pause: 250 ms between sentences (what the
 * worker itself inserts between its internal sentences), 400 ms where another voice takes over (a speaker change is
 * heard as a turn, not as the same reader's next sentence), 600 ms at a paragraph, nothing inside a split sentence
 * and nothing before the first clip. The pause heard between two chunks is the gap plus the two retained margins.
 */
import { NarratorError } from '../errors.js';
import { resample } from './resample.js';
import type { BreakBefore, MonoAudio } from './types.js';

export interface TrimOptions {
  /** Level below which audio counts as silence, in dBFS (RMS over 10 ms windows). Default −45. */
  readonly thresholdDb?: number;
  /** Silence kept before the first and after the last sound, in ms. Default 50. */
  readonly keepMs?: number;
}

/** RMS windows of 10 ms every 5 ms: short enough to place onsets within a few ms, long enough to span a pitch period. */
const HOP_MS = 5;
/** Sound must stay above the threshold this many consecutive windows (≈20 ms) to count, so a lone click doesn't. */
const MIN_ACTIVE_WINDOWS = 3;

/**
 * Removes the silent head and tail of a clip, keeping `keepMs` of margin. Always returns a new array (never a view
 * of the input), so callers may modify the result in place. All-silent (or empty) input → empty audio.
 */
export function trimSilence(audio: MonoAudio, options: TrimOptions = {}): MonoAudio {
  const { samples, sampleRate } = audio;
  const thresholdDb = options.thresholdDb ?? -45;
  const keepMs = options.keepMs ?? 50;
  const threshold = 10 ** (thresholdDb / 20);
  const hop = Math.max(1, Math.round((sampleRate * HOP_MS) / 1000));
  const empty: MonoAudio = { sampleRate, samples: new Float32Array(0) };
  if (samples.length === 0) return empty;

  // Energies of consecutive hop-sized blocks (the last one may be shorter); window w = blocks w and w + 1, so
  // every sample is squared once and every window is two additions.
  const blockCount = Math.ceil(samples.length / hop);
  const blockEnergy = new Float64Array(blockCount);
  for (let b = 0, i = 0; b < blockCount; b++) {
    const end = Math.min(samples.length, i + hop);
    let energy = 0;
    for (; i < end; i++) energy += samples[i]! * samples[i]!;
    blockEnergy[b] = energy;
  }
  const windowCount = Math.max(1, blockCount - 1);
  const startOf = (w: number): number => w * hop;
  const endOf = (w: number): number => Math.min(samples.length, (w + 2) * hop);
  const active = new Uint8Array(windowCount);
  const thresholdSquared = threshold * threshold;
  for (let w = 0; w < windowCount; w++) {
    const energy = blockEnergy[w]! + (blockEnergy[w + 1] ?? 0);
    active[w] = energy >= thresholdSquared * (endOf(w) - startOf(w)) ? 1 : 0;
  }
  const minRun = Math.min(MIN_ACTIVE_WINDOWS, windowCount);
  let firstWindow = -1;
  let lastWindow = -1;
  for (let w = 0, run = 0; w < windowCount; w++) {
    run = active[w] ? run + 1 : 0;
    if (run >= minRun) {
      if (firstWindow < 0) firstWindow = w - run + 1;
      lastWindow = w;
    }
  }
  if (firstWindow < 0) return empty;

  // Refine to the first/last sample at or above the threshold inside the boundary windows (RMS ≥ t implies one).
  let onset = startOf(firstWindow);
  const onsetEnd = endOf(firstWindow);
  while (onset < onsetEnd - 1 && Math.abs(samples[onset]!) < threshold) onset++;
  const offsetStart = startOf(lastWindow);
  let offset = endOf(lastWindow) - 1;
  while (offset > offsetStart && Math.abs(samples[offset]!) < threshold) offset--;

  const keep = Math.round((sampleRate * keepMs) / 1000);
  const from = Math.max(0, onset - keep);
  const to = Math.min(samples.length, offset + 1 + keep);
  return { sampleRate, samples: samples.slice(from, to) };
}

/**
 * Raised-cosine fade-in over the first `fadeMs` and fade-out over the last `fadeMs`, **in place**; returns the same
 * array. The first and last samples become exactly 0, so a clip joins silence without a step. A clip shorter
 * than two fades is faded over half its length each way.
 */
export function applyFades(samples: Float32Array, sampleRate: number, fadeMs = 10): Float32Array {
  const n = Math.min(Math.floor(samples.length / 2), Math.round((sampleRate * fadeMs) / 1000));
  const last = samples.length - 1;
  for (let i = 0; i < n; i++) {
    const s = Math.sin((Math.PI / 2) * (i / n));
    const gain = s * s;
    samples[i] = samples[i]! * gain;
    samples[last - i] = samples[last - i]! * gain;
  }
  return samples;
}

export interface StitcherOptions {
  /** Rate of the narration; clips at other rates are resampled to it. */
  readonly sampleRate: number;
  readonly sentenceGapMs?: number;
  readonly speakerGapMs?: number;
  readonly paragraphGapMs?: number;
  readonly fadeMs?: number;
  readonly trimDb?: number;
  readonly keepMs?: number;
}

const BREAK_RANK: Record<BreakBefore, number> = { none: 0, sentence: 1, speaker: 2, paragraph: 3 };

/** Incremental stitcher: the concatenation of everything `push` returns is the narration. */
export class Stitcher {
  readonly sampleRate: number;
  readonly #gapSamples: Record<BreakBefore, number>;
  readonly #fadeMs: number;
  readonly #trim: TrimOptions;
  #total = 0;
  #started = false;
  /** The strongest break seen since the last clip that produced sound (a silent clip passes its break on). */
  #pendingBreak: BreakBefore = 'none';

  constructor(options: StitcherOptions) {
    const { sampleRate } = options;
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
      throw new NarratorError('permanent', 'bad_audio', `Stitcher sample rate must be a positive integer, got ${sampleRate}`);
    }
    this.sampleRate = sampleRate;
    const samplesFor = (ms: number): number => Math.max(0, Math.round((sampleRate * ms) / 1000));
    this.#gapSamples = {
      none: 0,
      sentence: samplesFor(options.sentenceGapMs ?? 250),
      speaker: samplesFor(options.speakerGapMs ?? 400),
      paragraph: samplesFor(options.paragraphGapMs ?? 600),
    };
    this.#fadeMs = options.fadeMs ?? 10;
    this.#trim = { thresholdDb: options.trimDb ?? -45, keepMs: options.keepMs ?? 50 };
  }

  /** Samples emitted so far. */
  get totalSamples(): number {
    return this.#total;
  }

  /**
   * Returns what to append for this clip: the pause it calls for, then the trimmed, faded clip. A clip that is
   * silent throughout yields nothing, and its break carries over to the next clip.
   */
  push(clip: MonoAudio, breakBefore: BreakBefore): Float32Array {
    if (BREAK_RANK[breakBefore] > BREAK_RANK[this.#pendingBreak]) this.#pendingBreak = breakBefore;
    // Trim at the clip's own rate (less work), then resample; the fade goes last so the edges end at exactly 0.
    const trimmed = trimSilence(clip, this.#trim);
    if (trimmed.samples.length === 0) return new Float32Array(0);
    const body =
      trimmed.sampleRate === this.sampleRate ? trimmed.samples : resample(trimmed.samples, trimmed.sampleRate, this.sampleRate);
    applyFades(body, this.sampleRate, this.#fadeMs);
    const gap = this.#started ? this.#gapSamples[this.#pendingBreak] : 0;
    const out = new Float32Array(gap + body.length);
    out.set(body, gap);
    this.#started = true;
    this.#pendingBreak = 'none';
    this.#total += out.length;
    return out;
  }
}

/** Stitches a whole list of clips at once (same rules as `Stitcher`). */
export function stitchAll(
  clips: readonly { readonly audio: MonoAudio; readonly breakBefore: BreakBefore }[],
  options: StitcherOptions,
): MonoAudio {
  const stitcher = new Stitcher(options);
  const parts = clips.map((clip) => stitcher.push(clip.audio, clip.breakBefore));
  const samples = new Float32Array(stitcher.totalSamples);
  let offset = 0;
  for (const part of parts) {
    samples.set(part, offset);
    offset += part.length;
  }
  return { sampleRate: stitcher.sampleRate, samples };
}
