/** Texts of an exact spoken length, for tests of the character limits (which count the cleaned, spoken text). */
import assert from 'node:assert/strict';
import { prepareText } from '../../src/services/text/index.js';

const WORDS = 'hôm nay trời đẹp quá chúng ta cùng nhau ra công viên đi dạo và ngắm hoa bên hồ'.split(' ');

/** A Vietnamese text whose cleaned (spoken) form has exactly `n` characters; `tag` makes texts of one length differ. */
export function textOfSpokenLength(n: number, tag = ''): string {
  let text = tag ? `${tag} ` : '';
  for (let i = 0; [...text].length < n; i++) text += `${WORDS[i % WORDS.length]} `;
  text = `${[...text].slice(0, n - 1).join('').trimEnd()}`;
  const spoken = (s: string) => prepareText(`${s}.`, { maxSpokenChars: 100_000 }).spokenChars;
  while (spoken(text) < n) text += 'a';
  while (spoken(text) > n) text = [...text].slice(0, -1).join('');
  assert.equal(spoken(text), n);
  return `${text}.`;
}
