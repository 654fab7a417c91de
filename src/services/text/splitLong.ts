/**
 * Splitting one sentence that is longer than a chunk may be.
 *
 * Pieces are cut only at spaces, preferring a space right after `,` `;` `:` or a spaced dash (` – `, ` — `,
 * ` - `), where a speaker would pause anyway, then any space. Among the allowed cuts the one nearest the
 * ideal piece length (the sentence divided into as few pieces as could hold it) wins, so a 300-character
 * sentence becomes two halves rather than 280 + 20. A cut is allowed when the first piece fits, the rest
 * can still fit in the remaining pieces, and both sides hold something to say; pieces shorter than the
 * minimum are avoided when possible.
 *
 * A run without spaces longer than the maximum (a pasted hash, "hahahaha…") cannot be split at a word; it
 * is cut hard at the maximum, between grapheme clusters so no letter loses its diacritic. A hard-cut piece
 * with no letter or digit at all (a wall of "****") is dropped: sent alone it would only make noise.
 *
 * Lengths are UTF-16 code units (`.length`): after NFC and emoji removal Vietnamese text is all in the BMP,
 * where that equals the character count, and elsewhere it only over-counts, so a chunk never exceeds the
 * limit in characters either.
 *
 * A sentence may be a whole 100 000-character file on one line: cutting reads it through indexes (`LongSentence`),
 * each cut looking only at the next `maxChars` characters, so splitting stays linear in the sentence's length.
 */
import { isSpaceCode } from './whitespace.js';

const graphemes = new Intl.Segmenter('vi', { granularity: 'grapheme' });

export interface Cut {
  /** End of the first piece (exclusive). */
  readonly leftEnd: number;
  /** Start of the rest. */
  readonly rightStart: number;
  readonly atPause: boolean;
}

const PAUSE_MARKS = new Set([',', ';', ':']);
const DASHES = new Set(['–', '—', '-']);

/** Code units past `maxChars` the grapheme segmenter sees: a boundary depends on the code point after it, no further. */
const GRAPHEME_MARGIN = 16;

function hardCut(text: string, maxChars: number): Cut {
  // Only the head: segmenting the whole rest of a long spaceless run at every cut would be quadratic.
  const head = text.slice(0, maxChars + GRAPHEME_MARGIN);
  let leftEnd = 0;
  for (const { segment } of graphemes.segment(head)) {
    if (leftEnd + segment.length > maxChars) break;
    leftEnd += segment.length;
  }
  // One grapheme longer than the limit (a pile of combining marks): cut between code points instead.
  if (leftEnd === 0) {
    for (const char of head) {
      if (leftEnd + char.length > maxChars) break;
      leftEnd += char.length;
    }
  }
  leftEnd = Math.max(leftEnd, 1); // always make progress, even with a limit of one code unit
  return { leftEnd, rightStart: leftEnd, atPause: false };
}

/** Every space where the text could be cut, with whether a speaker would pause there. */
export function cutsOf(text: string): Cut[] {
  const cuts: Cut[] = [];
  for (const match of text.matchAll(/\s+/gu)) {
    const leftEnd = match.index;
    const rightStart = match.index + match[0].length;
    if (leftEnd === 0 || rightStart === text.length) continue;
    const lastChar = text[leftEnd - 1] ?? '';
    const atPause =
      PAUSE_MARKS.has(lastChar) || (DASHES.has(lastChar) && leftEnd >= 2 && /\s/u.test(text[leftEnd - 2] ?? ''));
    cuts.push({ leftEnd, rightStart, atPause });
  }
  return cuts;
}

const SPEAKABLE_CHAR = /[\p{L}\p{N}]/u;

/**
 * A long sentence being cut, read through indexes so that every cut costs work proportional to `maxChars`, not to
 * what is left: the spaces and the last letter or digit are found once, and each cut looks only at its window.
 */
class LongSentence {
  /** Whitespace runs of `text`, flat: start, end, start, end… in order (none at either end: the text is trimmed). */
  readonly #spaces: number[] = [];
  /** Index in #spaces of the first run not yet behind the current start. */
  #nextSpace = 0;
  /** Index of the text's last letter or digit, or -1. */
  readonly #lastSpeakable: number;

  constructor(readonly text: string) {
    // By character codes rather than matchAll(/\s+/g): a match object per space doubled the cost of a long line.
    for (let i = 0; i < text.length; ) {
      if (!isSpaceCode(text.charCodeAt(i))) {
        i++;
        continue;
      }
      const start = i;
      while (i < text.length && isSpaceCode(text.charCodeAt(i))) i++;
      this.#spaces.push(start, i);
    }
    this.#lastSpeakable = lastSpeakableIndex(text);
  }

