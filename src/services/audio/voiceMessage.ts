/**
 * The audio of a native Discord voice message, made from a narration's WAV: Ogg Opus, mono, 48 kHz (what the
 * Discord clients record and what they expect to play as a voice message), plus the attachment metadata the
 * message needs — `duration_secs` (the audio's exact length) and `waveform` (waveform.ts).
 *
 * The narration's recording already has an Ogg Opus file, but it was encoded from the engine's rate (24 kHz
 * input, so its OpusHead says 24 000): a voice message is re-encoded from the WAV at 48 kHz instead. Resampling
 * and encoding run in half-second slices that yield to the event loop (the same rule as NarrationRecording), so a
 * long narration does not stall other guilds' voice frames.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { OggOpusStream } from './oggOpus.js';
import { Resampler } from './resample.js';
import { decodeWavMono } from './wav.js';
import { voiceMessageWaveform } from './waveform.js';

export const VOICE_MESSAGE_RATE = 48_000;
const SLICE_SEC = 0.5;

export interface VoiceMessageAudio {
  /** The Ogg Opus file (starts with `OggS`). */
  readonly ogg: Uint8Array;
  readonly durationSecs: number;
  /** base64 of ≤ 256 amplitude bytes. */
  readonly waveform: string;
}

export async function voiceMessageAudio(wavBytes: Uint8Array): Promise<VoiceMessageAudio> {
  const audio = decodeWavMono(wavBytes);
  const durationSecs = audio.samples.length / audio.sampleRate;
  const waveform = voiceMessageWaveform(audio.samples);
  const resampler = audio.sampleRate === VOICE_MESSAGE_RATE ? undefined : new Resampler(audio.sampleRate, VOICE_MESSAGE_RATE);
  const stream = await OggOpusStream.create(VOICE_MESSAGE_RATE, 1);
  try {
    const pages: Buffer[] = [stream.header()];
    const slice = Math.max(1, Math.round(audio.sampleRate * SLICE_SEC));
    for (let at = 0; at < audio.samples.length; at += slice) {
      const piece = audio.samples.subarray(at, Math.min(audio.samples.length, at + slice));
      pages.push(...(await stream.push(toInt16(resampler ? resampler.process(piece) : piece))));
      await yieldToEventLoop();
    }
    const tail = resampler?.flush();
    if (tail?.length) pages.push(...(await stream.push(toInt16(tail))));
    pages.push(await stream.finish());
    return { ogg: new Uint8Array(Buffer.concat(pages)), durationSecs, waveform };
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
