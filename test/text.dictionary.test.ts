/**
 * The pronunciation dictionary (issue 10, point 7): whole-word, case-insensitive replacements applied while cleaning,
 * before chunking. Examples of what a listener would hear differently, the limits, and two properties over random
 * texts and dictionaries (seeded, so a failure replays): an empty dictionary changes nothing, and a replaced word is
 * never left in the text unless a replacement itself says it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NarratorError } from '../src/services/errors.js';
import {
  cleanText,
  Dictionary,
  DICTIONARY_MAX_ENTRIES,
  DICTIONARY_MAX_SAY,
  DICTIONARY_MAX_WORD,
  prepareText,
  validateDictionaryEntry,
  type DictionaryEntryInput,
} from '../src/services/text/index.js';

const HCM = { word: 'TP.HCM', say: 'Thành phố Hồ Chí Minh' };

function clean(text: string, dictionary: readonly DictionaryEntryInput[]): string {
  return cleanText(text, { dictionary });
}

describe('dictionary: what is replaced', () => {
  test('a word with punctuation inside matches as a whole token, before sentence punctuation too', () => {
    assert.equal(clean('Tôi sống ở TP.HCM. Còn bạn?', [HCM]), 'Tôi sống ở Thành phố Hồ Chí Minh. Còn bạn?');
    assert.equal(clean('TP.HCM, Hà Nội và Huế', [HCM]), 'Thành phố Hồ Chí Minh, Hà Nội và Huế');
    // Part of a longer token: left alone.
    assert.equal(clean('Mã TP.HCMC và xTP.HCM', [HCM]), 'Mã TP.HCMC và xTP.HCM');
    assert.equal(clean('Dùng ASP.NET nhé', [{ word: '.NET', say: 'chấm nét' }]), 'Dùng ASP.NET nhé');
    assert.equal(clean('Dùng .NET nhé', [{ word: '.NET', say: 'chấm nét' }]), 'Dùng chấm nét nhé');
  });

  test('case-insensitive, Vietnamese capitals included', () => {
    assert.equal(clean('tp.hcm và Tp.Hcm', [HCM]), 'Thành phố Hồ Chí Minh và Thành phố Hồ Chí Minh');
    assert.equal(clean('ĐHQG mở cửa, đhqg đông vui', [{ word: 'đhqg', say: 'Đại học Quốc gia' }]), 'Đại học Quốc gia mở cửa, Đại học Quốc gia đông vui');
  });

  test('word boundaries know Vietnamese letters with diacritics and digits (no match inside a word)', () => {
    const ng = [{ word: 'ng', say: 'người' }];
    // An ASCII \b would see "à" as a boundary and replace the "ng" of "Hàng".
    assert.equal(clean('Hàng ng đông', ng), 'Hàng người đông');
    assert.equal(clean('COVID19 và COVID', [{ word: 'covid', say: 'cô vít' }]), 'COVID19 và cô vít');
    // Decomposed input (NFD) is matched as its NFC form.
    assert.equal(clean('Hà Nội'.normalize('NFD') + ' đẹp', [{ word: 'Hà Nội', say: 'thủ đô' }]), 'thủ đô đẹp');
  });

  test('longest entry first, and replaced text is never replaced again (one pass)', () => {
    const entries = [
      { word: 'Hồ', say: 'hồ nước' },
      { word: 'Hồ Chí Minh', say: 'Bác Hồ' },
    ];
    assert.equal(clean('Lăng Hồ Chí Minh bên Hồ Gươm', entries), 'Lăng Bác Hồ bên hồ nước Gươm');
    assert.equal(clean('a b c', [{ word: 'a', say: 'b' }, { word: 'b', say: 'c' }, { word: 'c', say: 'a' }]), 'b c a');
  });

  test('applied after mentions are resolved and markdown is gone, so a nickname or a bold word is replaced', () => {
    const nickname = [{ word: 'Bé Na', say: 'Bê Na' }];
    assert.equal(cleanText('Chào <@1>, **TP.HCM** nhé', { resolveMention: () => 'Bé Na', dictionary: [...nickname, HCM] }), 'Chào Bê Na, Thành phố Hồ Chí Minh nhé');
  });

  test('the replacement is what is chunked and counted', () => {
    const prepared = prepareText('Ở TP.HCM.', { dictionary: [HCM] });
    assert.equal(prepared.cleaned, 'Ở Thành phố Hồ Chí Minh.');
    assert.equal(prepared.spokenChars, [...'Ở Thành phố Hồ Chí Minh.'].length);
    assert.deepEqual(prepared.chunks.map((c) => c.text), ['Ở Thành phố Hồ Chí Minh.']);
  });

  test('a replacement cannot bring back what cleaning removes (links, emoji, line breaks)', () => {
    assert.equal(clean('gg nhé', [{ word: 'gg', say: 'chơi hay 🎉 https://x.vn\nlắm' }]), 'chơi hay lắm nhé');
  });
});

describe('dictionary: limits and validation', () => {
  const userError = (code: string) => (err: unknown) => err instanceof NarratorError && err.kind === 'user' && err.code === code;

  test('entries are normalized: trimmed, single spaces, NFC', () => {
    assert.deepEqual(validateDictionaryEntry({ word: '  Hà   Nội ', say: ' thủ   đô ' }), { word: 'Hà Nội', say: 'thủ đô' });
  });

  test('empty, unspeakable or too long words and replacements are refused with a user error', () => {
    assert.throws(() => validateDictionaryEntry({ word: '   ', say: 'x' }), userError('dictionary_word_invalid'));
    assert.throws(() => validateDictionaryEntry({ word: '...', say: 'x' }), userError('dictionary_word_invalid'));
    assert.throws(() => validateDictionaryEntry({ word: 'a', say: '' }), userError('dictionary_say_invalid'));
    assert.throws(() => validateDictionaryEntry({ word: 'a', say: '🎉' }), userError('dictionary_say_invalid'));
    assert.throws(() => validateDictionaryEntry({ word: 'ả'.repeat(DICTIONARY_MAX_WORD + 1), say: 'x' }), userError('dictionary_word_too_long'));
    assert.throws(() => validateDictionaryEntry({ word: 'a', say: 'ả'.repeat(DICTIONARY_MAX_SAY + 1) }), userError('dictionary_say_too_long'));
    // The limits count characters as Discord does (code points), so exactly the limit passes.
    assert.doesNotThrow(() => validateDictionaryEntry({ word: 'ả'.repeat(DICTIONARY_MAX_WORD), say: '𝒜'.repeat(DICTIONARY_MAX_SAY) }));
  });

  test('more entries than the limit are refused', () => {
    const many = Array.from({ length: DICTIONARY_MAX_ENTRIES + 1 }, (_, i) => ({ word: `w${i}`, say: 'x' }));
    assert.throws(() => new Dictionary(many), userError('dictionary_full'));
    assert.equal(new Dictionary(many.slice(0, DICTIONARY_MAX_ENTRIES)).size, DICTIONARY_MAX_ENTRIES);
  });

  test('regex metacharacters in a word are literal', () => {
    assert.equal(clean('C++ và C+ và (a|b)', [{ word: 'C++', say: 'xê cộng cộng' }, { word: '(a|b)', say: 'a hoặc b' }]), 'xê cộng cộng và C+ và a hoặc b');
  });
});

// ------------------------------------------------------------------------------------------------- properties

/** mulberry32: seeded, so a failing case is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['hà', 'nội', 'ng', 'đ', 'ông', 'bà', 'tp', 'hcm', 'anh', 'em', 'à', 'ạ', 'xin', 'chào', 'việt', 'nam', '19', 'a1', 'ơi'];
const GLUE = [' ', ' ', ' ', ', ', '. ', '! ', '\n', '\n\n', '.', '-', ' **', '** ', ' _', ' `'];

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

function randomCase(r: () => number, word: string): string {
  return [...word].map((c) => (r() < 0.3 ? c.toUpperCase() : c)).join('');
}

function randomWord(r: () => number): string {
  const n = 1 + Math.floor(r() * 2);
  return Array.from({ length: n }, () => pick(r, SYLLABLES)).join(r() < 0.3 ? '.' : '');
}

/** Whether `word` occurs in `text` as a whole word (case-insensitive), checked naively, independently of the code. */
function hasWholeWord(text: string, word: string): boolean {
  const hay = text.toLowerCase();
  const needle = word.toLowerCase();
  const wordChar = /[\p{L}\p{N}\p{M}]/u;
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) {
    const before = at > 0 ? hay[at - 1]! : '';
    const after = hay[at + needle.length] ?? '';
    if (!wordChar.test(before) && !wordChar.test(after)) return true;
  }
  return false;
}

