/**
 * Requests to the URLs a worker hands back (`download_url`, `confirmation_url`). The worker image is third-party
 * code, so those URLs are untrusted input: without rules a redirect could reach an internal service, a POST could
 * hit a cloud metadata address, and a huge body would be buffered whole.
 *
 * Rules (issue 9 point 12):
 * - only `https`, unless the host is listed in WORKER_DOWNLOAD_HOSTS (`host` or `host:port`; tests list 127.0.0.1);
 * - no loopback, private, link-local, CGNAT, multicast, unspecified or metadata address unless the host is listed —
 *   checked on the literal IP and on every address a hostname resolves to, and the socket connects to the address
 *   that was checked (the check runs inside the request's own `lookup`, so DNS rebinding has no second answer to use);
 * - redirects are followed by hand (GET only, at most 3), each hop under the same rules;
 * - the body is streamed with a cap: a Content-Length over it is refused before reading, a stream past it aborted.
 * Plain node:http(s) rather than fetch because fetch cannot take a per-request `lookup`. No credential ever goes
 * here: the caller passes no headers but content-type.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { NarratorError, abortError, throwIfAborted } from '../errors.js';

export interface WorkerUrlPolicy {
  /** Hosts trusted over http and at private addresses: `host` (any port) or `host:port`, lower case. */
  readonly allowedHosts: readonly string[];
  /** Largest body read, in bytes. */
  readonly maxBytes: number;
}

export interface WorkerRequest {
  readonly method: 'GET' | 'POST';
  /** JSON body (POST). */
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** What the URL is, for messages (`download_url`). */
  readonly what: string;
}

const MAX_REDIRECTS = 3;

/** Addresses a worker URL may not reach unless its host is listed. */
const blocked = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT; also Alibaba's metadata 100.100.100.200
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local; AWS/GCP/Azure metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net4, prefix, 'ipv4');
}
for (const [net6, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local; AWS metadata fd00:ec2::254
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 of an IPv4 address: judged by the IPv4 below
] as const) {
  blocked.addSubnet(net6, prefix, 'ipv6');
}