  /**
   * The cuts `cutsOf(text.slice(start))` would give whose first piece is at most `maxChars` long, relative to `start`
   * (which is never on a space: the rest is trimmed).
   */
  cutsFrom(start: number, maxChars: number): Cut[] {
    const spaces = this.#spaces;
    while (this.#nextSpace < spaces.length && spaces[this.#nextSpace]! < start) this.#nextSpace += 2;
    const cuts: Cut[] = [];
    for (let i = this.#nextSpace; i < spaces.length; i += 2) {
      const from = spaces[i]!;
      const leftEnd = from - start;
      if (leftEnd > maxChars) break;
      if (leftEnd === 0) continue;
      const lastChar = this.text[from - 1] ?? '';
      const atPause = PAUSE_MARKS.has(lastChar) || (DASHES.has(lastChar) && leftEnd >= 2 && isSpaceCode(this.text.charCodeAt(from - 2)));
      cuts.push({ leftEnd, rightStart: spaces[i + 1]! - start, atPause });
    }
    return cuts;
  }

  /** Position of the rest's first letter or digit (relative to `start`), or maxChars + 1 when none is that close. */
  firstSpeakableFrom(start: number, maxChars: number): number {
    // One unit more, so a letter outside the BMP that starts just inside the window is seen whole.
    const found = this.text.slice(start, start + maxChars + 1).search(SPEAKABLE_CHAR);
    return found === -1 ? maxChars + 1 : found;
  }

  /** Position of the text's last letter or digit relative to `start` (negative when there is none after it). */
  lastSpeakableFrom(start: number): number {
    return this.#lastSpeakable - start;
  }
}

/** Index of the last letter or digit of `text` (of its first code unit, for one outside the BMP), or -1. */
function lastSpeakableIndex(text: string): number {
  for (let end = text.length; end > 0; ) {
    const low = text.charCodeAt(end - 1);
    const high = end >= 2 ? text.charCodeAt(end - 2) : 0;
    const start = low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? end - 2 : end - 1;
    if (SPEAKABLE_CHAR.test(text.slice(start, end))) return start;
    end = start;
  }
  return -1;
}

/** The cut of the rest of `sentence` from `start` (rules in the header). */
function bestCut(sentence: LongSentence, start: number, maxChars: number, minChars: number): Cut {
  const length = sentence.text.length - start;
  const pieces = Math.ceil(length / maxChars);
  const target = length / pieces;
  const firstSpeakable = sentence.firstSpeakableFrom(start, maxChars);
  const lastSpeakable = sentence.lastSpeakableFrom(start);
  const rightLength = (cut: Cut): number => length - cut.rightStart;
  const fitting = sentence
    .cutsFrom(start, maxChars)
    .filter((cut) => firstSpeakable < cut.leftEnd && lastSpeakable >= cut.rightStart);
  const fewest = (cut: Cut): boolean => Math.ceil(rightLength(cut) / maxChars) <= pieces - 1;
  const notShort = (cut: Cut): boolean => cut.leftEnd >= minChars && rightLength(cut) >= minChars;
  const tiers: ((cut: Cut) => boolean)[] = [
    (cut) => cut.atPause && fewest(cut) && notShort(cut),
    (cut) => fewest(cut) && notShort(cut),
    (cut) => cut.atPause && fewest(cut),
    fewest,
    (cut) => cut.atPause,
    () => true,
  ];
  for (const tier of tiers) {
    let best: Cut | undefined;
    for (const cut of fitting) {
      if (!tier(cut)) continue;
      if (best === undefined || Math.abs(cut.leftEnd - target) < Math.abs(best.leftEnd - target)) best = cut;
    }
    if (best !== undefined) return best;
  }
  return hardCut(sentence.text.slice(start), maxChars);
}

/** Pieces of `sentence`, each at most `maxChars` long, trimmed, in order. */
export function splitLongSentence(sentence: string, maxChars: number, minChars: number): string[] {
  const text = sentence.trim();
  if (text.length <= maxChars) return text !== '' && SPEAKABLE_CHAR.test(text) ? [text] : [];
  const long = new LongSentence(text);
  const pieces: string[] = [];
  let start = 0;
  while (text.length - start > maxChars) {
    const cut = bestCut(long, start, maxChars, minChars);
    pieces.push(text.slice(start, start + cut.leftEnd).trimEnd());
    start += cut.rightStart;
    while (start < text.length && isSpaceCode(text.charCodeAt(start))) start++; // the rest, trimmed at its start
  }
  if (start < text.length) pieces.push(text.slice(start));
  // A piece with nothing to say (a hard-cut wall of "****") would only be noise: drop it.
  return pieces.filter((piece) => SPEAKABLE_CHAR.test(piece));
}
