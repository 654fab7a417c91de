import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { NarratorError } from '../src/services/errors.js';
import { cleanText, type ResolveMention } from '../src/services/text/index.js';

const names: ResolveMention = (kind, id) => {
  if (kind === 'user' && id === '111') return 'Minh Anh';
  if (kind === 'role' && id === '222') return 'Quản trị';
  if (kind === 'channel' && id === '333') return 'chung';
  if (kind === 'user' && id === '444') return '__bé_na__ 🌸';
  return undefined;
};

describe('cleanText: Discord markup', () => {
  test('user, role and channel mentions become display names without @ or #', () => {
    assert.equal(
      cleanText('Chào <@111> và <@!111>, nhóm <@&222> vào <#333> nhé.', { resolveMention: names }),
      'Chào Minh Anh và Minh Anh, nhóm Quản trị vào chung nhé.',
    );
  });

  test('unresolved mentions are dropped, without leaving stray spaces before punctuation', () => {
    assert.equal(cleanText('Chào <@999> , <#998> và <@&997>!'), 'Chào, và!');
    assert.equal(cleanText('Chào <@999>!', { resolveMention: names }), 'Chào!');
  });

  test('display names are kept verbatim (no markdown eaten) but lose their emoji', () => {
    assert.equal(cleanText('Hỏi <@444> đi', { resolveMention: names }), 'Hỏi __bé_na__ đi');
  });

  test('custom emoji, animated or not, are dropped', () => {
    assert.equal(cleanText('Vui quá <:pepe_laugh:123456789012345678> <a:dance:42> ha'), 'Vui quá ha');
  });

  test('timestamps become Vietnamese date and time words in the chosen zone', () => {
    // 1700000000 = 2023-11-14T22:13:20Z = 05:13:20 on 15 Nov in Vietnam (UTC+7).
    assert.equal(cleanText('Họp lúc <t:1700000000:t>.'), 'Họp lúc 5 giờ 13 phút.');
    assert.equal(cleanText('<t:1700000000:T>'), '5 giờ 13 phút 20 giây');
    assert.equal(cleanText('Ngày <t:1700000000:d>'), 'Ngày ngày 15 tháng 11 năm 2023');
    assert.equal(cleanText('<t:1700000000:F>'), '5 giờ 13 phút thứ Tư, ngày 15 tháng 11 năm 2023');
    assert.equal(cleanText('<t:1700000000>'), '5 giờ 13 phút ngày 15 tháng 11 năm 2023');
    // Relative times are rendered absolute: the audio may be heard long after "3 hours ago" stopped being true.
    assert.equal(cleanText('<t:1700000000:R>'), '5 giờ 13 phút ngày 15 tháng 11 năm 2023');
    assert.equal(cleanText('<t:1700000000:f>', { timeZone: 'UTC' }), '22 giờ 13 phút ngày 14 tháng 11 năm 2023');
  });

  test('an unknown time zone is a configuration error', () => {
    assert.throws(
      () => cleanText('x', { timeZone: 'Mars/Olympus' }),
      (err: unknown) => err instanceof NarratorError && err.kind === 'config' && err.code === 'invalid_time_zone',
    );
  });

  test('command mentions read as the command words; server-guide links go', () => {
    assert.equal(cleanText('Dùng </doc sach:123> hoặc xem <id:guide>.'), 'Dùng doc sach hoặc xem.');
  });

  test('@everyone and @here pings are not read', () => {
    assert.equal(cleanText('@everyone ơi, mai họp. @here'), 'ơi, mai họp.');
    assert.equal(cleanText('gửi mail cho a@everyone.vn'), 'gửi mail cho a@everyone.vn');
  });
});

describe('cleanText: emoji and invisible characters', () => {
  test('Unicode emoji of every shape are removed: ZWJ families, flags, keycaps, skin tones, VS16, ©', () => {
    assert.equal(cleanText('Chào 😀 bạn 👨‍👩‍👧‍👦 🇻🇳 🏴󠁧󠁢󠁳󠁣󠁴󠁿 1️⃣ #️⃣ 👍🏽 ❤️ ☺︎ ©'), 'Chào bạn');
  });

  test('an emoji between two words leaves them two words', () => {
    assert.equal(cleanText('chào😀bạn'), 'chào bạn');
  });

  test('plain digits and # are not mistaken for keycaps', () => {
    assert.equal(cleanText('Phòng #1 có 2 người'), 'Phòng #1 có 2 người');
  });

  test('zero-width, bidi and control characters are removed', () => {
    assert.equal(cleanText('Xin\u200B chào\u200C\u200D bạn\u2060\uFEFF\u200E\u202E ơi\u0007\u00AD'), 'Xin chào bạn ơi');
  });

  test('text is NFC: decomposed Vietnamese becomes precomposed', () => {
    const decomposed = 'Tiếng Việt'.normalize('NFD');
    assert.notEqual(decomposed, 'Tiếng Việt');
    assert.equal(cleanText(decomposed), 'Tiếng Việt');
  });
});

