import assert from 'node:assert/strict';
import { VIETNAMESE_STORY as PROSE } from './support/texts.js';
import { seededRandom } from './support/fakeVoice.js';
import { describe, test } from 'node:test';

import { NarratorError } from '../src/services/errors.js';
import { chunkText, prepareText, type Chunk } from '../src/services/text/index.js';

/** Same rule as the module: a chunk must hold a letter or a digit. */
const SPEAKABLE = /[\p{L}\p{N}]/u;

function words(text: string): string[] {
  return text.split(/\s+/u).filter((word) => word !== '');
}

/**
 * Checks every promise chunkText makes about `cleaned` and returns nothing; throws on the first broken one.
 * Words are compared in order; a word may be split across chunks only when it is longer than maxChars.
 * `firstChars` is the short opening's target (0: off): chunks that start in the opening may be cut mid-sentence
 * (breakBefore 'none') and be shorter than minChars, and may be long only when no cut was possible.
 */
function assertChunkingInvariants(cleaned: string, chunks: Chunk[], maxChars: number, minChars: number, firstChars = 40): void {
  const source: { word: string; paragraph: number; firstInParagraph: boolean }[] = [];
  cleaned.split('\n\n').forEach((paragraph, p) => {
    words(paragraph).forEach((word, i) => source.push({ word, paragraph: p, firstInParagraph: i === 0 }));
  });

  let w = 0;
  let offset = 0;
  const chunkParagraph: number[] = [];
  /** Characters of the chunks before each chunk: where it starts in the narration. */
  const startOf: number[] = [];
  chunks.reduce((at, chunk) => (startOf.push(at), at + chunk.text.length), 0);
  chunks.forEach((chunk, c) => {
    assert.equal(chunk.index, c, 'indexes run 0, 1, 2…');
    assert.equal(chunk.text, chunk.text.trim(), `chunk ${c} is trimmed`);
    assert.ok(!chunk.text.includes('\n'), `chunk ${c} has no newline`);
    assert.ok(SPEAKABLE.test(chunk.text), `chunk ${c} has something to say: ${JSON.stringify(chunk.text)}`);
    assert.ok(chunk.text.length <= maxChars, `chunk ${c} is ${chunk.text.length} > ${maxChars}`);

    const start = source[w];
    assert.ok(start, `chunk ${c} has words beyond the cleaned text`);
    const expectedBreak = c === 0 ? 'none' : offset === 0 && start.firstInParagraph ? 'paragraph' : 'sentence';
    // A cut of the short opening is a clause pause ('none'), and only the opening has such cuts.
    const cutInOpening = firstChars > 0 && c > 0 && expectedBreak === 'sentence' && (startOf[c - 1] ?? 0) < maxChars / 4;
    if (!(cutInOpening && chunk.breakBefore === 'none')) assert.equal(chunk.breakBefore, expectedBreak, `chunk ${c} breakBefore`);
    chunkParagraph.push(start.paragraph);

    const chunkWords = words(chunk.text);
    chunkWords.forEach((word, i) => {
      const current = source[w];
      assert.ok(current, `chunk ${c} word ${JSON.stringify(word)} is extra`);
      assert.equal(current.paragraph, start.paragraph, `chunk ${c} crosses a paragraph break`);
      assert.equal(current.word.slice(offset, offset + word.length), word, `chunk ${c} word ${i} lost or doubled text`);
      offset += word.length;
      if (offset === current.word.length) {
        w++;
        offset = 0;
      } else {
        // A partial word: only a token too long for any chunk may be cut, and only at a chunk's end.
        assert.ok(current.word.length > maxChars, `chunk ${c} cut the word ${JSON.stringify(current.word)}`);
        assert.equal(i, chunkWords.length - 1, `chunk ${c} cut a word before its end`);
      }
    });
  });
  assert.equal(w, source.length, 'every word of the cleaned text is in a chunk');

  // Short chunks are allowed only where no merge with a neighbour in the same paragraph would fit, or as a piece of
  // the short opening, which still keeps a few words.
  chunks.forEach((chunk, c) => {
    if (chunk.text.length >= minChars) return;
    const next = chunks[c + 1];
    if (firstChars > 0 && (startOf[c] ?? 0) < maxChars / 4 && next && chunkParagraph[c + 1] === chunkParagraph[c]) {
      if (words(chunk.text).length >= 4 && chunk.text.length >= 20) return;
    }
    const previous = chunks[c - 1];
    if (previous && chunkParagraph[c - 1] === chunkParagraph[c]) {
      assert.ok(previous.text.length + 1 + chunk.text.length > maxChars, `short chunk ${c} could join the previous one`);
    }
    if (next && chunkParagraph[c + 1] === chunkParagraph[c]) {
      assert.ok(chunk.text.length + 1 + next.text.length > maxChars, `short chunk ${c} could join the next one`);
    }
  });

  // The short opening: a chunk starting p characters in is longer than 3·T, T = max(firstChars, 2p), only when it
  // has no space from T to 3·T that leaves ≥ 4 words on the left (not right after a "." token) and ≥ 4 words,
  // ≥ minChars characters on the right.
  if (firstChars === 0) return;
  chunks.forEach((chunk, c) => {
    const target = Math.max(firstChars, 2 * (startOf[c] ?? 0));
    if (chunk.text.length <= 3 * target || 2 * target >= maxChars) return;
    for (const space of chunk.text.matchAll(/ /gu)) {
      const left = chunk.text.slice(0, space.index);
      const right = chunk.text.slice(space.index + 1);
      const possible =
        left.length >= target && left.length <= 3 * target && !left.endsWith('.') && spokenWords(left) >= 4 && spokenWords(right) >= 4 && right.length >= minChars;
      assert.ok(!possible, `opening chunk ${c} (${chunk.text.length} chars) could be cut after ${JSON.stringify(left)}`);
    }
  });
}

