/**
 * Ogg Opus files (RFC 7845) for narrations too long to attach as WAV: Discord plays `.ogg` inline, and speech at
 * 32 kb/s takes ~4 kB per second instead of WAV's 48 kB, so the default 10 MiB upload limit holds ~40 minutes.
 *
 * Encoding is done by libopus through `@discordjs/opus` (native), falling back to `opusscript` (WebAssembly) when
 * the native module is not installed — the same preference order prism-media uses for voice. The Ogg container
 * is hand-written: it is ~100 lines (pages, lacing, CRC-32), and the npm Ogg muxers are either abandoned native
 * bindings or browser-oriented WASM builds of libogg.
 *
 * Layout: page 0 = OpusHead (beginning of stream), page 1 = OpusTags, then audio pages of up to ~1 s of 20 ms
 * packets, the last one flagged end-of-stream. Granule positions count 48 kHz samples whatever the input rate;
 * the first `PRE_SKIP` of them are the encoder's look-ahead (decoders drop them), and the last page's granule
 * says exactly where the audio ends, so the padding of the final frame is not played.
 */
import { createRequire } from 'node:module';
import { randomInt } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { NarratorError } from '../errors.js';
import { Resampler } from './resample.js';
import type { MonoAudio } from './types.js';

/** Sample rates libopus accepts as input. */
export const OPUS_RATES: readonly number[] = [8000, 12_000, 16_000, 24_000, 48_000];
/** libopus's look-ahead at its default (audio) application: Fs/400 + Fs/250 = 312 samples at 48 kHz (2.5 + 4 ms). */
export const PRE_SKIP = 312;
const GRANULE_RATE = 48_000;
const FRAME_MS = 20;
/** Packets per audio page: 50 × 20 ms = 1 s, what opusenc aims for (seek granularity vs. overhead). */
const PACKETS_PER_PAGE = 50;
/**
 * Encode this many frames between two yields to the event loop, so voice playback elsewhere keeps its 20 ms beat:
 * opusscript (WASM, when the native module is missing) takes ~0.3–0.6 ms a frame, so 10 frames block ≤ ~6 ms.
 */
const FRAMES_PER_SLICE = 10;
/** An Ogg page's segment table has at most 255 entries. */
const MAX_SEGMENTS = 255;

export interface OggOpusOptions {
  /** Bits per second; default 32 000 for mono, 64 000 for stereo. */
  readonly bitrate?: number;
  /** Ogg bitstream serial number (random by default; fixed in tests for reproducible files). */
  readonly serial?: number;
}

/** The one thing this file needs from an Opus library: 16-bit interleaved PCM frame in, one packet out. */
interface OpusFrameEncoder {
  encode(pcm: Buffer, frameSize: number): Buffer;
  release(): void;
}

/** A mono clip as Ogg Opus. Rates libopus cannot take (e.g. espeak's 22 050 Hz) are resampled to 24 or 48 kHz. */
export async function encodeOggOpus(audio: MonoAudio, options: OggOpusOptions = {}): Promise<Uint8Array> {
  let { sampleRate, samples } = audio;
  if (!OPUS_RATES.includes(sampleRate)) {
    const target = sampleRate > 24_000 ? 48_000 : 24_000;
    const resampler = new Resampler(sampleRate, target);
    const head = resampler.process(samples);
    const tail = resampler.flush();
    const joined = new Float32Array(head.length + tail.length);
    joined.set(head);
    joined.set(tail, head.length);
    samples = joined;
    sampleRate = target;
  }
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]! * 32768);
    pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0;
  }
  return encodeOggOpusPcm(pcm, sampleRate, 1, options);
}

/**
 * Interleaved signed 16-bit PCM (`channels` 1 or 2, `sampleRate` one of OPUS_RATES) as an Ogg Opus file.
 * E.g. the bot's 48 kHz stereo voice stream, or 24 kHz mono worker audio.
 */
export async function encodeOggOpusPcm(
  pcm: Int16Array,
  sampleRate: number,
  channels: 1 | 2,
  options: OggOpusOptions = {},
): Promise<Uint8Array> {
  if (pcm.length % channels !== 0) throw new NarratorError('permanent', 'bad_audio', 'PCM length is not a whole number of frames.');
  const stream = await OggOpusStream.create(sampleRate, channels, options);
  try {
    const pages = [stream.header(), ...(await stream.push(pcm)), await stream.finish()];
    return new Uint8Array(Buffer.concat(pages));
  } finally {
    stream.release();
  }
}

/**
 * An Ogg Opus file produced piece by piece, for audio that arrives over time (a narration's segments): `header()`
 * once, then `push()` PCM as it comes — each call returns the finished pages, to be appended to a file — and
 * `finish()` for the last page. Only the packets of the page being filled (≤ 1 s) and a partial 20 ms frame are
 * held, so memory stays flat however long the audio; encoding yields to the event loop every FRAMES_PER_SLICE
 * frames. `release()` frees the encoder (always call it, also after a failure).
 */
