/**
 * Vietnamese sentence splitting: ICU's sentence segmenter plus the guards it needs.
 *
 * Measured with Node 22 (ICU 78, `Intl.Segmenter('vi')`): it keeps `1.500.000`, `3.14`, `v.v.` before a
 * lowercase word and `?`/`!` endings right, but
 * - splits after abbreviations followed by a capital: "TP. | HCM", "TS. | Nguyễn", "Q. 1 và P. | Bến Nghé",
 *   "Mr. | Smith", "ThS. | BS. | Lê", "Nguyễn V. | A." — guarded below;
 * - splits a list label from its item ("1. | Mua sữa") — guarded;
 * - does not split after "…" followed by a capital ("Chờ đã… Rồi sao?") — added ("..." it already splits);
 * - splits with no space between ("sao?Vâng") — rejoined: unspaced text is a typo more often than two
 *   sentences, and splitting only at spaces lets the chunker rejoin units with a single space.
 * `v.v.` (etc.) is deliberately not guarded: before a capital it almost always ends the sentence.
 * A capital initial ("V.", "Đ.", or a run: "N.V.A.") is guarded when it sits inside a run of capitalised words or
 * next to another initial ("Nguyễn V. Anh", "J. K. Rowling"); this also keeps "Nguyễn Văn A. Bà ấy…" as one
 * sentence, the cheaper mistake (one missing pause) compared with cutting names apart. A one-letter word with a
 * tone mark is not an initial: "khu vực Đông Nam Á. Sau đó…" is two sentences.
 *
 * Linear on long texts (a 100 000-character file on one line, or 50 000 short lines): V8's segment iterator costs
 * time proportional to the whole string at every step, so the segmenter is fed windows of about a thousand
 * characters (`icuSentences`), a paragraph's lines together; sentences are index ranges of the text, never strings
 * grown by concatenation and re-scanned.
 */
import { hasSpeakable } from './invisible.js';

const segmenter = new Intl.Segmenter('vi', { granularity: 'sentence' });

/** UAX #29's sentence terminators (STerm, ATerm) and paragraph separators (Sep, CR, LF): without one, nothing breaks. */
const MAY_BREAK = /[\p{Sentence_Terminal}.\u2024\uFE52\uFF0E\r\n\u0085\u2028\u2029]/u;
/**
 * Characters that end any look-ahead of the sentence rules (UAX #29 SB8 looks past a full stop, closing marks,
 * spaces, digits and punctuation for a lowercase letter: "a. 1 2 viết" is not a break), a subset of its letters,
 * terminators and separators: a boundary with one of these after it in the window is decided as in the whole text.
 */
const DECISIVE = /[\p{L}\p{Sentence_Terminal}.\u2024\uFE52\uFF0E\r\n\u0085\u2028\u2029]/u;

/** Characters the segmenter sees at once: a `segment()` call costs ~10 µs and each step time proportional to this. */
const WINDOW = 1024;

/** Index of the last DECISIVE character of `text`, or -1. */
function lastDecisive(text: string): number {
  for (let i = text.length - 1; i >= 0; i--) if (DECISIVE.test(text[i] ?? '')) return i;
  return -1;
}

/**
 * ICU's sentence segments of `text`, as `segmenter.segment(text)` gives them. ICU always breaks after a line feed and
 * never looks past one (UAX #29 SB4, SB8), so lines are segmented apart from each other: a line with nothing that could
 * end a sentence is one segment without asking ICU, and runs of the other lines go to it together (`windowed`).
 */
function* icuSentences(text: string): Generator<string> {
  let batchStart = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? text.length : newline + 1;
    if (!MAY_BREAK.test(text.slice(lineStart, newline === -1 ? text.length : newline))) {
      if (batchStart < lineStart) yield* windowed(text.slice(batchStart, lineStart));
      yield text.slice(lineStart, lineEnd);
      batchStart = lineEnd;
    }
    lineStart = lineEnd;
  }
  if (batchStart < text.length) yield* windowed(text.slice(batchStart));
}

/**
 * ICU's sentence segments of `text`, in windows: segmenting from a boundary gives the boundaries that follow it, and a
 * boundary is kept only when a DECISIVE character follows it in the window (so nothing beyond the window could have
 * changed it). A window that keeps nothing (one sentence longer than it) is doubled until it keeps something or
 * reaches the end.
 */
function* windowed(text: string): Generator<string> {
  let start = 0;
  let size = WINDOW;
  while (start < text.length) {
    if (start + size >= text.length) {
      for (const { segment } of segmenter.segment(text.slice(start))) yield segment;
      return;
    }
    const window = text.slice(start, start + size);
    const trusted = lastDecisive(window);
    const found: string[] = [];
    let kept = 0;
    for (const { segment, index } of segmenter.segment(window)) {
      if (index + segment.length > trusted) break;
      found.push(segment);
      kept = index + segment.length;
    }
    if (kept === 0) {
      size *= 2;
      continue;
    }
    yield* found;
    start += kept;
    size = WINDOW;
  }
}

/** Abbreviations that precede a name or a number, compared lowercased. Only real abbreviations: no "ông.". */
const ABBREVIATIONS = new Set([
  'tp', // thành phố
  'tx', // thị xã
  'tt', // thị trấn
  'ts', // tiến sĩ
  'pgs', // phó giáo sư
  'gs', // giáo sư
  'ths', // thạc sĩ
  'th.s',
  'bs', // bác sĩ
  'ks', // kỹ sư
  'ls', // luật sư
  'nxb', // nhà xuất bản
  'gđ', // giám đốc
  'pgđ',
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'st',
  'sr',
  'vs',
  'e.g',
  'i.e',
]);
/** Single letters that abbreviate a place type (quận, phường, xã), compared as written. */
const LETTER_ABBREVIATIONS = new Set(['Q', 'P', 'X']);