function spokenWords(text: string): number {
  return words(text).filter((word) => SPEAKABLE.test(word)).length;
}

/** The same seeded PRNG as the fake voice, so the generated corpus is the same on every run. */
const prng = seededRandom;

const VOCABULARY = (
  'tôi bạn chúng ta người nhà trường học đi về ăn uống ngủ dậy sớm muộn hôm nay ngày mai năm ngoái ' +
  'thành phố làng quê sông núi biển trời mưa nắng gió đẹp xấu nhanh chậm được không có là của và nhưng ' +
  'vì thế nên rằng những các một hai ba nhiều ít lắm quá thật sự nghĩ nói viết đọc nghe hiểu biết yêu ' +
  'thương nhớ quên chờ đợi hy vọng buồn vui khỏe mệt phở bún chả cà phê trà đá bánh mì xe máy đường phố ' +
  'Hà Nội Sài Gòn Huế Đà Nẵng Nguyễn Trần Lê Phạm Hoàng Minh Anh Thảo Dũng Hương Tuấn'
).split(' ');
const NUMBERS = ['1.500.000', '3.14', '2024', '3,5', '100%', '25/12/2023', '7', '15.000đ', '0,75'];
const ABBREVIATED = ['TP. HCM', 'TS. Nguyễn Văn An', 'PGS. TS. Lê Minh', 'Q. 1', 'P. Bến Nghé', 'v.v.', 'ThS. Hà', 'Nguyễn V. A.'];
const LONG_WORDS = ['siêu-cấp-vô-địch-vũ-trụ-bao-la', 'https-không-phải-link-đâu', 'quáááááááááááá', 'Trường-Đại-học-Bách-khoa'];
const SHORT_SENTENCES = ['Ừ.', 'Vâng!', 'Không?', 'Thật à?', 'Ồ…', 'Được.', 'Hả?!'];
const ENDINGS = ['.', '.', '.', '?', '!', '…', '...', '', '?!'];
const INNER_MARKS = [',', ',', ';', ':', ' –', ' —', ' -'];

