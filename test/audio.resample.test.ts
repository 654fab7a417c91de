import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NarratorError } from '../src/services/errors.js';
import { Resampler, resample } from '../src/services/audio/resample.js';
import { amplitudeAt, concat, db, noise, risingZeroCrossings, tone } from './fixtures/audioSignals.js';

/** Feeds `input` in pieces of the given sizes (cycled) and collects everything, flush included. */
function streamed(resampler: Resampler, input: Float32Array, sizes: readonly number[]): Float32Array {
  const parts: Float32Array[] = [];
  for (let offset = 0, i = 0; offset < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    parts.push(resampler.process(input.subarray(offset, offset + size)));
    offset += size;
  }
  parts.push(resampler.flush());
  return concat(...parts);
}

describe('Resampler', () => {
  test('24 kHz → 48 kHz keeps a 1 kHz tone’s frequency and level, and doubles the length', () => {
    const input = tone(1000, 24000, 1, 0.5);
    const out = resample(input, 24000, 48000);
    assert.equal(out.length, 48000);
    // Away from the edges: 1000 cycles per second, amplitude within ±0.5 dB.
    assert.equal(risingZeroCrossings(out, 4800, 43200), 800);
    const level = db(amplitudeAt(out, 1000, 48000, 4800, 43200) / 0.5);
    assert.ok(Math.abs(level) < 0.5, `level ${level.toFixed(3)} dB`);
    // Output is aligned with the input: sample 2n of the output is (nearly) input sample n.
    for (const n of [1000, 5555, 20000]) assert.ok(Math.abs(out[2 * n]! - input[n]!) < 1e-3, `sample ${n}`);
  });

  test('upsampling leaves no audible image: a 5 kHz tone at 24 kHz has no 19 kHz mirror at 48 kHz', () => {
    const out = resample(tone(5000, 24000, 0.5, 0.5), 24000, 48000);
    const image = db(amplitudeAt(out, 19000, 48000, 2400, 21600) / 0.5);
    assert.ok(image < -60, `image at ${image.toFixed(1)} dB`);
  });

  test('downsampling removes what the new rate cannot carry: 20 kHz at 48 kHz → 24 kHz is attenuated ≥ 40 dB', () => {
    const out = resample(tone(20000, 48000, 0.5, 0.5), 48000, 24000);
    assert.equal(out.length, 12000);
    const alias = db(amplitudeAt(out, 4000, 24000, 1200, 10800) / 0.5); // 20 kHz folds to 4 kHz
    assert.ok(alias < -40, `alias at ${alias.toFixed(1)} dB`);
    const kept = resample(tone(3000, 48000, 0.5, 0.5), 48000, 24000);
    assert.ok(Math.abs(db(amplitudeAt(kept, 3000, 24000, 1200, 10800) / 0.5)) < 0.1, 'in-band tones pass');
  });

  test('22 050 Hz (espeak) → 48 kHz uses the exact 320/147 ratio', () => {
    const input = tone(1000, 22050, 0.7, 0.5);
    const out = resample(input, 22050, 48000);
    assert.equal(out.length, Math.ceil((input.length * 320) / 147));
    assert.ok(Math.abs(amplitudeAt(out, 1000, 48000, 4800, 28800) - 0.5) < 0.005);
    assert.equal(risingZeroCrossings(out, 4800, 28800), 500);
  });

  test('a constant stays constant (unit gain on every phase)', () => {
    const out = resample(new Float32Array(2205).fill(0.5), 22050, 48000);
    for (let i = 100; i < out.length - 100; i++) assert.ok(Math.abs(out[i]! - 0.5) < 1e-5, `sample ${i}: ${out[i]}`);
  });

  for (const [inRate, outRate] of [
    [24000, 48000],
    [22050, 48000],
    [48000, 24000],
    [44100, 16000],
  ] as const) {
    test(`streaming in odd-sized pieces gives exactly the one-shot output (${inRate} → ${outRate})`, () => {
      const input = noise(Math.round(inRate * 0.3) + 17, 0.7, inRate);
      const oneShot = resample(input, inRate, outRate);
      assert.equal(oneShot.length, Math.ceil((input.length * outRate) / inRate));
      assert.deepEqual(streamed(new Resampler(inRate, outRate), input, [1, 7, 113, 0, 2, 999, 31]), oneShot);
      assert.deepEqual(streamed(new Resampler(inRate, outRate), input, [4096]), oneShot);
    });
  }

  test('flush resets: the same instance converts a second stream identically', () => {
    const resampler = new Resampler(22050, 48000);
    const input = noise(5000, 0.5, 3);
    const first = streamed(resampler, input, [1000]);
    const second = streamed(resampler, input, [333]);
    assert.deepEqual(second, first);
    assert.equal(resampler.flush().length, 0, 'nothing pending after a flush');
  });

  test('equal rates pass samples through as a copy', () => {
    const input = noise(1000, 0.5, 9);
    const resampler = new Resampler(24000, 24000);
    const out = resampler.process(input);
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
    assert.equal(resampler.flush().length, 0);
  });

  test('short inputs still produce ceil(n · out / in) samples', () => {
    for (const n of [0, 1, 2, 5]) assert.equal(resample(new Float32Array(n).fill(0.1), 22050, 48000).length, Math.ceil((n * 320) / 147));
  });

  test('rejects impossible rates and options with a clear error', () => {
    assert.throws(() => new Resampler(0, 48000), (err: unknown) => err instanceof NarratorError && /input sample rate 0/.test(err.message));
    assert.throws(() => new Resampler(24000, 44100.5), (err: unknown) => err instanceof NarratorError && /output sample rate/.test(err.message));
    assert.throws(() => new Resampler(24000, 48000, { taps: 4 }), /taps must be an integer in 8–256/);
    assert.throws(() => new Resampler(47993, 48000), /Unsupported resampling ratio 47993 → 48000 Hz/);
  });
});
