/**
 * A server's pronunciation dictionary: whole-word, case-insensitive replacements ("TP.HCM" → "Thành phố Hồ Chí
 * Minh", a member's nickname, slang), applied by `cleanText` as its last step — after mentions are resolved and
 * markdown is gone, so a resolved nickname or a bolded word is matched as it will be read — and before chunking, so
 * the replaced text is what is synthesized and what the cache key holds (a changed entry never serves stale audio).
 *
 * - Words are matched as whole tokens: the characters on either side of a match must not be letters, digits or
 *   combining marks (Unicode-aware: Vietnamese letters with diacritics count as letters), so a word containing
 *   punctuation such as `TP.HCM` matches in "ở TP.HCM." but not inside "TP.HCMC"; `.NET` does not match in "ASP.NET".
 * - One pass over the text with one regular expression, longest entry first: at any position the longest entry
 *   wins, and replaced text is never scanned again (an entry cannot re-replace another's output).
 * - The replacement is cleaned like a verbatim literal (invisible characters, links, emoji, whitespace) so it
 *   cannot bring back what cleaning removed; entries are validated with the same limits the /dictionary command
 *   checks (`validateDictionaryEntry`).
 */
import { NarratorError } from '../errors.js';
import { removeEmoji } from './emoji.js';
import { hasSpeakable, removeInvisible } from './invisible.js';
import { replaceLinks } from './links.js';

export interface DictionaryEntryInput {
  readonly word: string;
  readonly say: string;
}

/** Most entries per server. */
export const DICTIONARY_MAX_ENTRIES = 200;
/** Longest word, in characters (code points). */
export const DICTIONARY_MAX_WORD = 64;
/** Longest replacement, in characters (code points). */
export const DICTIONARY_MAX_SAY = 200;

/** A letter, digit or combining mark: what may not touch a match on either side. */
const WORD_CHAR = '[\\p{L}\\p{N}\\p{M}]';

function codePoints(text: string): number {
  return [...text].length;
}

/** Same form as the cleaned text: NFC, no invisible characters, single spaces, trimmed. */
function normalizeWord(word: string): string {
  return removeInvisible(word.normalize('NFC')).replace(/\s+/gu, ' ').trim();
}

/** A replacement cleaned like a verbatim literal: nothing that cleaning would have removed comes back through it. */
function normalizeSay(say: string): string {
  return removeEmoji(replaceLinks(removeInvisible(say.normalize('NFC'))))
    .replace(/\s+/gu, ' ')
    .trim()
    .normalize('NFC');
}

/**
 * Checks one entry against the limits and returns it normalized (NFC, single spaces, trimmed) as it is matched and
 * spoken. Throws NarratorError('user', …) with a message that says what is wrong.
 */
export function validateDictionaryEntry(entry: DictionaryEntryInput): DictionaryEntryInput {
  const word = normalizeWord(entry.word);
  const say = normalizeSay(entry.say);
  if (word === '' || !hasSpeakable(word)) {
    throw new NarratorError('user', 'dictionary_word_invalid', 'The word must contain at least one letter or digit.');
  }
  if (codePoints(word) > DICTIONARY_MAX_WORD) {
    throw new NarratorError('user', 'dictionary_word_too_long', `The word is too long: ${codePoints(word)} characters, the limit is ${DICTIONARY_MAX_WORD}.`);
  }
  if (say === '' || !hasSpeakable(say)) {
    throw new NarratorError('user', 'dictionary_say_invalid', 'The pronunciation must contain at least one letter or digit (links and emoji are not read).');
  }
  if (codePoints(say) > DICTIONARY_MAX_SAY) {
    throw new NarratorError('user', 'dictionary_say_too_long', `The pronunciation is too long: ${codePoints(say)} characters, the limit is ${DICTIONARY_MAX_SAY}.`);
  }
  return { word, say };
}

/** Checks a whole dictionary (count + every entry); returns the normalized entries. */
export function validateDictionary(entries: readonly DictionaryEntryInput[]): DictionaryEntryInput[] {
  if (entries.length > DICTIONARY_MAX_ENTRIES) {
    throw new NarratorError('user', 'dictionary_full', `The dictionary has ${entries.length} entries, the limit is ${DICTIONARY_MAX_ENTRIES}.`);
  }
  return entries.map(validateDictionaryEntry);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A compiled dictionary: `apply` replaces every whole-word occurrence in one pass. */
export class Dictionary {
  readonly #pattern: RegExp | undefined;
  readonly #says: readonly string[];

  constructor(entries: readonly DictionaryEntryInput[]) {
    // Longest first (code points), so at any position the longest entry is the one that matches. A word listed
    // twice (in any case) keeps its first entry.
    const seen = new Set<string>();
    const unique = validateDictionary(entries).filter((e) => {
      const folded = e.word.toLowerCase();
      if (seen.has(folded)) return false;
      seen.add(folded);
      return true;
    });
    const sorted = unique.map((e, i) => ({ ...e, i })).sort((a, b) => codePoints(b.word) - codePoints(a.word) || a.i - b.i);
    this.#says = sorted.map((e) => e.say);
    // One capture group per entry: the group that matched says which entry it was (no case-folding look-up needed).
    this.#pattern =
      sorted.length === 0
        ? undefined
        : new RegExp(`(?<!${WORD_CHAR})(?:${sorted.map((e) => `(${escapeRegExp(e.word)})`).join('|')})(?!${WORD_CHAR})`, 'giu');
  }

  get size(): number {
    return this.#says.length;
  }

  apply(text: string): string {
    const pattern = this.#pattern;
    if (!pattern) return text;
    return text.replace(pattern, (...args: unknown[]) => {
      // args: match, group 1..n, offset, whole string (no named groups).
      for (let g = 0; g < this.#says.length; g++) {
        if (args[g + 1] !== undefined) return this.#says[g]!;
      }
      return String(args[0]);
    });
  }
}

/** Applies `entries` to `text` (see the header); an empty dictionary returns the text unchanged. */
export function applyDictionary(text: string, entries: readonly DictionaryEntryInput[] | Dictionary): string {
  const dictionary = entries instanceof Dictionary ? entries : new Dictionary(entries);
  return dictionary.apply(text);
}
