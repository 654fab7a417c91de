/**
 * `prepareText`: the text module's front door — clean, refuse what has nothing to say, chunk.
 * The input length check is separate (`assertTextLength`) because the limit belongs to the caller: a slash
 * command option allows 6000 characters, a CLI or a file may allow more.
 */
import { NarratorError } from '../errors.js';
import { chunkText, type Chunk, type ChunkOptions } from './chunk.js';
import { cleanText, type CleanOptions } from './clean.js';
import { hasSpeakable } from './invisible.js';

/** Discord's `max_length` ceiling for a string command option. */
export const MAX_INPUT_CHARS = 6000;

export interface PrepareOptions extends CleanOptions, ChunkOptions {}

export interface PreparedText {
  readonly cleaned: string;
  readonly chunks: Chunk[];
}

/**
 * Throws NarratorError('user', 'text_too_long') when `raw` has more than `max` characters (code points,
 * so it never refuses what a Discord option of the same `max_length` accepted).
 */
export function assertTextLength(raw: string, max: number = MAX_INPUT_CHARS): void {
  const length = [...raw].length;
  if (length > max) {
    throw new NarratorError(
      'user',
      'text_too_long',
      `The text is too long: ${length} characters, the limit is ${max}. Split it into smaller parts.`,
    );
  }
}

export function prepareText(raw: string, opts: PrepareOptions = {}): PreparedText {
  const cleaned = cleanText(raw, opts);
  if (!hasSpeakable(cleaned)) {
    throw new NarratorError(
      'user',
      'nothing_speakable',
      'Nothing to read aloud: the text is empty after removing links, emoji and formatting.',
    );
  }
  return { cleaned, chunks: chunkText(cleaned, opts) };
}
