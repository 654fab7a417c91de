/**
 * Voice tags: one narration read by several voices (issue 11, part 3). `splitVoiceRuns` cuts the RAW text — before
 * cleaning, which would drop or alter the brackets — into runs, each read by one voice.
 *
 * Where a tag may stand (anything else that looks like one is plain text and is read as written):
 * - `[name]` at the start of a line (only spaces before it, and Discord's line markers — `> `, `>>> `, `- `, `* `,
 *   `# `, `-# ` — which cleaning removes anyway: `> [minh] …` in a quote is a tag too), after a sentence end on the same line (`.` `!` `?` `…`,
 *   possibly followed by closing quotes or brackets, then optional spaces: `Trời tối dần. [minh] Anh về đi!`), or
 *   right after another tag (`[narrator] [minh] …`: the last one wins). Spaces inside the brackets are allowed.
 *   These rules look at most 64 characters back (`LOOK_BACK`), so scanning stays linear on a long one-line file.
 * - `name:` at the start of a line (the same markers allowed), followed by a space or the line's end (the script form `Minh: Anh về đi!`), and
 *   only when `name` is a known voice or alias: otherwise the line is plain text, so "Note: …" stays text.
 * - Never `[x](url)` (a markdown link), never inside code (fenced blocks or inline code), never a name without a
 *   letter (`[1]`, a footnote, stays text). A name uses letters, digits, `_` `.` `-` (the characters of voice and
 *   alias names), at most 64 of them.
 * A `[name]` in tag position whose name is not known is an error (`VoiceTagUnknownError`): a typo in a script must
 * not be read aloud in the wrong voice. Names match case-insensitively, an alias of the server before a voice of the
 * same name (the server chose it). A tag switches voice until the next tag, across lines and paragraphs; text
 * before the first tag is read by the narration's own voice. A tag is never part of any run's text.
 */
import { NarratorError } from '../errors.js';
import { trailingSpace } from './whitespace.js';

export interface VoiceRun {
  /** The configured voice that reads this run. */
  readonly voice: string;
  /** The run's raw text, tag excluded (may be empty or only whitespace). */
  readonly text: string;
  /** A blank line separates this run from the previous one (the pause there is a paragraph's). */
  readonly paragraphBefore: boolean;
}

/** The names a tag may use: configured voices and the server's aliases, case-insensitively. */
export interface VoiceNames {
  /** The configured voice `name` stands for, or undefined. */
  resolve(name: string): string | undefined;
  /** Every name a tag may use (lower-case aliases, then voices), for error messages. */
  readonly names: readonly string[];
}

/**
 * `aliases` maps a lower-case alias to a voice (GuildSettings.aliases); an alias whose voice is no longer
 * configured is left out, so its tag is reported as unknown rather than sent to the worker.
 */
export function voiceNames(voices: readonly string[], aliases: Readonly<Record<string, string>> = {}): VoiceNames {
  const byName = new Map<string, string>();
  for (const voice of voices) byName.set(voice.toLowerCase(), voice);
  const usable = Object.entries(aliases).filter(([, voice]) => voices.includes(voice));
  for (const [alias, voice] of usable) byName.set(alias.toLowerCase(), voice);
  const aliasNames = usable.map(([alias]) => alias.toLowerCase()).sort();
  return {
    resolve: (name) => byName.get(name.trim().toLowerCase()),
    names: [...aliasNames, ...voices.filter((v) => !aliasNames.includes(v.toLowerCase()))],
  };
}

/** A `voice_tag_unknown` user error that carries the tag and the names it could have been. */
export class VoiceTagUnknownError extends NarratorError {
  constructor(
    readonly tag: string,
    readonly known: readonly string[],
  ) {
    super('user', 'voice_tag_unknown', `Unknown voice tag [${tag}]. Known names: ${known.join(', ')}.`);
  }
}

/** An alias is a tag name: `[minh]`, or `Minh:` at the start of a line (set by /settings alias or --voices-map). */
export const ALIAS_MAX_CHARS = 32;
const ALIAS = /^[\p{L}\p{M}\p{N}_-]+$/u;
const HAS_LETTER = /\p{L}/u;

/**
 * `[Minh]` or ` minh ` → `minh`; undefined when it is not a valid alias name. A name needs a letter, as a tag does
 * (`[1]` is a footnote, not a tag), so an alias that could never be used as a tag is refused when it is set.
 */
export function normalizeAlias(raw: string): string | undefined {
  const alias = raw.trim().replace(/^\[(.*)\]$/, '$1').trim().toLowerCase();
  return alias.length >= 1 && [...alias].length <= ALIAS_MAX_CHARS && ALIAS.test(alias) && HAS_LETTER.test(alias) ? alias : undefined;
}

