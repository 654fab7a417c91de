/**
 * The audio of a voice message (services/audio/voiceMessage.ts, waveform.ts): Ogg Opus, mono, 48 kHz whatever the
 * WAV's rate; `duration_secs` equal to the WAV's length; a waveform of at most 256 bytes that follows the loudness
 * (silence low, a tone high), and valid for audio shorter than 256 samples or all silent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWav } from '../src/services/audio/wav.js';
import { voiceMessageAudio } from '../src/services/audio/voiceMessage.js';
import { MAX_WAVEFORM_BYTES, waveformBytes } from '../src/services/audio/waveform.js';
import { tone } from './fixtures/audioSignals.js';

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
  const out = await voiceMessageAudio(encodeWav({ sampleRate: rate, samples }));
  const ogg = Buffer.from(out.ogg);
  assert.equal(ogg.toString('latin1', 0, 4), 'OggS');
  const head = ogg.indexOf('OpusHead');
  assert.ok(head > 0);
  assert.equal(ogg[head + 9], 1, 'mono');
  assert.equal(ogg.readUInt32LE(head + 12), 48_000, 'input rate 48 kHz');
  assert.ok(Math.abs(out.durationSecs - 2.5) < 1e-6);
  const waveform = Buffer.from(out.waveform, 'base64');
  assert.ok(waveform.length > 0 && waveform.length <= 256);
});