export class OggOpusStream {
  private readonly writer: OggPageWriter;
  private readonly frameSize: number;
  /** 48 kHz samples per input sample (an integer for every Opus rate). */
  private readonly scale: number;
  /** Samples (all channels) waiting for a whole frame. */
  private rest: Int16Array;
  private restLength = 0;
  private page: Buffer[] = [];
  private pageSegments = 0;
  private packets = 0;
  /** Frames (per channel) received so far. */
  private frames = 0;
  private sinceYield = 0;
  private finished = false;

  private constructor(
    private readonly encoder: OpusFrameEncoder,
    readonly sampleRate: number,
    readonly channels: 1 | 2,
    serial: number,
  ) {
    this.writer = new OggPageWriter(serial);
    this.frameSize = (sampleRate * FRAME_MS) / 1000;
    this.scale = GRANULE_RATE / sampleRate;
    this.rest = new Int16Array(this.frameSize * channels);
  }

  static async create(sampleRate: number, channels: 1 | 2, options: OggOpusOptions = {}): Promise<OggOpusStream> {
    if (!OPUS_RATES.includes(sampleRate)) {
      throw new NarratorError('permanent', 'bad_audio', `Opus cannot encode ${sampleRate} Hz audio (use ${OPUS_RATES.join(', ')}).`);
    }
    const bitrate = options.bitrate ?? (channels === 1 ? 32_000 : 64_000);
    const encoder = await loadOpusEncoder(sampleRate, channels, bitrate);
    return new OggOpusStream(encoder, sampleRate, channels, options.serial ?? randomInt(0, 0x1_0000_0000));
  }

  /** The two header pages (OpusHead, OpusTags): the start of the file. */
  header(): Buffer {
    return Buffer.concat([
      this.writer.page([opusHead(this.channels, this.sampleRate)], 0, FLAG_BOS),
      this.writer.page([opusTags()], 0, 0),
    ]);
  }

  /** Encodes whole 20 ms frames of `pcm` (interleaved); returns the pages completed meanwhile. */
  async push(pcm: Int16Array): Promise<Buffer[]> {
    if (this.finished) throw new Error('OggOpusStream: push after finish');
    if (pcm.length % this.channels !== 0) throw new NarratorError('permanent', 'bad_audio', 'PCM length is not a whole number of frames.');
    this.frames += pcm.length / this.channels;
    const pages: Buffer[] = [];
    let at = 0;
    while (at < pcm.length) {
      const take = Math.min(this.rest.length - this.restLength, pcm.length - at);
      this.rest.set(pcm.subarray(at, at + take), this.restLength);
      this.restLength += take;
      at += take;
      if (this.restLength === this.rest.length) {
        this.encodeFrame(pages, false);
        if (++this.sinceYield >= FRAMES_PER_SLICE) {
          this.sinceYield = 0;
          await yieldToEventLoop();
        }
      }
    }
    return pages;
  }

  /**
   * Pads with the encoder's look-ahead in silence (so nothing is lost) and returns the last page, flagged
   * end-of-stream, whose granule says exactly where the audio ends.
   */
  async finish(): Promise<Buffer> {
    if (this.finished) throw new Error('OggOpusStream: finish called twice');
    const pages: Buffer[] = [];
    const lookahead = PRE_SKIP / this.scale;
    const total = Math.max(1, Math.ceil((this.frames + lookahead) / this.frameSize));
    while (this.packets < total) {
      // Zero-filled: the padding after the audio is silence.
      this.rest.fill(0, this.restLength);
      this.restLength = this.rest.length;
      this.encodeFrame(pages, this.packets === total - 1);
    }
    this.finished = true;
    return Buffer.concat(pages);
  }

  release(): void {
    this.encoder.release();
  }

  private encodeFrame(pages: Buffer[], last: boolean): void {
    const pcm = this.rest;
    const frame = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const packet = this.encoder.encode(toLittleEndian(Buffer.from(frame)), this.frameSize);
    this.restLength = 0;
    const segments = Math.floor(packet.length / 255) + 1;
    if (this.page.length > 0 && this.pageSegments + segments > MAX_SEGMENTS) {
      // Granule of a page: 48 kHz samples decodable from all packets that end on it.
      pages.push(this.writer.page(this.page, this.packets * this.frameSize * this.scale, 0));
      this.page = [];
      this.pageSegments = 0;
    }
    this.page.push(packet);
    this.pageSegments += segments;
    this.packets++;
    if (last) {
      // The last page's granule says where the real audio ends, so the final frame's padding is not played.
      pages.push(this.writer.page(this.page, PRE_SKIP + this.frames * this.scale, FLAG_EOS));
      this.page = [];
    } else if (this.page.length === PACKETS_PER_PAGE) {
      pages.push(this.writer.page(this.page, this.packets * this.frameSize * this.scale, 0));
      this.page = [];
      this.pageSegments = 0;
    }
  }
}

