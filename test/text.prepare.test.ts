import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { NarratorError } from '../src/services/errors.js';
import { errorText } from '../src/messages.js';
import { assertTextLength, MAX_INPUT_CHARS, prepareText, prepareVoicedText, TextTooLongError, TooManyTimestampsError, voiceNames } from '../src/services/text/index.js';
import { MAX_SPELLED_TIMESTAMPS } from '../src/services/text/timestamp.js';

function isUserError(code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof NarratorError && err.kind === 'user' && err.code === code;
}

describe('prepareText', () => {
  const nothingToSay: [string, string][] = [
    ['emoji only', '😀🎉 👍🏽 🇻🇳'],
    ['custom emoji only', '<:pepe:123456789> <a:dance:42>'],
    ['a URL only', 'https://example.com/some/path?x=1'],
    ['a suppressed URL only', '<https://example.com>'],
    ['a code block only', '```js\nconsole.log("xin chào")\n```'],
    ['whitespace only', '   \n\n\t  '],
    ['empty', ''],
    ['an unresolved mention', '<@123>'],
    ['punctuation only', '... !!! ??? — ---'],
    ['markdown markers only', '**** ~~ || ||'],
    ['zero-width characters only', '\u200B\u200C\u200D\uFEFF'],
  ];
  for (const [name, raw] of nothingToSay) {
    test(`refuses ${name} with a user error that says why`, () => {
      assert.throws(
        () => prepareText(raw),
        (err: unknown) =>
          isUserError('nothing_speakable')(err) &&
          (err as NarratorError).message === 'Nothing to read aloud: the text is empty after removing links, emoji and formatting.',
      );
    });
  }

  test('a resolved mention alone is speakable', () => {
    const { cleaned, chunks } = prepareText('<@123>', { resolveMention: () => 'Lan' });
    assert.equal(cleaned, 'Lan');
    assert.deepEqual(chunks, [{ index: 0, text: 'Lan', breakBefore: 'none' }]);
  });

  test('a number alone is speakable', () => {
    assert.equal(prepareText('2024').chunks[0]?.text, '2024');
  });

  test('cleans then chunks, passing the chunk limits through', () => {
    const raw =
      '**Thông báo** cho <@1>: họp lúc <t:1700000000:t> ở <#2> 📅\n\n' +
      'Nội dung gồm ba phần, phần đầu về kế hoạch quý tới, phần hai về ngân sách 1.500.000.000 đồng, phần ba là hỏi đáp. ' +
      'Xem chi tiết tại https://example.com/plan.';
    const { cleaned, chunks } = prepareText(raw, {
      resolveMention: (kind, id) => (kind === 'user' && id === '1' ? 'mọi người' : kind === 'channel' && id === '2' ? 'phòng họp' : undefined),
      maxChars: 80,
      minChars: 20,
    });
    assert.equal(
      cleaned,
      'Thông báo cho mọi người: họp lúc 5 giờ 13 phút ở phòng họp\n\n' +
        'Nội dung gồm ba phần, phần đầu về kế hoạch quý tới, phần hai về ngân sách 1.500.000.000 đồng, phần ba là hỏi đáp. ' +
        'Xem chi tiết tại.',
    );
    for (const chunk of chunks) assert.ok(chunk.text.length <= 80, chunk.text);
    assert.equal(chunks[0]?.text, 'Thông báo cho mọi người: họp lúc 5 giờ 13 phút ở phòng họp');
    assert.equal(chunks[1]?.breakBefore, 'paragraph');
    assert.ok(chunks.some((chunk) => chunk.text.includes('1.500.000.000 đồng')));
  });
});

describe('assertTextLength', () => {
  test('Discord option limit is 6000', () => {
    assert.equal(MAX_INPUT_CHARS, 6000);
  });

  test('accepts text up to the limit and refuses longer text, giving both numbers', () => {
    assert.doesNotThrow(() => assertTextLength('a'.repeat(6000)));
    assert.throws(
      () => assertTextLength('a'.repeat(6001)),
      (err: unknown) => isUserError('text_too_long')(err) && /6001/.test((err as Error).message) && /6000/.test((err as Error).message),
    );
    assert.throws(() => assertTextLength('xin chào', 5), isUserError('text_too_long'));
  });

  test('counts characters, not UTF-16 units: 3000 emoji fit a 3000 limit', () => {
    const emoji = '😀'.repeat(3000);
    assert.equal(emoji.length, 6000);
    assert.doesNotThrow(() => assertTextLength(emoji, 3000));
  });
});

