import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Stitcher, applyFades, stitchAll, trimSilence } from '../src/services/audio/stitch.js';
import type { MonoAudio } from '../src/services/audio/types.js';
import { amplitudeAt, concat, maxAbsStep, noise, tone } from './fixtures/audioSignals.js';

const RATE = 24000;
const ms = (n: number): number => Math.round((RATE * n) / 1000);
const silence = (n: number): Float32Array => new Float32Array(ms(n));
const THRESHOLD = 10 ** (-45 / 20);

/** Index of the first / last sample louder than the −45 dBFS threshold. */
function firstLoud(samples: Float32Array): number {
  return samples.findIndex((x) => Math.abs(x) >= THRESHOLD);
}
function lastLoud(samples: Float32Array): number {
  return samples.findLastIndex((x) => Math.abs(x) >= THRESHOLD);
}

/** A clip with no silence anywhere and no zero crossings (DC-offset tone), so exact zeros in the output are gaps. */
function loudClip(millis: number, frequency = 220): MonoAudio {
  const samples = tone(frequency, RATE, millis / 1000, 0.2);
  for (let i = 0; i < samples.length; i++) samples[i] = samples[i]! + 0.4;
  return { sampleRate: RATE, samples };
}

/** Lengths of the runs of exact zeros in `samples`. */
function zeroRuns(samples: Float32Array): number[] {
  const runs: number[] = [];
  let run = 0;
  for (const x of samples) {
    if (x === 0) run++;
    else if (run > 0) {
      runs.push(run);
      run = 0;
    }
  }
  if (run > 0) runs.push(run);
  return runs;
}

describe('trimSilence', () => {
  test('a tone padded with silence keeps ~50 ms of margin on each side', () => {
    const speech = tone(300, RATE, 0.5, 0.5);
    const input = concat(silence(300), speech, silence(400));
    const out = trimSilence({ sampleRate: RATE, samples: input }).samples;
    assert.ok(Math.abs(firstLoud(out) - ms(50)) <= ms(1), `leading margin ${(firstLoud(out) / RATE) * 1000} ms`);
    assert.ok(Math.abs(out.length - 1 - lastLoud(out) - ms(50)) <= ms(1), `trailing margin ${((out.length - 1 - lastLoud(out)) / RATE) * 1000} ms`);
    assert.ok(Math.abs(out.length - ms(600)) <= ms(2), `length ${(out.length / RATE) * 1000} ms`);
    // The tone itself comes through untouched.
    assert.deepEqual(out.subarray(firstLoud(out), lastLoud(out) + 1), input.subarray(firstLoud(input), lastLoud(input) + 1));
  });

  test('a noise floor below the threshold is trimmed like silence; keepMs is honoured', () => {
    const floor = (n: number, seed: number): Float32Array => noise(ms(n), 10 ** (-60 / 20), seed);
    const input = concat(floor(250, 1), tone(500, RATE, 0.3, 0.3), floor(250, 2));
    const out = trimSilence({ sampleRate: RATE, samples: input }, { keepMs: 20 }).samples;
    assert.ok(Math.abs(out.length - ms(340)) <= ms(2), `length ${(out.length / RATE) * 1000} ms`);
  });

  test('a lone click in the leading silence does not count as sound', () => {
    const lead = silence(300);
    lead[ms(100)] = 1; // one full-scale sample
    const input = concat(lead, tone(300, RATE, 0.5, 0.5), silence(100));
    const out = trimSilence({ sampleRate: RATE, samples: input }).samples;
    assert.ok(Math.abs(out.length - ms(600)) <= ms(2), `length ${(out.length / RATE) * 1000} ms: the click was kept`);
    assert.ok(!out.includes(1), 'the click is gone');
  });

  test('all-silent or too-quiet input becomes empty audio; sound touching the edges is kept whole', () => {
    assert.equal(trimSilence({ sampleRate: RATE, samples: silence(500) }).samples.length, 0);
    assert.equal(trimSilence({ sampleRate: RATE, samples: noise(ms(500), 10 ** (-50 / 20)) }).samples.length, 0);
    assert.equal(trimSilence({ sampleRate: RATE, samples: new Float32Array(0) }).samples.length, 0);
    const full = tone(300, RATE, 0.2, 0.5, Math.PI / 2);
    assert.deepEqual(trimSilence({ sampleRate: RATE, samples: full }).samples, full);
  });

  test('returns a copy: changing the result leaves the input alone', () => {
    const input = concat(silence(100), tone(300, RATE, 0.2, 0.5), silence(100));
    const before = input.slice();
    const out = trimSilence({ sampleRate: RATE, samples: input }).samples;
    out.fill(0.9);
    assert.deepEqual(input, before);
  });
});

