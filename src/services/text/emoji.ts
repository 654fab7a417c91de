/**
 * Unicode emoji removal. Hand-written rather than a library because the regex property escapes built into
 * V8 already know which code points are pictographs; what they do not do alone is catch the pieces that
 * make up sequences, so those are listed explicitly:
 * - keycaps (`1️⃣` = digit + VS16 + U+20E3): the digit goes too, it was part of the picture;
 * - skin tones (Emoji_Modifier), variation selectors, regional-indicator pairs (flags);
 * - ZWJ sequences and tag sequences (subdivision flags) lose their joiners and tags in `removeInvisible`
 *   first, leaving only pictographs, removed here one by one.
 * \p{Extended_Pictographic} also covers ©, ® and ™; they are dropped too (nobody says "registered").
 * Each emoji becomes a space so that "chào😀bạn" does not glue two words together.
 */

const EMOJI =
  /[#*0-9]\uFE0F?\u20E3|[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u{E0020}-\u{E007F}\uFE0E\uFE0F\u20E3]+/gu;

export function removeEmoji(text: string): string {
  return text.replace(EMOJI, ' ');
}
