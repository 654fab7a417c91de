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
 */
import { hasSpeakable } from './invisible.js';

const segmenter = new Intl.Segmenter('vi', { granularity: 'sentence' });

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
const ELLIPSIS_THEN_CAPITAL = /(?:…|\.{3,})\s+(?=["“‘'(«]?\p{Lu})/gu;

/** The last `count` whitespace-separated tokens of `text`, without opening brackets or quotes. */
function lastTokens(text: string, count: number): string[] {
  const found: string[] = [];
  let end = text.trimEnd().length;
  while (found.length < count && end > 0) {
    let start = end;
    while (start > 0 && !/\s/u.test(text[start - 1] ?? '')) start--;
    found.unshift(text.slice(start, end).replace(OPENERS, ''));
    end = start;
    while (end > 0 && /\s/u.test(text[end - 1] ?? '')) end--;
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

/** Whether the boundary between `before` and `after` (consecutive pieces of one line) is not a sentence end. */
function mustJoin(before: string, after: string): boolean {
  if (!/\s$/u.test(before)) return true;
  if (!hasSpeakable(before) || !hasSpeakable(after)) return true;
  const tail = lastTokens(before, 2);
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
 * The sentences of one line (no newlines), trimmed, in order. Joining them with single spaces gives the
 * line back when the line has single spaces (as `cleanText` output does).
 */
export function splitSentences(line: string): string[] {
  const pieces: string[] = [];
  for (const { segment } of segmenter.segment(line)) pieces.push(...splitAfterEllipses(segment));
  const sentences: string[] = [];
  for (const piece of pieces) {
    const previous = sentences.at(-1);
    if (previous !== undefined && mustJoin(previous, piece)) sentences[sentences.length - 1] = previous + piece;
    else sentences.push(piece);
  }
  return sentences.map((sentence) => sentence.trim()).filter((sentence) => sentence !== '');
}
