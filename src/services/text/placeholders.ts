/**
 * Private-use markers used while cleaning. Input text never contains private-use characters (they are
 * removed first, see invisible.ts), so these cannot collide with anything a user typed.
 *
 * - A paragraph break is marked as a line holding only PARAGRAPH, so later rules can tell "blank line
 *   the author wrote" from "line that became empty because its emoji or code were removed".
 * - Text that must come out verbatim (inline code, escaped characters, display names, timestamps) is held
 *   aside and replaced by HOLD_OPEN + index + HOLD_CLOSE until the markdown rules are done.
 */

export const PARAGRAPH = '\uE002';
export const HOLD_OPEN = '\uE000';
export const HOLD_CLOSE = '\uE001';

const HELD = /\uE000(\d+)\uE001/g;

export class HeldLiterals {
  readonly #values: string[] = [];

  /** Replaces `literal` by a marker; an empty literal needs no marker. */
  hold(literal: string): string {
    if (literal === '') return '';
    this.#values.push(literal);
    return `${HOLD_OPEN}${this.#values.length - 1}${HOLD_CLOSE}`;
  }

  restore(text: string): string {
    return text.replace(HELD, (_marker: string, index: string) => this.#values[Number(index)] ?? '');
  }
}
