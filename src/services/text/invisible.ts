/**
 * Characters nobody can hear: zero-width spaces and joiners, bidi marks, soft hyphens, BOMs, control codes,
 * private-use glyphs and unassigned code points. They are removed before anything else so later rules
 * (paragraph detection, markdown, sentence splitting) see only what a reader sees.
 *
 * Newlines survive (they carry line and paragraph structure); tabs and the Unicode line/paragraph separators
 * become a space and a newline. Removing every format character (\p{Cf}) also removes the emoji zero-width
 * joiner, which is harmless: the emoji rule removes each pictograph of a sequence on its own.
 */

const FORMAT_PRIVATE_UNASSIGNED = /[\p{Cf}\p{Co}\p{Cn}]/gu;
/** Control characters except the newline, which is structure. */
const CONTROL_EXCEPT_NEWLINE = /[^\P{Cc}\n]/gu;

export function removeInvisible(text: string): string {
  return text
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    .replace(/[\t\v\f]/g, ' ')
    .replace(FORMAT_PRIVATE_UNASSIGNED, '')
    .replace(CONTROL_EXCEPT_NEWLINE, '');
}

/** True when the text holds something a voice can say: a letter or a digit in any script. */
export function hasSpeakable(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
