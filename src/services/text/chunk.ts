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
 * - a short opening: a job takes ≈ 1.5 s + 15 ms per character, so a 280-character first chunk is ~5.7 s of
 *   silence before anything plays. A chunk that starts `p` characters into the narration and is longer than
 *   2·T, where T = max(`firstChars`, 2·p), is cut (see `openingCut`): at the pause (`,` `;` `:` `…`, a spaced
 *   dash, a sentence end) nearest T characters from 0.75·T to 3·T, else the last pause from max(20, T/2), else —
 *   only when the chunk is longer than 3·T — at the space nearest 1.5·T from T to 3·T (never inside a word, never
 *   right after a "TP."-like token). Both sides keep ≥ 4 words; a rest shorter than `minChars` joins the next
 *   sentence of the paragraph (or the cut is not made). With the defaults the first chunk is 20–120 characters
 *   (usually 30–80), the second up to ~3× that, and from ~70 characters on chunks are normal again; a first
 *   chunk of ≤ 80 characters is never cut. The pause at a cut inside a sentence is `none` (the stitcher's "inside a
 *   split sentence" join, ~100 ms of kept margins), at a sentence end inside a merged chunk `sentence`.
 * Sentences are not packed together beyond that: shorter requests reach the first audio sooner and keep
 * the pauses between sentences under the stitcher's control.
 * Lengths are UTF-16 code units; see splitLong.ts for why that is safe.
 */
import type { BreakBefore } from '../audio/types.js';
import { NarratorError } from '../errors.js';
import { splitSentences } from './sentences.js';
import { cutsOf, splitLongSentence, type Cut } from './splitLong.js';

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
  /** Target length of the narration's first chunk (the short opening, see the header). Default 40; 0 turns it off. */
  readonly firstChars?: number;
}

export const DEFAULT_MAX_CHARS = 280;
export const DEFAULT_MIN_CHARS = 40;
export const DEFAULT_FIRST_CHARS = 40;

/** A piece cut off the opening is never shorter than this many words nor this many characters. */
const OPENING_MIN_WORDS = 4;
const OPENING_MIN_CHARS = 20;

/** A chunk in the making: its text and where two units (sentences) were joined in it (indexes of the joining spaces). */
interface Piece {
  readonly text: string;
  readonly breakBefore: BreakBefore;
  readonly joins: readonly number[];
}

/** Joins short units to a neighbour within one paragraph, following the rules in the header. */
function mergeShort(units: readonly string[], maxChars: number, minChars: number): { text: string; joins: number[] }[] {
  const merged: { text: string; joins: number[] }[] = [];
  let i = 0;
  while (i < units.length) {
    let current = units[i++] ?? '';
    const joins: number[] = [];
    while (current.length < minChars && i < units.length) {
      const next = units[i] ?? '';
      if (current.length + 1 + next.length > maxChars) break;
      joins.push(current.length);
      current = `${current} ${next}`;
      i++;
    }
    const previous = merged.at(-1);
    if (current.length < minChars && previous !== undefined && previous.text.length + 1 + current.length <= maxChars) {
      const at = previous.text.length;
      merged[merged.length - 1] = { text: `${previous.text} ${current}`, joins: [...previous.joins, at, ...joins.map((j) => j + at + 1)] };
    } else {
      merged.push({ text: current, joins });
    }
  }
  return merged;
}

const SPEAKABLE_WORDS = /\S*[\p{L}\p{N}]\S*/gu;

function spokenWords(text: string): number {
  return text.match(SPEAKABLE_WORDS)?.length ?? 0;
}

/**
 * Where to cut `piece` so that its first part is about `target` characters (rules in the header), or undefined when
 * no cut keeps both sides worth a request. The pause kind of the cut is returned with it.
 */
function openingCut(
  piece: Piece,
  next: Piece | undefined,
  target: number,
  limits: { maxChars: number; minChars: number },
): { cut: Cut; breakBefore: BreakBefore } | undefined {
  const { text } = piece;
  const joins = new Set(piece.joins);
  const lowest = Math.max(OPENING_MIN_CHARS, Math.ceil(target / 2));
  const highest = 3 * target;
  // The rest must be worth a request of its own, or fit before the next sentence of the paragraph (shortenOpening joins them).
  const restFits = (rest: number): boolean =>
    rest >= limits.minChars || (next !== undefined && next.breakBefore !== 'paragraph' && rest + 1 + next.text.length <= limits.maxChars);
  const candidates = cutsOf(text).filter((cut) => {
    if (cut.leftEnd < lowest || cut.leftEnd > highest) return false;
    const right = text.slice(cut.rightStart);
    return (
      restFits(right.length) &&
      spokenWords(right) >= OPENING_MIN_WORDS &&
      spokenWords(text.slice(0, cut.leftEnd)) >= OPENING_MIN_WORDS
    );
  });
  // A join is a sentence end; "…" before a lowercase word (it would be a join before a capital) is a hesitation.
  const isPause = (cut: Cut): boolean => cut.atPause || joins.has(cut.leftEnd) || text[cut.leftEnd - 1] === '…';
  const pauses = candidates.filter(isPause);
  const near = 0.75 * target;
  const chosen =
    pauses
      .filter((cut) => cut.leftEnd >= near)
      .reduce<Cut | undefined>(
        (best, cut) => (best === undefined || Math.abs(cut.leftEnd - target) <= Math.abs(best.leftEnd - target) ? cut : best),
        undefined,
      ) ??
    pauses.filter((cut) => cut.leftEnd < near).at(-1) ??
    candidates
      // No pause: only for a chunk longer than the window (a cut between syllables may split a compound word), at
      // any space from the target on, but not right after an abbreviation or initial ("TP. | HCM").
      .filter((cut) => text.length > highest && cut.leftEnd >= target && text[cut.leftEnd - 1] !== '.')
      .reduce<Cut | undefined>(
        (best, cut) => (best === undefined || Math.abs(cut.leftEnd - 1.5 * target) < Math.abs(best.leftEnd - 1.5 * target) ? cut : best),
        undefined,
      );
  if (chosen === undefined) return undefined;
  return { cut: chosen, breakBefore: joins.has(chosen.leftEnd) ? 'sentence' : 'none' };
}

