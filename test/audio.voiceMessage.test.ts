/**
 * The audio of a voice message (services/audio/voiceMessage.ts, waveform.ts): Ogg Opus, mono, 48 kHz whatever the
 * WAV's rate; `duration_secs` equal to the WAV's length; a waveform of at most 256 bytes that follows the loudness
 * (silence low, a tone high), and valid for audio shorter than 256 samples or all silent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWavMono, decodeWavMonoSlice, encodeWav, readWavInfo } from '../src/services/audio/wav.js';
import { voiceMessageAudio } from '../src/services/audio/voiceMessage.js';
import { MAX_WAVEFORM_BYTES, WaveformBuilder, waveformBytes } from '../src/services/audio/waveform.js';
import { concat, fmtChunk, noise, riffWave, tone } from './fixtures/audioSignals.js';

test('waveform: ≤ 256 bytes, loud where the audio is loud, quiet where it is silent', () => {
  const rate = 24_000;
  const samples = new Float32Array(rate * 4); // 2 s silence, then 2 s of tone
  samples.set(tone(220, rate, 2, 0.5), rate * 2);
  const bars = waveformBytes(samples);
  assert.equal(bars.length, MAX_WAVEFORM_BYTES);
  assert.ok(bars.subarray(0, 120).every((b) => b === 0), 'silent half is flat');
  assert.ok(bars.subarray(136).every((b) => b > 200), 'tone half is high');
  assert.equal(Math.max(...bars), 255);
});

test('waveform: short and silent audio give valid, small waveforms', () => {
  assert.equal(waveformBytes(new Float32Array(10).fill(0.1)).length, 10);
  assert.deepEqual([...waveformBytes(new Float32Array(1000))].slice(0, 3), [0, 0, 0]);
  assert.equal(waveformBytes(new Float32Array(0)).length, 1);
});

test('voice message audio: Ogg Opus mono 48 kHz from a 24 kHz WAV, duration of the WAV', async () => {
  const rate = 24_000;
  const samples = tone(300, rate, 2.5, 0.4);
  const wav = encodeWav({ sampleRate: rate, samples });
  const out = await voiceMessageAudio(wav);
  assert.ok(out !== 'too_large');
  const ogg = Buffer.from(out.ogg);
  assert.equal(ogg.toString('latin1', 0, 4), 'OggS');
  const head = ogg.indexOf('OpusHead');
  assert.ok(head > 0);
  assert.equal(ogg[head + 9], 1, 'mono');
  assert.equal(ogg.readUInt32LE(head + 12), 48_000, 'input rate 48 kHz');
  assert.ok(Math.abs(out.durationSecs - 2.5) < 1e-6);
  const waveform = Buffer.from(out.waveform, 'base64');
  assert.ok(waveform.length > 0 && waveform.length <= 256);
  assert.deepEqual([...waveform], [...waveformBytes(decodeWavMono(wav).samples)], 'the bars of the whole audio, though it was read in slices');
});

test('waveform built a piece at a time (any cut) equals the waveform of the whole', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (const length of [0, 1, 255, 256, 257, 1000, 48_123]) {
    const samples = concat(noise(Math.floor(length / 2), 0.3, length + 1), tone(440, 24_000, (length - Math.floor(length / 2)) / 24_000, 0.7));
    for (let round = 0; round < 5; round++) {
      const builder = new WaveformBuilder(samples.length);
      for (let at = 0; at < samples.length; ) {
        const next = Math.min(samples.length, at + 1 + Math.floor(random() * 5_000));
        builder.add(samples.subarray(at, next));
        at = next;
      }
      assert.deepEqual([...builder.bytes()], [...waveformBytes(samples)], `length ${length}, round ${round}`);
    }
  }
});

test('decodeWavMonoSlice: slices of any WAV (aligned or not, stereo, float) join into the whole decode', () => {
  const mono = encodeWav({ sampleRate: 24_000, samples: noise(10_001, 0.5, 3) });
  const unaligned = new Uint8Array(new ArrayBuffer(mono.length + 1), 1, mono.length); // an odd byteOffset
  unaligned.set(mono);
  const stereoFloat = new Float32Array(2 * 3_001).map((_, i) => Math.sin(i / 7) * (i % 2 ? 0.25 : 0.5));
  const float = riffWave([fmtChunk({ tag: 3, channels: 2, sampleRate: 16_000, bits: 32 }), { id: 'data', body: new Uint8Array(stereoFloat.buffer) }]);
  for (const wav of [mono, unaligned, float]) {
    const info = readWavInfo(wav);
    const parts: Float32Array[] = [];
    for (let at = 0; at < info.frames; at += 777) parts.push(decodeWavMonoSlice(wav, info, at, at + 777));
    assert.deepEqual(concat(...parts), decodeWavMono(wav).samples);
  }
});

test('voice message: stops as soon as the Ogg Opus passes the upload limit', async () => {
  const wav = encodeWav({ sampleRate: 24_000, samples: noise(24_000 * 6, 0.5, 9) });
  const whole = await voiceMessageAudio(wav);
  assert.ok(whole !== 'too_large');
  assert.equal(await voiceMessageAudio(wav, whole.ogg.byteLength - 1), 'too_large');
  assert.equal(await voiceMessageAudio(wav, 4_000), 'too_large', 'well under: given up early');
  const fits = await voiceMessageAudio(wav, whole.ogg.byteLength);
  assert.ok(fits !== 'too_large');
  // Same size and audio (the stream's serial number is random, so the bytes differ).
  assert.equal(fits.ogg.byteLength, whole.ogg.byteLength);
  assert.equal(fits.durationSecs, 6);
  assert.equal(fits.waveform, whole.waveform);
});