/** Whether `ip` (a literal address) is a public unicast address a worker link may point at. */
export function isPublicAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return !blocked.check(ip, 'ipv4');
  if (family !== 6) return false;
  const lower = ip.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d or ::ffff:hhhh:hhhh): the IPv4 address decides.
  const mapped = /^(?:0*:)*:?ffff:(.+)$/.exec(lower)?.[1];
  if (mapped !== undefined) {
    if (net.isIP(mapped) === 4) return isPublicAddress(mapped);
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(mapped);
    if (hex) {
      const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
      return isPublicAddress([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
    }
    return false;
  }
  return !blocked.check(lower, 'ipv6');
}

/** Parses WORKER_DOWNLOAD_HOSTS: `a.example, 127.0.0.1:8080, [::1]:9000` → normalized entries. */
export function parseHostList(list: string): string[] {
  return [
    ...new Set(
      list
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
}

/** Whether the URL's host (and port, when the entry names one) is listed. */
export function isListedHost(url: URL, allowedHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowedHosts.some((entry) => entry === host || entry === `${host}:${port}`);
}

/**
 * Sends one request to a worker URL under the rules above and returns the status and (capped) body. Redirects are
 * followed for GET; a POST answered with a redirect returns that status. Errors: NarratorError permanent
 * `unsafe_worker_url` / `audio_too_large`, transient `network`, or the caller's abort error.
 */
export async function workerRequest(rawUrl: string, req: WorkerRequest, policy: WorkerUrlPolicy): Promise<{ status: number; bytes: Uint8Array }> {
  let url = parseUrl(rawUrl, req.what);
  for (let hop = 0; ; hop++) {
    throwIfAborted(req.signal);
    const res = await requestOnce(url, req, policy);
    if (res.location === undefined || req.method !== 'GET') return { status: res.status, bytes: res.bytes };
    if (hop >= MAX_REDIRECTS) throw refused(req.what, `more than ${MAX_REDIRECTS} redirects`, url);
    url = parseUrl(new URL(res.location, url).href, req.what);
  }
}

function parseUrl(raw: string, what: string): URL {
  if (!URL.canParse(raw)) throw new NarratorError('permanent', 'bad_response', `The TTS worker returned an invalid ${what}.`);
  return new URL(raw);
}

function refused(what: string, why: string, url: URL): NarratorError {
  return new NarratorError(
    'permanent',
    'unsafe_worker_url',
    `The TTS worker's ${what} was refused (${why}). List trusted worker hosts in WORKER_DOWNLOAD_HOSTS.`,
    `host ${url.host}`,
  );
}

function tooLarge(maxBytes: number): NarratorError {
  return new NarratorError(
    'permanent',
    'audio_too_large',
    `The TTS worker's audio is larger than MAX_AUDIO_BYTES (${Math.round(maxBytes / 1024 / 1024)} MiB); it was not downloaded.`,
  );
}

/** Checks the URL itself (scheme, listed host, literal address); hostnames are checked again when resolved. */
function checkUrl(url: URL, what: string, listed: boolean): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refused(what, `scheme ${url.protocol} is not allowed`, url);
  if (url.protocol === 'http:' && !listed) throw refused(what, 'plain http to a host not listed', url);
  if (url.username || url.password) throw refused(what, 'credentials in the link', url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && !listed && !isPublicAddress(host)) throw refused(what, 'a private or local address', url);
}

interface OnceResult {
  readonly status: number;
  readonly bytes: Uint8Array;
  readonly location?: string;
}

function requestOnce(url: URL, req: WorkerRequest, policy: WorkerUrlPolicy): Promise<OnceResult> {
  const listed = isListedHost(url, policy.allowedHosts);
  checkUrl(url, req.what, listed);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let refusal: NarratorError | undefined;
  // For a hostname the check runs in the socket's own lookup: the address checked is the address connected to.
  const lookup: net.LookupFunction | undefined =
    net.isIP(host) || listed
      ? undefined
      : (hostname, options, callback) => {
          dns.lookup(hostname, { all: true, family: options.family, hints: options.hints }, (err, addresses) => {
            if (err) return callback(err, '', 0);
            const bad = addresses.find((a) => !isPublicAddress(a.address));
            if (bad || addresses.length === 0) {
              refusal = refused(req.what, 'the name resolves to a private or local address', url);
              return callback(refusal, '', 0);
            }
            if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
            callback(null, addresses[0]!.address, addresses[0]!.family);
          });
        };
  const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers: Record<string, string> = { accept: '*/*' };
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.byteLength);
  }
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<OnceResult>((resolve, reject) => {
    let settled = false;
    const fail = (err: NarratorError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      request.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(network(req.what, `no answer within ${Math.round(req.timeoutMs / 1000)} s`)), req.timeoutMs);
    const onAbort = () => fail(abortError(req.signal!));
    const request = mod.request(url, { method: req.method, headers, lookup, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location) {
        res.destroy();
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        return resolve({ status, bytes: new Uint8Array(), location });
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > policy.maxBytes) return fail(tooLarge(policy.maxBytes));
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (part: Buffer) => {
        size += part.byteLength;
        if (size > policy.maxBytes) return fail(tooLarge(policy.maxBytes));
        parts.push(part);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        const all = Buffer.concat(parts);
        resolve({ status, bytes: new Uint8Array(all.buffer, all.byteOffset, all.byteLength) });
      });
      res.on('error', (err) => fail(network(req.what, describe(err))));
    });
    request.on('error', (err) => fail(refusal ?? network(req.what, describe(err))));
    if (req.signal) {
      if (req.signal.aborted) return onAbort();
      req.signal.addEventListener('abort', onAbort, { once: true });
    }
    request.end(body);
  });
}

function network(what: string, why: string): NarratorError {
  return new NarratorError('transient', 'network', `Could not reach the TTS worker's ${what} (${why}).`);
}

function describe(err: unknown): string {
  const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : undefined;
  return code ? `network error ${code}` : 'network error';
}
