/**
 * The audio the self-test bot plays and attaches: a sine tone as 48 kHz stereo s16le PCM (what StreamType.Raw
 * wants) and the same samples as a WAV file. Shared by the bot (which plays and uploads it) and the test (which
 * recomputes the expected bytes), so "the right file" is checked byte for byte.
 */
export const TONE_SAMPLE_RATE = 48_000;
export const TONE_CHANNELS = 2;

export function sinePcm(frequency: number, seconds: number, amplitude = 0.5): Buffer {
  const frames = Math.round(seconds * TONE_SAMPLE_RATE);
  const pcm = Buffer.alloc(frames * TONE_CHANNELS * 2);
  for (let i = 0; i < frames; i++) {
    const value = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * frequency * i) / TONE_SAMPLE_RATE));
    for (let c = 0; c < TONE_CHANNELS; c++) pcm.writeInt16LE(value, (i * TONE_CHANNELS + c) * 2);
  }
  return pcm;
}

/** A canonical 44-byte-header PCM WAV around s16le samples. */
export function wavFile(pcm: Buffer, sampleRate = TONE_SAMPLE_RATE, channels = TONE_CHANNELS): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}
