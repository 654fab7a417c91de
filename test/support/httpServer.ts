/**
 * node:http plumbing shared by the worker emulators: start a server on 127.0.0.1 with an ephemeral port, read
 * bodies with a size cap, send replies, keep a request log, and own every timer so that `close()` leaves nothing
 * behind (tests must be able to end without a dangling socket or timeout keeping the process alive).
 *
 * Hand-written on plain node:http on purpose: the emulators must control status codes, headers and body bytes
 * exactly (bare 429s, plain-text 404s, sorted-key Flask JSON), which a framework would get in the way of.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface StartedServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly port: number;
  /** Stops listening and destroys every open connection (keep-alive and pending long-polls included). */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 only; port 0 (the default) picks a free one. */
export async function startHttpServer(handler: RequestHandler, listenPort = 0): Promise<StartedServer> {
  const server = http.createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        // A bug in an emulator must surface as a loud 500, never as a hung request.
        if (!res.headersSent) sendJson(res, 500, { error: 'emulator_bug', message: String(err) });
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The body, or `'too-large'` once more than `limitBytes` arrived (the rest is drained and dropped). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | 'too-large'> {
  const parts: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limitBytes) tooLarge = true;
    if (!tooLarge) parts.push(buf);
  }
  return tooLarge ? 'too-large' : Buffer.concat(parts);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), 'application/json');
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  sendBytes(res, status, Buffer.from(text, 'utf8'), contentType);
}

export function sendBytes(res: ServerResponse, status: number, bytes: Uint8Array, contentType: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(bytes.byteLength) });
  res.end(bytes);
}

export interface RequestLogEntry {
  readonly method: string;
  /** Path and query as received (keys travel in headers, so nothing secret is kept). */
  readonly path: string;
  readonly route: string;
  readonly authorized: boolean;
  /** performance.now() when the request arrived. */
  readonly receivedAt: number;
  /** The status answered, and when, set when the reply is sent. */
  status?: number;
  answeredAt?: number;
}

/** What tests read to see how a client used an emulator: counts per route and the ordered log. */
export class RequestLog<Route extends string> {
  readonly counts: Partial<Record<Route, number>> = {};
  readonly log: RequestLogEntry[] = [];

  /** Records a request and returns how many requests this route has now seen (1-based). */
  record(req: IncomingMessage, res: ServerResponse, route: Route, authorized: boolean): number {
    const n = (this.counts[route] ?? 0) + 1;
    this.counts[route] = n;
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path: req.url ?? '/', route, authorized, receivedAt: performance.now() };
    this.log.push(entry);
    res.once('finish', () => {
      entry.status = res.statusCode;
      entry.answeredAt = performance.now();
    });
    return n;
  }

  count(route: Route): number {
    return this.counts[route] ?? 0;
  }
}

/** Every timer an emulator starts, so `close()` can clear them all at once. */
export class TimerSet {
  private readonly handles = new Set<NodeJS.Timeout>();
  private closed = false;

  set(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const handle = setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, Math.max(0, ms));
    this.handles.add(handle);
    return handle;
  }

  clear(handle: NodeJS.Timeout | undefined): void {
    if (handle === undefined) return;
    clearTimeout(handle);
    this.handles.delete(handle);
  }

  /** A promise that resolves after `ms`, or never once the set is closed (the awaiting task just stops). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.set(resolve, ms);
    });
  }

  clearAll(): void {
    this.closed = true;
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }
}

/**
 * Wakes waiters whenever the emulator's state changes, so long-polls and `waitIdle` react at once instead of
 * polling on an interval.
 */
export class ChangeSignal {
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Resolves when `done()` holds, rejects after `timeoutMs` with `what` in the message. */
export function waitUntil(signal: ChangeSignal, timers: TimerSet, done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const stop = signal.subscribe(() => {
      if (!done()) return;
      stop();
      timers.clear(timer);
      resolve();
    });
    const timer = timers.set(() => {
      stop();
      reject(new Error(`${what} did not happen within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}
