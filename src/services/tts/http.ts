/**
 * The whole HTTP surface the backends need, on one screen: fetch with a per-request timeout, the caller's abort
 * signal, JSON parsed even on 4xx, and zod validation of every body. Backoff helpers live here too so that every
 * retry loop in the project waits the same way (exponential, full jitter, abortable).
 */
import type { z } from 'zod';
import { readBodyBounded } from '../boundedBody.js';
import { NarratorError, abortError, throwIfAborted } from '../errors.js';

export interface HttpResponse {
  readonly status: number;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  readonly json: unknown;
  readonly text: string;
}

export interface HttpRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Largest body read; a bigger one (declared or streamed) is a permanent `response_too_large` error. */
  readonly maxBytes?: number;
}

/**
 * Sends one request. Network failures and timeouts become NarratorError('transient','network'); an abort of the
 * caller's signal becomes its abort error. The URL is never put in messages (it may carry tokens in the future).
 */
export async function httpRequest(url: string, req: HttpRequest): Promise<HttpResponse> {
  throwIfAborted(req.signal);
  const timeout = timeoutSignal(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout.signal]) : timeout.signal;
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let body: string | undefined;
  if (req.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.body);
  }
  try {
    const res = await fetch(url, { method: req.method ?? 'GET', headers, body, signal });
    const text = req.maxBytes === undefined ? await res.text() : await cappedText(res, req.maxBytes);
    return { status: res.status, json: parseJson(text), text };
  } catch (err) {
    if (req.signal?.aborted) throw abortError(req.signal);
    if (err instanceof NarratorError) throw err;
    const what = timeout.signal.aborted ? `no answer within ${Math.round(req.timeoutMs / 1000)} s` : describeNetworkError(err);
    throw new NarratorError('transient', 'network', `Could not reach the TTS service (${what}).`, String(err), { cause: err });
  } finally {
    timeout.clear();
  }
}

/** Reads a body as text, refusing one over `maxBytes` before (Content-Length) or while (stream) reading it. */
async function cappedText(res: Response, maxBytes: number): Promise<string> {
  const bytes = await readBodyBounded(
    res,
    maxBytes,
    () => new NarratorError('permanent', 'response_too_large', `The TTS service sent an answer larger than ${Math.round(maxBytes / 1024 / 1024)} MiB; it was not read.`),
  );
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Fetches raw bytes (audio downloads); same error mapping as httpRequest. Never sends credentials. */
export async function httpGetBytes(url: string, timeoutMs: number, signal?: AbortSignal): Promise<{ status: number; bytes: Uint8Array }> {
  throwIfAborted(signal);
  const timeout = timeoutSignal(timeoutMs);
  try {
    const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal });
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    const what = timeout.signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : describeNetworkError(err);
    throw new NarratorError('transient', 'network', `Could not download the audio (${what}).`, String(err), { cause: err });
  } finally {
    timeout.clear();
  }
}

/**
 * Like AbortSignal.timeout, but cleared as soon as the request is over: AbortSignal.timeout's timer (and what its
 * signal keeps reachable) lives for the whole timeout, which under load piles up thousands of idle timers.
 */
function timeoutSignal(ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** Validates a body with a zod schema; a mismatch is a permanent protocol error naming what was expected. */
export function parseBody<T>(schema: z.ZodType<T>, res: HttpResponse, what: string): T {
  const parsed = schema.safeParse(res.json);
  if (!parsed.success) {
    throw new NarratorError(
      'permanent',
      'bad_response',
      `The TTS service sent an unexpected answer to ${what} (HTTP ${res.status}).`,
      `${parsed.error.message}; body: ${res.text.slice(0, 500)}`,
    );
  }
  return parsed.data;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function describeNetworkError(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = cause && typeof cause === 'object' && 'code' in cause ? String(cause.code) : undefined;
  return code ? `network error ${code}` : 'network error';
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)], at least `floor`. */
export function backoffMs(attempt: number, baseMs = 500, capMs = 8000, floorMs = 50, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.max(floorMs, Math.round(random() * ceiling));
}

/** Waits `ms`, or rejects at once with the abort error when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
