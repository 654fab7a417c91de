/**
 * `cleanText`: raw Discord message text → plain text a narrator can read.
 *
 * The worker normalizes numbers, dates and case itself; this is what it cannot know: Discord markup,
 * markdown, links, emoji and invisible characters (see each rule's file for the decisions). The output is
 * NFC, has single spaces inside lines, no line without a letter or digit, and keeps its structure as
 * `\n` (a line break: a sentence break for the chunker) and `\n\n` (a paragraph break: a longer pause).
 * Only blank lines the author wrote make paragraphs; a line that became empty (only an emoji, a code block)
 * just disappears. The server's pronunciation dictionary (dictionary.ts) replaces whole words in each line just
 * before it is tidied — after mentions are resolved and markdown is gone, so a nickname can be replaced — and so
 * before chunking.
 */
import { Dictionary, type DictionaryEntryInput } from './dictionary.js';
import { replaceDiscordMarkup, type ResolveMention } from './discordMarkup.js';
import { removeEmoji } from './emoji.js';
import { hasSpeakable, removeInvisible } from './invisible.js';
import { replaceLinks } from './links.js';
import { extractCode, stripMarkdown } from './markdown.js';
import { HeldLiterals, PARAGRAPH } from './placeholders.js';
import { assertTimeZone, DEFAULT_TIME_ZONE } from './timestamp.js';

export interface CleanOptions {
  /** Display name for a mention, or undefined to drop it. Names are spoken without `@`/`#`. */
  readonly resolveMention?: ResolveMention;
  /** IANA zone for `<t:…>` timestamps; default Asia/Ho_Chi_Minh. */
  readonly timeZone?: string;
  /** Pronunciation dictionary: whole-word, case-insensitive replacements applied to the cleaned text. */
  readonly dictionary?: readonly DictionaryEntryInput[] | Dictionary;
}

/** Verbatim text (code, names): no markdown, but still no URLs, emoji or line structure. */
function cleanLiteral(text: string): string {
  return removeEmoji(replaceLinks(removeInvisible(text.normalize('NFC'))))
    .replace(/\s+/gu, ' ')
    .trim();
}

/** Spacing the removals leave behind: "Chào <@1> !" → "Chào !" → "Chào!", "(xem <url>)" → "(xem)". */
function tidyLine(line: string): string {
  return line
    .replace(/\s+/gu, ' ')
    .replace(/\( ?\)|\[ ?\]/g, '')
    .replace(/ +(?=[.,!?;:…)\]”])/gu, '')
    .replace(/(?<=[(\[“]) +/gu, '')
    .replace(/^[,;:]+ */u, '')
    .replace(/ {2,}/g, ' ')
    .trim();
}

export function cleanText(raw: string, opts: CleanOptions = {}): string {
  const timeZone = opts.timeZone ?? DEFAULT_TIME_ZONE;
  assertTimeZone(timeZone);
  const held = new HeldLiterals();
  const keep = (literal: string): string => held.hold(cleanLiteral(literal));

  let text = removeInvisible(raw.normalize('NFC'));
  // Blank lines (possibly holding spaces or, before removal, zero-width characters) are paragraph breaks.
  text = text.replace(/\n(?:[^\S\n]*\n)+/gu, `\n${PARAGRAPH}\n`);
  text = extractCode(text, keep);
  text = replaceDiscordMarkup(text, { resolveMention: opts.resolveMention, timeZone, keep });
  text = replaceLinks(text);
  text = removeEmoji(text);
  text = stripMarkdown(text);
  text = text.replace(/(?<![\p{L}\p{N}_])@(?:everyone|here)\b/gu, '');
  text = held.restore(text).normalize('NFC');
  const dictionary = opts.dictionary instanceof Dictionary ? opts.dictionary : opts.dictionary?.length ? new Dictionary(opts.dictionary) : undefined;
  // On single-spaced lines (so "Hà  Nội" matches "Hà Nội") and before tidying, which would glue ".NET" to the word
  // before it; replacements are speakable single lines, so the line rules below still hold.
  const replaceWords = (piece: string): string => (dictionary ? dictionary.apply(piece.replace(/\s+/gu, ' ')) : piece);

  const out: string[] = [];
  let paragraphPending = false;
  for (const rawLine of text.split('\n')) {
    // The marker normally sits alone on its line; splitting on it keeps any text that shares the line.
    rawLine.split(PARAGRAPH).forEach((piece, i) => {
      if (i > 0) paragraphPending = true;
      const line = tidyLine(replaceWords(piece));
      if (!hasSpeakable(line)) return; // empty, or decoration such as "---" or "..."
      if (out.length > 0) out.push(paragraphPending ? '\n\n' : '\n');
      out.push(line);
      paragraphPending = false;
    });
  }
  return out.join('');
}
