import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { splitSentences } from '../src/services/text/index.js';

describe('splitSentences: abbreviation guard', () => {
  test('TP. does not end a sentence', () => {
    assert.deepEqual(splitSentences('Tôi sống ở TP. HCM. Còn bạn?'), ['Tôi sống ở TP. HCM.', 'Còn bạn?']);
    assert.deepEqual(splitSentences('Tp. Hà Nội rất đẹp. Thật.'), ['Tp. Hà Nội rất đẹp.', 'Thật.']);
  });

  test('academic and professional titles, stacked or not', () => {
    assert.deepEqual(splitSentences('Hôm nay PGS. TS. Lê Minh và ThS. BS. Hoa đến. Mọi người vui.'), [
      'Hôm nay PGS. TS. Lê Minh và ThS. BS. Hoa đến.',
      'Mọi người vui.',
    ]);
    assert.deepEqual(splitSentences('Mời GS. Trần và Th.S. Lê cùng TS.BS. Phạm. Xong.'), [
      'Mời GS. Trần và Th.S. Lê cùng TS.BS. Phạm.',
      'Xong.',
    ]);
  });

  test('district and ward letters: Q. and P.', () => {
    assert.deepEqual(splitSentences('Nhà ở Q. 1 và P. Bến Nghé. Xong.'), ['Nhà ở Q. 1 và P. Bến Nghé.', 'Xong.']);
  });

  test('English titles: Mr., Dr., St.', () => {
    assert.deepEqual(splitSentences('Mr. Smith gặp Dr. Who ở St. Louis. Vui.'), ['Mr. Smith gặp Dr. Who ở St. Louis.', 'Vui.']);
  });

  test('initials inside names', () => {
    assert.deepEqual(splitSentences('Nguyễn V. A. là bạn tôi. Thật vậy!'), ['Nguyễn V. A. là bạn tôi.', 'Thật vậy!']);
    assert.deepEqual(splitSentences('J. K. Rowling viết truyện. Hay lắm.'), ['J. K. Rowling viết truyện.', 'Hay lắm.']);
    assert.deepEqual(splitSentences('Chị Trần T. Mai đến. Ừ.'), ['Chị Trần T. Mai đến.', 'Ừ.']);
  });

  test('a one-letter word with a tone mark is a word, not an initial: "Đông Nam Á." ends a sentence', () => {
    assert.deepEqual(
      splitSentences('Việt Nam là một quốc gia nằm ở khu vực Đông Nam Á. Sau đó, chúng tôi đi thăm các nước láng giềng.'),
      ['Việt Nam là một quốc gia nằm ở khu vực Đông Nam Á.', 'Sau đó, chúng tôi đi thăm các nước láng giềng.'],
    );
    assert.deepEqual(splitSentences('Anh ấy vừa đi du lịch nước Ý. Trở về, anh kể mãi.'), [
      'Anh ấy vừa đi du lịch nước Ý.',
      'Trở về, anh kể mãi.',
    ]);
    assert.deepEqual(splitSentences('Họ đến từ châu Á. Châu Âu thì xa hơn.'), ['Họ đến từ châu Á.', 'Châu Âu thì xa hơn.']);
  });

  test('Vietnamese initials (Đ., hat and horn vowels) and runs of initials stay inside the sentence', () => {
    assert.deepEqual(splitSentences('Ông Nguyễn V. A. đến. Mọi người chào.'), ['Ông Nguyễn V. A. đến.', 'Mọi người chào.']);
    assert.deepEqual(splitSentences('Anh Lê Đ. Hùng nói. Hay.'), ['Anh Lê Đ. Hùng nói.', 'Hay.']);
    assert.deepEqual(splitSentences('Cô Trần Ô. Ngọc Lan đến. Vui.'), ['Cô Trần Ô. Ngọc Lan đến.', 'Vui.']);
    assert.deepEqual(splitSentences('Ông N.V.A. Hùng và bà Lê T. Mai đến. Xong.'), ['Ông N.V.A. Hùng và bà Lê T. Mai đến.', 'Xong.']);
    assert.deepEqual(splitSentences('Bác ký tên N.A.Q. trong nhiều bài báo. Sau đó thì khác.'), [
      'Bác ký tên N.A.Q. trong nhiều bài báo.',
      'Sau đó thì khác.',
    ]);
    assert.deepEqual(splitSentences('Tôi sống ở TP. HCM. Còn bạn?'), ['Tôi sống ở TP. HCM.', 'Còn bạn?']);
  });

  test('ordinary words before a period still end sentences (no "ông." guard), nor does a lone capital', () => {
    assert.deepEqual(splitSentences('Tôi chào ông. Bà đi rồi.'), ['Tôi chào ông.', 'Bà đi rồi.']);
    assert.deepEqual(splitSentences('Đây là A. Đó là B.'), ['Đây là A.', 'Đó là B.']);
  });

  test('v.v. before a lowercase word continues, before a capital ends the sentence', () => {
    assert.deepEqual(splitSentences('Táo, lê v.v. đều ngon. Hết.'), ['Táo, lê v.v. đều ngon.', 'Hết.']);
    assert.deepEqual(splitSentences('Táo, lê v.v. Hôm sau đi chợ.'), ['Táo, lê v.v.', 'Hôm sau đi chợ.']);
  });

  test('a list label stays with its item', () => {
    assert.deepEqual(splitSentences('1. Mua sữa tươi.'), ['1. Mua sữa tươi.']);
    assert.deepEqual(splitSentences('b. Trả lời câu hỏi.'), ['b. Trả lời câu hỏi.']);
  });
});