describe('dictionary: properties over random texts', () => {
  test('with an empty dictionary the cleaned text is unchanged', () => {
    const r = random(7);
    for (let n = 0; n < 300; n++) {
      const text = Array.from({ length: 1 + Math.floor(r() * 30) }, () => randomCase(r, pick(r, SYLLABLES)) + pick(r, GLUE)).join('');
      assert.equal(cleanText(text, { dictionary: [] }), cleanText(text), JSON.stringify(text));
    }
  });

  test('a replaced word never remains as a whole word, unless a replacement contains it', () => {
    const r = random(42);
    for (let n = 0; n < 400; n++) {
      const entries: DictionaryEntryInput[] = [];
      const size = 1 + Math.floor(r() * 5);
      for (let i = 0; i < size; i++) {
        const say = Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(r, SYLLABLES)).join(' ');
        entries.push({ word: randomWord(r), say });
      }
      const words = entries.map((e) => e.word);
      const text = Array.from({ length: 1 + Math.floor(r() * 30) }, () =>
        randomCase(r, r() < 0.4 ? pick(r, words) : pick(r, SYLLABLES)) + pick(r, GLUE),
      ).join('');
      let out: string;
      try {
        out = cleanText(text, { dictionary: entries });
      } catch (err) {
        assert.fail(`${String(err)} for ${JSON.stringify({ text, entries })}`);
      }
      const says = entries.map((e) => e.say.toLowerCase()).join('\n');
      for (const { word } of entries) {
        if (says.includes(word.toLowerCase())) continue;
        assert.ok(!hasWholeWord(out, word), `"${word}" left in ${JSON.stringify(out)} from ${JSON.stringify({ text, entries })}`);
      }
    }
  });
});
