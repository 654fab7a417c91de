/**
 * `prepareVoicedText`: `prepareText` for a narration that may switch voices (voiceTags.ts) — the engine's text path.
 *
 * The raw text is split into voice runs first (cleaning would drop or alter the `[tags]`); each run is cleaned on
 * its own (mentions, markdown, the dictionary), a run with nothing to say is dropped, and neighbouring runs of the
 * same voice are joined (as sentences, or paragraphs when a blank line separated them), so `[minh] a. [minh] b.`
 * chunks like `a. b.`. Each remaining run is chunked on its own, so no chunk mixes two voices; the short opening
 * (chunk.ts) applies to the narration's first run only. Indexes run 0, 1, 2… over the whole narration, and the
 * first chunk of a new voice gets the `speaker` pause (a `paragraph` one if a blank line stood there).
 * Limits apply to the whole narration: `spokenChars` counts every run's cleaned text plus one separator between
 * runs (two at a paragraph), as the chunk shares of the usage ledger do. Without any tag the result is exactly
 * `prepareText`'s, every chunk in `defaultVoice`.
 */
import { chunkText, type Chunk } from './chunk.js';
import { cleanText } from './clean.js';
import { Dictionary } from './dictionary.js';
import { hasSpeakable } from './invisible.js';
import { assertTextLength, boundRawInput, boundTimestamps, countChars, nothingSpeakable, type PrepareOptions } from './prepare.js';
import { splitVoiceRuns, type VoiceNames } from './voiceTags.js';

/** A chunk and the voice that reads it. */
export interface VoicedChunk extends Chunk {
  readonly voice: string;
}

export interface VoicedPrepareOptions extends PrepareOptions {
  /** The narration's own voice: it reads the text before the first tag. */
  readonly defaultVoice: string;
  /** The names tags may use. */
  readonly names: VoiceNames;
}

export interface VoicedText {
  readonly chunks: VoicedChunk[];
  /** Characters (code points) of every run's cleaned text plus the separators between runs. */
  readonly spokenChars: number;
  /** The voices that read something, in order of first appearance. */
  readonly voices: string[];
}

interface SpokenRun {
  readonly voice: string;
  cleaned: string;
  readonly paragraphBefore: boolean;
}

export function prepareVoicedText(raw: string, opts: VoicedPrepareOptions): VoicedText {
  const max = opts.maxSpokenChars;
  const rawChars = boundRawInput(raw, max);
  boundTimestamps(raw);
  const dictionary = opts.dictionary instanceof Dictionary ? opts.dictionary : opts.dictionary?.length ? new Dictionary(opts.dictionary) : undefined;
  const runs = splitVoiceRuns(raw, { defaultVoice: opts.defaultVoice, names: opts.names });

  const spoken: SpokenRun[] = [];
  let paragraphPending = false;
  for (const run of runs) {
    // A dropped run passes its blank line on to the next one that speaks.
    paragraphPending ||= run.paragraphBefore;
    const cleaned = cleanText(run.text, { resolveMention: opts.resolveMention, timeZone: opts.timeZone, dictionary });
    if (!hasSpeakable(cleaned)) continue;
    const last = spoken.at(-1);
    if (last?.voice === run.voice) last.cleaned += `${paragraphPending ? '\n\n' : '\n'}${cleaned}`;
    else spoken.push({ voice: run.voice, cleaned, paragraphBefore: spoken.length > 0 && paragraphPending });
    paragraphPending = false;
  }

  const whole = spoken.map((r, i) => (i === 0 ? '' : r.paragraphBefore ? '\n\n' : '\n') + r.cleaned).join('');
  const spokenChars = max === undefined ? countChars(whole) : assertTextLength(whole, max, rawChars);
  if (spoken.length === 0) throw nothingSpeakable();

  const chunks: VoicedChunk[] = [];
  spoken.forEach((run, r) => {
    const own = chunkText(run.cleaned, { ...opts, ...(r > 0 ? { firstChars: 0 } : {}) });
    own.forEach((chunk, i) => {
      const breakBefore = r > 0 && i === 0 ? (run.paragraphBefore ? 'paragraph' : 'speaker') : chunk.breakBefore;
      chunks.push({ index: chunks.length, text: chunk.text, breakBefore, voice: run.voice });
    });
  });
  return { chunks, spokenChars, voices: [...new Set(spoken.map((r) => r.voice))] };
}
