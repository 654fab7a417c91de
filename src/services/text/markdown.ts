/**
 * Discord markdown, reduced to the words a reader sees.
 *
 * Code first (`extractCode`): fenced blocks are dropped whole — nobody wants code read aloud — while inline
 * code keeps its text verbatim; backslash escapes keep the escaped character. Both go through `keep` so the
 * emphasis rules never touch them.
 *
 * Then `stripMarkdown`: line markers (`> `, `>>> `, `# `…`### `, `-# ` subtext, `- `/`* ` bullets) and
 * paired emphasis (`***`, `**`, `*`, `__`, `_`, `~~`, `||spoiler||`, whose text is kept). Single `*` and
 * `_` count only around words — an opening marker not preceded by a letter/digit, a closing one not followed
 * by one — so `snake_case_names` and `2*3*4` survive. Hand-written rather than a markdown parser because
 * Discord's dialect is small and differs from CommonMark (subtext, spoilers, no links without scheme). The pairing
 * is done by emphasis.ts's linear scan, not by regular expressions, which retried the rest of the paragraph from
 * every marker without a partner.
 */
import { replacePaired, type PairedMarker } from './emphasis.js';
import { PARAGRAPH } from './placeholders.js';

/** Everything except a paragraph marker: emphasis never spans paragraphs. */
const ANY = `[^${PARAGRAPH}]`;

const CODE_OR_ESCAPE = new RegExp(
  String.raw`\\([^\p{L}\p{N}\s])|` + '```[\\s\\S]*?```|' + '``(?!`)(' + ANY + '+?)``|' + '`([^`' + PARAGRAPH + ']+)`',
  'gu',
);

export function extractCode(text: string, keep: (literal: string) => string): string {
  return text
    .replace(CODE_OR_ESCAPE, (whole: string, escaped: string | undefined, double: string | undefined, single: string | undefined) => {
      if (escaped !== undefined) return keep(escaped);
      const code = double ?? single;
      if (code !== undefined) return keep(code);
      return '\n'; // a fenced block: gone, but it still separated what came before from what follows
    })
    .replace(/`+/g, ''); // unclosed fences and stray backticks
}

const LINE_MARKERS: readonly RegExp[] = [
  /^[ ]*(?:>>>|>)[ ]+/gm, // block quotes
  /^[ ]*-#[ ]+/gm, // subtext
  /^[ ]*#{1,3}[ ]+/gm, // headings
  /^[ ]*[-*+•][ ]+/gm, // list bullets
];

/** In the order they are applied: longer markers before the shorter ones they contain. */
const EMPHASIS: readonly PairedMarker[] = [
  { open: '***', close: '***', edges: true, aroundWordsOnly: false, markerChar: '*' },
  { open: '**', close: '**', edges: true, aroundWordsOnly: false, markerChar: '*' },
  { open: '___', close: '___', edges: true, aroundWordsOnly: true, markerChar: '_' },
  { open: '__', close: '__', edges: true, aroundWordsOnly: true, markerChar: '_' },
  { open: '*', close: '*', edges: true, aroundWordsOnly: true, markerChar: '*' },
  { open: '_', close: '_', edges: true, aroundWordsOnly: true, markerChar: '_' },
  { open: '~~', close: '~~', edges: true, aroundWordsOnly: false, markerChar: '~' },
  { open: '||', close: '||', edges: false, aroundWordsOnly: false, markerChar: '|' },
];

export function stripMarkdown(text: string): string {
  let out = text;
  for (const marker of LINE_MARKERS) out = out.replace(marker, '');
  // Nested emphasis (`**_x_**`) needs more than one pass; four covers any realistic nesting.
  for (let pass = 0; pass < 4; pass++) {
    const before = out;
    for (const rule of EMPHASIS) out = replacePaired(out, rule);
    if (out === before) break;
  }
  return out;
}
