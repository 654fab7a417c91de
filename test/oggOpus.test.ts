/**
 * The Ogg Opus attachment: a real demuxer (prism-media's OggDemuxer) must find the headers and packets, a real
 * decoder (libopus via @discordjs/opus) must turn them back into the same sound, every page's CRC must check, and
 * the granule positions must say exactly how long the audio is.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import prism from 'prism-media';
import { encodeOggOpus, encodeOggOpusPcm, oggCrc32, PRE_SKIP } from '../src/services/audio/oggOpus.js';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { decode(packet: Buffer): Buffer };
};

interface Page {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  crcOk: boolean;
  packets: number;
}

/** Walks the pages by hand (independently of the muxer) and checks each CRC. */
function readPages(bytes: Uint8Array): Page[] {
  const buf = Buffer.from(bytes);
  const pages: Page[] = [];
  let pos = 0;
  while (pos < buf.length) {
    assert.equal(buf.toString('ascii', pos, pos + 4), 'OggS', `capture pattern at byte ${pos}`);
    const nSeg = buf.readUInt8(pos + 26);
    const table = buf.subarray(pos + 27, pos + 27 + nSeg);
    const bodyLength = table.reduce((a, b) => a + b, 0);
    const end = pos + 27 + nSeg + bodyLength;
    const page = Buffer.from(buf.subarray(pos, end));
    const stored = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    pages.push({
      flags: buf.readUInt8(pos + 5),
      granule: buf.readBigInt64LE(pos + 6),
      serial: buf.readUInt32LE(pos + 14),
      sequence: buf.readUInt32LE(pos + 18),
      crcOk: oggCrc32(page) === stored,
      packets: [...table].filter((v) => v < 255).length,
    });
    pos = end;
  }
  return pages;
}

async function demux(bytes: Uint8Array): Promise<{ head: Buffer; tags: Buffer; packets: Buffer[] }> {
  const demuxer = new prism.opus.OggDemuxer();
  let head: Buffer | undefined;
  let tags: Buffer | undefined;
  demuxer.on('head', (h: Buffer) => (head = h));
  demuxer.on('tags', (t: Buffer) => (tags = t));
  const packets: Buffer[] = [];
  Readable.from([Buffer.from(bytes)]).pipe(demuxer);
  for await (const packet of demuxer) packets.push(packet as Buffer);
  assert.ok(head && tags, 'OpusHead and OpusTags were found');
  return { head, tags, packets };
}

/** A speech-like test signal: two harmonics under a 4 Hz envelope. */
function signal(rate: number, seconds: number): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    out[i] = 0.3 * env * (Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 440 * t));
  }
  return out;
}

