/**
 * `prepareText`: the text module's front door — bound the input, clean, check the length of what will actually be
 * spoken, refuse what has nothing to say, chunk.
 *
 * Every length limit applies to the cleaned text, because that is what the GPU synthesizes: cleaning spells out
 * `<t:…>` timestamps and mentions, so 6000 characters of `<t:0:F> ` become ~29 000 spoken ones. Characters are
 * counted as Discord counts an option's `max_length` (Unicode code points), in one place: `assertTextLength`.
 * The limit belongs to the caller (a slash command option allows 6000 characters, a CLI or a file may allow more);
 * with a limit, a raw input beyond `RAW_INPUT_FACTOR` times it is refused before cleaning, to bound the CPU spent —
 * and so is, with or without a limit, a text with more than MAX_SPELLED_TIMESTAMPS timestamps (each an ICU call).
 */
import { NarratorError } from '../errors.js';
import { chunkText, type Chunk, type ChunkOptions } from './chunk.js';
import { cleanText, type CleanOptions } from './clean.js';
import { countSpelledTimestamps } from './discordMarkup.js';
import { hasSpeakable } from './invisible.js';
import { MAX_SPELLED_TIMESTAMPS } from './timestamp.js';

/** Discord's `max_length` ceiling for a string command option. */
export const MAX_INPUT_CHARS = 6000;

/** With a limit, raw input longer than this many times the limit is refused without cleaning it. */
export const RAW_INPUT_FACTOR = 10;

export interface PrepareOptions extends CleanOptions, ChunkOptions {
  /** Most characters (code points) the cleaned text may have. Default: no limit. */
  readonly maxSpokenChars?: number;
}

export interface PreparedText {
  readonly cleaned: string;
  readonly chunks: Chunk[];
  /** Characters of `cleaned`, counted as Discord counts them (code points): what every limit and budget applies to. */
  readonly spokenChars: number;
}

/** A `text_too_long` user error that carries its numbers, so the edges can say them in the user's language. */
export class TextTooLongError extends NarratorError {
  constructor(
    /** Characters counted (spoken ones, or raw ones for an input refused before cleaning). */
    readonly chars: number,
    readonly max: number,
    /** True when the input itself fitted and spelling out mentions and timestamps made it too long. */
    readonly expanded: boolean,
  ) {
    super(
      'user',
      'text_too_long',
      expanded
        ? `The text is too long once mentions and timestamps are spelled out: ${chars} characters to read, the limit is ${max}. Split it into smaller parts.`
        : `The text is too long: ${chars} characters, the limit is ${max}. Split it into smaller parts.`,
    );
  }
}

/** A `too_many_timestamps` user error carrying the maximum, for the edges to say in the user's language. */
export class TooManyTimestampsError extends NarratorError {
  constructor(readonly max: number) {
    super('user', 'too_many_timestamps', `The text has more than ${max} Discord timestamps (<t:…>); at most ${max} are read in one narration. Split it into smaller parts.`);
  }
}

/** Characters as Discord counts them: Unicode code points (an emoji outside the BMP is one, not two UTF-16 units). */
export function countChars(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/**
 * Throws TextTooLongError (NarratorError 'user', 'text_too_long') when `text` — the cleaned text, normally — has more
 * than `max` characters (code points, so it never refuses what a Discord option of the same `max_length` accepted).
 * `rawChars`, the length of the input it was cleaned from, lets the message say when cleaning made it too long.
 * Returns the count.
 */
export function assertTextLength(text: string, max: number = MAX_INPUT_CHARS, rawChars?: number): number {
  const length = countChars(text);
  if (length > max) throw new TextTooLongError(length, max, rawChars !== undefined && rawChars <= max);
  return length;
}

/**
 * With a limit, refuses a raw input beyond `RAW_INPUT_FACTOR` times it (before any cleaning) and returns its length
 * in code points, for `assertTextLength`'s message; without a limit, undefined.
 */
export function boundRawInput(raw: string, max: number | undefined): number | undefined {
  if (max === undefined) return undefined;
  // UTF-16 length ≥ code points: only a long input needs counting here.
  if (raw.length > RAW_INPUT_FACTOR * max) {
    const rawChars = countChars(raw);
    if (rawChars > RAW_INPUT_FACTOR * max) throw new TextTooLongError(rawChars, max, false);
    return rawChars;
  }
  return raw.length > max ? countChars(raw) : raw.length;
}

/** Refuses, before any is spelled out, a text with more timestamps than MAX_SPELLED_TIMESTAMPS (see there why). */
export function boundTimestamps(raw: string): void {
  if (!raw.includes('<t:')) return;
  if (countSpelledTimestamps(raw, MAX_SPELLED_TIMESTAMPS + 1) > MAX_SPELLED_TIMESTAMPS) throw new TooManyTimestampsError(MAX_SPELLED_TIMESTAMPS);
}

/** The `nothing_speakable` user error. */
export function nothingSpeakable(): NarratorError {
  return new NarratorError('user', 'nothing_speakable', 'Nothing to read aloud: the text is empty after removing links, emoji and formatting.');
}

export function prepareText(raw: string, opts: PrepareOptions = {}): PreparedText {
  const max = opts.maxSpokenChars;
  const rawChars = boundRawInput(raw, max);
  boundTimestamps(raw);
  const cleaned = cleanText(raw, opts);
  const spokenChars = max === undefined ? countChars(cleaned) : assertTextLength(cleaned, max, rawChars);
  if (!hasSpeakable(cleaned)) throw nothingSpeakable();
  return { cleaned, chunks: chunkText(cleaned, opts), spokenChars };
}
