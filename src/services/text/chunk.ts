/**
 * Chunking cleaned text into the pieces sent to the TTS worker one request each.
 *
 * F5-TTS must fit reference + output in ~30 s and degrades on long inputs, and very short inputs
 * (< ~40 characters) may lose their first word or come out as noise. So:
 * - one sentence per chunk (the player can start after the first one), never more than `maxChars`;
 *   longer sentences are split at pauses, then spaces (splitLong.ts);
 * - a sentence shorter than `minChars` joins the next one (or, failing that, the previous one) as long as
 *   the result fits and stays in the same paragraph; a short paragraph on its own stays short;
 * - a line break is a sentence break, a blank line (`\n\n`) a paragraph break, and `breakBefore` tells the
 *   stitcher which pause to put before each chunk.
 * Sentences are not packed together beyond that: shorter requests reach the first audio sooner and keep
 * the pauses between sentences under the stitcher's control.
 * Lengths are UTF-16 code units; see splitLong.ts for why that is safe.
 */
import type { BreakBefore } from '../audio/types.js';
import { NarratorError } from '../errors.js';
import { splitSentences } from './sentences.js';
import { splitLongSentence } from './splitLong.js';

export interface Chunk {
  readonly index: number;
  readonly text: string;
  readonly breakBefore: BreakBefore;
}

export interface ChunkOptions {
  /** Longest chunk, in UTF-16 code units. Default 280. */
  readonly maxChars?: number;
  /** Chunks shorter than this are merged with a neighbour when possible. Default 40. */
  readonly minChars?: number;
}

export const DEFAULT_MAX_CHARS = 280;
export const DEFAULT_MIN_CHARS = 40;

/** Joins short units to a neighbour within one paragraph, following the rules in the header. */
function mergeShort(units: readonly string[], maxChars: number, minChars: number): string[] {
  const merged: string[] = [];
  let i = 0;
  while (i < units.length) {
    let current = units[i++] ?? '';
    while (current.length < minChars && i < units.length) {
      const next = units[i] ?? '';
      if (current.length + 1 + next.length > maxChars) break;
      current = `${current} ${next}`;
      i++;
    }
    const previous = merged.at(-1);
    if (current.length < minChars && previous !== undefined && previous.length + 1 + current.length <= maxChars) {
      merged[merged.length - 1] = `${previous} ${current}`;
    } else {
      merged.push(current);
    }
  }
  return merged;
}

function validate(maxChars: number, minChars: number): void {
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new NarratorError('config', 'bad_chunk_options', `maxChars must be a positive integer, got ${maxChars}.`);
  }
  if (!Number.isInteger(minChars) || minChars < 0 || minChars > maxChars) {
    throw new NarratorError('config', 'bad_chunk_options', `minChars must be an integer from 0 to maxChars (${maxChars}), got ${minChars}.`);
  }
}

export function chunkText(cleaned: string, opts: ChunkOptions = {}): Chunk[] {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const minChars = opts.minChars ?? DEFAULT_MIN_CHARS;
  validate(maxChars, minChars);

  const chunks: Chunk[] = [];
  for (const paragraph of cleaned.split(/\n[^\S\n]*\n\s*/u)) {
    const units: string[] = [];
    for (const line of paragraph.split('\n')) {
      const spaced = line.replace(/\s+/gu, ' ').trim();
      if (spaced === '') continue;
      for (const sentence of splitSentences(spaced)) units.push(...splitLongSentence(sentence, maxChars, minChars));
    }
    mergeShort(units, maxChars, minChars).forEach((text, i) => {
      const breakBefore: BreakBefore = chunks.length === 0 ? 'none' : i === 0 ? 'paragraph' : 'sentence';
      chunks.push({ index: chunks.length, text, breakBefore });
    });
  }
  return chunks;
}