function correlation(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('oggCrc32', () => {
  test('is the MSB-first CRC-32 with polynomial 0x04C11DB7, init 0, no final xor', () => {
    // CRC-32/CKSUM's check value 0x765E7680 without its final xor.
    assert.equal(oggCrc32(new TextEncoder().encode('123456789')), 0x89a1897f);
    assert.equal(oggCrc32(new Uint8Array(0)), 0);
  });
});

describe('encodeOggOpus', () => {
  test('24 kHz mono round-trips through a real Ogg demuxer and Opus decoder', async () => {
    const rate = 24_000;
    const source = signal(rate, 2.5);
    const ogg = await encodeOggOpus({ sampleRate: rate, samples: source }, { serial: 1234 });

    const pages = readPages(ogg);
    assert.ok(pages.every((p) => p.crcOk), 'every page CRC checks');
    assert.ok(pages.every((p) => p.serial === 1234));
    assert.deepEqual(pages.map((p) => p.sequence), pages.map((_, i) => i));
    assert.equal(pages[0]!.flags, 0x02, 'first page begins the stream');
    assert.equal(pages.at(-1)!.flags, 0x04, 'last page ends the stream');
    assert.ok(pages.slice(1, -1).every((p) => p.flags === 0));
    assert.equal(pages[0]!.granule, 0n);
    assert.equal(pages[1]!.granule, 0n);
    // Exact length: pre-skip + the source's samples counted at 48 kHz.
    assert.equal(pages.at(-1)!.granule, BigInt(PRE_SKIP + source.length * 2));
    const granules = pages.slice(2).map((p) => p.granule);
    assert.deepEqual([...granules].sort((a, b) => (a < b ? -1 : 1)), granules, 'granules never go back');

    const { head, tags, packets } = await demux(ogg);
    assert.equal(head.toString('ascii', 0, 8), 'OpusHead');
    assert.equal(head.readUInt8(9), 1, 'mono');
    assert.equal(head.readUInt16LE(10), PRE_SKIP);
    assert.equal(head.readUInt32LE(12), rate);
    assert.equal(tags.toString('ascii', 0, 8), 'OpusTags');
    assert.equal(packets.length, pages.slice(2).reduce((n, p) => n + p.packets, 0));

    const decoder = new OpusEncoder(rate, 1);
    const pcm = Buffer.concat(packets.map((p) => decoder.decode(p)));
    const decoded = new Float32Array(pcm.length / 2);
    for (let i = 0; i < decoded.length; i++) decoded[i] = pcm.readInt16LE(i * 2) / 32768;
    const skip = PRE_SKIP / 2; // pre-skip is in 48 kHz samples
    assert.ok(decoded.length >= skip + source.length, 'the padding covers the look-ahead');
    const aligned = decoded.subarray(skip, skip + source.length);
    const r = correlation(source, aligned);
    assert.ok(r > 0.95, `decoded audio matches the source (correlation ${r.toFixed(3)})`);
    // Speech bitrate: ~32 kb/s ≈ 4 kB/s, far under WAV's 48 kB/s.
    assert.ok(ogg.length < 2.5 * 6000, `size ${ogg.length} bytes for 2.5 s`);
  });

  test('48 kHz stereo PCM (the voice stream format) round-trips', async () => {
    const rate = 48_000;
    const mono = signal(rate, 1.2);
    const pcm = new Int16Array(mono.length * 2);
    for (let i = 0; i < mono.length; i++) {
      pcm[2 * i] = Math.round(mono[i]! * 32767);
      pcm[2 * i + 1] = Math.round(-mono[i]! * 32767); // right channel inverted: channels must stay apart
    }
    const ogg = await encodeOggOpusPcm(pcm, rate, 2, { serial: 7 });
    const pages = readPages(ogg);
    assert.ok(pages.every((p) => p.crcOk));
    assert.equal(pages.at(-1)!.granule, BigInt(PRE_SKIP + mono.length));
    const { head, packets } = await demux(ogg);
    assert.equal(head.readUInt8(9), 2, 'stereo');
    const decoder = new OpusEncoder(rate, 2);
    const out = Buffer.concat(packets.map((p) => decoder.decode(p)));
    const left = new Float32Array(mono.length);
    const right = new Float32Array(mono.length);
    for (let i = 0; i < mono.length; i++) {
      left[i] = out.readInt16LE((i + PRE_SKIP) * 4) / 32768;
      right[i] = out.readInt16LE((i + PRE_SKIP) * 4 + 2) / 32768;
    }
    assert.ok(correlation(mono, left) > 0.95);
    assert.ok(correlation(mono, right) < -0.95);
  });

  test('a rate Opus cannot take (espeak 22 050 Hz) is resampled, keeping its duration', async () => {
    const source = signal(22_050, 1);
    const ogg = await encodeOggOpus({ sampleRate: 22_050, samples: source }, { serial: 1 });
    const pages = readPages(ogg);
    const { head } = await demux(ogg);
    assert.equal(head.readUInt32LE(12), 24_000);
    const seconds = Number(pages.at(-1)!.granule - BigInt(PRE_SKIP)) / 48_000;
    assert.ok(Math.abs(seconds - 1) < 0.001, `duration ${seconds}`);
  });

  test('long audio is split into pages of at most 1 s and never overflows a segment table', async () => {
    const ogg = await encodeOggOpus({ sampleRate: 24_000, samples: signal(24_000, 5) }, { bitrate: 128_000, serial: 3 });
    const pages = readPages(ogg);
    assert.ok(pages.length >= 2 + 5);
    assert.ok(pages.every((p) => p.crcOk && p.packets <= 50));
  });

  test('empty audio still makes a valid, zero-length file', async () => {
    const ogg = await encodeOggOpus({ sampleRate: 24_000, samples: new Float32Array(0) }, { serial: 9 });
    const pages = readPages(ogg);
    assert.equal(pages.length, 3);
    assert.equal(pages.at(-1)!.granule, BigInt(PRE_SKIP));
  });

  test('refuses PCM at a rate Opus does not support', async () => {
    await assert.rejects(encodeOggOpusPcm(new Int16Array(100), 44_100, 1), { code: 'bad_audio' });
  });
});
