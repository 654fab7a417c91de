import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpusScript from 'opusscript';
import { DiscordPcmConverter, toDiscordPcm } from '../src/services/audio/discordPcm.js';
import { amplitudeAt, noise, risingZeroCrossings, tone } from './fixtures/audioSignals.js';

/** Splits interleaved s16le stereo into float channels. */
function channels(pcm: Buffer): { left: Float32Array; right: Float32Array } {
  const frames = pcm.length / 4;
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    left[i] = pcm.readInt16LE(i * 4) / 32768;
    right[i] = pcm.readInt16LE(i * 4 + 2) / 32768;
  }
  return { left, right };
}

describe('Discord PCM (48 kHz stereo s16le)', () => {
  test('length is 2 channels × 2 bytes × 48000 × duration, for 24 kHz and 22 050 Hz sources', () => {
    assert.equal(toDiscordPcm({ sampleRate: 24000, samples: tone(440, 24000, 1.5) }).length, 2 * 2 * 48000 * 1.5);
    assert.equal(toDiscordPcm({ sampleRate: 22050, samples: tone(440, 22050, 2) }).length, 2 * 2 * 48000 * 2);
    assert.equal(toDiscordPcm({ sampleRate: 48000, samples: tone(440, 48000, 0.02) }).length, 3840); // one Opus frame
  });

  test('both channels carry the same signal, at the right pitch and level', () => {
    const { left, right } = channels(toDiscordPcm({ sampleRate: 24000, samples: tone(1000, 24000, 1, 0.5) }));
    assert.deepEqual(left, right);
    assert.equal(risingZeroCrossings(left, 4800, 43200), 800);
    assert.ok(Math.abs(amplitudeAt(left, 1000, 48000, 4800, 43200) - 0.5) < 0.003);
  });

  test('48 kHz input passes through, scaled by 32768, rounded and clamped', () => {
    const pcm = toDiscordPcm({ sampleRate: 48000, samples: Float32Array.from([0, 0.5, -0.5, 1, -1, 1.7, -3, 1 / 65536, -1 / 65536]) });
    const values = Array.from({ length: pcm.length / 2 }, (_, i) => pcm.readInt16LE(i * 2));
    assert.deepEqual(values, [0, 0, 16384, 16384, -16384, -16384, 32767, 32767, -32768, -32768, 32767, 32767, -32768, -32768, 1, 1, -1, -1]);
  });

  test('pushing in pieces then flushing gives the same bytes as one shot', () => {
    const samples = noise(24000, 0.6, 5);
    const oneShot = toDiscordPcm({ sampleRate: 24000, samples });
    const converter = new DiscordPcmConverter(24000);
    const parts: Buffer[] = [];
    for (let i = 0; i < samples.length; i += 1001) parts.push(converter.push(samples.subarray(i, i + 1001)));
    parts.push(converter.flush());
    assert.deepEqual(Buffer.concat(parts), oneShot);
  });

  test('an Opus encoder accepts the stream frame by frame and the tone survives the round trip', () => {
    const pcm = toDiscordPcm({ sampleRate: 24000, samples: tone(600, 24000, 0.4, 0.5) });
    const encoder = new OpusScript(48000, 2, OpusScript.Application.AUDIO);
    try {
      const decoded: Buffer[] = [];
      for (let offset = 0; offset + 3840 <= pcm.length; offset += 3840) {
        decoded.push(Buffer.from(encoder.decode(encoder.encode(pcm.subarray(offset, offset + 3840), 960))));
      }
      const { left, right } = channels(Buffer.concat(decoded));
      assert.equal(left.length, 0.4 * 48000);
      for (const channel of [left, right]) {
        assert.ok(Math.abs(amplitudeAt(channel, 600, 48000, 4800, 14400) - 0.5) < 0.05, 'tone level after Opus');
      }
    } finally {
      encoder.delete();
    }
  });
});
