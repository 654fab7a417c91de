/**
 * The text module: raw Discord text → cleaned text → chunks for the TTS worker.
 * Use `prepareText` for the whole path, `prepareVoicedText` for a text that may switch voices with `[tags]` (what the
 * engine plans with); the parts are exported for the CLI, tests and diagnostics.
 */
export { chunkText, DEFAULT_FIRST_CHARS, DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS, type Chunk, type ChunkOptions } from './chunk.js';
export { cleanText, type CleanOptions } from './clean.js';
export {
  applyDictionary,
  Dictionary,
  DICTIONARY_MAX_ENTRIES,
  DICTIONARY_MAX_SAY,
  DICTIONARY_MAX_WORD,
  validateDictionary,
  validateDictionaryEntry,
  type DictionaryEntryInput,
} from './dictionary.js';
export type { MentionKind, ResolveMention } from './discordMarkup.js';
export { hasSpeakable } from './invisible.js';
export {
  assertTextLength,
  countChars,
  MAX_INPUT_CHARS,
  prepareText,
  RAW_INPUT_FACTOR,
  TextTooLongError,
  TooManyTimestampsError,
  type PrepareOptions,
  type PreparedText,
} from './prepare.js';
export { splitSentences } from './sentences.js';
export { prepareVoicedText, type VoicedChunk, type VoicedPrepareOptions, type VoicedText } from './prepareVoiced.js';
export {
  ALIAS_MAX_CHARS,
  normalizeAlias,
  splitVoiceRuns,
  voiceNames,
  VoiceTagUnknownError,
  type VoiceNames,
  type VoiceRun,
} from './voiceTags.js';
export { DEFAULT_TIME_ZONE } from './timestamp.js';
