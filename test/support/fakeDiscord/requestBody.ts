/**
 * Reads a REST request body the two ways Discord accepts it: plain JSON, or multipart/form-data with the files as
 * `files[N]` parts and the JSON as a `payload_json` part (what @discordjs/rest sends whenever there are files).
 * Multipart is parsed by the platform's own `Response.formData()` rather than by hand: it is the same WHATWG parser
 * undici uses, so boundaries, quoting and binary parts behave exactly as in real clients.
 */
import type { IncomingMessage } from 'node:http';
import { discordErrors, invalidFormBody } from './discordHttpError.js';

export interface UploadedFile {
  /** The form field, e.g. `files[0]`. */
  readonly field: string;
  /** N of `files[N]`; what `attachments[].id` refers to. */
  readonly index: number;
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

export interface ParsedBody {
  /** The JSON body (or `payload_json`), undefined when the request had none. */
  readonly json: unknown;
  readonly files: readonly UploadedFile[];
  readonly multipart: boolean;
  readonly byteLength: number;
}


export async function readRequestBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    // Discord answers oversized uploads with 413 code 40005; keep reading nothing more than the cap.
    if (size > limitBytes) throw discordErrors.entityTooLarge();
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw discordErrors.invalidJson();
  }
}

export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  const type = contentType ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    const files: UploadedFile[] = [];
    let json: unknown;
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') json = parseJson(value);
        continue;
      }
      const match = /^files\[(\d+)\]$/.exec(field);
      if (!match?.[1]) throw invalidFormBody([field], 'UNKNOWN_FIELD', `Unexpected file field "${field}".`);
      files.push({
        field,
        index: Number(match[1]),
        name: value.name,
        contentType: value.type,
        bytes: new Uint8Array(await value.arrayBuffer()),
      });
    }
    return { json, files, multipart: true, byteLength: raw.length };
  }
  const text = raw.toString('utf8');
  return { json: text.trim() === '' ? undefined : parseJson(text), files: [], multipart: false, byteLength: raw.length };
}
