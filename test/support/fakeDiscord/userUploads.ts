/**
 * Files users upload — to a slash command's attachment option, or with a message they post — and how the fake's
 * "CDN" serves them. Discord serves an option's file at `/ephemeral-attachments/APP/ID/NAME` and a message's at
 * `/attachments/CHANNEL/ID/NAME` (on cdn.discordapp.com; here under the fake's own origin), and tells the bot the
 * file's size in the interaction (`resolved.attachments`) or the message. A test can make the declared size lie,
 * or the download slow, chunked or without a Content-Length, to exercise a bot's download limits; every download
 * is counted (requests, bytes actually sent, whether it completed) so a test can tell what the bot really fetched.
 */
import type { APIAttachment } from 'discord-api-types/v10';
import { NarratorError } from '../../../src/services/errors.js';
import type { Delivery } from './restServer.js';
import type { World } from './world.js';

export interface UploadOptions {
  readonly filename: string;
  readonly bytes: Uint8Array;
  /** Default `text/plain; charset=utf-8` for .txt/.md/.srt/.vtt, else `application/octet-stream`. */
  readonly contentType?: string;
  /** The size Discord reports to the bot; default the real size. A different value is a lie the bot must survive. */
  readonly declaredSize?: number;
  /** How the download is served (chunks, delay, no or a lying Content-Length); default all at once. */
  readonly delivery?: Delivery;
}

export interface Upload {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
  readonly declaredSize: number;
  readonly delivery?: Delivery;
  /** Where it is served (set when it is used: an option's ephemeral URL, or a message's). */
  url: string;
  /** The channel of the message it was posted with (undefined: an option's file). */
  channelId?: string;
  /** Downloads: GET requests, bytes sent (all requests together), and how many were served whole. */
  readonly downloads: { requests: number; bytesSent: number; completed: number };
}

/** The largest file a user can upload (Discord's Nitro limit); a bigger one is refused in the test. */
const MAX_USER_UPLOAD = 500 * 1024 * 1024;

const TEXT_TYPES = /\.(txt|md|srt|vtt)$/i;

function misuse(message: string): NarratorError {
  return new NarratorError('user', 'fake_discord_misuse', `Fake Discord: ${message}`);
}

export class UserUploads {
  readonly #uploads = new Map<string, Upload>();

  constructor(
    private readonly world: World,
    private readonly origin: () => string,
    /** Told when a download starts or ends, so a test's waits see the counts change. */
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Counts one download's request, then what it sent once it is over (whole or cut short by the client). */
  recordRequest(upload: Upload): (bytes: number, complete: boolean) => void {
    upload.downloads.requests++;
    this.onChange();
    return (bytes, complete) => {
      upload.downloads.bytesSent += bytes;
      if (complete) upload.downloads.completed++;
      this.onChange();
    };
  }

  /** A file a user picked: not yet attached to anything. */
  add(opts: UploadOptions): Upload {
    if (opts.filename === '' || opts.filename.includes('/')) throw misuse(`"${opts.filename}" is not a file name Discord would keep.`);
    if (opts.bytes.byteLength === 0) throw misuse('Discord does not upload empty files.');
    if (opts.bytes.byteLength > MAX_USER_UPLOAD) throw misuse(`a user cannot upload more than ${MAX_USER_UPLOAD} bytes.`);
    const id = this.world.ids.next();
    const upload: Upload = {
      id,
      filename: opts.filename,
      contentType: opts.contentType ?? (TEXT_TYPES.test(opts.filename) ? 'text/plain; charset=utf-8' : 'application/octet-stream'),
      bytes: opts.bytes,
      declaredSize: opts.declaredSize ?? opts.bytes.byteLength,
      ...(opts.delivery ? { delivery: opts.delivery } : {}),
      url: `${this.origin()}/ephemeral-attachments/${this.world.applicationId}/${id}/${encodeURIComponent(opts.filename)}`,
      downloads: { requests: 0, bytesSent: 0, completed: 0 },
    };
    this.#uploads.set(id, upload);
    return upload;
  }

  get(id: string): Upload | undefined {
    return this.#uploads.get(id);
  }

  /** The upload, or a test error naming the id (an option or message given an id that was never uploaded). */
  require(id: string): Upload {
    const upload = this.#uploads.get(id);
    if (!upload) throw misuse(`no uploaded file ${id} (use fake.uploadAttachment first).`);
    return upload;
  }

  /** Posting it with a message moves it to the channel's attachment URL (as Discord's CDN names message files). */
  attachToChannel(upload: Upload, channelId: string): void {
    if (upload.channelId !== undefined) throw misuse(`file ${upload.id} is already posted in a message.`);
    upload.channelId = channelId;
    upload.url = `${this.origin()}/attachments/${channelId}/${upload.id}/${encodeURIComponent(upload.filename)}`;
  }

  /** As Discord shows it to the bot (the size is the declared one). */
  toApi(upload: Upload): APIAttachment {
    return {
      id: upload.id,
      filename: upload.filename,
      content_type: upload.contentType,
      size: upload.declaredSize,
      url: upload.url,
      proxy_url: upload.url,
    };
  }
}