/** Cuts the opening chunks short (the short opening in the header); later chunks pass through unchanged. */
function shortenOpening(pieces: readonly Piece[], maxChars: number, minChars: number, firstChars: number): Piece[] {
  if (firstChars <= 0) return [...pieces];
  const out: Piece[] = [];
  let spoken = 0;
  for (let i = 0; i < pieces.length; i++) {
    let piece = pieces[i]!;
    for (;;) {
      const target = Math.max(firstChars, 2 * spoken);
      if (piece.text.length <= 2 * target || 2 * target >= maxChars) break;
      const found = openingCut(piece, pieces[i + 1], target, { maxChars, minChars });
      if (found === undefined) break;
      const { cut, breakBefore } = found;
      out.push({ text: piece.text.slice(0, cut.leftEnd), breakBefore: piece.breakBefore, joins: piece.joins.filter((j) => j < cut.leftEnd) });
      spoken += cut.leftEnd;
      piece = {
        text: piece.text.slice(cut.rightStart),
        breakBefore,
        joins: piece.joins.filter((j) => j > cut.leftEnd).map((j) => j - cut.rightStart),
      };
      // A short rest joins the next sentence; a short sentence that could not join the uncut piece may fit after its
      // rest now (the rules of mergeShort).
      const next = pieces[i + 1];
      const short = piece.text.length < minChars || (next?.text.length ?? 0) < minChars;
      if (next !== undefined && short && next.breakBefore !== 'paragraph' && piece.text.length + 1 + next.text.length <= maxChars) {
        const at = piece.text.length;
        piece = { text: `${piece.text} ${next.text}`, breakBefore: piece.breakBefore, joins: [...piece.joins, at, ...next.joins.map((j) => j + at + 1)] };
        i++;
      }
    }
    out.push(piece);
    spoken += piece.text.length;
  }
  return out;
}

function validate(maxChars: number, minChars: number, firstChars: number): void {
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new NarratorError('config', 'bad_chunk_options', `maxChars must be a positive integer, got ${maxChars}.`);
  }
  if (!Number.isInteger(minChars) || minChars < 0 || minChars > maxChars) {
    throw new NarratorError('config', 'bad_chunk_options', `minChars must be an integer from 0 to maxChars (${maxChars}), got ${minChars}.`);
  }
  if (!Number.isInteger(firstChars) || firstChars < 0) {
    throw new NarratorError('config', 'bad_chunk_options', `firstChars must be a non-negative integer, got ${firstChars}.`);
  }
}

export function chunkText(cleaned: string, opts: ChunkOptions = {}): Chunk[] {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const minChars = opts.minChars ?? DEFAULT_MIN_CHARS;
  const firstChars = opts.firstChars ?? DEFAULT_FIRST_CHARS;
  validate(maxChars, minChars, firstChars);

  const pieces: Piece[] = [];
  for (const paragraph of cleaned.split(/\n[^\S\n]*\n\s*/u)) {
    // A line break is a sentence break; splitSentences keeps it so, and takes the paragraph's lines in one go.
    const lines = paragraph
      .split('\n')
      .map((line) => line.replace(/\s+/gu, ' ').trim())
      .filter((line) => line !== '');
    const units = splitSentences(lines.join('\n')).flatMap((sentence) => splitLongSentence(sentence, maxChars, minChars));
    mergeShort(units, maxChars, minChars).forEach(({ text, joins }, i) => {
      const breakBefore: BreakBefore = pieces.length === 0 ? 'none' : i === 0 ? 'paragraph' : 'sentence';
      pieces.push({ text, breakBefore, joins });
    });
  }
  return shortenOpening(pieces, maxChars, minChars, firstChars).map(({ text, breakBefore }, index) => ({ index, text, breakBefore }));
}
