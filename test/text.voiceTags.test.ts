/**
 * Voice tags (issue 11, part 3): where a tag may stand, which names it resolves, the unknown-tag refusal, and — on
 * seeded random scripts mixing both tag forms, name cases, aliases, near-misses and plain text — that preparing a
 * script loses and doubles no word, never speaks a tag, and gives every chunk exactly the voice of the run it came
 * from (so no job mixes two voices).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chunkSpokenChars } from '../src/services/orchestrator.js';
import { prepareText } from '../src/services/text/index.js';
import { prepareVoicedText, type VoicedChunk } from '../src/services/text/prepareVoiced.js';
import { normalizeAlias, splitVoiceRuns, voiceNames, VoiceTagUnknownError } from '../src/services/text/voiceTags.js';
import { seededRandom } from './support/fakeVoice.js';

const VOICES = ['narrator', 'male_north_2', 'female_south', 'old.man'];
const ALIASES: Record<string, string> = { minh: 'male_north_2', lan: 'female_south', 'ông-ba': 'old.man' };
const NAMES = voiceNames(VOICES, ALIASES);

const prepare = (text: string, extra: { dictionary?: { word: string; say: string }[]; maxSpokenChars?: number } = {}) =>
  prepareVoicedText(text, { defaultVoice: 'narrator', names: NAMES, ...extra });
const said = (chunks: readonly VoicedChunk[]) => chunks.map((c) => [c.voice, c.text]);

describe('voice tags: where a tag stands', () => {
  test("the issue's example: one line, three voices, a speaker pause at each change", () => {
    const { chunks, voices } = prepare('[narrator] Trời tối dần. [minh] Anh về đi! [lan] Em chờ anh.');
    assert.deepEqual(said(chunks), [
      ['narrator', 'Trời tối dần.'],
      ['male_north_2', 'Anh về đi!'],
      ['female_south', 'Em chờ anh.'],
    ]);
    assert.deepEqual(chunks.map((c) => c.breakBefore), ['none', 'speaker', 'speaker']);
    assert.deepEqual(voices, ['narrator', 'male_north_2', 'female_south']);
  });

  test('script form at a line start for a known name only: "Note: …" stays text', () => {
    const { chunks } = prepare('Mở đầu câu chuyện.\nMinh: Anh về đi!\nNote: đây là ghi chú.\nLAN: Em chờ anh.\n\nold.man: Hết rồi.');
    assert.deepEqual(said(chunks), [
      ['narrator', 'Mở đầu câu chuyện.'],
      ['male_north_2', 'Anh về đi! Note: đây là ghi chú.'],
      ['female_south', 'Em chờ anh.'],
      ['old.man', 'Hết rồi.'],
    ]);
    assert.deepEqual(chunks.map((c) => c.breakBefore), ['none', 'speaker', 'speaker', 'paragraph']);
  });

  test('Discord line markers before a tag at a line start: a quote, a bullet, a heading', () => {
    const { chunks } = prepare('> [minh] Anh về đi!\n- Lan: Em chờ anh.\n>>> ## [narrator] Hết chuyện.\n> Note: ghi chú.');
    assert.deepEqual(said(chunks), [
      ['male_north_2', 'Anh về đi!'],
      ['female_south', 'Em chờ anh.'],
      ['narrator', 'Hết chuyện. Note: ghi chú.'],
    ]);
  });

  test('not tags: a link, code, a name without a letter, a bracket inside a sentence', () => {
    const text = '[bob](https://example.com) là trang. Xem nhé. [bob](<https://example.com>) nữa. `[bob]` là mã. [1] Chú thích. Gặp [bob] hôm qua.\n```\n[bob] trong khối mã\n```\nHết.';
    const { chunks, voices } = prepare(text);
    assert.deepEqual(voices, ['narrator']);
    const spoken = chunks.map((c) => c.text).join(' ');
    assert.match(spoken, /^bob là trang\. Xem nhé\. bob nữa\./);
    assert.match(spoken, /Gặp \[bob\] hôm qua\./);
    assert.match(spoken, /\[1\] Chú thích\./);
  });

  test('names: any case, spaces inside the brackets, an alias before a voice of the same name; the last of two tags wins', () => {
    const names = voiceNames(['narrator', 'minh', 'male'], { minh: 'male' });
    const runs = splitVoiceRuns('[ MINH ] Một. [Narrator] [minh] Hai.', { defaultVoice: 'narrator', names });
    assert.deepEqual(runs.map((r) => [r.voice, r.text.trim()]), [
      ['male', 'Một.'],
      ['narrator', ''],
      ['male', 'Hai.'],
    ]);
    assert.equal(prepare('[narrator] [minh] Hai thẻ.').chunks[0]?.voice, 'male_north_2');
  });

  test('an alias whose voice is no longer configured is unknown; normalizeAlias is what /settings and --voices-map store', () => {
    const names = voiceNames(['narrator'], { cu: 'removed_voice' });
    assert.throws(() => splitVoiceRuns('[cu] Xin chào.', { defaultVoice: 'narrator', names }), VoiceTagUnknownError);
    assert.equal(normalizeAlias(' [Minh] '), 'minh');
    assert.equal(normalizeAlias('a b'), undefined);
    assert.equal(normalizeAlias('[42]'), undefined, 'a name without a letter is never a tag, so never an alias');
  });

  test('an unknown tag in tag position throws, naming it and every known name; the same name elsewhere is text', () => {
    for (const text of ['[bob] Xin chào.', 'Xin chào. [Bob] Tạm biệt.', 'Một.\n  [bob]\nHai.', '[minh] [bob] Ba.']) {
      assert.throws(
        () => prepare(text),
        (err: unknown) =>
          err instanceof VoiceTagUnknownError &&
          err.code === 'voice_tag_unknown' &&
          err.kind === 'user' &&
          err.tag.toLowerCase() === 'bob' &&
          [...Object.keys(ALIASES), ...VOICES].every((n) => err.known.includes(n)),
        text,
      );
    }
    assert.doesNotThrow(() => prepare('Anh bob nói [bob] là bạn.'));
  });

  test('empty runs are dropped; all empty is nothing_speakable; a tag alone is never spoken', () => {
    assert.deepEqual(said(prepare('[minh]\n[lan] 😀\n[narrator] Chỉ câu này.').chunks), [['narrator', 'Chỉ câu này.']]);
    assert.throws(() => prepare('[minh]\n[lan] 😀 https://example.com'), { code: 'nothing_speakable' });
    assert.throws(() => prepare('[minh]'), { code: 'nothing_speakable' });
  });

  test('without tags it is exactly prepareText, in the default voice', () => {
    const text = 'Mỗi năm, khi những cơn gió heo may đầu tiên tràn về, Hà Nội như khoác lên mình một tấm áo mới. Note: hết.\n\nĐoạn hai.';
    const plain = prepareText(text);
    const voiced = prepare(text);
    assert.deepEqual(voiced.chunks, plain.chunks.map((c) => ({ ...c, voice: 'narrator' })));
    assert.equal(voiced.spokenChars, plain.spokenChars);
  });

  test('the limit counts every run; the dictionary applies in every run but never to a tag', () => {
    const text = '[minh] Anh về đi. [lan] Em chờ anh ở đây.';
    const { spokenChars } = prepare(text);
    assert.equal(spokenChars, 'Anh về đi.\nEm chờ anh ở đây.'.length);
    assert.throws(() => prepare(text, { maxSpokenChars: spokenChars - 1 }), { code: 'text_too_long' });
    const replaced = prepare('[minh] Gặp lan. [lan] Chào minh.', { dictionary: [{ word: 'lan', say: 'cô Lan' }, { word: 'minh', say: 'anh Minh' }] });
    assert.deepEqual(said(replaced.chunks), [
      ['male_north_2', 'Gặp cô Lan.'],
      ['female_south', 'Chào anh Minh.'],
    ]);
  });
});

// --- properties on generated scripts ---

const VOCABULARY = (
  'tôi bạn chúng ta người nhà trường học đi về ăn uống ngủ dậy sớm muộn hôm nay ngày mai năm ngoái ' +
  'thành phố làng quê sông núi biển trời mưa nắng gió đẹp xấu nhanh chậm được không có là của và nhưng ' +
  'vì thế nên rằng những các một hai ba nhiều ít lắm quá thật sự nghĩ nói viết đọc nghe hiểu biết yêu ' +
  'Hà Nội Sài Gòn Huế Minh Lan minh lan Narrator'
).split(' ');
const ENDINGS = ['.', '.', '!', '?', '…', '!”', '?)'];
/** Discord line markers a tag line may open with (a quote, a bullet, a heading, subtext): cleaning drops them. */
const LINE_MARKERS = ['> ', '>>> ', '- ', '* ', '# ', '-# ', '> - '];
/** Tag names as a writer might type them: voices, aliases, in any case. */
const TAG_NAMES = [...VOICES, ...Object.keys(ALIASES)];

