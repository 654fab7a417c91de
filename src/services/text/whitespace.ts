/**
 * Whitespace by character code, for scans that walk a text by index (cutting a long sentence, the trailing spaces of
 * a voice run): a `/\s*$/` regular expression retries from every space of a long run and rescans the run from each,
 * quadratic on a file holding 100 000 spaces, and a single-character regex test per step is needlessly slow.
 */

/** Whether a UTF-16 code unit is one of `\s` (ECMAScript WhiteSpace and LineTerminator; all are in the BMP). */
export function isSpaceCode(code: number): boolean {
  return (
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** The whitespace that ends `text` (what `/\s*$/u` matches), found from the end. */
export function trailingSpace(text: string): string {
  let start = text.length;
  while (start > 0 && isSpaceCode(text.charCodeAt(start - 1))) start--;
  return text.slice(start);
}
