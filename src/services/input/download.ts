/**
 * A bounded download of a user's attachment: never more than the limit in memory, never from a host the bot
 * does not trust, never for longer than a deadline. No Discord types here — the caller passes the URL and the size
 * Discord declared for the attachment.
 *
 * Why each bound: the declared size is checked before any request (a 2 MiB file costs nothing to refuse); the
 * response's Content-Length is checked before the body is read; and while the body streams in, the count is
 * checked at every chunk, because a length can lie or be absent (chunked encoding) — so at most the limit plus one
 * network chunk is ever buffered. Only `https:` URLs on Discord's attachment hosts are fetched (plus one configured
 * origin: the fake Discord of the tests serves attachments from its own http origin), and redirects are followed
 * by hand, only to those same hosts: an attachment URL must never make the bot fetch something else.
 */
import { readBodyBounded } from '../boundedBody.js';
import { TextFileError } from './textFile.js';

/** Where Discord serves attachments. */
export const DISCORD_ATTACHMENT_HOSTS: readonly string[] = ['cdn.discordapp.com', 'media.discordapp.net'];
const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_REDIRECTS = 3;

export interface DownloadRequest {
  readonly url: string;
  /** The size Discord declared for the attachment (bytes). */
  readonly declaredSize: number;
  readonly maxBytes: number;
  /** Origins trusted besides Discord's hosts over https (e.g. `http://127.0.0.1:5555`, the fake Discord's). */
  readonly extraOrigins?: readonly string[];
  /** The whole download's deadline (default 15 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** For tests: the fetch to use. */
  readonly fetch?: typeof fetch;
}

/**
 * The origins to trust besides Discord's CDN for a bot whose REST base is `apiBaseUrl`: its origin when it is
 * not Discord's own (a proxy or the fake Discord serves attachments there).
 */
export function attachmentOriginsFor(apiBaseUrl: string): string[] {
  const url = new URL(apiBaseUrl);
  return url.hostname === 'discord.com' || url.hostname.endsWith('.discord.com') ? [] : [url.origin];
}

/** Whether the bot may fetch this URL: https on Discord's attachment hosts, or one of the extra origins. */
export function isTrustedAttachmentUrl(raw: string, extraOrigins: readonly string[] = []): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (extraOrigins.includes(url.origin)) return true;
  return url.protocol === 'https:' && (url.port === '' || url.port === '443') && DISCORD_ATTACHMENT_HOSTS.includes(url.hostname);
}

/** The attachment's bytes, or a TextFileError: too_large, source (untrusted URL), download_failed, download_timeout. */
export async function downloadAttachment(req: DownloadRequest): Promise<Uint8Array> {
  if (req.declaredSize > req.maxBytes) throw new TextFileError({ kind: 'too_large', limitBytes: req.maxBytes, sizeBytes: req.declaredSize });
  const extra = req.extraOrigins ?? [];
  if (!isTrustedAttachmentUrl(req.url, extra)) throw new TextFileError({ kind: 'source' }, `untrusted attachment URL host: ${safeHost(req.url)}`);
  const timeout = AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const doFetch = req.fetch ?? fetch;
  try {
    let url = req.url;
    let res: Response;
    for (let hop = 0; ; hop++) {
      res = await doFetch(url, { redirect: 'manual', signal });
      if (res.status < 300 || res.status >= 400) break;
      await res.body?.cancel();
      const location = res.headers.get('location');
      const next = location ? new URL(location, url).toString() : undefined;
      if (!next || hop >= MAX_REDIRECTS || !isTrustedAttachmentUrl(next, extra)) {
        throw new TextFileError({ kind: 'source' }, `redirect refused: ${next ? safeHost(next) : 'no location'}`);
      }
      url = next;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new TextFileError({ kind: 'download_failed', status: res.status }, `HTTP ${res.status}`);
    }
    const maxBytes = req.maxBytes;
    return await readBodyBounded(res, maxBytes, (sizeBytes) => new TextFileError({ kind: 'too_large', limitBytes: maxBytes, ...(sizeBytes === undefined ? {} : { sizeBytes }) }));
  } catch (err) {
    if (err instanceof TextFileError) throw err;
    if (timeout.aborted) throw new TextFileError({ kind: 'download_timeout' });
    if (req.signal?.aborted) throw err;
    throw new TextFileError({ kind: 'download_failed' }, String(err));
  }
}

/** A URL's host for the logs (never its path or query: Discord's signed attachment URLs carry tokens). */
function safeHost(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return '(not a URL)';
  }
}
