/**
 * RIFF/WAVE reading and writing.
 *
 * The worker's WAV comes from torchaudio: usually 16-bit PCM, sometimes 32-bit float with `fact`/`PEAK` chunks or
 * the 0xFFFE "extensible" header, so the reader walks the chunk list instead of assuming a 44-byte header.
 * Hand-written rather than a library because the job is small, the failure messages matter (they end up in logs
 * next to a worker job id), and the npm WAV packages either assume the canonical header or pull in Node streams.
 *
 * Tolerance rules, decided once:
 * - Unknown chunks (LIST, fact, PEAK, id3, …) are skipped; odd-sized chunks are followed by a pad byte.
 * - A data chunk whose size is not a whole number of frames is rounded down to whole frames.
 * - A *streamed* file — RIFF size field 0 or 0xFFFFFFFF, or data size 0xFFFFFFFF — decodes from the bytes that
 *   are present (rounded down to whole frames).
 * - A data chunk that claims more bytes than the file holds, in a file that says it is complete, is a truncated
 *   download: error. So is any other chunk before the data that runs past the end (corruption).
 * - A chunk after the data that runs past the end is ignored once fmt and data have been seen (trailing junk).
 */
import { endianness } from 'node:os';
import { NarratorError } from '../errors.js';
import type { MonoAudio } from './types.js';

export type WavSampleFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

export interface DecodedWav {
  readonly sampleRate: number;
  readonly channels: number;
  readonly format: WavSampleFormat;
  /** Samples per channel. */
  readonly frames: number;
  /** One array per channel, samples in [-1, 1]. */
  readonly channelData: Float32Array[];
}

/** What the header says, without decoding the samples. */
export interface WavInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly format: WavSampleFormat;
  readonly frames: number;
  /** Byte offset of the first sample inside the input. */
  readonly dataOffset: number;
  /** Bytes per frame (all channels). */
  readonly blockAlign: number;
}

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;
const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'MS ADPCM',
  0x0006: 'A-law',
  0x0007: 'µ-law',
  0x0011: 'IMA ADPCM',
  0x0055: 'MP3',
};
const MAX_CHANNELS = 64;
/** Typed-array views read in platform byte order; WAV is little-endian, as is every platform Node ships but s390x. */
const LITTLE_ENDIAN = endianness() === 'LE';

function badAudio(message: string): NarratorError {
  return new NarratorError('permanent', 'bad_audio', `Bad WAV audio: ${message}`);
}

