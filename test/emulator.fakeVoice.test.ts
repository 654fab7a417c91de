/**
 * The fake voice every emulator speaks with: deterministic, speech-like, with quiet edges, in the three WAV
 * layouts the real worker can produce — checked through this file's own reader, not the project's decoder.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAKE_VOICE, decodeTestWav, fakeSpeechSeconds, fakeSynthesize, latencyModel } from './support/fakeVoice.js';

const TEXT = 'Xin chào các bạn, hôm nay chúng ta sẽ nghe một câu chuyện.';

function rms(samples: Float32Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (samples[i] ?? 0) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}

/** Dominant frequency by counting upward zero crossings over a window. */
function zeroCrossingHz(samples: Float32Array, from: number, to: number, sampleRate: number): number {
  let crossings = 0;
  for (let i = from + 1; i < to; i++) if ((samples[i - 1] ?? 0) < 0 && (samples[i] ?? 0) >= 0) crossings++;
  return (crossings * sampleRate) / (to - from);
}

describe('fakeSynthesize', () => {
  test('is deterministic and differs between texts', () => {
    assert.deepEqual(fakeSynthesize(TEXT, 0.9), fakeSynthesize(TEXT, 0.9));
    assert.notDeepEqual(fakeSynthesize(TEXT, 0.9), fakeSynthesize(`${TEXT} Hết.`, 0.9));
  });

  test('lasts max(0.3, chars × 0.064 / speed) s plus ~80 ms of quiet at each edge', () => {
    for (const [text, speed] of [[TEXT, 0.9], [TEXT, 1.5], ['Ừ.', 1]] as const) {
      const wav = decodeTestWav(fakeSynthesize(text, speed));
      const expected = Math.max(0.3, ([...text].length * 0.064) / speed) + 2 * FAKE_VOICE.edgeSilenceSeconds;
      assert.equal(wav.sampleRate, 24_000);
      assert.equal(wav.channels, 1);
      assert.ok(Math.abs(wav.samples.length / 24_000 - expected) < 0.001, `${text}@${speed}: ${wav.samples.length / 24_000} s vs ${expected} s`);
      assert.equal(fakeSpeechSeconds(text, speed), Math.max(0.3, ([...text].length * 0.064) / speed));
    }
  });

  test('sounds like speech: quiet edges, ~0.3 peak, a voice-range pitch, syllable-rate loudness swings', () => {
    const { samples } = decodeTestWav(fakeSynthesize(TEXT, 1));
    const edge = Math.round(0.075 * 24_000);
    const lead = rms(samples, 0, edge);
    const tail = rms(samples, samples.length - edge, samples.length);
    assert.ok(lead > 0 && 20 * Math.log10(lead) < -60, `leading edge at ${20 * Math.log10(lead)} dBFS`);
    assert.ok(tail > 0 && 20 * Math.log10(tail) < -60, `trailing edge at ${20 * Math.log10(tail)} dBFS`);
    const peak = samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    assert.ok(peak > 0.2 && peak <= 0.31, `peak ${peak}`);
    const pitch = zeroCrossingHz(samples, 24_000 * 0.5, 24_000 * 1.5, 24_000);
    assert.ok(pitch >= 100 && pitch <= 260, `pitch ${pitch} Hz`);
    // Loudness at a syllable peak (t = 125 ms into the voice) vs a syllable trough (t = 250 ms).
    const at = (sec: number): number => rms(samples, Math.round((0.08 + sec - 0.01) * 24_000), Math.round((0.08 + sec + 0.01) * 24_000));
    assert.ok(at(1.125) > 3 * at(1.25), `syllable swing ${at(1.125)} vs ${at(1.25)}`);
  });

  test('writes 16-bit PCM, float with fact+PEAK, and extensible float — same audio in all three', () => {
    const pcm = decodeTestWav(fakeSynthesize(TEXT, 0.9, { format: 'pcm16' }));
    const flt = decodeTestWav(fakeSynthesize(TEXT, 0.9, { format: 'float32' }));
    const ext = decodeTestWav(fakeSynthesize(TEXT, 0.9, { format: 'extensible' }));
    assert.deepEqual([pcm.formatTag, pcm.bitsPerSample, pcm.chunkIds], [1, 16, ['fmt ', 'data']]);
    assert.deepEqual([flt.formatTag, flt.bitsPerSample, flt.chunkIds], [3, 32, ['fmt ', 'fact', 'PEAK', 'data']]);
    assert.deepEqual([ext.formatTag, ext.bitsPerSample, ext.chunkIds], [0xfffe, 32, ['fmt ', 'fact', 'data']]);
    assert.equal(fakeSynthesize(TEXT, 0.9, { format: 'pcm16' }).length, 44 + pcm.samples.length * 2);
    assert.deepEqual(flt.samples, ext.samples);
    assert.equal(pcm.samples.length, flt.samples.length);
    for (let i = 0; i < pcm.samples.length; i += 97) {
      assert.ok(Math.abs((pcm.samples[i] ?? 0) - (flt.samples[i] ?? 0)) < 1e-4, `sample ${i}`);
    }
  });

  test('honours another sample rate', () => {
    const wav = decodeTestWav(fakeSynthesize(TEXT, 1, { sampleRate: 22_050 }));
    assert.equal(wav.sampleRate, 22_050);
    assert.ok(Math.abs(wav.samples.length / 22_050 - (fakeSpeechSeconds(TEXT, 1) + 0.16)) < 0.001);
  });

  test('rejects a speed that is not positive', () => {
    assert.throws(() => fakeSynthesize(TEXT, 0), RangeError);
  });
});

describe('latencyModel', () => {
  test('a + b × chars within the jitter, reproducible for the same seed whatever the call order', () => {
    const texts = ['một', 'hai ba bốn năm sáu', 'x'.repeat(300)];
    const m1 = latencyModel({ a: 100, b: 2, jitter: 0.2, seed: 7 });
    const m2 = latencyModel({ a: 100, b: 2, jitter: 0.2, seed: 7 });
    const forward = texts.map((text) => m1({ text }));
    const backward = [...texts].reverse().map((text) => m2({ text })).reverse();
    assert.deepEqual(forward, backward);
    texts.forEach((text, i) => {
      const base = 100 + 2 * [...text].length;
      const ms = forward[i] ?? 0;
      assert.ok(ms >= base * 0.8 - 1 && ms <= base * 1.2 + 1, `${ms} vs ${base}`);
    });
    // A re-submitted text gets a fresh (still reproducible) time; another seed gives other times.
    const again = texts.map((text) => m1({ text }));
    assert.notDeepEqual(again, forward);
    assert.notDeepEqual(texts.map((text) => latencyModel({ a: 100, b: 2, jitter: 0.2, seed: 8 })({ text })), forward);
    assert.equal(latencyModel({ a: 10, b: 1, jitter: 0 })({ text: 'abcd' }), 14);
  });
});
