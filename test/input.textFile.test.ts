/**
 * Text files → text (src/services/input/textFile.ts): every accepted encoding gives the same text, every refusal
 * names its reason (extension, binary format, encoding, empty), and subtitles keep what is said and nothing else.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryFormatOf, decodeTextBytes, subtitlesToText, textFileKind, textFromFile, TextFileError, type TextFileProblem } from '../src/services/input/textFile.js';

const TEXT = 'Xin chào các bạn.\nHôm nay trời đẹp quá — “thật” đấy! 🌸';

function utf16le(text: string, bom = true): Uint8Array {
  const body = Buffer.from(text, 'utf16le');
  return bom ? Buffer.concat([Buffer.from([0xff, 0xfe]), body]) : body;
}
function utf16be(text: string): Uint8Array {
  const le = Buffer.from(text, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1]!;
    be[i + 1] = le[i]!;
  }
  return Buffer.concat([Buffer.from([0xfe, 0xff]), be]);
}

function refusal(fn: () => unknown): TextFileProblem {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TextFileError, `a TextFileError, got ${String(err)}`);
    assert.equal(err.kind, 'user');
    return err.problem;
  }
  assert.fail('expected a refusal');
}

describe('decoding', () => {
  test('UTF-8 with and without BOM, UTF-16 LE and BE with BOM: the same text', () => {
    const utf8 = Buffer.from(TEXT, 'utf8');
    assert.equal(decodeTextBytes(utf8), TEXT);
    assert.equal(decodeTextBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8])), TEXT);
    assert.equal(decodeTextBytes(utf16le(TEXT)), TEXT);
    assert.equal(decodeTextBytes(utf16be(TEXT)), TEXT);
  });

  test('Windows and old Mac line breaks become \\n', () => {
    assert.equal(decodeTextBytes(Buffer.from('a\r\nb\rc\n')), 'a\nb\nc\n');
  });

  test('invalid UTF-8 without a UTF-16 BOM (e.g. Windows-1258) is refused as an encoding problem', () => {
    const cp1258 = Buffer.from([0x58, 0x69, 0x6e, 0x20, 0x63, 0x68, 0xe0, 0x6f]); // "Xin chào" in a legacy code page
    assert.deepEqual(refusal(() => decodeTextBytes(cp1258)), { kind: 'encoding' });
  });

  test('odd-length UTF-16 is refused as an encoding problem', () => {
    const odd = Buffer.concat([utf16le('ab'), Buffer.from([0x41])]);
    assert.deepEqual(refusal(() => decodeTextBytes(odd)), { kind: 'encoding' });
  });

  test('known binary signatures are named', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    assert.deepEqual(refusal(() => decodeTextBytes(png)), { kind: 'binary', format: 'png' });
    assert.equal(binaryFormatOf(Buffer.from('%PDF-1.7\n')), 'pdf');
    assert.equal(binaryFormatOf(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0])), 'zip');
    assert.equal(binaryFormatOf(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'jpeg');
    assert.equal(binaryFormatOf(Buffer.from('RIFF\0\0\0\0WAVEfmt ')), 'wav');
    assert.equal(binaryFormatOf(Buffer.from('Xin chào')), undefined);
  });

  test('NUL bytes (UTF-16 without BOM, unknown binary) are refused as binary', () => {
    assert.deepEqual(refusal(() => decodeTextBytes(utf16le('Hello', false))), { kind: 'binary' });
    assert.deepEqual(refusal(() => decodeTextBytes(Buffer.from([0x41, 0x00, 0x42]))), { kind: 'binary' });
  });

  test('a high share of control characters is refused as binary; a few are tolerated', () => {
    const noisy = 'abc\u0001\u0002\u0003def\u0007\u0008'.repeat(20);
    assert.deepEqual(refusal(() => decodeTextBytes(Buffer.from(noisy))), { kind: 'binary' });
    const mostlyText = `${'Một câu bình thường. '.repeat(50)}\u000b`;
    assert.equal(decodeTextBytes(Buffer.from(mostlyText)), mostlyText);
  });
});

describe('file names', () => {
  test('.txt .md .srt .vtt accepted (any case), others refused naming the extension', () => {
    assert.equal(textFileKind('chapter.TXT'), 'text');
    assert.equal(textFileKind('notes.md'), 'text');
    assert.equal(textFileKind('film.srt'), 'subtitles');
    assert.equal(textFileKind('film.vtt'), 'subtitles');
    assert.deepEqual(refusal(() => textFromFile('book.docx', Buffer.from('x'))), { kind: 'extension', extension: '.docx' });
    assert.deepEqual(refusal(() => textFromFile('README', Buffer.from('x'))), { kind: 'extension', extension: '' });
  });

  test('a PNG renamed .txt is refused as a PNG image', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    assert.deepEqual(refusal(() => textFromFile('story.txt', png)), { kind: 'binary', format: 'png' });
  });

  test('a file with only blank lines is refused as empty', () => {
    assert.deepEqual(refusal(() => textFromFile('a.txt', Buffer.from('\n  \n\t'))), { kind: 'empty' });
    assert.deepEqual(refusal(() => textFromFile('a.srt', Buffer.from('1\n00:00:01,000 --> 00:00:02,000\n<i></i>\n'))), { kind: 'empty' });
  });

  test('markdown comes back as written (the cleaner handles its markup)', () => {
    assert.equal(textFromFile('a.md', Buffer.from('# Chương 1\n\n**Trời** tối dần.')), '# Chương 1\n\n**Trời** tối dần.');
  });
});

describe('subtitles', () => {
  test('SRT: numbers, timings and tags go; a sentence spanning two cues reads as one', () => {
    const srt = [
      '1',
      '00:00:01,000 --> 00:00:04,000',
      '<i>Trời tối dần</i> và gió',
      '',
      '2',
      '00:00:04,500 --> 00:00:06,000',
      '{\\an8}thổi qua hàng cây.',
      '',
      '3',
      '00:00:06,500 --> 00:00:08,000 X1:100 X2:200',
      '- Anh về đi!',
      '',
      '4',
      '00:00:08,500 --> 00:00:09,000',
      '- Em chờ anh.',
      '',
    ].join('\r\n');
    assert.equal(textFromFile('film.srt', Buffer.from(srt)), 'Trời tối dần và gió thổi qua hàng cây.\n- Anh về đi!\n- Em chờ anh.');
  });

  test('WebVTT: header, NOTE and STYLE blocks, cue ids, settings, voice and class tags, entities', () => {
    const vtt = [
      'WEBVTT - a film',
      'Kind: captions',
      '',
      'NOTE made by hand',
      'over two lines',
      '',
      'STYLE',
      '::cue { color: yellow }',
      '',
      'intro',
      '00:01.000 --> 00:04.000 align:start position:10%',
      '<v Minh>Xin chào</v> <c.yellow>các bạn</c>',
      'của tôi.',
      '',
      '00:00:04.500 --> 00:00:06.000',
      'Tom &amp; Jerry &lt;3 <00:00:05.000>đến rồi',
    ].join('\n');
    assert.equal(subtitlesToText(vtt), 'Xin chào các bạn của tôi.\nTom & Jerry <3 đến rồi');
  });

  test('every word of every cue is kept, in order', () => {
    const words = Array.from({ length: 120 }, (_, i) => `từ${i}`);
    const cues = [];
    for (let i = 0; i < words.length; i += 4) {
      const n = i / 4 + 1;
      cues.push(`${n}\n00:00:${String(n % 60).padStart(2, '0')},000 --> 00:00:${String(n % 60).padStart(2, '0')},900\n${words.slice(i, i + 2).join(' ')}\n${words.slice(i + 2, i + 4).join(' ')}`);
    }
    const text = textFromFile('a.srt', Buffer.from(cues.join('\n\n')));
    assert.deepEqual(text.split(/\s+/), words);
  });
});