describe('cleanText: markdown', () => {
  test('emphasis markers around words are removed and their text kept', () => {
    assert.equal(
      cleanText('**đậm** *nghiêng* ***cả hai*** __gạch dưới__ _nghiêng_ ~~gạch ngang~~ **_lồng nhau_**'),
      'đậm nghiêng cả hai gạch dưới nghiêng gạch ngang lồng nhau',
    );
  });

  test('snake_case, arithmetic stars and lone markers are left alone', () => {
    assert.equal(cleanText('biến my_var_name và 2*3*4 và a * b'), 'biến my_var_name và 2*3*4 và a * b');
  });

  test('spoilers keep their text', () => {
    assert.equal(cleanText('Kết thúc: ||nhân vật chính chết||.'), 'Kết thúc: nhân vật chính chết.');
  });

  test('headings, quotes, subtext and bullets lose their markers, lines stay lines', () => {
    assert.equal(
      cleanText('# Tiêu đề\n## Phụ đề\n> trích dẫn\n>>> trích dài\n-# chữ nhỏ\n- mục một\n* mục hai\n  - mục con\n> - trong trích'),
      'Tiêu đề\nPhụ đề\ntrích dẫn\ntrích dài\nchữ nhỏ\nmục một\nmục hai\nmục con\ntrong trích',
    );
  });

  test('inline code keeps its text verbatim; fenced code blocks are dropped entirely', () => {
    assert.equal(cleanText('Gõ `npm install` rồi ``chạy `lệnh` này``.'), 'Gõ npm install rồi chạy `lệnh` này.');
    assert.equal(cleanText('Đoạn mã:\n```ts\nconst a = **1**;\n\nconsole.log(a)\n```\nHết.'), 'Đoạn mã:\nHết.');
    assert.equal(cleanText('Trước ```rm -rf /``` sau'), 'Trước\nsau');
  });

  test('markdown inside inline code is not interpreted', () => {
    assert.equal(cleanText('Dùng `**kwargs` và `__init__`'), 'Dùng **kwargs và __init__');
  });

  test('backslash escapes keep the escaped character', () => {
    assert.equal(cleanText('\\*không nghiêng\\* và \\_không\\_'), '*không nghiêng* và _không_');
  });

  test('lines with nothing to say (rules, dots) disappear', () => {
    assert.equal(cleanText('Trên\n---\n***\n...\nDưới'), 'Trên\nDưới');
  });
});

describe('cleanText: links', () => {
  test('masked links keep their text', () => {
    assert.equal(cleanText('Đọc [bài **này**](https://example.com/a_b_c) đi.'), 'Đọc bài này đi.');
    assert.equal(cleanText('Đọc [bài này](<https://example.com/x>) đi.'), 'Đọc bài này đi.');
  });

  test('bare URLs are dropped, keeping the sentence punctuation after them', () => {
    assert.equal(cleanText('Xem https://example.com/a?b=1&c=2. Rồi nói.'), 'Xem. Rồi nói.');
    assert.equal(cleanText('Xem <https://example.com/x> nhé'), 'Xem nhé');
    assert.equal(cleanText('Wiki https://vi.wikipedia.org/wiki/Huế_(định_hướng), hay lắm'), 'Wiki, hay lắm');
    assert.equal(cleanText('Trang chủ (www.example.com) đây'), 'Trang chủ đây');
  });

  test('underscores inside URLs never turn into emphasis', () => {
    assert.equal(cleanText('a https://x.vn/_x_ b _c_'), 'a b c');
  });
});

describe('cleanText: whitespace and structure', () => {
  test('spaces collapse within lines; one newline is a line break, blank lines are one paragraph break', () => {
    assert.equal(cleanText('  Một   hai\t ba  \r\nbốn\u00A0năm\n\n\n  \nsáu\u3000bảy  '), 'Một hai ba\nbốn năm\n\nsáu bảy');
  });

  test('a line holding only zero-width spaces (a common Discord trick) is a blank line', () => {
    assert.equal(cleanText('Đoạn một\n\u200B\nĐoạn hai'), 'Đoạn một\n\nĐoạn hai');
  });

  test('a line emptied by cleanup is not a paragraph break', () => {
    assert.equal(cleanText('Dòng một\n😀🎉\nDòng hai\n```\ncode\n```\nDòng ba'), 'Dòng một\nDòng hai\nDòng ba');
  });

  test('leading and trailing blank lines vanish', () => {
    assert.equal(cleanText('\n\n  Chào  \n\n'), 'Chào');
  });

  test('private-use characters typed by the user cannot forge paragraph breaks', () => {
    assert.equal(cleanText('Một\uE002hai\uE0000\uE001ba'), 'Mộthai0ba');
  });
});
