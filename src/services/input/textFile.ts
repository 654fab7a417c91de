/**
 * A text file → the text to narrate: which files are accepted (by extension), how their bytes are decoded, and how
 * subtitles lose their timing. No Discord here: /narrate `file:`, the "Narrate" message command and any tool can
 * use it on bytes from anywhere (download.ts fetches them within a size limit).
 *
 * Decoding is strict on purpose. UTF-8 (with or without BOM) and UTF-16 LE/BE *with* a BOM are the encodings
 * editors save; anything else either decodes to mojibake or is not text at all, and reading mojibake aloud costs
 * GPU time for noise. So bytes that are not valid UTF-8 and carry no UTF-16 BOM are refused, and data that is
 * plainly binary (a known file signature, NUL bytes, or many control characters) is refused naming what it looks
 * like — "this is a PNG image" tells a user they picked the wrong file, "not UTF-8" would not.
 *
 * Subtitles (.srt, .vtt) keep only what is said: the WEBVTT header, NOTE/STYLE/REGION blocks, cue numbers and ids,
 * timing lines and inline tags (`<i>`, `<c.x>`, `<v Name>`, `{\an8}`) go. A sentence often runs over two cues, so
 * cues are joined by a space unless the previous one ended a sentence (then by a line break): the sentence splitter
 * downstream sees the sentences as they were spoken, not as they were timed.
 */
import { NarratorError } from '../errors.js';

/** The extensions accepted, and how each is read. Markdown is read as text: the cleaner handles its markup. */
export const TEXT_FILE_KINDS = { '.txt': 'text', '.md': 'text', '.srt': 'subtitles', '.vtt': 'subtitles' } as const;
export type TextFileKind = (typeof TEXT_FILE_KINDS)[keyof typeof TEXT_FILE_KINDS];
export const ACCEPTED_EXTENSIONS = Object.keys(TEXT_FILE_KINDS) as (keyof typeof TEXT_FILE_KINDS)[];

/** Why a file cannot be narrated; messages.ts words each one for the user. */
export type TextFileProblem =
  | { readonly kind: 'extension'; readonly extension: string }
  | { readonly kind: 'binary'; readonly format?: BinaryFormat }
  | { readonly kind: 'encoding' }
  | { readonly kind: 'too_large'; readonly limitBytes: number; readonly sizeBytes?: number }
  | { readonly kind: 'empty' }
  | { readonly kind: 'download_failed'; readonly status?: number }
  | { readonly kind: 'download_timeout' }
  | { readonly kind: 'source' };

/** A refusal about the file itself (a `user` error: tell the user, never retry). */
export class TextFileError extends NarratorError {
  constructor(
    readonly problem: TextFileProblem,
    detail?: string,
  ) {
    super('user', `file_${problem.kind}`, `The file cannot be narrated (${problem.kind}).`, detail);
  }
}

export type BinaryFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'pdf' | 'zip' | 'gzip' | 'wav' | 'mp3' | 'ogg' | 'mp4' | 'exe';

