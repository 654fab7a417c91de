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
 */
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

function hardCut(text: string, maxChars: number): Cut {
  let leftEnd = 0;
  for (const { segment } of graphemes.segment(text)) {
    if (leftEnd + segment.length > maxChars) break;
    leftEnd += segment.length;
  }
  // One grapheme longer than the limit (a pile of combining marks): cut between code points instead.
  if (leftEnd === 0) {
    for (const char of text) {
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

const SPEAKABLE = /[\p{L}\p{N}]/gu;
const SPEAKABLE_CHAR = /[\p{L}\p{N}]/u;

function bestCut(text: string, maxChars: number, minChars: number): Cut {
  const pieces = Math.ceil(text.length / maxChars);
  const target = text.length / pieces;
  const speakable = [...text.matchAll(SPEAKABLE)];
  const firstSpeakable = speakable.at(0)?.index ?? text.length;
  const lastSpeakable = speakable.at(-1)?.index ?? -1;
  const rightLength = (cut: Cut): number => text.length - cut.rightStart;
  const fitting = cutsOf(text).filter(
    (cut) => cut.leftEnd <= maxChars && firstSpeakable < cut.leftEnd && lastSpeakable >= cut.rightStart,
  );
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
  return hardCut(text, maxChars);
}

/** Pieces of `sentence`, each at most `maxChars` long, trimmed, in order. */
export function splitLongSentence(sentence: string, maxChars: number, minChars: number): string[] {
  const pieces: string[] = [];
  let rest = sentence.trim();
  while (rest.length > maxChars) {
    const cut = bestCut(rest, maxChars, minChars);
    pieces.push(rest.slice(0, cut.leftEnd).trimEnd());
    rest = rest.slice(cut.rightStart).trimStart();
  }
  if (rest !== '') pieces.push(rest);
  // A piece with nothing to say (a hard-cut wall of "****") would only be noise: drop it.
  return pieces.filter((piece) => SPEAKABLE_CHAR.test(piece));
}
