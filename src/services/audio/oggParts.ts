/**
 * Splits a finished Ogg Opus recording into parts that each fit an upload limit, for a narration so long that even
 * the compressed file is too large to attach (a 49-minute chapter is ~12 MB at 32 kb/s; a server without boosts
 * takes 10 MiB per file). Every part is a complete, independently playable Ogg Opus file, and played one after the
 * other they give the original audio exactly, sample for sample.
 *
 * Why split the finished file, not rotate part files while encoding: the limit is only known when the reply is
 * made (it differs per server, and a reply that falls back to a DM has the default limit), and splitting costs no
 * re-encoding — the same Opus packets are copied into new pages (a few MB of copying, once, at the end; the recording
 * on disk stays the only copy meanwhile). Pages are kept whole (≤ 1 s of packets each, as OggOpusStream writes them),
 * so only page headers (sequence number, granule, flags, CRC) are rewritten.
 *
 * Continuity: an Opus decoder needs some audio before a cut to sound right after it (RFC 7845 §4.6 recommends
 * 80 ms of pre-roll). So every part after the first starts with a copy of the page that ended the previous part,
 * and its OpusHead's pre-skip covers exactly that page: the decoder warms up on it and discards it, and the part's
 * audio starts where the previous part's ended. Granule positions are rebased so each part's timeline starts at 0;
 * the last page of each part carries end-of-stream, so players know its exact length.
 */
import { NarratorError } from '../errors.js';
import { oggCrc32 } from './oggOpus.js';

const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;
/** OpusHead's pre-skip is a 16-bit field (48 kHz samples). */
const MAX_PRE_SKIP = 0xffff;

interface Page {
  readonly flags: number;
  readonly granule: bigint;
  readonly serial: number;
  /** Segment table and body, as they were (unchanged in a part). */
  readonly lacing: Buffer;
  readonly body: Buffer;
}

/** An Ogg Opus file cut into parts of at most `maxBytes` each; `durationSec` of each part's audio. */
export interface OggPart {
  readonly data: Buffer;
  readonly durationSec: number;
}

/**
 * Cuts `file` (an Ogg Opus file as OggOpusStream writes it: one stream, OpusHead page, OpusTags page, audio pages)
 * into the fewest parts of at most `maxBytes` each, cut on page boundaries. Undefined when the limit is too small
 * for even one audio page per part. Throws a `bad_audio` error when `file` is not such a file.
 */
export function splitOggOpus(file: Uint8Array, maxBytes: number): OggPart[] | undefined {
  const pages = parsePages(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
  if (pages.length < 3) throw badAudio('an Ogg Opus file needs its two header pages and audio');
  const [headPage, tagsPage] = pages as [Page, Page];
  const head = Buffer.from(headPage.body);
  if (head.toString('latin1', 0, 8) !== 'OpusHead' || tagsPage.body.toString('latin1', 0, 8) !== 'OpusTags') {
    throw badAudio('missing OpusHead/OpusTags');
  }
  const preSkip = head.readUInt16LE(10);
  const audio = pages.slice(2);
  /** Where each audio page's packets start on the original granule timeline (the previous page's end). */
  const starts = audio.map((_, i) => (i === 0 ? 0n : audio[i - 1]!.granule));
  const headersBytes = pageBytes(headPage) + pageBytes(tagsPage);

  const parts: OggPart[] = [];
  let next = 0;
  while (next < audio.length) {
    const preroll = next > 0 ? next - 1 : undefined;
    let size = headersBytes + (preroll === undefined ? 0 : pageBytes(audio[preroll]!));
    let end = next;
    while (end < audio.length && size + pageBytes(audio[end]!) <= maxBytes) size += pageBytes(audio[end++]!);
    if (end === next) return undefined; // not even one page fits beside the headers
    const first = preroll ?? next;
    const base = starts[first]!;
    // The first part keeps the encoder's pre-skip; a later one skips its pre-roll page (whose start is `base`).
    const partPreSkip = preroll === undefined ? BigInt(preSkip) : starts[next]! - base;
    if (partPreSkip > BigInt(MAX_PRE_SKIP)) return undefined;
    const partHead = Buffer.from(head);
    partHead.writeUInt16LE(Number(partPreSkip), 10);
    let sequence = 0;
    const out: Buffer[] = [
      writePage({ ...headPage, body: partHead, lacing: headPage.lacing }, FLAG_BOS, 0n, sequence++),
      writePage(tagsPage, 0, 0n, sequence++),
    ];
    for (let i = first; i < end; i++) {
      const page = audio[i]!;
      out.push(writePage(page, i === end - 1 ? FLAG_EOS : 0, page.granule - base, sequence++));
    }
    const endGranule = audio[end - 1]!.granule - base;
    parts.push({ data: Buffer.concat(out), durationSec: Number(endGranule - partPreSkip) / 48_000 });
    next = end;
  }
  return parts;
}

function parsePages(buf: Buffer): Page[] {
  const pages: Page[] = [];
  let at = 0;
  let serial: number | undefined;
  while (at < buf.length) {
    if (at + 27 > buf.length || buf.toString('latin1', at, at + 4) !== 'OggS') throw badAudio(`no Ogg page at byte ${at}`);
    const flags = buf[at + 5]!;
    if (flags & 0x01) throw badAudio('continued packets are not supported');
    const pageSerial = buf.readUInt32LE(at + 14);
    if (serial !== undefined && pageSerial !== serial) throw badAudio('more than one logical stream');
    serial = pageSerial;
    const count = buf[at + 26]!;
    const lacing = buf.subarray(at + 27, at + 27 + count);
    let bodySize = 0;
    for (const l of lacing) bodySize += l;
    const bodyAt = at + 27 + count;
    if (bodyAt + bodySize > buf.length) throw badAudio('truncated page');
    pages.push({ flags, granule: buf.readBigInt64LE(at + 6), serial: pageSerial, lacing, body: buf.subarray(bodyAt, bodyAt + bodySize) });
    at = bodyAt + bodySize;
  }
  return pages;
}

function pageBytes(page: Page): number {
  return 27 + page.lacing.length + page.body.length;
}

function writePage(page: Page, flags: number, granule: bigint, sequence: number): Buffer {
  const out = Buffer.alloc(pageBytes(page));
  out.write('OggS', 0, 'latin1');
  out.writeUInt8(0, 4);
  out.writeUInt8(flags, 5);
  out.writeBigInt64LE(granule, 6);
  out.writeUInt32LE(page.serial, 14);
  out.writeUInt32LE(sequence, 18);
  out.writeUInt32LE(0, 22);
  out.writeUInt8(page.lacing.length, 26);
  page.lacing.copy(out, 27);
  page.body.copy(out, 27 + page.lacing.length);
  out.writeUInt32LE(oggCrc32(out), 22);
  return out;
}

function badAudio(why: string): NarratorError {
  return new NarratorError('permanent', 'bad_audio', `Not an Ogg Opus file this bot wrote: ${why}.`);
}
