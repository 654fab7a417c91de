/**
 * Parsing and decrypting the bot's voice packets in the one mode the fake offers, `aead_aes256_gcm_rtpsize`
 * (the mode @discordjs/voice prefers whenever node:crypto has aes-256-gcm, so no sodium library is needed).
 * "rtpsize" means the unencrypted, authenticated part is the RTP header *including* the 4-byte extension preamble;
 * the extension body, if any, is encrypted together with the Opus frame. Layout:
 *   header (AAD) · ciphertext · 16-byte GCM tag · 4-byte big-endian nonce counter; IV = counter + 8 zero bytes.
 */
import { createDecipheriv } from 'node:crypto';

const RTP_VERSION = 2;
const FIXED_HEADER = 12;
const TAG_LENGTH = 16;
const NONCE_LENGTH = 4;

export interface RtpHeader {
  readonly payloadType: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** Bytes of the packet that are sent in clear and authenticated. */
  readonly aadLength: number;
  readonly extension: boolean;
}

/** Undefined when the datagram is not an RTP packet long enough to carry an encrypted payload. */
export function parseRtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < FIXED_HEADER + TAG_LENGTH + NONCE_LENGTH) return undefined;
  const first = packet.readUInt8(0);
  if (first >> 6 !== RTP_VERSION) return undefined;
  const csrcCount = first & 0x0f;
  const extension = (first & 0x10) !== 0;
  const aadLength = FIXED_HEADER + 4 * csrcCount + (extension ? 4 : 0);
  if (packet.length < aadLength + TAG_LENGTH + NONCE_LENGTH) return undefined;
  return {
    payloadType: packet.readUInt8(1) & 0x7f,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    aadLength,
    extension,
  };
}

/** Returns the Opus frame; throws if the packet was not encrypted with `key` (authentication fails). */
export function decryptAes256GcmRtpSize(packet: Buffer, header: RtpHeader, key: Uint8Array): Buffer {
  const aad = packet.subarray(0, header.aadLength);
  const nonce = packet.subarray(packet.length - NONCE_LENGTH);
  const tag = packet.subarray(packet.length - NONCE_LENGTH - TAG_LENGTH, packet.length - NONCE_LENGTH);
  const ciphertext = packet.subarray(header.aadLength, packet.length - NONCE_LENGTH - TAG_LENGTH);
  const iv = Buffer.concat([nonce, Buffer.alloc(12 - NONCE_LENGTH)]);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  if (!header.extension) return plain;
  // The extension's length (in 32-bit words) sits in clear in the preamble's last two bytes.
  const words = packet.readUInt16BE(header.aadLength - 2);
  return plain.subarray(4 * words);
}
