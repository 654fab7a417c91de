/**
 * `ws` hands text frames over as Buffer, Buffer[] or ArrayBuffer depending on options; both gateways want the text.
 */
import type { RawData } from 'ws';

export function wsText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}
