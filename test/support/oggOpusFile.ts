/**
 * Reads an Ogg Opus file the way a player does, independently of the bot's own muxer: walks the pages (checking
 * every CRC, sequence number and flag), decodes the packets with libopus (@discordjs/opus) at 48 kHz, drops the
 * pre-skip and cuts at the last granule. For tests that check an attachment is a valid file and what it sounds like.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { oggCrc32 } from '../../src/services/audio/oggOpus.js';
import type { MonoAudio } from '../../src/services/audio/types.js';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { decode(packet: Buffer): Buffer };
};

export interface DecodedOggOpus {
  /** 48 kHz mono (stereo files are averaged). */
  readonly audio: MonoAudio;
  readonly preSkip: number;
  readonly channels: number;
}

/** Decodes a whole Ogg Opus file, asserting it is well-formed (one stream, BOS first, EOS last, CRCs, sequence). */
export function decodeOggOpusFile(bytes: Uint8Array): DecodedOggOpus {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: Buffer[] = [];
  let at = 0;
  let sequence = 0;
  let serial: number | undefined;
  let lastGranule = 0n;
  let lastFlags = 0;
  let partial: Buffer[] = [];
  while (at < buf.length) {
    assert.equal(buf.toString('latin1', at, at + 4), 'OggS', `page at byte ${at}`);
    const flags = buf[at + 5]!;
    if (sequence === 0) assert.equal(flags & 0x02, 0x02, 'the first page begins the stream');
    else assert.equal(flags & 0x02, 0, 'only the first page begins the stream');
    assert.equal(lastFlags & 0x04, 0, 'no page after the end of the stream');
    const pageSerial = buf.readUInt32LE(at + 14);
    serial ??= pageSerial;
    assert.equal(pageSerial, serial, 'one logical stream');
    assert.equal(buf.readUInt32LE(at + 18), sequence++, 'page sequence numbers count up from 0');
    const count = buf[at + 26]!;
    const lacing = buf.subarray(at + 27, at + 27 + count);
    const bodySize = lacing.reduce((a, b) => a + b, 0);
    const end = at + 27 + count + bodySize;
    const page = Buffer.from(buf.subarray(at, end));
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    assert.equal(oggCrc32(page), crc, `CRC of page ${sequence - 1}`);
    let pos = at + 27 + count;
    for (const l of lacing) {
      partial.push(buf.subarray(pos, pos + l));
      pos += l;
      if (l < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    const granule = buf.readBigInt64LE(at + 6);
    if (granule >= 0n) lastGranule = granule;
    lastFlags = flags;
    at = end;
  }
  assert.equal(lastFlags & 0x04, 0x04, 'the last page ends the stream');
  const head = packets[0]!;
  assert.equal(head.toString('latin1', 0, 8), 'OpusHead');
  assert.equal(packets[1]!.toString('latin1', 0, 8), 'OpusTags');
  const channels = head[9]!;
  const preSkip = head.readUInt16LE(10);
  const decoder = new OpusEncoder(48_000, channels);
  const pcm = Buffer.concat(packets.slice(2).map((p) => decoder.decode(p)));
  const frames = pcm.length / 2 / channels;
  const total = Number(lastGranule) - preSkip;
  assert.ok(total >= 0 && preSkip + total <= frames, `granule end ${lastGranule} within the ${frames} decoded samples`);
  const samples = new Float32Array(total);
  for (let i = 0; i < total; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm.readInt16LE(((preSkip + i) * channels + c) * 2);
    samples[i] = sum / channels / 32768;
  }
  return { audio: { sampleRate: 48_000, samples }, preSkip, channels };
}