describe('splitSentences: numbers, ellipses, quotes', () => {
  test('1.500.000, 3.14 and 3,5 stay whole', () => {
    assert.deepEqual(splitSentences('Giá 1.500.000 đồng. Số pi là 3.14 nhé. Lãi 3,5% thôi.'), [
      'Giá 1.500.000 đồng.',
      'Số pi là 3.14 nhé.',
      'Lãi 3,5% thôi.',
    ]);
    assert.deepEqual(splitSentences('Tôi có 1.500.000. Đủ chưa?'), ['Tôi có 1.500.000.', 'Đủ chưa?']);
  });

  test('… and ... split before a capital, not before a lowercase word', () => {
    assert.deepEqual(splitSentences('Chờ đã… Rồi sao? Không biết... Thôi.'), ['Chờ đã…', 'Rồi sao?', 'Không biết...', 'Thôi.']);
    assert.deepEqual(splitSentences('Chờ đã… rồi sao.'), ['Chờ đã… rồi sao.']);
    assert.deepEqual(splitSentences('Hết rồi… “Thật” à?'), ['Hết rồi…', '“Thật” à?']);
    assert.deepEqual(splitSentences('Hết rồi…'), ['Hết rồi…']);
  });

  test('?, ! and closing quotes end sentences', () => {
    assert.deepEqual(splitSentences('Anh đi à? Ừ! Anh ấy nói: “Đi thôi.” Rồi đi.'), [
      'Anh đi à?',
      'Ừ!',
      'Anh ấy nói: “Đi thôi.”',
      'Rồi đi.',
    ]);
  });

  test('no split without a space; punctuation-only pieces stay with a neighbour', () => {
    assert.deepEqual(splitSentences('Thật sao?Vâng.'), ['Thật sao?Vâng.']);
    const sentences = splitSentences('... Hả? ?? Ừ được.');
    assert.equal(sentences.join(' '), '... Hả? ?? Ừ được.');
    for (const sentence of sentences) assert.match(sentence, /\p{L}/u);
  });

  test('joining the sentences with spaces gives the line back', () => {
    const line = 'Ông ấy là TS. Nguyễn Văn A. Bà ấy là PGS. Trần. Cả hai sống ở Q. 3, TP. HCM… Thật ư? Vâng!';
    assert.equal(splitSentences(line).join(' '), line);
  });
});