function generateText(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const sentence = (): string => {
    const roll = random();
    if (roll < 0.15) return pick(SHORT_SENTENCES);
    const length = roll < 0.25 ? 40 + Math.floor(random() * 80) : 1 + Math.floor(random() * 25);
    const withoutPunctuation = roll >= 0.15 && roll < 0.2; // long runs with no comma at all
    const parts: string[] = [];
    for (let i = 0; i < length; i++) {
      const r = random();
      let word =
        r < 0.06 ? pick(NUMBERS) : r < 0.1 ? pick(ABBREVIATED) : r < 0.12 ? pick(LONG_WORDS) : r < 0.122 ? 'ha'.repeat(20 + Math.floor(random() * 140)) : pick(VOCABULARY);
      if (!withoutPunctuation && i < length - 1 && random() < 0.1) word += pick(INNER_MARKS);
      parts.push(word);
    }
    const first = parts[0] ?? '';
    parts[0] = random() < 0.8 ? first.charAt(0).toUpperCase() + first.slice(1) : first;
    return parts.join(' ') + pick(ENDINGS);
  };
  const plainWords = (count: number): string => Array.from({ length: count }, () => pick(VOCABULARY)).join(' ');
  /** Openings the short first chunk must handle: long with no comma, a comma in the first 20 characters, … */
  const openings: (() => string)[] = [
    () => '',
    () => `${plainWords(30 + Math.floor(random() * 50))}.`,
    () => `${pick(['Ừ', 'Vâng', 'Hôm nay', 'Anh Minh'])}, ${plainWords(25 + Math.floor(random() * 40))}.`,
    () => `😀 🎉 !!! … ${plainWords(20 + Math.floor(random() * 50))}.`,
    () => `!!! ??? 😀\n\n${plainWords(1 + Math.floor(random() * 60))}.`,
    () => `Chương ${1 + Math.floor(random() * 20)}\n\n${plainWords(10 + Math.floor(random() * 20))}, ${plainWords(30)}.`,
    () => `${'ha'.repeat(10 + Math.floor(random() * 60))} ${plainWords(3)} ${pick(LONG_WORDS)} ${plainWords(40)}.`,
    () => `TP. HCM ${plainWords(15)} Nguyễn V. A. ${plainWords(40)}.`,
  ];
  const paragraphs: string[] = [];
  const opening = pick(openings)();
  const paragraphCount = 1 + Math.floor(random() * 5);
  for (let p = 0; p < paragraphCount; p++) {
    const count = 1 + Math.floor(random() * 7);
    let text = p === 0 && opening !== '' ? `${opening} ` : '';
    for (let s = 0; s < count; s++) text += (s === 0 ? '' : random() < 0.2 ? '\n' : ' ') + sentence();
    if (random() < 0.1) text = `**${text.split(' ')[0]}** ${text} 😀`;
    paragraphs.push(text);
  }
  return paragraphs.join(random() < 0.5 ? '\n\n' : '\n\n\n');
}

describe('chunkText: properties on generated Vietnamese-like text', () => {
  const settings = [
    { maxChars: 280, minChars: 40, firstChars: 40 },
    { maxChars: 120, minChars: 30, firstChars: 40 },
    { maxChars: 60, minChars: 20, firstChars: 40 },
    { maxChars: 280, minChars: 0, firstChars: 25 },
    { maxChars: 50, minChars: 50, firstChars: 40 },
    { maxChars: 280, minChars: 40, firstChars: 0 },
    { maxChars: 200, minChars: 40, firstChars: 60 },
  ];

  test('700 inputs: no word lost or doubled, sizes within bounds, short chunks only where unavoidable, a short opening, breaks right', () => {
    const random = prng(20240601);
    let cutOpenings = 0;
    for (let n = 0; n < 700; n++) {
      const raw = generateText(random);
      const { maxChars, minChars, firstChars } = settings[n % settings.length] ?? { maxChars: 280, minChars: 40, firstChars: 40 };
      const { cleaned, chunks } = prepareText(raw, { maxChars, minChars, firstChars });
      if (chunks[1]?.breakBefore === 'none') cutOpenings++;
      try {
        assertChunkingInvariants(cleaned, chunks, maxChars, minChars, firstChars);
      } catch (err) {
        throw new Error(`input #${n} (max ${maxChars}, min ${minChars}, first ${firstChars}): ${(err as Error).message}\n${JSON.stringify(raw)}`, { cause: err });
      }
    }
    // The generator does exercise the rule (long openings are common in it).
    assert.ok(cutOpenings > 100, `${cutOpenings} openings cut`);
  });
});