describe('applyFades', () => {
  test('ramps both ends to exactly zero in place and leaves the middle alone', () => {
    const samples = new Float32Array(ms(100)).fill(0.8);
    const result = applyFades(samples, RATE, 10);
    assert.equal(result, samples, 'same array (in place)');
    assert.equal(samples[0], 0);
    assert.equal(samples[samples.length - 1], 0);
    const n = ms(10);
    for (let i = 1; i < n; i++) assert.ok(samples[i]! >= samples[i - 1]!, 'fade-in rises');
    for (let i = samples.length - n; i < samples.length; i++) assert.ok(samples[i]! <= samples[i - 1]!, 'fade-out falls');
    assert.ok(samples.subarray(n, samples.length - n).every((x) => Math.abs(x - 0.8) < 1e-7));
    assert.ok(maxAbsStep(samples) < 0.8 / n * 2, 'no step larger than the ramp');
  });

  test('a clip shorter than two fades is faded over half its length each way', () => {
    const samples = new Float32Array(10).fill(1);
    applyFades(samples, RATE, 10);
    assert.equal(samples[0], 0);
    assert.equal(samples[9], 0);
    assert.ok(samples.every((x) => x >= 0 && x <= 1));
  });
});

describe('Stitcher', () => {
  test('no gap before the first clip, 250 ms between sentences, 600 ms at paragraphs, none inside a sentence', () => {
    const stitcher = new Stitcher({ sampleRate: RATE });
    const clip = loudClip(300);
    const first = stitcher.push(clip, 'paragraph');
    assert.equal(first.length, clip.samples.length, 'the first clip gets no pause even when marked paragraph');
    const sentence = stitcher.push(clip, 'sentence');
    const paragraph = stitcher.push(clip, 'paragraph');
    const joined = stitcher.push(clip, 'none');
    assert.equal(sentence.length, ms(250) + clip.samples.length);
    assert.equal(paragraph.length, ms(600) + clip.samples.length);
    assert.equal(joined.length, clip.samples.length);
    assert.equal(stitcher.totalSamples, 4 * clip.samples.length + ms(850));
    // In the narration, the silences between clips are exactly the gaps (plus the two faded-to-zero edge samples).
    const narration = concat(first, sentence, paragraph, joined);
    assert.deepEqual(zeroRuns(narration), [1, ms(250) + 2, ms(600) + 2, 2, 1]);
  });

  test('real clips: the pause heard is the gap plus the two kept 50 ms margins', () => {
    const speech = (f: number): MonoAudio => ({ sampleRate: RATE, samples: concat(silence(400), tone(f, RATE, 0.6, 0.5), silence(300)) });
    const { samples } = stitchAll(
      [
        { audio: speech(200), breakBefore: 'paragraph' },
        { audio: speech(250), breakBefore: 'sentence' },
      ],
      { sampleRate: RATE },
    );
    // First clip: 50 ms margin, 600 ms tone, 50 ms margin; then 250 ms gap; then 50 ms margin before the next tone.
    assert.ok(Math.abs(firstLoud(samples) - ms(50)) <= ms(1));
    const firstToneEnd = ms(50 + 600);
    const secondToneStart = firstToneEnd + ms(50 + 250 + 50);
    let quiet = 0;
    for (let i = firstToneEnd + ms(2); i < secondToneStart - ms(2); i++) if (Math.abs(samples[i]!) < THRESHOLD) quiet++;
    assert.equal(quiet, secondToneStart - firstToneEnd - ms(4), 'silent between the tones');
    assert.ok(amplitudeAt(samples, 250, RATE, secondToneStart + ms(20), secondToneStart + ms(500)) > 0.45, 'second tone follows');
    assert.ok(Math.abs(samples.length - ms(50 + 600 + 50 + 250 + 50 + 600 + 50)) <= ms(4));
  });

  test('fades remove the step where an abruptly ended clip meets the next one', () => {
    // Clips cut off at full amplitude mid-cycle (as the worker sometimes delivers), joined with no pause.
    const cut = (f: number, phase: number): MonoAudio => ({ sampleRate: RATE, samples: tone(f, RATE, 0.2037, 0.8, phase) });
    const clips = [cut(200, Math.PI / 2), cut(310, -Math.PI / 2), cut(170, 1)].map((audio) => ({ audio, breakBefore: 'none' as const }));
    const naturalSlope = 0.8 * 2 * Math.PI * (310 / RATE); // steepest step inside the tones themselves
    const faded = stitchAll(clips, { sampleRate: RATE }).samples;
    assert.ok(maxAbsStep(faded) <= naturalSlope * 1.05, `max step ${maxAbsStep(faded)} vs tone slope ${naturalSlope}`);
    const unfaded = stitchAll(clips, { sampleRate: RATE, fadeMs: 0 }).samples;
    assert.ok(maxAbsStep(unfaded) > 0.5, 'without fades the joins do jump (the test would notice a regression)');
  });

  test('clips at another rate are resampled to the narration rate', () => {
    const stitcher = new Stitcher({ sampleRate: RATE });
    const out = stitcher.push({ sampleRate: 22050, samples: tone(1000, 22050, 0.5, 0.5) }, 'sentence');
    assert.ok(Math.abs(out.length - ms(500)) <= 2, `length ${out.length}`);
    assert.ok(Math.abs(amplitudeAt(out, 1000, RATE, ms(50), ms(450)) - 0.5) < 0.01, 'same pitch and level at 24 kHz');
  });

  test('a silent clip yields nothing and hands its break on; a silent first clip leaves the next one first', () => {
    const stitcher = new Stitcher({ sampleRate: RATE });
    const clip = loudClip(100);
    assert.equal(stitcher.push({ sampleRate: RATE, samples: silence(300) }, 'none').length, 0);
    assert.equal(stitcher.push(clip, 'sentence').length, clip.samples.length, 'still no gap before the first sound');
    assert.equal(stitcher.push({ sampleRate: RATE, samples: silence(300) }, 'paragraph').length, 0);
    assert.equal(stitcher.push(clip, 'sentence').length, ms(600) + clip.samples.length, 'the paragraph break survives');
    assert.equal(stitcher.push(clip, 'sentence').length, ms(250) + clip.samples.length);
  });

  test('custom gaps, and stitchAll equals the concatenated pushes', () => {
    const clips = [loudClip(120, 200), loudClip(80, 300), loudClip(150, 250)].map((audio, i) => ({
      audio,
      breakBefore: (['sentence', 'paragraph', 'sentence'] as const)[i]!,
    }));
    const options = { sampleRate: RATE, sentenceGapMs: 100, paragraphGapMs: 400 };
    const stitcher = new Stitcher(options);
    const pushed = concat(...clips.map((c) => stitcher.push(c.audio, c.breakBefore)));
    const all = stitchAll(clips, options);
    assert.equal(all.sampleRate, RATE);
    assert.deepEqual(all.samples, pushed);
    assert.deepEqual(zeroRuns(all.samples), [1, ms(400) + 2, ms(100) + 2, 1]);
  });
});