/** File signatures users are likely to pick by mistake (a screenshot, a .docx — a ZIP — a PDF, a recording). */
const SIGNATURES: readonly { readonly format: BinaryFormat; readonly bytes: readonly number[]; readonly at?: number }[] = [
  { format: 'png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { format: 'jpeg', bytes: [0xff, 0xd8, 0xff] },
  { format: 'gif', bytes: [0x47, 0x49, 0x46, 0x38] },
  { format: 'pdf', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { format: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { format: 'zip', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { format: 'gzip', bytes: [0x1f, 0x8b] },
  { format: 'ogg', bytes: [0x4f, 0x67, 0x67, 0x53] },
  { format: 'mp3', bytes: [0x49, 0x44, 0x33] },
  { format: 'mp4', bytes: [0x66, 0x74, 0x79, 0x70], at: 4 },
  { format: 'exe', bytes: [0x4d, 0x5a] },
];

/** Above this share of control characters (other than tab, line breaks and form feed) the data is not prose. */
const MAX_CONTROL_SHARE = 0.01;

/** The kind of file a name stands for, or undefined when its extension is not accepted. */
export function textFileKind(fileName: string): TextFileKind | undefined {
  const dot = fileName.lastIndexOf('.');
  if (dot < 0) return undefined;
  const extension = fileName.slice(dot).toLowerCase();
  return Object.hasOwn(TEXT_FILE_KINDS, extension) ? TEXT_FILE_KINDS[extension as keyof typeof TEXT_FILE_KINDS] : undefined;
}

/** Refuses a name whose extension is not accepted, before anything is downloaded. */
export function assertTextFileName(fileName: string): TextFileKind {
  const kind = textFileKind(fileName);
  if (kind) return kind;
  const dot = fileName.lastIndexOf('.');
  throw new TextFileError({ kind: 'extension', extension: dot < 0 ? '' : fileName.slice(dot).toLowerCase() });
}

/** What a known signature says the bytes are (undefined: no known binary format). */
export function binaryFormatOf(bytes: Uint8Array): BinaryFormat | undefined {
  const riff = bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF';
  if (riff && ascii(bytes, 8, 12) === 'WAVE') return 'wav';
  if (riff && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  return SIGNATURES.find((s) => s.bytes.every((b, i) => bytes[(s.at ?? 0) + i] === b))?.format;
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/**
 * Bytes → text: UTF-8 with or without BOM, UTF-16 LE/BE with BOM. Binary data and any other encoding throw a
 * TextFileError naming the problem. Line breaks come back as `\n`.
 */
export function decodeTextBytes(bytes: Uint8Array): string {
  const format = binaryFormatOf(bytes);
  if (format) throw new TextFileError({ kind: 'binary', format });
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = strictDecode('utf-16le', bytes.subarray(2));
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = strictDecode('utf-16be', bytes.subarray(2));
  else {
    // UTF-16 without a BOM is all NULs between ASCII letters: binary to a UTF-8 reader, and refused as such.
    if (bytes.includes(0)) throw new TextFileError({ kind: 'binary' });
    const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
    text = strictDecode('utf-8', body);
  }
  if (controlShare(text) > MAX_CONTROL_SHARE) throw new TextFileError({ kind: 'binary' });
  return text.replace(/\r\n?/g, '\n');
}

function strictDecode(encoding: 'utf-8' | 'utf-16le' | 'utf-16be', bytes: Uint8Array): string {
  // Odd-length UTF-16 or a lone surrogate is as wrong as invalid UTF-8: `fatal` makes it throw, not guess.
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new TextFileError({ kind: 'encoding' });
  }
}

function controlShare(text: string): number {
  if (text.length === 0) return 0;
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f || (c >= 0x80 && c < 0xa0)) control++;
  }
  return control / text.length;
}

/** A timing line: `00:00:01,000 --> 00:00:04,000` (SRT) or `00:01.000 --> 00:04.000 align:start` (VTT). */
const TIMING = /^\s*(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->\s*(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}/;
/** Blocks that hold no speech: the header, comments, styles and regions (WebVTT). */
const NON_CUE_BLOCK = /^(?:WEBVTT|NOTE|STYLE|REGION)(?:[ \t]|$)/;
/** Where a cue ends a sentence: the next cue starts a new line. */
const SENTENCE_END = /[.!?…:;。！？]["'”’»)\]]*$/u;

/** The spoken text of a subtitle file (SRT or WebVTT): cue text only, tags removed, cues joined as speech. */
export function subtitlesToText(source: string): string {
  const blocks = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/);
  const cues: string[] = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0 || NON_CUE_BLOCK.test(lines[0]!)) continue;
    const timing = lines.findIndex((l) => TIMING.test(l));
    // A block with no timing line is not a cue (a stray header, metadata): nothing in it is shown on screen.
    if (timing < 0) continue;
    const text = lines
      .slice(timing + 1)
      .map(stripCueMarkup)
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
    if (text) cues.push(text);
  }
  const out: string[] = [];
  cues.forEach((cue, i) => {
    // A dialogue line ("- Anh về đi!") or the end of a sentence starts a new line; otherwise the sentence goes on.
    // The previous cue, not the text so far, is tested: `…$` retried from every character of a growing text was
    // quadratic in the number of cues (3 s for a 450 kB file), and the end of the text is the end of that cue.
    if (i > 0) out.push(SENTENCE_END.test(cues[i - 1]!) || /^[-–—]\s/.test(cue) ? '\n' : ' ');
    out.push(cue);
  });
  return out.join('');
}

function stripCueMarkup(line: string): string {
  return line
    .replace(/<[^>\n]*>/g, '') // <i>, </i>, <b>, <c.yellow>, <v Roger>, <00:00:01.500>, <font …>
    .replace(/\{\\[^}\n]*\}/g, '') // {\an8}, {\i1}: ASS override tags some SRT files carry
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A file's name and bytes → the text to narrate. Throws TextFileError for every refusal. */
export function textFromFile(fileName: string, bytes: Uint8Array): string {
  const kind = assertTextFileName(fileName);
  const decoded = decodeTextBytes(bytes);
  const text = kind === 'subtitles' ? subtitlesToText(decoded) : decoded;
  if (text.trim() === '') throw new TextFileError({ kind: 'empty' });
  return text;
}
