/**
 * Links: a masked link `[text](https://…)` keeps its text (that is what the reader sees); a bare URL, with or
 * without the `<…>` that suppresses its embed, is dropped — a URL spelled out letter by letter helps no one.
 *
 * Punctuation that ends a sentence right after a URL ("xem https://a.vn/x.") is left in the text, as Discord
 * itself does when it decides where a link ends; a closing parenthesis stays with the URL only when the URL
 * opened one (Wikipedia-style links).
 */

const MASKED_LINK = /\[([^\[\]\n]+)\]\(\s*<?(?:https?:\/\/|mailto:)[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*>?(?:\s+"[^"\n]*")?\s*\)/giu;
const BARE_URL = /<?\b(?:https?:\/\/|www\.)[^\s<>\uE000\uE001]+>?/giu;
const TRAILING_PUNCTUATION = new Set(['.', ',', ':', ';', '!', '?', "'", '"', '”', '’', ')', ']', '…']);

/**
 * The run of sentence punctuation that ends `url`, found from the end: a `/[…]+$/` regular expression would try every
 * position of a long run of dots and rescan the run from each (quadratic on "https://a.vn/" + 50 000 dots).
 */
function trailingPunctuation(url: string): string {
  let start = url.length;
  while (start > 0 && TRAILING_PUNCTUATION.has(url[start - 1] ?? '')) start--;
  return url.slice(start);
}

export function replaceLinks(text: string): string {
  return text.replace(MASKED_LINK, '$1').replace(BARE_URL, (url: string) => {
    if (url.startsWith('<') && url.endsWith('>')) return '';
    const body = url.startsWith('<') ? url.slice(1) : url;
    const trailing = trailingPunctuation(body);
    if (trailing === '') return '';
    // Keep one ')' with the URL when the URL itself opened a parenthesis.
    const opens = (body.match(/\(/g) ?? []).length;
    const keptTail = opens > 0 && trailing.startsWith(')') ? trailing.slice(1) : trailing;
    return keptTail;
  });
}
