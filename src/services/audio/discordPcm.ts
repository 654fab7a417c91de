/**
 * Mono float audio → what @discordjs/voice's `StreamType.Raw` expects: 48 kHz, 2 channels, interleaved signed
 * 16-bit little-endian. Raw PCM goes straight to the Opus encoder, so playback needs no FFmpeg.
 *
 * Streaming, so the narration can play while later chunks are still being synthesized: `push` converts what it
 * can, `flush` ends the stream (the resampler holds back a few samples of look-ahead until then).
 */
import { endianness } from 'node:os';
import { Resampler } from './resample.js';
import type { MonoAudio } from './types.js';

export const DISCORD_SAMPLE_RATE = 48_000;
export const DISCORD_CHANNELS = 2;
/** Bytes per 48 kHz stereo s16 frame. */
export const DISCORD_FRAME_BYTES = 4;

/** Typed arrays use the platform's byte order; s16le needs little-endian, true everywhere Node ships but s390x. */
const LITTLE_ENDIAN = endianness() === 'LE';

/** Writes each sample twice (left, right) as s16le: scaled by 32768, clamped, rounded half away from zero. */
function toStereoS16le(samples: Float32Array): Buffer {
  const bytes = new ArrayBuffer(samples.length * DISCORD_FRAME_BYTES);
  if (LITTLE_ENDIAN) {
    const out = new Int16Array(bytes);
    for (let i = 0, j = 0; i < samples.length; i++, j += 2) {
      // Clamp, then round half away from zero by adding ±0.5: the Int16Array store truncates toward zero, which
      // is much cheaper than Math.round. NaN fails every comparison and is stored as 0.
      let v = samples[i]! * 32768;
      v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      v += v < 0 ? -0.5 : 0.5;
      out[j] = v;
      out[j + 1] = v;
    }
  } else {
    const view = new DataView(bytes);
    for (let i = 0, p = 0; i < samples.length; i++, p += 4) {
      let v = samples[i]! * 32768;
      v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      v += v < 0 ? -0.5 : 0.5;
      view.setInt16(p, v, true); // ToInt16 truncates, as above
      view.setInt16(p + 2, v, true);
    }
  }
  return Buffer.from(bytes);
}

export class DiscordPcmConverter {
  readonly #resampler: Resampler;

  constructor(inRate: number) {
    this.#resampler = new Resampler(inRate, DISCORD_SAMPLE_RATE);
  }

  /** Converts the next samples; the result may be a little shorter than their duration (look-ahead held back). */
  push(samples: Float32Array): Buffer {
    return toStereoS16le(this.#resampler.process(samples));
  }

  /** Emits what the resampler held back; afterwards the converter is ready for a new stream. */
  flush(): Buffer {
    return toStereoS16le(this.#resampler.flush());
  }
}

/** One-shot conversion of a whole clip. */
export function toDiscordPcm(audio: MonoAudio): Buffer {
  const converter = new DiscordPcmConverter(audio.sampleRate);
  return Buffer.concat([converter.push(audio.samples), converter.flush()]);
}