describe('chunkText: rules', () => {
  test('a long sentence is split at commas, into balanced pieces, never inside a word', () => {
    const sentence =
      'Buổi chiều cả đoàn đi dọc phố cổ, ghé qua Hàng Mã với những dãy đèn lồng đỏ rực, dừng chân ở Hàng Buồm để nếm ' +
      'thử bát chè sen nóng hổi, rồi men theo con đường gạch cũ dẫn ra chợ Đồng Xuân, nơi những người bán hàng rong ' +
      'đang í ới gọi nhau, nơi mùi cốm mới thơm ngát lẫn trong mùi khói bếp than.';
    assert.ok(sentence.length > 280);
    const chunks = chunkText(sentence, { firstChars: 0 });
    assert.equal(chunks.length, 2);
    assert.match(chunks[0]?.text ?? '', /,$/u);
    for (const chunk of chunks) assert.ok(chunk.text.length <= 280 && chunk.text.length >= 100, `${chunk.text.length}`);
    assert.equal(chunks.map((chunk) => chunk.text).join(' '), sentence);
    assert.deepEqual(
      chunks.map((chunk) => chunk.breakBefore),
      ['none', 'sentence'],
    );
  });

  test('without punctuation, a long sentence is split at spaces', () => {
    const sentence = Array.from({ length: 100 }, (_, i) => ['một', 'hai', 'ba', 'bốn'][i % 4]).join(' ');
    const chunks = chunkText(sentence, { maxChars: 100, firstChars: 0 });
    for (const chunk of chunks) assert.ok(chunk.text.length <= 100);
    assert.equal(chunks.map((chunk) => chunk.text).join(' '), sentence);
    assert.equal(chunks.length, Math.ceil(sentence.length / 100));
  });

  test('a token longer than maxChars is cut hard, keeping every letter and its diacritics', () => {
    const token = 'hááá'.repeat(100); // 400 characters, no space
    const chunks = chunkText(`Cười ${token} luôn.`, { maxChars: 150, minChars: 10 });
    for (const chunk of chunks) assert.ok(chunk.text.length <= 150);
    assert.equal(chunks.map((chunk) => chunk.text).join('').replace(/\s/g, ''), `Cười${token}luôn.`);
  });

  test('hard-cut pieces with nothing to say (a wall of symbols) are not sent on their own', () => {
    const chunks = chunkText(`Nhìn nè ${'*'.repeat(500)} đẹp chưa`, { maxChars: 100, minChars: 10 });
    assert.deepEqual(
      chunks.map((chunk) => chunk.text),
      ['Nhìn nè đẹp chưa'],
    );
  });

  test('short sentences join the next one; a short last one joins the previous one', () => {
    const chunks = chunkText('Ừ. Vâng. Được rồi, mai mình gặp nhau ở quán cà phê cũ nhé. Hẹn gặp lại bạn vào buổi chiều mai. Nhé!');
    assert.deepEqual(
      chunks.map((chunk) => chunk.text),
      ['Ừ. Vâng. Được rồi, mai mình gặp nhau ở quán cà phê cũ nhé.', 'Hẹn gặp lại bạn vào buổi chiều mai. Nhé!'],
    );
  });

  test('merging never crosses a paragraph break: a short paragraph stays alone', () => {
    const chunks = chunkText('Chương một.\n\nNgày xưa, ở một làng nhỏ ven sông, có hai anh em mồ côi sống với nhau.\n\nHết.');
    assert.deepEqual(
      chunks.map((chunk) => [chunk.text, chunk.breakBefore]),
      [
        ['Chương một.', 'none'],
        ['Ngày xưa, ở một làng nhỏ ven sông, có hai anh em mồ côi sống với nhau.', 'paragraph'],
        ['Hết.', 'paragraph'],
      ],
    );
  });

  test('merging never exceeds maxChars', () => {
    const long = 'Đây là một câu khá dài, đủ dài để khi ghép thêm bất cứ câu nào vào thì sẽ vượt quá giới hạn.';
    const chunks = chunkText(`Ừ. ${long}`, { maxChars: long.length + 2, minChars: 40, firstChars: 0 });
    assert.deepEqual(
      chunks.map((chunk) => chunk.text),
      ['Ừ.', long],
    );
  });

  test('a line break is a sentence break; breakBefore follows the structure', () => {
    const text =
      'Dòng đầu tiên của đoạn văn này đủ dài để đứng riêng một mình.\nDòng thứ hai cũng đủ dài để không phải ghép với ai cả.\n\n' +
      'Đoạn thứ hai bắt đầu ở đây và cũng đủ dài để đứng một mình.';
    assert.deepEqual(
      chunkText(text).map((chunk) => chunk.breakBefore),
      ['none', 'sentence', 'paragraph'],
    );
  });

  test('abbreviations never end a chunk', () => {
    const text = 'Tôi sống ở TP. HCM đã lâu lắm rồi, từ hồi còn nhỏ. Còn bạn thì sao, bạn sống ở đâu vậy?';
    const chunks = chunkText(text, { maxChars: 280, minChars: 0 });
    assert.deepEqual(
      chunks.map((chunk) => chunk.text),
      ['Tôi sống ở TP. HCM đã lâu lắm rồi, từ hồi còn nhỏ.', 'Còn bạn thì sao, bạn sống ở đâu vậy?'],
    );
  });

  test('a short opening: a long first sentence is cut at its first clause pause after ~40 characters', () => {
    const first = 'Mỗi năm, khi những cơn gió heo may đầu tiên tràn về, Hà Nội như khoác lên mình một tấm áo mới.';
    const chunks = chunkText(`${first} Bà cụ bán hoa sữa ở góc phố Hàng Khay vẫn ngồi đó như mọi năm.`);
    assert.deepEqual(
      chunks.map((chunk) => [chunk.text, chunk.breakBefore]),
      [
        // Not at "Mỗi năm," (2 words): the first pause from 40 characters on.
        ['Mỗi năm, khi những cơn gió heo may đầu tiên tràn về,', 'none'],
        // The pause at the cut is the stitcher's "inside a sentence" join, not a sentence pause.
        ['Hà Nội như khoác lên mình một tấm áo mới.', 'none'],
        ['Bà cụ bán hoa sữa ở góc phố Hàng Khay vẫn ngồi đó như mọi năm.', 'sentence'],
      ],
    );
  });

  test('a short opening: the next chunks grow back to the normal size', () => {
    const sentence =
      'Buổi chiều cả đoàn đi dọc phố cổ, ghé qua Hàng Mã với những dãy đèn lồng đỏ rực, dừng chân ở Hàng Buồm để nếm ' +
      'thử bát chè sen nóng hổi, rồi men theo con đường gạch cũ dẫn ra chợ Đồng Xuân, nơi những người bán hàng rong ' +
      'đang í ới gọi nhau, nơi mùi cốm mới thơm ngát lẫn trong mùi khói bếp than.';
    const rest = ' Anh Minh, một kỹ sư phần mềm từ TP. HCM ra công tác, đứng lặng nhìn dòng người qua lại trên phố.';
    const chunks = chunkText(sentence + rest.repeat(3));
    const lengths = chunks.map((chunk) => chunk.text.length);
    // The pause nearest 40 characters; then a mid-sized piece; then the normal split of the long sentence.
    assert.equal(chunks[0]?.text, 'Buổi chiều cả đoàn đi dọc phố cổ,');
    assert.deepEqual(lengths, [33, 101, 157, 96, 96, 96]);
    assert.deepEqual(
      chunks.map((chunk) => chunk.breakBefore),
      ['none', 'none', 'sentence', 'sentence', 'sentence', 'sentence'],
    );
    assert.equal(chunks.map((chunk) => chunk.text).join(' '), (sentence + rest.repeat(3)).trim());
  });

  test('a short opening: without punctuation, cut at a space near 60 characters, never inside a word', () => {
    const sentence = Array.from({ length: 60 }, (_, i) => ['một', 'hai', 'ba', 'bốn', 'năm'][i % 5]).join(' ') + '.';
    const chunks = chunkText(sentence);
    const first = chunks[0]?.text ?? '';
    assert.ok(first.length >= 40 && first.length <= 80, `${first.length}: ${first}`);
    assert.equal(chunks[1]?.breakBefore, 'none');
    assert.equal(chunks.map((chunk) => chunk.text).join(' '), sentence);
  });

  test('a short opening: a comma in the first 20 characters is too early, a heading or emoji first does not defeat it', () => {
    const long =
      'Ừ, hôm nay trời đẹp quá nên cả nhà mình quyết định đi chơi công viên, rồi ghé qua quán phở quen ở đầu ngõ để ăn sáng cho ấm bụng trước khi đi.';
    assert.equal(chunkText(long)[0]?.text, 'Ừ, hôm nay trời đẹp quá nên cả nhà mình quyết định đi chơi công viên,');
    const headed = chunkText(`Chương 1\n\n${long}`);
    assert.deepEqual(
      headed.slice(0, 2).map((chunk) => [chunk.text, chunk.breakBefore]),
      [
        ['Chương 1', 'none'],
        ['Ừ, hôm nay trời đẹp quá nên cả nhà mình quyết định đi chơi công viên,', 'paragraph'],
      ],
    );
    assert.equal(prepareText(`😀🎉 !!! ${long}`).chunks[0]?.text, '!!! Ừ, hôm nay trời đẹp quá nên cả nhà mình quyết định đi chơi công viên,');
  });

  test('a short opening: a short rest joins the next sentence; no cut between syllables when the sentence is not long', () => {
    const text =
      'Anh Minh, một kỹ sư phần mềm từ TP. HCM ra công tác, đứng lặng nhìn dòng người qua lại. ' +
      'Anh kể rằng ở Sài Gòn không có mùa thu, chỉ có mùa mưa và mùa nắng.';
    assert.deepEqual(
      chunkText(text).map((chunk) => [chunk.text, chunk.breakBefore]),
      [
        ['Anh Minh, một kỹ sư phần mềm từ TP. HCM ra công tác,', 'none'],
        ['đứng lặng nhìn dòng người qua lại. Anh kể rằng ở Sài Gòn không có mùa thu, chỉ có mùa mưa và mùa nắng.', 'none'],
      ],
    );
    // 95 characters with no pause in reach: sent whole rather than cut inside "đầu tiên" or "áo mới".
    const plain = 'Mỗi năm khi những cơn gió heo may đầu tiên tràn về thì Hà Nội như khoác lên mình một tấm áo mới.';
    assert.deepEqual(
      chunkText(`${plain} Bà cụ bán hoa sữa ở góc phố Hàng Khay vẫn ngồi đó như mọi năm.`).map((chunk) => chunk.text.length),
      [plain.length, 62],
    );
  });

  test('a short opening: a short first sentence stays whole, and firstChars 0 turns the rule off', () => {
    const text = 'Tối đến, họ ngồi trong một quán cà phê nhỏ trên tầng ba, nhìn xuống hồ. Minh hỏi cô hướng dẫn viên một câu rất dài.';
    assert.equal(chunkText(text)[0]?.text, 'Tối đến, họ ngồi trong một quán cà phê nhỏ trên tầng ba, nhìn xuống hồ.');
    const long = 'Mỗi năm, khi những cơn gió heo may đầu tiên tràn về, Hà Nội như khoác lên mình một tấm áo mới.';
    assert.deepEqual(
      chunkText(long, { firstChars: 0 }).map((chunk) => chunk.text),
      [long],
    );
  });

  test('"Đông Nam Á." ends a chunk: two sentences are not read as one', () => {
    const first = 'Việt Nam là một quốc gia nằm ở phía đông bán đảo Đông Dương, thuộc khu vực Đông Nam Á.';
    const second = 'Sau đó, chúng tôi đi thăm các nước láng giềng như Lào và Campuchia trong suốt hai tuần lễ.';
    assert.deepEqual(
      chunkText(`${first} ${second}`, { firstChars: 0 }).map((chunk) => chunk.text),
      [first, second],
    );
  });

  test('bad options are refused', () => {
    const isConfig = (err: unknown): boolean => err instanceof NarratorError && err.code === 'bad_chunk_options';
    assert.throws(() => chunkText('x', { maxChars: 0 }), isConfig);
    assert.throws(() => chunkText('x', { maxChars: 100, minChars: 101 }), isConfig);
    assert.throws(() => chunkText('x', { maxChars: 12.5 }), isConfig);
    assert.throws(() => chunkText('x', { firstChars: -1 }), isConfig);
  });
});