describe('limits apply to the cleaned text that is synthesized', () => {
  const timestamps = '<t:0:F> '.repeat(750); // 6000 characters as typed

  test('6000 characters of timestamps fit the option but are ~29 000 spoken: refused, saying both numbers', () => {
    assert.equal([...timestamps].length, 6000);
    assert.doesNotThrow(() => assertTextLength(timestamps, 6000), 'the raw text alone would pass');
    assert.throws(
      () => prepareText(timestamps, { maxSpokenChars: 6000 }),
      (err: unknown) => {
        assert.ok(err instanceof TextTooLongError && isUserError('text_too_long')(err));
        assert.ok(err.expanded && err.max === 6000 && err.chars > 25_000, `${err.chars}`);
        assert.equal(err.chars, [...prepareText(timestamps).cleaned].length);
        assert.match(err.message, new RegExp(`once mentions and timestamps are spelled out: ${err.chars} characters to read, the limit is 6000`));
        // What the Discord user reads, in both languages.
        assert.match(errorText('en', err), new RegExp(`spelled out: ${err.chars} characters to read, the limit is 6000\\.`));
        assert.match(errorText('vi', err), new RegExp(`${err.chars} ký tự cần đọc, giới hạn là 6000\\.`));
        return true;
      },
    );
  });

  test('more timestamps than MAX_SPELLED_TIMESTAMPS: refused before any is spelled out, saying the maximum', () => {
    // A file-sized limit, so length alone would not refuse it: one distinct instant per sentence.
    const text = (n: number) => Array.from({ length: n }, (_, i) => `Mốc <t:${1_700_000_000 + i * 3_607}:t>.`).join(' ');
    const limit = { maxSpokenChars: 100_000 };
    assert.doesNotThrow(() => prepareText(text(MAX_SPELLED_TIMESTAMPS), limit), 'exactly the maximum is read');
    for (const prepare of [
      () => prepareText(text(MAX_SPELLED_TIMESTAMPS + 1), limit),
      () => prepareVoicedText(text(MAX_SPELLED_TIMESTAMPS + 1), { ...limit, defaultVoice: 'narrator', names: voiceNames(['narrator']) }),
      () => prepareText('<t:0:F>'.repeat(140_000), limit), // a hostile 1 MiB file of one timestamp
    ]) {
      assert.throws(prepare, (err: unknown) => {
        assert.ok(err instanceof TooManyTimestampsError && isUserError('too_many_timestamps')(err));
        assert.equal(err.max, MAX_SPELLED_TIMESTAMPS);
        assert.equal(errorText('en', err), `The text has more than ${MAX_SPELLED_TIMESTAMPS} Discord timestamps (\`<t:…>\`); I read at most ${MAX_SPELLED_TIMESTAMPS} in one narration. Split it into smaller parts.`);
        assert.match(errorText('vi', err), new RegExp(`có hơn ${MAX_SPELLED_TIMESTAMPS} mốc thời gian Discord .*tối đa ${MAX_SPELLED_TIMESTAMPS}\\.`));
        return true;
      });
    }
    // Timestamps that are no date are spelled as nothing: they cost nothing and do not count.
    const invalid = `Xin chào. ${'<t:999999999999999:F>'.repeat(MAX_SPELLED_TIMESTAMPS + 10)}`;
    assert.equal(prepareText(invalid, { maxSpokenChars: 100_000 }).cleaned, 'Xin chào.');
  });

  test('a repeated timestamp reads the same each time, and per time zone', () => {
    const hcm = prepareText('<t:1700000000:t> và <t:1700000000:t>.', { timeZone: 'Asia/Ho_Chi_Minh' }).cleaned;
    const utc = prepareText('<t:1700000000:t> và <t:1700000000:t>.', { timeZone: 'UTC' }).cleaned;
    assert.equal(hcm, '5 giờ 13 phút và 5 giờ 13 phút.');
    assert.equal(utc, '22 giờ 13 phút và 22 giờ 13 phút.');
  });

  test('mentions spelled out count too', () => {
    const raw = '<@1> '.repeat(100); // 500 characters
    const resolveMention = () => 'Nguyễn Thị Minh Khai';
    assert.throws(() => prepareText(raw, { resolveMention, maxSpokenChars: 1000 }), isUserError('text_too_long'));
    assert.doesNotThrow(() => prepareText(raw, { resolveMention, maxSpokenChars: 2100 }));
  });

  test('what cleaning removes does not count: links and emoji around a short text fit a small limit', () => {
    const raw = `${'https://example.com/a/very/long/link '.repeat(20)} Xin chào các bạn 😀😀😀`;
    assert.ok(raw.length > 700);
    const prepared = prepareText(raw, { maxSpokenChars: 100 });
    assert.equal(prepared.cleaned, 'Xin chào các bạn');
    assert.equal(prepared.spokenChars, 16);
  });

  test('spokenChars counts code points, as Discord does', () => {
    const prepared = prepareText('𠀀𠀁𠀂 là chữ Nôm.'); // three characters outside the BMP
    assert.equal(prepared.cleaned.length, 18);
    assert.equal(prepared.spokenChars, 15);
    assert.doesNotThrow(() => prepareText('𠀀'.repeat(100), { maxSpokenChars: 100 }));
    assert.throws(() => prepareText('𠀀'.repeat(101), { maxSpokenChars: 100 }), isUserError('text_too_long'));
  });

  test('an input far beyond the limit is refused before cleaning (even one that would clean to nothing)', () => {
    const raw = 'https://example.com/x '.repeat(100); // 2200 characters, nothing speakable
    assert.throws(() => prepareText(raw), isUserError('nothing_speakable'));
    assert.throws(
      () => prepareText(raw, { maxSpokenChars: 200 }),
      (err: unknown) => err instanceof TextTooLongError && !err.expanded && err.chars === 2200 && /2200 characters, the limit is 200\./.test(err.message),
    );
  });

  test('a text over the limit without expansion says the plain numbers', () => {
    assert.throws(
      () => prepareText('a'.repeat(6001), { maxSpokenChars: 6000 }),
      (err: unknown) => err instanceof TextTooLongError && !err.expanded && /^The text is too long: 6001 characters, the limit is 6000\./.test(errorText('en', err)),
    );
  });
});