const OPENERS = /^[("“‘'«\[]+/u;
/**
 * A name initial: one capital letter of the Latin or Vietnamese alphabet (Đ, and the vowels with a hat or horn) with
 * no tone mark, or a run of them ("N.V.A."). A capital with a tone mark is a word ("Đông Nam Á.", "nước Ý."):
 * initials are written without tones.
 */
const INITIAL = /^(?:[A-ZĐĂÂÊÔƠƯ]\.)+$/u;
const LIST_LABEL = /^(?:\d{1,3}|[A-Za-z]|[IVXLC]{1,6})\.$/u;
// Not inside a run of dots: from its first dot the run's length no longer matters, and retrying from each dot of a
// long run would be quadratic.
const ELLIPSIS_THEN_CAPITAL = /(?:…|(?<!\.)\.{3,})\s+(?=["“‘'(«]?\p{Lu})/gu;

const isSpace = (char: string | undefined): boolean => char !== undefined && /\s/u.test(char);

/**
 * The last `count` whitespace-separated tokens of `line.slice(from, end)`, without opening brackets or quotes. Works
 * on indexes of the line: a sentence grown by joining pieces is never copied to be scanned.
 */
function lastTokens(line: string, from: number, end: number, count: number): string[] {
  const found: string[] = [];
  while (end > from && isSpace(line[end - 1])) end--;
  while (found.length < count && end > from) {
    let start = end;
    while (start > from && !isSpace(line[start - 1])) start--;
    found.unshift(line.slice(start, end).replace(OPENERS, ''));
    end = start;
    while (end > from && isSpace(line[end - 1])) end--;
  }
  return found;
}

function firstToken(text: string): string | undefined {
  return /\S+/u.exec(text)?.[0].replace(OPENERS, '');
}

function isAbbreviation(token: string): boolean {
  if (!token.endsWith('.')) return false;
  const body = token.slice(0, -1);
  if (LETTER_ABBREVIATIONS.has(body)) return true;
  const lower = body.toLowerCase();
  if (ABBREVIATIONS.has(lower)) return true;
  // Stacked titles written without spaces: "TS.BS." ends with "bs".
  const last = lower.split('.').at(-1) ?? '';
  return last.length >= 2 && ABBREVIATIONS.has(last);
}

function startsCapitalised(token: string | undefined): boolean {
  return token !== undefined && /^\p{Lu}/u.test(token);
}

/** A sentence in the making: a range of the line, and whether it holds a letter or digit yet. */
interface Sentence {
  readonly start: number;
  end: number;
  speakable: boolean;
}

/**
 * Whether the boundary between `before` (a sentence in the making) and `after` (the next piece of the line, starting
 * where `before` ends) is not a sentence end.
 */
function mustJoin(text: string, before: Sentence, after: string): boolean {
  if (!isSpace(text[before.end - 1])) return true;
  if (!before.speakable || !hasSpeakable(after)) return true;
  const tail = lastTokens(text, before.start, before.end, 2);
  const last = tail.at(-1) ?? '';
  const secondLast = tail.length === 2 ? tail[0] : undefined;
  const next = firstToken(after);
  if (isAbbreviation(last)) return true;
  if (secondLast === undefined && LIST_LABEL.test(last)) return true;
  if (INITIAL.test(last) && next !== undefined) {
    if (INITIAL.test(next)) return true;
    if (startsCapitalised(secondLast) && startsCapitalised(next)) return true;
  }
  return false;
}

function splitAfterEllipses(segment: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (const match of segment.matchAll(ELLIPSIS_THEN_CAPITAL)) {
    const end = match.index + match[0].length;
    parts.push(segment.slice(start, end));
    start = end;
  }
  parts.push(segment.slice(start));
  return parts.filter((part) => part !== '');
}

/**
 * The sentences of `text`, trimmed, in order. A line break always ends a sentence: each line is split as it would be
 * alone, so a whole paragraph can be passed at once (one segmenter for many short lines). Joining a line's sentences
 * with single spaces gives the line back when it has single spaces (as `cleanText` output does).
 */
export function splitSentences(text: string): string[] {
  const sentences: Sentence[] = [];
  let lineStart = 0;
  let at = 0;
  for (const segment of icuSentences(text)) {
    // ICU always breaks after a line feed (UAX #29 SB4), so one can only end a segment.
    const endsLine = segment.endsWith('\n');
    for (const piece of splitAfterEllipses(endsLine ? segment.slice(0, -1) : segment)) {
      const previous = sentences.at(-1);
      const speakable = hasSpeakable(piece);
      if (previous !== undefined && previous.start >= lineStart && mustJoin(text, previous, piece)) {
        previous.end = at + piece.length;
        previous.speakable ||= speakable;
      } else {
        sentences.push({ start: at, end: at + piece.length, speakable });
      }
      at += piece.length;
    }
    if (endsLine) {
      at += 1;
      lineStart = at;
    }
  }
  return sentences.map(({ start, end }) => text.slice(start, end).trim()).filter((sentence) => sentence !== '');
}
