/**
 * The audio of a native Discord voice message, made from a narration's WAV: Ogg Opus, mono, 48 kHz (what the
 * Discord clients record and what they expect to play as a voice message), plus the attachment metadata the
 * message needs — `duration_secs` (the audio's exact length) and `waveform` (waveform.ts).
 *
 * The narration's recording already has an Ogg Opus file, but it was encoded from the engine's rate (24 kHz
 * input, so its OpusHead says 24 000): a voice message is re-encoded from the WAV at 48 kHz instead. Decoding,
 * resampling and encoding run in half-second slices that yield to the event loop (the same rule as
 * NarrationRecording), so a long narration neither stalls other guilds' voice frames nor doubles its memory.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { OggOpusStream } from './oggOpus.js';
import { Resampler } from './resample.js';
import { decodeWavMonoSlice, readWavInfo } from './wav.js';
import { waveformBase64, WaveformBuilder } from './waveform.js';

export const VOICE_MESSAGE_RATE = 48_000;
const SLICE_SEC = 0.5;

export interface VoiceMessageAudio {
  /** The Ogg Opus file (starts with `OggS`). */
  readonly ogg: Uint8Array;
  readonly durationSecs: number;
  /** base64 of ≤ 256 amplitude bytes. */
  readonly waveform: string;
}

/**
 * The voice message for `wavBytes`, or 'too_large' as soon as the Ogg Opus passes `maxOggBytes` (Discord's upload
 * limit: a two-hour narration need not be encoded to the end to know it cannot be posted). The WAV is read a slice
 * at a time — never its whole float copy, which is twice the WAV — and the waveform is built along the way.
 */
export async function voiceMessageAudio(wavBytes: Uint8Array, maxOggBytes = Number.POSITIVE_INFINITY): Promise<VoiceMessageAudio | 'too_large'> {
  const info = readWavInfo(wavBytes);
  const durationSecs = info.frames / info.sampleRate;
  const waveform = new WaveformBuilder(info.frames);
  const resampler = info.sampleRate === VOICE_MESSAGE_RATE ? undefined : new Resampler(info.sampleRate, VOICE_MESSAGE_RATE);
  const stream = await OggOpusStream.create(VOICE_MESSAGE_RATE, 1);
  try {
    const pages: Buffer[] = [stream.header()];
    let size = pages[0]!.byteLength;
    const add = (more: readonly Buffer[]): boolean => {
      for (const page of more) size += page.byteLength;
      pages.push(...more);
      return size <= maxOggBytes;
    };
    const slice = Math.max(1, Math.round(info.sampleRate * SLICE_SEC));
    for (let at = 0; at < info.frames; at += slice) {
      const piece = decodeWavMonoSlice(wavBytes, info, at, at + slice);
      waveform.add(piece);
      if (!add(await stream.push(toInt16(resampler ? resampler.process(piece) : piece)))) return 'too_large';
      await yieldToEventLoop();
    }
    const tail = resampler?.flush();
    if (tail?.length && !add(await stream.push(toInt16(tail)))) return 'too_large';
    if (!add([await stream.finish()])) return 'too_large';
    return { ogg: new Uint8Array(Buffer.concat(pages)), durationSecs, waveform: waveformBase64(waveform.bytes()) };
  } finally {
    stream.release();
  }
}

function toInt16(samples: Float32Array): Int16Array {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]! * 32768);
    pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0;
  }
  return pcm;
}
