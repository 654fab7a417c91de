/**
 * The HTTP side of the fake: a node:http server on 127.0.0.1 that routes `/api/v10/...` to route handlers, checks
 * `Authorization: Bot <token>` where Discord does, turns thrown DiscordHttpErrors into Discord-shaped JSON errors,
 * answers unknown routes with 404 JSON (never 500: @discordjs/rest retries 5xx and a test would crawl), and logs
 * every request. The gateway shares this server (HTTP upgrade on `/gateway`). Hand-written on node:http because the
 * fake must control statuses and bodies exactly and parse both JSON and multipart bodies the way Discord does.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiscordHttpError, discordErrors } from './discordHttpError.js';
import type { Diagnostics } from './diagnostics.js';
import type { ChangeFeed } from './changeFeed.js';
import { parseBody, readRequestBody } from './requestBody.js';
import type { ParsedBody } from './requestBody.js';

export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  /** Captured groups of the route's pattern, URL-decoded. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: ParsedBody;
  /** `performance.now()` when the request arrived (before its body was read). */
  readonly receivedAt: number;
}

export type RouteResponse =
  | { readonly status: number; readonly json?: unknown }
  | { readonly status: number; readonly bytes: Uint8Array; readonly contentType: string; readonly delivery?: Delivery; readonly onSent?: (bytes: number, complete: boolean) => void };

/** How a download is served, for tests of a client's limits: in chunks, slowly, without a Content-Length. */
export interface Delivery {
  /** Bytes per write (default: all at once). */
  readonly chunkBytes?: number;
  /** Pause between writes, ms (default 0). */
  readonly delayMs?: number;
  /** Send no Content-Length (chunked transfer encoding), as a server that does not know the size would. */
  readonly omitLength?: boolean;
  /** A Content-Length that lies (the body is still the real bytes; the client must not trust it). */
  readonly contentLength?: number;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Matched against the path after `/api/v10` (or the whole path for non-API routes). */
  readonly pattern: RegExp;
  /** Needs `Authorization: Bot <token>` (interaction callbacks and webhooks do not). */
  readonly auth: boolean;
  /** Outside `/api/v10` (e.g. attachment downloads). */
  readonly raw?: boolean;
  handle(req: RouteRequest): RouteResponse | Promise<RouteResponse>;
}

export interface RestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Discord's JSON error code, when the answer was an error. */
  readonly code?: number;
  readonly at: number;
}

const API_PREFIX = '/api/v10';

export class RestServer {
  readonly log: RestLogEntry[] = [];
  #routes: readonly Route[] = [];

  private constructor(
    readonly server: Server,
    private readonly token: string,
    private readonly maxBodyBytes: number,
    private readonly feed: ChangeFeed,
    private readonly diag: Diagnostics,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.#handle(req, res);
    });
  }

  static async start(opts: { token: string; maxBodyBytes: number; feed: ChangeFeed; diag: Diagnostics }): Promise<RestServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new RestServer(server, opts.token, opts.maxBodyBytes, opts.feed, opts.diag);
  }

  setRoutes(routes: readonly Route[]): void {
    this.#routes = routes;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** What discord.js's `rest.api` option wants (it appends `/v10`). */
  get apiBase(): string {
    return `${this.origin}/api`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    const url = new URL(req.url ?? '/', this.origin);
    const method = req.method ?? 'GET';
    const isApi = url.pathname.startsWith(`${API_PREFIX}/`);
    const path = isApi ? url.pathname.slice(API_PREFIX.length) : url.pathname;
    let response: RouteResponse;
    try {
      const { route, params } = this.#match(method, path, isApi);
      if (route.auth && req.headers.authorization !== `Bot ${this.token}`) throw discordErrors.unauthorized();
      const body = await parseBody(await readRequestBody(req, this.maxBodyBytes), req.headers['content-type']);
      response = await route.handle({ method, path, params, query: url.searchParams, headers: req.headers, body, receivedAt });
    } catch (err) {
      if (err instanceof DiscordHttpError) {
        // A malformed request is the bot's bug; refusals by rule (expired token, too late…) are not recorded here.
        if (err.status === 400 && err.body.code !== 40060) this.diag.problem(`REST ${method} ${path}: 400 ${err.body.message} ${JSON.stringify(err.body.errors ?? {})}`);
        response = { status: err.status, json: err.body };
      } else {
        // A bug in the fake: answer 4xx-free but loud, and record it. Not 500 — @discordjs/rest would retry it.
        this.diag.problem(`REST ${method} ${path}: the fake itself failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        response = { status: 418, json: { message: `fake Discord bug: ${String(err)}`, code: 0 } };
      }
      req.resume();
    }
    const code = 'json' in response && isErrorBody(response.json) ? response.json.code : undefined;
    this.log.push({ method, path, status: response.status, ...(code !== undefined ? { code } : {}), at: performance.now() });
    this.diag.debug(`REST ${method} ${path} → ${response.status}`);
    send(res, response);
    this.feed.notify();
  }

  #match(method: string, path: string, isApi: boolean): { route: Route; params: string[] } {
    let pathMatched = false;
    for (const route of this.#routes) {
      if (Boolean(route.raw) === isApi) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      return { route, params: m.slice(1).map((p) => decodeURIComponent(p)) };
    }
    if (!pathMatched) this.diag.problem(`REST: no such route ${method} ${isApi ? API_PREFIX : ''}${path}`);
    throw new DiscordHttpError(pathMatched ? 405 : 404, { message: pathMatched ? '405: Method Not Allowed' : '404: Not Found', code: 0 });
  }
}

function isErrorBody(json: unknown): json is { code: number } {
  return typeof json === 'object' && json !== null && 'code' in json && typeof json.code === 'number';
}

function send(res: ServerResponse, response: RouteResponse): void {
  if ('bytes' in response) {
    const d = response.delivery;
    const length = d?.omitLength ? {} : { 'content-length': d?.contentLength ?? response.bytes.byteLength };
    res.writeHead(response.status, { 'content-type': response.contentType, ...length });
    if (!d?.chunkBytes && !d?.delayMs) {
      res.end(response.bytes);
      response.onSent?.(response.bytes.byteLength, true);
      return;
    }
    streamBody(res, response.bytes, d, response.onSent);
    return;
  }
  if (response.json === undefined) {
    res.writeHead(response.status);
    res.end();
    return;
  }
  const text = JSON.stringify(response.json);
  res.writeHead(response.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Writes `bytes` in `chunkBytes` pieces with `delayMs` between them, each after the previous one was flushed, and
 * stops as soon as the client goes away — so `onSent` tells how much a client that gave up early really took.
 */
function streamBody(res: ServerResponse, bytes: Uint8Array, d: Delivery, onSent?: (bytes: number, complete: boolean) => void): void {
  const size = d.chunkBytes && d.chunkBytes > 0 ? d.chunkBytes : bytes.byteLength;
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const finish = (complete: boolean) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    onSent?.(sent, complete);
  };
  res.on('close', () => finish(sent >= bytes.byteLength && res.writableFinished));
  const step = () => {
    if (res.destroyed) return finish(false);
    if (sent >= bytes.byteLength) {
      res.end(() => finish(true));
      return;
    }
    const piece = bytes.subarray(sent, sent + size);
    sent += piece.byteLength;
    res.write(piece, () => {
      if (res.destroyed) return finish(false);
      timer = setTimeout(step, d.delayMs ?? 0);
    });
  };
  step();
}
