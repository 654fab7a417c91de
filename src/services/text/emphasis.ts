/**
 * Paired emphasis markers (`**bold**`, `_italic_`, `~~struck~~`, `||spoiler||`) replaced by their text, in one
 * linear scan per rule.
 *
 * Each rule does exactly what a global regular expression would do — `open (?=edge) (any*? edge) close`, with the
 * word guards of single `*`/`_` as look-behind and look-ahead, content never crossing a paragraph marker, leftmost
 * match first, the shortest content, scanning on after each match — but a regular expression retries the rest of the
 * paragraph from every opening marker that has no partner: `a *b ` repeated over 100 000 characters took seconds.
 * Here the nearest valid closing marker is found by a cursor that only moves forward, so each character is looked at
 * a bounded number of times. The rules themselves (which markers, around words or not) are markdown.ts's.
 */
import { PARAGRAPH } from './placeholders.js';

export interface PairedMarker {
  readonly open: string;
  readonly close: string;
  /** Content starts and ends with a character that is not a space, a marker character or a paragraph marker. */
  readonly edges: boolean;
  /** Single `*`/`_`: the opening marker follows no letter/digit/marker character, the closing one precedes none. */
  readonly aroundWordsOnly: boolean;
  /** The marker's own character (`*`, `_`, `~`, `|`). */
  readonly markerChar: string;
}

const WORDISH = /[\p{L}\p{N}]/u;
const SPACE = /\s/u;

/** The code point that ends just before `at`, or undefined at the start. */
function codePointBefore(text: string, at: number): string | undefined {
  if (at <= 0) return undefined;
  const low = text.charCodeAt(at - 1);
  const high = at >= 2 ? text.charCodeAt(at - 2) : 0;
  return low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? text.slice(at - 2, at) : text[at - 1];
}

/** The code point that starts at `at`, or undefined at the end. */
function codePointAt(text: string, at: number): string | undefined {
  const point = text.codePointAt(at);
  return point === undefined ? undefined : String.fromCodePoint(point);
}

/** Replaces every match of `marker` in `text` by its content (what `text.replace(regex, '$1')` would give). */
export function replacePaired(text: string, marker: PairedMarker): string {
  const { open, close, edges, aroundWordsOnly, markerChar } = marker;
  if (!text.includes(open)) return text;
  const isEdge = (char: string | undefined): boolean => char !== undefined && char !== markerChar && char !== PARAGRAPH && !SPACE.test(char);
  const guarded = (char: string | undefined): boolean => char !== undefined && (char === markerChar || WORDISH.test(char));

  /** A closing marker at `q` that ends content (edge before it) and is not followed by a word (when guarded). */
  const closesAt = (q: number): boolean =>
    (!edges || isEdge(text[q - 1])) && !(aroundWordsOnly && guarded(codePointAt(text, q + close.length)));
  // Cursors that only move forward (openings are tried left to right, so each question asks from further on): the
  // first valid closing marker, and the first paragraph marker, at or after `from`.
  let closeSearched = false;
  let closeFound = -1;
  const nextClose = (from: number): number => {
    if (closeSearched && (closeFound === -1 || closeFound >= from)) return closeFound;
    closeSearched = true;
    let q = text.indexOf(close, from);
    while (q !== -1 && !closesAt(q)) q = text.indexOf(close, q + 1);
    closeFound = q;
    return q;
  };
  let paragraphSearched = false;
  let paragraphFound = -1;
  const nextParagraph = (from: number): number => {
    if (!(paragraphSearched && (paragraphFound === -1 || paragraphFound >= from))) {
      paragraphSearched = true;
      paragraphFound = text.indexOf(PARAGRAPH, from);
    }
    return paragraphFound === -1 ? text.length : paragraphFound;
  };

  const out: string[] = [];
  let copied = 0;
  let p = text.indexOf(open);
  while (p !== -1) {
    const start = p + open.length;
    const opens =
      !(aroundWordsOnly && guarded(codePointBefore(text, p))) &&
      start < text.length &&
      text[start] !== PARAGRAPH &&
      (!edges || isEdge(text[start]));
    const q = opens ? nextClose(start + 1) : -1;
    if (q !== -1 && q < nextParagraph(start)) {
      out.push(text.slice(copied, p), text.slice(start, q));
      copied = q + close.length;
      p = text.indexOf(open, copied);
    } else {
      p = text.indexOf(open, p + 1);
    }
  }
  if (copied === 0) return text;
  out.push(text.slice(copied));
  return out.join('');
}
