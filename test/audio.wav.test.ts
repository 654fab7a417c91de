import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NarratorError } from '../src/services/errors.js';
import { decodeWav, decodeWavMono, encodeWav, readWavInfo, toMono, wavDurationSec } from '../src/services/audio/wav.js';
import {
  type Chunk,
  fmtChunk,
  float32Bytes,
  float64Bytes,
  int16Bytes,
  int24Bytes,
  int32Bytes,
  noise,
  riffWave,
  uint32Bytes,
  writeAscii,
} from './fixtures/audioSignals.js';

const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

function data(body: Uint8Array, declaredSize?: number): Chunk {
  return declaredSize === undefined ? { id: 'data', body } : { id: 'data', body, declaredSize };
}

/** An INFO list with a 3-byte string: 15 bytes, so the writer must add a pad byte. */
function oddListChunk(): Chunk {
  const body = new Uint8Array(15);
  writeAscii(body, 0, 'INFOISFT');
  new DataView(body.buffer).setUint32(8, 3, true);
  writeAscii(body, 12, 'ab');
  return { id: 'LIST', body };
}

function assertSamples(actual: Float32Array | undefined, expected: readonly number[]): void {
  assert.ok(actual, 'channel present');
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < 1e-7, `sample ${i}: ${actual[i]} ≠ ${e}`));
}