interface Script {
  readonly text: string;
  /** Every word that must be heard, with the voice that must read it, in order. */
  readonly expected: readonly (readonly [voice: string, word: string])[];
}

function generateScript(random: () => number): Script {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const anyCase = (name: string): string => {
    const r = random();
    return r < 0.4 ? name : r < 0.6 ? name.toUpperCase() : r < 0.8 ? name.charAt(0).toUpperCase() + name.slice(1) : [...name].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join('');
  };
  const expected: [string, string][] = [];
  let voice = 'narrator';
  let text = '';
  let atLineStart = true;
  const say = (words: string[]) => {
    for (const w of words) expected.push([voice, w]);
    text += words.join(' ');
    atLineStart = false;
  };
  const sentence = (): string[] => {
    const words = Array.from({ length: 1 + Math.floor(random() * 14) }, () => pick(VOCABULARY));
    // Near-misses that are plain text: a bracketed name inside a sentence, a footnote mark.
    if (random() < 0.1) words.splice(1 + Math.floor(random() * words.length), 0, `[${pick(TAG_NAMES)}]`);
    if (random() < 0.05) words.splice(1, 0, `[${1 + Math.floor(random() * 9)}]`);
    // Never a word that would end in a tag position by accident: only the last one ends a sentence.
    words[words.length - 1] += pick(ENDINGS);
    return words;
  };
  const segments = 1 + Math.floor(random() * 12);
  for (let s = 0; s < segments; s++) {
    const r = random();
    const name = pick(TAG_NAMES);
    const target = NAMES.resolve(name)!;
    if (r < 0.3) {
      // [name] on a new line (or a new paragraph), spaces allowed before it and inside the brackets.
      if (!atLineStart) text += random() < 0.3 ? '\n\n' : '\n';
      text += `${random() < 0.2 ? '  ' : ''}${random() < 0.2 ? pick(LINE_MARKERS) : ''}[${random() < 0.2 ? ' ' : ''}${anyCase(name)}${random() < 0.2 ? ' ' : ''}]${random() < 0.2 ? '\n' : ' '}`;
      voice = target;
    } else if (r < 0.55) {
      // [name] after a sentence end on the same line, with or without a space.
      text += atLineStart ? '' : random() < 0.8 ? ' ' : '';
      text += `[${anyCase(name)}] `;
      voice = target;
    } else if (r < 0.7) {
      // The script form.
      if (!atLineStart) text += '\n';
      text += `${random() < 0.2 ? pick(LINE_MARKERS) : ''}${anyCase(name)}: `;
      voice = target;
    } else if (r < 0.75) {
      // Two tags in a row: the second wins.
      if (!atLineStart) text += ' ';
      const second = pick(TAG_NAMES);
      text += `[${anyCase(name)}] [${anyCase(second)}] `;
      voice = NAMES.resolve(second)!;
    } else if (r < 0.78) {
      // A link in tag position is a link: its text is read in the current voice.
      if (!atLineStart) text += ' ';
      say([name]);
      text = `${text.slice(0, text.length - name.length)}[${name}](https://example.com/${s})`;
      text += ' ';
    } else if (r < 0.82) {
      // "Note:" at a line start is not a known name: plain text in the current voice.
      if (!atLineStart) text += '\n';
      say(['Note:']);
      text += ' ';
    } else if (!atLineStart) {
      text += random() < 0.2 ? '\n' : ' ';
    }
    const count = 1 + Math.floor(random() * 3);
    for (let i = 0; i < count; i++) {
      if (i > 0) text += ' ';
      say(sentence());
    }
  }
  return { text, expected };
}

