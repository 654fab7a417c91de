/**
 * The text path on inputs a `/narrate file:` of 100 000 characters can hold, built to hit the spots that once grew
 * quadratically (unmatched emphasis markers, one long line, a word with no space, runs of dots). What is asserted is
 * what a listener would get — the same words, chunks within the limits, sentences where they were — never how long it
 * took: the time is figure 11 of the bench (`npm run bench -- --only text`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { chunkText, cleanText, DEFAULT_MAX_CHARS, prepareText, splitSentences } from '../src/services/text/index.js';

const segmenter = new Intl.Segmenter('vi', { granularity: 'sentence' });

describe('long lines: the sentence segmenter works in windows, with the same result', () => {
  test('sentences of a 20 000-character line are those of the segmenter on the whole line', () => {
    const sentences = Array.from({ length: 600 }, (_, i) => `Câu số ${i} kể chuyện ${'rất '.repeat(i % 7)}dài${i % 3 === 0 ? '!' : '.'}`);
    const line = sentences.join(' ');
    assert.ok(line.length > 20_000);
    assert.deepEqual(splitSentences(line), sentences);
    assert.deepEqual(
      splitSentences(line),
      [...segmenter.segment(line)].map((s) => s.segment.trim()),
    );
  });

  test('a full stop followed by a long run of digits and a lowercase word is not a break, even across a window', () => {
    const opening = 'Mở đầu câu chuyện rất dài. '.repeat(35);
    const line = `${opening}Anh ấy nói a. ${'1 '.repeat(700)}viết tiếp. Câu sau.`;
    const expected = [...segmenter.segment(line)].map((s) => s.segment.trim());
    assert.deepEqual(splitSentences(line), expected);
    assert.ok(expected.some((s) => s.startsWith('Anh ấy nói a. 1 1') && s.endsWith('viết tiếp.')));
  });

  test('a paragraph of many lines splits each line as if alone', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => (i % 4 === 0 ? `Dòng ${i}. Tiếp theo` : i % 4 === 1 ? 'TP. HCM' : i % 4 === 2 ? `mục ${i}` : ''));
    const alone = lines.flatMap((line) => splitSentences(line));
    assert.deepEqual(splitSentences(lines.join('\n')), alone);
    assert.ok(alone.includes('TP. HCM'));
  });
});

describe('unmatched markers at scale', () => {
  test('thousands of openings without a partner stay as written; pairs among them are still stripped', () => {
    // An opening marker before a word and a space before the next one: no closing marker can ever match.
    const unmatched = 'a *b a _b a ~~b a __b '.repeat(2500);
    // Compared by equality, not deepEqual: a failure must not print 50 000 characters.
    assert.ok(cleanText(unmatched) === unmatched.trim(), 'unmatched markers are text');
    // In the next paragraph (`~~` needs no word around it, so in the same one the first `~~` would pair with the last).
    assert.ok(cleanText(`${unmatched}\n\n**đậm** ~~gạch~~ ||ẩn||`) === `${unmatched.trim()}\n\nđậm gạch ẩn`, 'pairs after them are stripped');
  });

  test('a URL followed by a long run of dots keeps the dots as punctuation', () => {
    const cleaned = cleanText(`xem https://a.vn/x${'.'.repeat(50_000)} rồi`);
    assert.ok(cleaned === `xem${'.'.repeat(50_000)} rồi`, cleaned.slice(0, 80));
  });
});

describe('one sentence of 100 000 characters', () => {
  test('a word with no space is cut hard into chunks within the limit, nothing lost', () => {
    const word = 'ư'.repeat(100_000);
    const chunks = chunkText(word, { firstChars: 0 });
    assert.ok(chunks.every((c) => c.text.length <= DEFAULT_MAX_CHARS));
    assert.ok(chunks.map((c) => c.text).join('') === word, 'every letter kept, in order');
  });

  test('a line without full stops is cut at spaces, every chunk within the limit, every word kept', () => {
    const line = 'một hai, ba bốn năm sáu bảy tám '.repeat(3200).trim();
    const { chunks } = prepareText(line);
    assert.ok(chunks.length > 300);
    assert.ok(chunks.every((c) => c.text.length <= DEFAULT_MAX_CHARS));
    assert.ok(chunks.map((c) => c.text).join(' ') === line, 'every word kept, in order');
  });
});