function assertBadAudio(bytes: Uint8Array, message: RegExp): void {
  assert.throws(
    () => decodeWav(bytes),
    (err: unknown) => {
      assert.ok(err instanceof NarratorError, 'a NarratorError');
      assert.equal(err.kind, 'permanent');
      assert.equal(err.code, 'bad_audio');
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('decodeWav formats', () => {
  test('16-bit PCM mono (torchaudio default) scales by 32768', () => {
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 16 }), data(int16Bytes([0, 16384, -16384, 32767, -32768]))]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.sampleRate, 24000);
    assert.equal(decoded.channels, 1);
    assert.equal(decoded.format, 'pcm16');
    assert.equal(decoded.frames, 5);
    assertSamples(decoded.channelData[0], [0, 0.5, -0.5, 32767 / 32768, -1]);
  });

  test('32-bit float (tag 3) with fact and PEAK chunks, clamped and NaN → 0', () => {
    const peak = new Uint8Array(16);
    peak.set(uint32Bytes([1, 0]), 0); // version, timestamp
    peak.set(float32Bytes([2]), 8);
    peak.set(uint32Bytes([2]), 12);
    const wav = riffWave([
      fmtChunk({ tag: FLOAT, channels: 1, sampleRate: 24000, bits: 32 }),
      { id: 'fact', body: uint32Bytes([5]) },
      { id: 'PEAK', body: peak },
      data(float32Bytes([0.25, 1.5, -2, Number.NaN, -0.125])),
    ]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.format, 'float32');
    assertSamples(decoded.channelData[0], [0.25, 1, -1, 0, -0.125]);
  });

  test('64-bit float, infinities clamped', () => {
    const wav = riffWave([fmtChunk({ tag: FLOAT, channels: 1, sampleRate: 22050, bits: 64 }), data(float64Bytes([0.1, Infinity, -Infinity]))]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.format, 'float64');
    assertSamples(decoded.channelData[0], [0.1, 1, -1]);
  });

  test('0xFFFE extensible with float and with PCM sub-formats', () => {
    const float = decodeWav(
      riffWave([fmtChunk({ tag: EXTENSIBLE, subFormat: FLOAT, channels: 1, sampleRate: 24000, bits: 32 }), data(float32Bytes([0.5, -0.75]))]),
    );
    assert.equal(float.format, 'float32');
    assertSamples(float.channelData[0], [0.5, -0.75]);
    const pcm = decodeWav(
      riffWave([fmtChunk({ tag: EXTENSIBLE, subFormat: PCM, channels: 2, sampleRate: 48000, bits: 16 }), data(int16Bytes([8192, -8192, 0, 32767]))]),
    );
    assert.equal(pcm.format, 'pcm16');
    assert.equal(pcm.frames, 2);
    assertSamples(pcm.channelData[0], [0.25, 0]);
    assertSamples(pcm.channelData[1], [-0.25, 32767 / 32768]);
  });

  test('stereo is de-interleaved, and toMono averages the channels', () => {
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 2, sampleRate: 44100, bits: 16 }), data(int16Bytes([16384, 0, -16384, -16384, 32767, -32768]))]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.frames, 3);
    assertSamples(decoded.channelData[0], [0.5, -0.5, 32767 / 32768]);
    assertSamples(decoded.channelData[1], [0, -0.5, -1]);
    const mono = toMono(decoded);
    assert.equal(mono.sampleRate, 44100);
    assertSamples(mono.samples, [0.25, -0.5, (32767 / 32768 - 1) / 2]);
  });

  test('24-bit PCM is sign-extended', () => {
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 24 }), data(int24Bytes([0x400000, -0x800000, 0x7fffff, -1]))]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.format, 'pcm24');
    assertSamples(decoded.channelData[0], [0.5, -1, 0x7fffff / 0x800000, -1 / 0x800000]);
  });

  test('8-bit unsigned and 32-bit integer PCM', () => {
    const eight = decodeWav(riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 8000, bits: 8 }), data(new Uint8Array([0, 128, 192]))]));
    assert.equal(eight.format, 'pcm8');
    assertSamples(eight.channelData[0], [-1, 0, 0.5]);
    const wide = decodeWav(riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 8000, bits: 32 }), data(int32Bytes([1 << 30, -(2 ** 31)]))]));
    assert.equal(wide.format, 'pcm32');
    assertSamples(wide.channelData[0], [0.5, -1]);
  });

  test('an odd-sized LIST chunk with its pad byte before data does not shift the samples', () => {
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 16 }), oddListChunk(), data(int16Bytes([1000, -1000, 2000]))]);
    assertSamples(decodeWav(wav).channelData[0], [1000 / 32768, -1000 / 32768, 2000 / 32768]);
  });

  test('unknown chunks after data (and fmt after data) are handled', () => {
    const afterData = riffWave([
      fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 16 }),
      data(int16Bytes([100, 200])),
      { id: 'id3 ', body: new Uint8Array([1, 2, 3]) },
      { id: 'junk', body: new Uint8Array(10) },
    ]);
    assertSamples(decodeWav(afterData).channelData[0], [100 / 32768, 200 / 32768]);
    const fmtLast = riffWave([data(int16Bytes([300])), fmtChunk({ tag: PCM, channels: 1, sampleRate: 16000, bits: 16 })]);
    const decoded = decodeWav(fmtLast);
    assert.equal(decoded.sampleRate, 16000);
    assertSamples(decoded.channelData[0], [300 / 32768]);
  });

  test('a trailing chunk cut short after a complete data chunk is ignored', () => {
    const wav = riffWave([
      fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 16 }),
      data(int16Bytes([5, 6])),
      { id: 'LIST', body: new Uint8Array(4), declaredSize: 400 },
    ]);
    assertSamples(decodeWav(wav).channelData[0], [5 / 32768, 6 / 32768]);
  });

  test('an empty data chunk is valid and gives no samples', () => {
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 16 }), data(new Uint8Array(0))]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.frames, 0);
    assert.equal(decoded.channelData[0]?.length, 0);
    assert.equal(wavDurationSec(wav), 0);
  });

  test('a data chunk holding a partial frame is rounded down to whole frames', () => {
    const body = new Uint8Array(7); // 1 whole stereo 16-bit frame + 3 stray bytes
    body.set(int16Bytes([16384, -16384]));
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 2, sampleRate: 24000, bits: 16 }), data(body)]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.frames, 1);
    assertSamples(decoded.channelData[1], [-0.5]);
  });

  test('streamed files (RIFF/data sizes 0 or 0xFFFFFFFF) decode the bytes present, whole frames only', () => {
    // Five stereo frames, then half a frame still being written (even length, so no pad byte follows).
    const samples = int16Bytes([1, -1, 2, -2, 3, -3, 4, -4, 5, -5]);
    const partial = new Uint8Array(samples.length + 2);
    partial.set(samples);
    partial.set(int16Bytes([32767]), samples.length);
    const fmt = fmtChunk({ tag: PCM, channels: 2, sampleRate: 24000, bits: 16 });
    for (const [riffSize, dataSize] of [
      [0xffffffff, 0xffffffff],
      [0, 0],
      [0xffffffff, 1_000_000],
      [2000, 0xffffffff],
    ] as const) {
      const wav = riffWave([fmt, { id: 'data', body: partial, declaredSize: dataSize }], riffSize);
      const decoded = decodeWav(wav);
      assert.equal(decoded.frames, 5, `riff ${riffSize}, data ${dataSize}`);
      assertSamples(decoded.channelData[0], [1, 2, 3, 4, 5].map((v) => v / 32768));
      assertSamples(decoded.channelData[1], [1, 2, 3, 4, 5].map((v) => -v / 32768));
    }
  });

  test('a buffer at an odd byte offset (a slice of a bigger buffer) decodes the same', () => {
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 16 }), data(int16Bytes([-3000, 3000, 12345]))]);
    const host = new Uint8Array(wav.length + 1);
    host.set(wav, 1);
    assertSamples(decodeWav(host.subarray(1)).channelData[0], [-3000 / 32768, 3000 / 32768, 12345 / 32768]);
  });

  test('readWavInfo and wavDurationSec read the header without decoding', () => {
    const wav = riffWave([fmtChunk({ tag: PCM, channels: 2, sampleRate: 24000, bits: 16 }), oddListChunk(), data(new Uint8Array(24000 * 4 * 3))]);
    const info = readWavInfo(wav);
    assert.deepEqual({ ...info }, { sampleRate: 24000, channels: 2, format: 'pcm16', frames: 72000, dataOffset: 12 + 24 + 24 + 8, blockAlign: 4 });
    assert.equal(wavDurationSec(wav), 3);
  });
});