describe('voice tags: properties on generated scripts', () => {
  for (const firstChars of [40, 0]) {
    test(`no word lost or doubled, no tag spoken, one voice per chunk — 600 scripts (firstChars ${firstChars})`, () => {
      const random = seededRandom(firstChars + 11);
      for (let n = 0; n < 600; n++) {
        const { text, expected } = generateScript(random);
        const where = `script ${n}: ${JSON.stringify(text)}`;
        const { chunks, spokenChars, voices } = prepareVoicedText(text, { defaultVoice: 'narrator', names: NAMES, firstChars, maxChars: 120 });
        // Every word heard, in order, each read by the voice of the run it was written in.
        const heard = chunks.flatMap((c) => c.text.split(' ').map((w) => [c.voice, w] as const));
        assert.deepEqual(heard, expected, where);
        // Chunk by chunk: contiguous indexes, one voice (the run's: checked above word by word), and a speaker pause
        // exactly where the voice changes (a paragraph's when a blank line stood there too).
        chunks.forEach((c, i) => {
          assert.equal(c.index, i, where);
          const previous = chunks[i - 1];
          if (previous === undefined) assert.equal(c.breakBefore, 'none', where);
          else if (previous.voice !== c.voice) assert.ok(c.breakBefore === 'speaker' || c.breakBefore === 'paragraph', `${where}: chunk ${i} ${c.breakBefore}`);
          else assert.notEqual(c.breakBefore, 'speaker', `${where}: chunk ${i}`);
        });
        assert.deepEqual(voices, [...new Set(chunks.map((c) => c.voice))], where);
        // The usage shares of the chunks add up to what the limits counted.
        assert.equal(chunkSpokenChars({ chunks, spokenChars }).reduce((a, b) => a + b, 0), spokenChars, where);
      }
    });
  }

  test('an unknown name in any tag position is refused, wherever it stands in a generated script', () => {
    const random = seededRandom(7);
    for (let n = 0; n < 200; n++) {
      const { text } = generateScript(random);
      const at = text.lastIndexOf(' ', Math.floor(random() * text.length));
      // After a sentence end, or on a line of its own: both are tag positions.
      const unknown = at > 0 && /[.!?…][”)]?$/u.test(text.slice(0, at)) ? `${text.slice(0, at)} [Zed]${text.slice(at)}` : `${text}\n[zed] Hết.`;
      assert.throws(() => prepare(unknown), (err: unknown) => err instanceof VoiceTagUnknownError && err.tag.toLowerCase() === 'zed', unknown);
    }
  });
});