const NAME = String.raw`[\p{L}\p{M}\p{N}_.\-]{1,64}`;
/** `[name]`, spaces inside allowed; group 1 is the name. */
const BRACKET_TAG = new RegExp(String.raw`\[[^\S\n]*(${NAME})[^\S\n]*\]`, 'gu');
/** Spaces and Discord line markers (quote, subtext, heading, bullet: markdown.ts's LINE_MARKERS) that may open a line. */
const LINE_OPENING = String.raw`[^\S\n]*(?:(?:>>>|>|-#|#{1,3}|[-*+•]) +)*`;
const ONLY_LINE_OPENING = new RegExp(`^${LINE_OPENING}$`, 'u');
/** `name:` at a line's start; group 1 is the name. */
const SCRIPT_TAG = new RegExp(String.raw`^${LINE_OPENING}(${NAME})[^\S\n]*:(?=\s|$)`, 'gmu');
/** What may stand between a sentence end and a tag: the end itself, closing quotes/brackets, spaces. */
const AFTER_SENTENCE_END = /[.!?…]["'”’»)\]]*[^\S\n]*$/u;
/** Fenced code, inline code (as markdown.ts reads them): no tag inside. An unclosed fence runs to the end. */
const CODE = /```[\s\S]*?(?:```|$(?![\s\S]))|``(?!`)[^\n]+?``|`[^`\n]+`/gu;
const BLANK_LINE = /\n[^\S\n]*\n/u;
/**
 * How far before a `[` the position rules look (a sentence end, closing marks, spaces, a previous tag): bounded, so a
 * long file on one line full of brackets stays linear. More closing marks and spaces than this: not a tag position.
 */
const LOOK_BACK = 64;

interface Tag {
  readonly start: number;
  readonly end: number;
  readonly voice: string;
}

/**
 * Splits `raw` into voice runs, in text order (rules in the header). Throws VoiceTagUnknownError for a `[name]` in
 * tag position whose name `names` does not know. Runs are returned as found, empty ones included (the caller
 * cleans each one and drops those with nothing to say).
 */
export function splitVoiceRuns(raw: string, options: { readonly defaultVoice: string; readonly names: VoiceNames }): VoiceRun[] {
  const { defaultVoice, names } = options;
  // Code spans, in order and apart: a binary search finds the one that could hold a position.
  const code: [number, number][] = [...raw.matchAll(CODE)].map((m) => [m.index, m.index + m[0].length]);
  const inCode = (at: number): boolean => {
    let lo = 0;
    let hi = code.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [from, to] = code[mid]!;
      if (at < from) hi = mid - 1;
      else if (at >= to) lo = mid + 1;
      else return true;
    }
    return false;
  };
  /** The text before `at` on its line, at most LOOK_BACK characters of it, and whether that is all of it. */
  const before = (at: number): { text: string; whole: boolean } => {
    const from = Math.max(0, at - LOOK_BACK);
    // Not lastIndexOf: on a long line it would scan back to the line's start for every bracket.
    for (let i = at - 1; i >= from; i--) if (raw.charCodeAt(i) === 10) return { text: raw.slice(i + 1, at), whole: true };
    return { text: raw.slice(from, at), whole: from === 0 };
  };

  const tags: Tag[] = [];
  const candidates = [
    ...[...raw.matchAll(BRACKET_TAG)].map((m) => ({ m, script: false })),
    ...[...raw.matchAll(SCRIPT_TAG)].map((m) => ({ m, script: true })),
  ].sort((a, b) => a.m.index - b.m.index);
  for (const { m, script } of candidates) {
    const name = m[1]!;
    const start = m.index;
    const end = start + m[0].length;
    if (!HAS_LETTER.test(name) || inCode(start)) continue;
    const previous = tags.at(-1);
    if (previous !== undefined && start < previous.end) continue; // inside an accepted tag (`[minh]:` at a line start)
    if (script) {
      const voice = names.resolve(name);
      if (voice !== undefined) tags.push({ start, end, voice });
      continue;
    }
    if (raw[end] === '(') continue; // [text](url): a link
    const line = before(start);
    const atLineStart = line.whole && ONLY_LINE_OPENING.test(line.text);
    const afterTag = previous !== undefined && start - previous.end <= LOOK_BACK && raw.slice(previous.end, start).trim() === '';
    if (!atLineStart && !AFTER_SENTENCE_END.test(line.text) && !afterTag) continue;
    const voice = names.resolve(name);
    if (voice === undefined) throw new VoiceTagUnknownError(name, names.names);
    tags.push({ start, end, voice });
  }

  const runs: VoiceRun[] = [];
  let voice = defaultVoice;
  let from = 0;
  let previousText = '';
  const push = (to: number) => {
    const text = raw.slice(from, to);
    const trailing = trailingSpace(previousText);
    const leading = /^\s*/u.exec(text)?.[0] ?? '';
    runs.push({ voice, text, paragraphBefore: runs.length > 0 && (BLANK_LINE.test(trailing) || BLANK_LINE.test(leading)) });
    previousText = text;
  };
  for (const tag of tags) {
    // Text before the first tag is a run only when there is some (a script that opens with a tag has none).
    if (tag.start > 0 || runs.length > 0) push(tag.start);
    voice = tag.voice;
    from = tag.end;
  }
  push(raw.length);
  return runs;
}