describe('decodeWav errors', () => {
  const fmt16 = fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 16 });
  const someData = data(int16Bytes([1, 2]));

  test('not RIFF/WAVE', () => {
    assertBadAudio(new Uint8Array(4), /not a RIFF\/WAVE file \(only 4 bytes\)/);
    assertBadAudio(new TextEncoder().encode('<html><body>502 Bad Gateway</body></html>'), /not a RIFF\/WAVE file$/);
    const avi = riffWave([someData]);
    writeAscii(avi, 8, 'AVI ');
    assertBadAudio(avi, /not a RIFF\/WAVE file$/);
    const rifx = riffWave([fmt16, someData]);
    writeAscii(rifx, 0, 'RIFX');
    assertBadAudio(rifx, /RIFX files are not supported/);
  });

  test('missing fmt or data chunk', () => {
    assertBadAudio(riffWave([someData]), /missing fmt chunk/);
    assertBadAudio(riffWave([fmt16, oddListChunk()]), /missing data chunk/);
  });

  test('unsupported format tags and bit depths', () => {
    assertBadAudio(riffWave([fmtChunk({ tag: 0x55, channels: 1, sampleRate: 24000, bits: 16 }), someData]), /unsupported format tag 0x0055 \(MP3\)/);
    assertBadAudio(riffWave([fmtChunk({ tag: 0x1234, channels: 1, sampleRate: 24000, bits: 16 }), someData]), /unsupported format tag 0x1234$/);
    assertBadAudio(
      riffWave([fmtChunk({ tag: EXTENSIBLE, subFormat: 7, channels: 1, sampleRate: 24000, bits: 8 }), someData]),
      /unsupported format tag 0x0007 \(µ-law\)/,
    );
    assertBadAudio(riffWave([fmtChunk({ tag: FLOAT, channels: 1, sampleRate: 24000, bits: 16 }), someData]), /unsupported IEEE float bit depth 16/);
    assertBadAudio(riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 24000, bits: 40 }), someData]), /unsupported PCM bit depth 40/);
  });

  test('zero channels, zero sample rate, inconsistent block align, short fmt', () => {
    assertBadAudio(riffWave([fmtChunk({ tag: PCM, channels: 0, sampleRate: 24000, bits: 16, blockAlign: 2 }), someData]), /0 channels/);
    assertBadAudio(riffWave([fmtChunk({ tag: PCM, channels: 1, sampleRate: 0, bits: 16 }), someData]), /sample rate of 0/);
    assertBadAudio(
      riffWave([fmtChunk({ tag: PCM, channels: 2, sampleRate: 24000, bits: 16, blockAlign: 2 }), someData]),
      /block align 2 does not match 2 channel\(s\) of 16-bit samples/,
    );
    assertBadAudio(riffWave([{ id: 'fmt ', body: new Uint8Array(12) }, someData]), /fmt chunk is 12 bytes, needs at least 16/);
    const shortExtensible = fmtChunk({ tag: EXTENSIBLE, channels: 1, sampleRate: 24000, bits: 16 });
    assertBadAudio(riffWave([{ id: 'fmt ', body: shortExtensible.body.subarray(0, 18) }, someData]), /extensible fmt chunk is 18 bytes, needs 40/);
  });

  test('a data chunk cut short in a file that claims to be complete is a truncated download', () => {
    const wav = riffWave([fmt16, data(int16Bytes([1, 2, 3, 4, 5]), 1000)]);
    assertBadAudio(wav, /data chunk truncated: header declares 1000 bytes, only 10 present/);
  });

  test('a chunk before data that runs past the end is corruption', () => {
    const wav = riffWave([fmt16, { id: 'LIST', body: new Uint8Array(20), declaredSize: 5000 }, someData]);
    assertBadAudio(wav, /'LIST' chunk at byte 36 declares 5000 bytes, only \d+ remain/);
  });
});