function fourCC(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

interface FmtChunk {
  readonly sampleRate: number;
  readonly channels: number;
  readonly format: WavSampleFormat;
  readonly blockAlign: number;
}

function parseFmt(view: DataView, offset: number, size: number): FmtChunk {
  if (size < 16) throw badAudio(`fmt chunk is ${size} bytes, needs at least 16`);
  let tag = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRate = view.getUint32(offset + 4, true);
  const blockAlign = view.getUint16(offset + 12, true);
  const bits = view.getUint16(offset + 14, true);
  if (tag === FORMAT_EXTENSIBLE) {
    // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) subFormat GUID(16); the GUID starts with the tag.
    if (size < 40) throw badAudio(`extensible fmt chunk is ${size} bytes, needs 40`);
    tag = view.getUint16(offset + 24, true);
  }
  if (channels === 0) throw badAudio('fmt chunk declares 0 channels');
  if (channels > MAX_CHANNELS) throw badAudio(`fmt chunk declares ${channels} channels`);
  if (sampleRate === 0) throw badAudio('fmt chunk declares a sample rate of 0');
  if (bits === 0) throw badAudio('fmt chunk declares 0 bits per sample');
  const bytesPerSample = Math.ceil(bits / 8);
  let format: WavSampleFormat;
  if (tag === FORMAT_PCM) {
    if (bits > 32) throw badAudio(`unsupported PCM bit depth ${bits}`);
    // Samples narrower than their container (e.g. 20 bits in 24) are left-justified: decode by container size.
    format = (['pcm8', 'pcm16', 'pcm24', 'pcm32'] as const)[bytesPerSample - 1]!;
  } else if (tag === FORMAT_FLOAT) {
    if (bits === 32) format = 'float32';
    else if (bits === 64) format = 'float64';
    else throw badAudio(`unsupported IEEE float bit depth ${bits}`);
  } else {
    const name = FORMAT_NAMES[tag];
    throw badAudio(`unsupported format tag 0x${tag.toString(16).padStart(4, '0')}${name ? ` (${name})` : ''}`);
  }
  if (blockAlign !== bytesPerSample * channels) {
    throw badAudio(`block align ${blockAlign} does not match ${channels} channel(s) of ${bits}-bit samples`);
  }
  return { sampleRate, channels, format, blockAlign };
}

/** Walks the chunk list and validates the header; does not touch the samples. Throws NarratorError bad_audio. */
export function readWavInfo(bytes: Uint8Array): WavInfo {
  if (bytes.length < 12) throw badAudio(`not a RIFF/WAVE file (only ${bytes.length} bytes)`);
  const riff = fourCC(bytes, 0);
  if (riff === 'RIFX' || riff === 'RF64') throw badAudio(`${riff} files are not supported`);
  if (riff !== 'RIFF' || fourCC(bytes, 8) !== 'WAVE') throw badAudio('not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffSize = view.getUint32(4, true);
  const streamed = riffSize === 0 || riffSize === 0xffffffff;
  // A RIFF size that overstates the file is tolerated here; what matters is whether the data chunk is whole.
  const end = !streamed && riffSize + 8 <= bytes.length && riffSize >= 4 ? riffSize + 8 : bytes.length;

  let fmt: FmtChunk | undefined;
  let data: { offset: number; size: number } | undefined;
  let pos = 12;
  while (pos + 8 <= end) {
    const id = fourCC(bytes, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    const available = bytes.length - body;
    if (id === 'data') {
      if (data) throw badAudio('more than one data chunk');
      const placeholder = size === 0xffffffff || (streamed && size === 0 && available > 0);
      if (size <= available && !placeholder) {
        data = { offset: body, size };
      } else if (streamed || placeholder) {
        data = { offset: body, size: available };
        break; // a streamed data chunk runs to the end of the file
      } else {
        throw badAudio(`data chunk truncated: header declares ${size} bytes, only ${available} present`);
      }
    } else if (size > available) {
      if (fmt && data) break; // junk after a complete file
      throw badAudio(`'${id.replace(/[^\x20-\x7e]/g, '?')}' chunk at byte ${pos} declares ${size} bytes, only ${available} remain`);
    } else if (id === 'fmt ') {
      if (fmt) throw badAudio('more than one fmt chunk');
      fmt = parseFmt(view, body, size);
    }
    pos = body + size + (size & 1); // odd-sized chunks carry a pad byte
  }
  if (!fmt) throw badAudio('missing fmt chunk');
  if (!data) throw badAudio('missing data chunk');
  return {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    format: fmt.format,
    frames: Math.floor(data.size / fmt.blockAlign),
    dataOffset: data.offset,
    blockAlign: fmt.blockAlign,
  };
}

function clampFloat(x: number): number {
  // NaN fails both comparisons and falls through to 0; ±Infinity clamps.
  if (x >= -1 && x <= 1) return x;
  if (x > 1) return 1;
  if (x < -1) return -1;
  return 0;
}

/** Decodes any supported WAV into per-channel float samples in [-1, 1]. Throws NarratorError bad_audio. */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  const info = readWavInfo(bytes);
  const channelData = decodeFrames(bytes, info, 0, info.frames);
  return { sampleRate: info.sampleRate, channels: info.channels, format: info.format, frames: info.frames, channelData };
}

/**
 * Frames [start, end) of a WAV whose header `readWavInfo` read, as mono float samples: for reading a long file a
 * slice at a time (a voice message from a two-hour narration) without its whole float copy in memory.
 */
export function decodeWavMonoSlice(bytes: Uint8Array, info: WavInfo, start: number, end: number): Float32Array {
  const channelData = decodeFrames(bytes, info, start, end);
  return toMono({ sampleRate: info.sampleRate, channels: info.channels, format: info.format, frames: channelData[0]?.length ?? 0, channelData }).samples;
}

/** Per-channel float samples of frames [start, end). */
function decodeFrames(bytes: Uint8Array, info: WavInfo, start: number, end: number): Float32Array[] {
  const { channels, format, blockAlign } = info;
  const first = Math.max(0, Math.min(start, info.frames));
  const frames = Math.max(0, Math.min(end, info.frames) - first);
  const dataOffset = info.dataOffset + first * blockAlign;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const channelData = Array.from({ length: channels }, () => new Float32Array(frames));
  const bytesPerSample = blockAlign / channels;
  for (let c = 0; c < channels; c++) {
    const out = channelData[c]!;
    let p = dataOffset + c * bytesPerSample;
    // One loop per format keeps the inner loop free of branches.
    switch (format) {
      case 'pcm8':
        for (let i = 0; i < frames; i++, p += blockAlign) out[i] = (bytes[p]! - 128) / 128;
        break;
      case 'pcm16':
        if (LITTLE_ENDIAN && (bytes.byteOffset + dataOffset) % 2 === 0) {
          // The common case (torchaudio's output) and the hot one: an aligned view is ~3× faster than DataView.
          const pcm = new Int16Array(bytes.buffer, bytes.byteOffset + dataOffset, frames * channels);
          for (let i = 0, q = c; i < frames; i++, q += channels) out[i] = pcm[q]! / 32768;
        } else {
          for (let i = 0; i < frames; i++, p += blockAlign) out[i] = view.getInt16(p, true) / 32768;
        }
        break;
      case 'pcm24':
        for (let i = 0; i < frames; i++, p += blockAlign) {
          const v = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16);
          out[i] = ((v << 8) >> 8) / 8388608; // sign-extend from 24 bits
        }
        break;
      case 'pcm32':
        for (let i = 0; i < frames; i++, p += blockAlign) out[i] = view.getInt32(p, true) / 2147483648;
        break;
      case 'float32':
        for (let i = 0; i < frames; i++, p += blockAlign) out[i] = clampFloat(view.getFloat32(p, true));
        break;
      case 'float64':
        for (let i = 0; i < frames; i++, p += blockAlign) out[i] = clampFloat(view.getFloat64(p, true));
        break;
    }
  }
  return channelData;
}

/** Averages the channels (a mono file's samples are returned as they are, not copied). */
export function toMono(wav: DecodedWav): MonoAudio {
  const first = wav.channelData[0];
  if (wav.channels === 1 && first) return { sampleRate: wav.sampleRate, samples: first };
  const out = new Float32Array(wav.frames);
  for (const channel of wav.channelData) {
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + channel[i]!;
  }
  const scale = 1 / wav.channels;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale;
  return { sampleRate: wav.sampleRate, samples: out };
}

/** Decode + downmix in one call: the shape the rest of the engine works in. */
export function decodeWavMono(bytes: Uint8Array): MonoAudio {
  return toMono(decodeWav(bytes));
}

/** Length of the audio in seconds, read from the header alone. */
export function wavDurationSec(bytes: Uint8Array): number {
  const info = readWavInfo(bytes);
  return info.frames / info.sampleRate;
}

/**
 * Writes 16-bit PCM mono with the canonical 44-byte header (what every player and Discord's preview expect).
 * Samples are scaled by 32768, rounded and clamped to the int16 range, so 1.0 becomes 32767.
 */
export function encodeWav(audio: MonoAudio): Uint8Array {
  const { sampleRate, samples } = audio;
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) {
    throw new NarratorError('permanent', 'bad_audio', `Cannot write a WAV with sample rate ${sampleRate}`);
  }
  const dataSize = samples.length * 2;
  if (dataSize + 36 > 0xffffffff) throw new NarratorError('permanent', 'bad_audio', 'Audio too long for a WAV file');
  const bytes = new Uint8Array(44 + dataSize);
  bytes.set(wavHeader(sampleRate, dataSize));
  const view = new DataView(bytes.buffer);
  for (let i = 0, p = 44; i < samples.length; i++, p += 2) view.setInt16(p, floatToInt16(samples[i]!), true);
  return bytes;
}

/** The canonical 44-byte header of a 16-bit PCM mono WAV holding `dataBytes` of samples. */
export function wavHeader(sampleRate: number, dataBytes: number): Uint8Array {
  const header = new Uint8Array(44);
  const view = new DataView(header.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) header[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, 1, true); // channels
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  return header;
}

/** Float in [-1, 1] → int16: scaled by 32768, clamped, rounded half away from zero; NaN → 0. */
export function floatToInt16(x: number): number {
  const v = x * 32768;
  if (v >= 32767) return 32767;
  if (v <= -32768) return -32768;
  if (!(v === v)) return 0; // NaN
  return Math.trunc(v + (v < 0 ? -0.5 : 0.5)) || 0; // `|| 0` turns -0 into 0
}