// Header-type flags. "Continued packet" (0x01) is never needed: a page is closed before a packet would not fit
// its segment table, so packets never span pages (an Opus packet is at most 1275 bytes = 6 segments).
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;

/** Makes the Ogg pages of one logical bitstream (sequence numbers, lacing, CRC). */
class OggPageWriter {
  private sequence = 0;

  constructor(private readonly serial: number) {}

  page(packets: readonly Buffer[], granule: number, flags: number): Buffer {
    const lacing: number[] = [];
    for (const packet of packets) {
      // Lacing: a packet of length L is floor(L/255) segments of 255 then one of L % 255 (0 ends a 255-multiple).
      let left = packet.length;
      while (left >= 255) {
        lacing.push(255);
        left -= 255;
      }
      lacing.push(left);
    }
    if (lacing.length > MAX_SEGMENTS) throw new Error('Ogg page overflow: too many segments');
    const body = Buffer.concat(packets as Buffer[]);
    const page = Buffer.alloc(27 + lacing.length + body.length);
    page.write('OggS', 0, 'ascii');
    page.writeUInt8(0, 4); // stream structure version
    page.writeUInt8(flags, 5);
    page.writeBigInt64LE(BigInt(granule), 6);
    page.writeUInt32LE(this.serial >>> 0, 14);
    page.writeUInt32LE(this.sequence++, 18);
    page.writeUInt32LE(0, 22); // CRC, computed over the page with this field zero
    page.writeUInt8(lacing.length, 26);
    Buffer.from(lacing).copy(page, 27);
    body.copy(page, 27 + lacing.length);
    page.writeUInt32LE(oggCrc32(page), 22);
    return page;
  }
}

/** RFC 7845 §5.1 identification header. */
function opusHead(channels: number, inputRate: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii');
  head.writeUInt8(1, 8); // version
  head.writeUInt8(channels, 9);
  head.writeUInt16LE(PRE_SKIP, 10);
  head.writeUInt32LE(inputRate, 12); // informational: the rate the audio had before encoding
  head.writeInt16LE(0, 16); // output gain
  head.writeUInt8(0, 18); // channel mapping family 0: mono or stereo
  return head;
}

/** RFC 7845 §5.2 comment header: vendor string, no user comments. */
function opusTags(): Buffer {
  const vendor = Buffer.from('narrator', 'utf8');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'ascii');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendor.length);
  return tags;
}

/** Ogg's CRC-32: polynomial 0x04C11DB7, MSB first, initial value 0, no final XOR (not zlib's reflected CRC). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc32(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

/** Int16Array uses the platform's byte order; Opus libraries take little-endian. */
function toLittleEndian(frame: Buffer): Buffer {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return frame;
  return frame.swap16();
}

const require = createRequire(import.meta.url);

const nativeOpus = optionalRequire<{ OpusEncoder: new (rate: number, channels: number) => NativeEncoder }>('@discordjs/opus');
interface NativeEncoder {
  encode(pcm: Buffer): Buffer;
  setBitrate(bitrate: number): void;
}
interface OpusScriptEncoder {
  encode(pcm: Buffer, frameSize: number): Buffer;
  setBitrate(bitrate: number): void;
  delete(): void;
}
type OpusScriptClass = (new (rate: number, channels: number, application: number) => OpusScriptEncoder) & {
  Application: { AUDIO: number };
};

/** Loads an optional CommonJS module, or undefined when it is not installed (or its native part failed to load). */
function optionalRequire<T>(name: string): T | undefined {
  try {
    return require(name) as T;
  } catch {
    return undefined;
  }
}

async function loadOpusEncoder(rate: number, channels: number, bitrate: number): Promise<OpusFrameEncoder> {
  if (nativeOpus) {
    const enc = new nativeOpus.OpusEncoder(rate, channels);
    enc.setBitrate(bitrate);
    // The native encoder derives the frame size from the buffer length.
    return { encode: (pcm) => enc.encode(pcm), release: () => undefined };
  }
  const OpusScript = optionalRequire<OpusScriptClass>('opusscript');
  if (!OpusScript) {
    throw new NarratorError('config', 'opus_missing', 'No Opus encoder is installed (@discordjs/opus or opusscript).');
  }
  const enc = new OpusScript(rate, channels, OpusScript.Application.AUDIO);
  enc.setBitrate(bitrate);
  return { encode: (pcm, frameSize) => Buffer.from(enc.encode(pcm, frameSize)), release: () => enc.delete() };
}
