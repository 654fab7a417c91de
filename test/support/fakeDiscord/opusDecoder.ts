/**
 * Opus → PCM (48 kHz, stereo, signed 16-bit interleaved), so tests can check what the bot actually played. Uses
 * the native @discordjs/opus when it is installed (it is an optional dependency) and falls back to opusscript
 * (WASM), the same two libraries prism-media picks from on the bot's side. One decoder per voice stream: Opus
 * decoding is stateful across frames.
 */
import { NarratorError } from '../../../src/services/errors.js';

export const SAMPLE_RATE = 48_000;
export const CHANNELS = 2;

export interface OpusDecoder {
  decode(frame: Buffer): Int16Array;
}

export type OpusDecoderFactory = () => OpusDecoder;

function toInt16(pcm: Buffer): Int16Array {
  // Copy into a fresh, aligned buffer: the library's buffer may start at an odd offset.
  return new Int16Array(new Uint8Array(pcm).buffer);
}

export async function loadOpusDecoderFactory(): Promise<OpusDecoderFactory> {
  try {
    const { default: opus } = await import('@discordjs/opus');
    return () => {
      const codec = new opus.OpusEncoder(SAMPLE_RATE, CHANNELS);
      return { decode: (frame) => toInt16(codec.decode(frame)) };
    };
  } catch (nativeError) {
    try {
      const { default: OpusScript } = await import('opusscript');
      return () => {
        const codec = new OpusScript(SAMPLE_RATE, CHANNELS, OpusScript.Application.AUDIO);
        return { decode: (frame) => toInt16(codec.decode(frame)) };
      };
    } catch (wasmError) {
      throw new NarratorError(
        'config',
        'fake_discord_no_opus',
        'Fake Discord needs @discordjs/opus or opusscript to decode the bot\'s audio.',
        `${String(nativeError)} / ${String(wasmError)}`,
      );
    }
  }
}
