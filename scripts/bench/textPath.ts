/**
 * Figure 11: the text path on hostile input. `prepareText` (and `prepareVoicedText`, what the engine plans with) run
 * synchronously on the event loop that also paces every server's 20 ms voice frames, and `/narrate file:` accepts
 * 100 000 characters — so each input here, built to defeat a regular expression or a rescanning loop (unmatched
 * emphasis markers, brackets, one-word lines, a word with no space, runs of dots…), is timed at 25 000 and 100 000
 * characters. Linear work shows as a ratio near 4; the quadratic spots these inputs once hit showed 10–20.
 *
 * Timing belongs here, not in unit tests (the project forbids timed assertions): each figure is the fastest of a
 * few repetitions, which on a shared machine is the one least disturbed by other processes.
 */
import { isNarratorError } from '../../src/services/errors.js';
import { prepareText, prepareVoicedText, voiceNames } from '../../src/services/text/index.js';
import type { BenchSettings } from './settings.js';

/** Each builds an input of about `n` characters. */
export const HOSTILE_TEXTS: Readonly<Record<string, (n: number) => string>> = {
  prose: (n) => fill('Hôm nay trời đẹp, chúng tôi đi dạo ở công viên và nói chuyện rất lâu. ', n),
  'voice brackets': (n) => fill('Câu một hai ba bốn. [minh] ', n),
  'open brackets': (n) => fill('a [b ', n),
  'nested brackets': (n) => 'a ' + '['.repeat(n / 2 - 2) + ']'.repeat(n / 2),
  'stars a *b': (n) => fill('a *b ', n),
  'underscores a _b': (n) => fill('a _b ', n),
  'tildes a ~~b': (n) => fill('a ~~b ', n),
  'spoilers a ||b': (n) => fill('a ||b ', n),
  'backticks a `b': (n) => fill('a `b ', n),
  'fences a ```b': (n) => fill('a ```b ', n),
  'nested emphasis': (n) => '**_~~||'.repeat(n / 14) + 'a' + '||~~_**'.repeat(n / 14),
  'one-word lines': (n) => fill('a\n', n),
  'one-sentence lines': (n) => fill('a.\n', n),
  'blank lines': (n) => fill('a\n\n', n),
  'no space': (n) => 'x'.repeat(n),
  'long words': (n) => fill(`${'x'.repeat(500)} `, n),
  'short sentences a. ': (n) => fill('a. ', n),
  abbreviations: (n) => fill('TP.', n),
  initials: (n) => fill('A. ', n),
  ellipses: (n) => fill('a… B ', n),
  'run of dots': (n) => `a${'.'.repeat(n - 4)} b`,
  'url then dots': (n) => `xem https://a.vn/${'.'.repeat(n - 30)}a b`,
  mentions: (n) => fill('<@1> ', n),
  // Over MAX_SPELLED_TIMESTAMPS: refused after a count; the next one stays at most at the cap (2000 at 100 000).
  timestamps: (n) => fill('<t:0:F> ', n),
  'distinct timestamps': (n) => {
    const tags = Array.from({ length: n / 50 }, (_, i) => `<t:${1_700_000_000 + i * 3_607}:F> câu ${i}. `).join('');
    return (tags + fill('Hôm nay trời đẹp. ', Math.max(0, n - tags.length))).slice(0, n);
  },
  'angle brackets a <b': (n) => fill('a <b ', n),
  emoji: (n) => fill('😀 a ', n),
  urls: (n) => fill('xem https://a.vn/x. ', n),
  'masked links': (n) => fill('[a](https://a.vn) ', n),
  punctuation: (n) => `a ${fill('!?,;', n - 2)}`,
  'space runs': (n) => fill(`a${' '.repeat(999)}`, n),
  'one space run, then a tag': (n) => `a${' '.repeat(n - 12)}b. [minh] c`,
  'script lines': (n) => fill('minh: a\n', n),
};

function fill(unit: string, n: number): string {
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

export interface TextCaseResult {
  readonly name: string;
  /** Fastest of the repetitions, ms, at each size (`sizes` order). */
  readonly prepareMs: readonly number[];
  readonly voicedMs: readonly number[];
  /** Largest / smallest size, for prepareText and prepareVoicedText. */
  readonly prepareRatio: number;
  readonly voicedRatio: number;
}

export interface TextPathResults {
  readonly sizes: readonly number[];
  readonly repeats: number;
  readonly cases: readonly TextCaseResult[];
}

/** Ratios are taken on at least this many ms, so that a 1 ms → 6 ms jitter does not read as quadratic growth. */
const RATIO_FLOOR_MS = 5;

function fastest(repeats: number, run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

export function runTextPath(settings: BenchSettings): TextPathResults {
  const { textSizes: sizes, textRepeats: repeats } = settings;
  const names = voiceNames(['narrator', 'minh']);
  const resolveMention = (): string => 'Minh';
  const cases = Object.entries(HOSTILE_TEXTS).map(([name, build]): TextCaseResult => {
    const inputs = sizes.map((n) => build(n));
    // A refusal (a user error: too many timestamps…) is an outcome too: the time to reach it is what is measured.
    const refusalIsAnOutcome = (run: () => unknown): unknown => {
      try {
        return run();
      } catch (err) {
        if (isNarratorError(err, 'user')) return err;
        throw err;
      }
    };
    const prepare = (raw: string): unknown => refusalIsAnOutcome(() => prepareText(raw, { resolveMention }));
    const voiced = (raw: string): unknown => refusalIsAnOutcome(() => prepareVoicedText(raw, { resolveMention, defaultVoice: 'narrator', names }));
    // Warm-up, so the first size does not pay for compiling what the second reuses.
    prepare(inputs[0]!);
    voiced(inputs[0]!);
    const prepareMs = inputs.map((raw) => fastest(repeats, () => prepare(raw)));
    const voicedMs = inputs.map((raw) => fastest(repeats, () => voiced(raw)));
    const ratio = (ms: readonly number[]): number => Math.max(ms.at(-1)!, RATIO_FLOOR_MS) / Math.max(ms[0]!, RATIO_FLOOR_MS);
    return { name, prepareMs, voicedMs, prepareRatio: ratio(prepareMs), voicedRatio: ratio(voicedMs) };
  });
  return { sizes, repeats, cases };
}

/** The case with the largest value of `pick`. */
export function worst(results: TextPathResults, pick: (c: TextCaseResult) => number): TextCaseResult {
  return results.cases.reduce((a, b) => (pick(b) > pick(a) ? b : a));
}