describe('encodeWav', () => {
  test('writes a canonical 16-bit mono header', () => {
    const wav = encodeWav({ sampleRate: 24000, samples: new Float32Array(480) });
    assert.equal(wav.length, 44 + 960);
    const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
    assert.equal(new TextDecoder().decode(wav.subarray(0, 4)), 'RIFF');
    assert.equal(view.getUint32(4, true), wav.length - 8);
    assert.equal(new TextDecoder().decode(wav.subarray(8, 16)), 'WAVEfmt ');
    assert.equal(view.getUint16(20, true), 1);
    assert.equal(view.getUint16(22, true), 1);
    assert.equal(view.getUint32(24, true), 24000);
    assert.equal(view.getUint32(28, true), 48000);
    assert.equal(view.getUint16(32, true), 2);
    assert.equal(view.getUint16(34, true), 16);
    assert.equal(new TextDecoder().decode(wav.subarray(36, 40)), 'data');
    assert.equal(view.getUint32(40, true), 960);
    assert.equal(wavDurationSec(wav), 0.02);
  });

  test('encode → decode round trip is within half a 16-bit step', () => {
    const samples = noise(24000, 0.9999, 7);
    const back = decodeWavMono(encodeWav({ sampleRate: 24000, samples }));
    assert.equal(back.sampleRate, 24000);
    assert.equal(back.samples.length, samples.length);
    let maxError = 0;
    for (let i = 0; i < samples.length; i++) maxError = Math.max(maxError, Math.abs(back.samples[i]! - samples[i]!));
    assert.ok(maxError < 1 / 32768, `max error ${maxError * 32768} LSB`);
    assert.ok(maxError <= 0.5 / 32768 + 1e-9, `max error ${maxError * 32768} LSB`);
  });

  test('clamps out-of-range samples and writes NaN as silence', () => {
    const wav = encodeWav({ sampleRate: 8000, samples: Float32Array.from([1, 1.5, -1, -7, Number.NaN, 0.5]) });
    const view = new DataView(wav.buffer, wav.byteOffset + 44);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => view.getInt16(i * 2, true)), [32767, 32767, -32768, -32768, 0, 16384]);
  });

  test('rejects a sample rate a WAV cannot carry', () => {
    assert.throws(() => encodeWav({ sampleRate: 0, samples: new Float32Array(1) }), NarratorError);
    assert.throws(() => encodeWav({ sampleRate: 22050.5, samples: new Float32Array(1) }), NarratorError);
  });
});