describe('prepareText on real Vietnamese prose', () => {
  test('a ~3000-character story is chunked into sensible, complete pieces', () => {
    assert.ok(PROSE.length > 2800 && PROSE.length < 3400, `${PROSE.length}`);
    const { cleaned, chunks } = prepareText(PROSE);
    assert.equal(cleaned, PROSE, 'plain prose comes out of cleanup unchanged');
    assertChunkingInvariants(cleaned, chunks, 280, 40);

    const texts = chunks.map((chunk) => chunk.text);
    assert.ok(chunks.length >= 18 && chunks.length <= 40, `${chunks.length} chunks`);
    // Every chunk ends where a speaker pauses: a sentence end, or a comma inside the one over-long sentence.
    for (const text of texts) assert.match(text, /[.!?…,;:”]$/u);
    // Only the closing "Hết." paragraph is short.
    assert.deepEqual(
      texts.filter((text) => text.length < 40),
      ['Hết.'],
    );
    assert.equal(chunks.at(-1)?.breakBefore, 'paragraph');
    assert.equal(chunks.filter((chunk) => chunk.breakBefore === 'paragraph').length, 7);
    // Abbreviations and numbers are never cut.
    assert.ok(texts.some((text) => text.includes('từ TP. HCM ra công tác')));
    assert.ok(texts.some((text) => text.includes('Theo TS. Nguyễn Văn Hùng')));
    assert.ok(texts.some((text) => text.includes('15.500.000 đồng')));
    assert.ok(texts.some((text) => text.includes('khoảng 25,5 độ')));
    assert.ok(texts.some((text) => text.includes('làm ở Q. Ba Đình, còn')));
    // The 470-character sentence becomes two pieces cut after a comma.
    const long = texts.filter((text) => text.startsWith('Buổi chiều') || text.endsWith('ngàn năm văn hiến.'));
    assert.equal(long.length, 2);
    assert.match(long[0] ?? '', /,$/u);
    // An ellipsis before a capital ends a sentence; short sentences ("Cô gật đầu, rồi cười…", "Ừ.") join a neighbour.
    assert.ok(texts.some((text) => text.endsWith('đến tận khuya…')));
    assert.ok(texts.some((text) => text.startsWith('Cô gật đầu, rồi cười… Cô nói rằng')));
    assert.ok(!texts.includes('Ừ.'));
    assert.ok(texts.some((text) => text.includes('Ừ. Có lẽ ai xa quê cũng vậy.')));
  });
});
