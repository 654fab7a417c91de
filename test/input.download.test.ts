/**
 * The bounded attachment download (src/services/input/download.ts) against a local http server: a declared size
 * over the limit is refused with no request at all; a lying declared size, a Content-Length over the limit and a
 * chunked body without any length are all cut off at the limit (the server sees the connection dropped long
 * before it finished); a slow server hits the deadline; untrusted hosts and redirects elsewhere are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { attachmentOriginsFor, downloadAttachment, isTrustedAttachmentUrl } from '../src/services/input/download.js';
import { TextFileError, type TextFileProblem } from '../src/services/input/textFile.js';
import { startHttpServer, type StartedServer } from './support/httpServer.js';
import { pollUntil } from './support/wait.js';

const LIMIT = 64 * 1024;

async function refusal(promise: Promise<unknown>): Promise<TextFileProblem> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TextFileError, `a TextFileError, got ${String(err)}`);
    return err.problem;
  }
  assert.fail('expected a refusal');
}

describe('downloadAttachment', () => {
  let server: StartedServer;
  const requests: string[] = [];
  /** Bytes each response managed to write before the client went away (chunked routes). */
  const written = new Map<string, number>();
  /** Paths whose response socket has closed (the client hung up, or the body ended). */
  const closed = new Set<string>();
  const pending = new Set<NodeJS.Timeout>();

  /** Writes `total` bytes in 16 KiB chunks without a Content-Length, counting what got through. */
  function streamChunked(res: ServerResponse, path: string, total: number, withLength?: number): void {
    res.writeHead(200, { 'content-type': 'text/plain', ...(withLength !== undefined ? { 'content-length': String(withLength) } : {}) });
    let sent = 0;
    written.set(path, 0);
    const step = () => {
      if (res.destroyed || sent >= total) {
        res.end();
        return;
      }
      const n = Math.min(16 * 1024, total - sent);
      sent += n;
      written.set(path, sent);
      // Waits for the socket between chunks, so a client that stopped reading is seen as gone.
      res.write(Buffer.alloc(n, 0x61), () => setImmediate(step));
    };
    res.on('close', () => {
      written.set(path, sent);
      closed.add(path);
    });
    step();
  }

  before(async () => {
    server = await startHttpServer((req, res) => {
      const path = req.url ?? '';
      requests.push(path);
      if (path === '/ok.txt') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('Xin chào');
      } else if (path === '/lying.txt') {
        // Declared small, serves 20× the limit with an honest Content-Length.
        res.writeHead(200, { 'content-length': String(LIMIT * 20) });
        res.end(Buffer.alloc(LIMIT * 20, 0x61));
      } else if (path === '/chunked.txt') {
        streamChunked(res, path, LIMIT * 256);
      } else if (path === '/exact.txt') {
        streamChunked(res, path, LIMIT);
      } else if (path === '/slow.txt') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('Xin ');
        const t = setTimeout(() => res.end('chào'), 5_000);
        pending.add(t);
        res.on('close', () => clearTimeout(t));
      } else if (path === '/redirect-elsewhere') {
        res.writeHead(302, { location: 'https://example.com/x.txt' });
        res.end();
      } else if (path === '/redirect-here') {
        res.writeHead(302, { location: '/ok.txt' });
        res.end();
      } else if (path === '/missing.txt') {
        res.writeHead(404);
        res.end('no');
      } else {
        res.writeHead(500);
        res.end();
      }
    });
  });

  after(async () => {
    for (const t of pending) clearTimeout(t);
    await server.close();
  });

  const get = (path: string, declaredSize = 10, timeoutMs?: number) =>
    downloadAttachment({ url: `${server.origin}${path}`, declaredSize, maxBytes: LIMIT, extraOrigins: [server.origin], ...(timeoutMs ? { timeoutMs } : {}) });

  test('a small file comes back whole', async () => {
    assert.equal(Buffer.from(await get('/ok.txt')).toString(), 'Xin chào');
  });

  test('a declared size over the limit is refused before any request', async () => {
    const before = requests.length;
    assert.deepEqual(await refusal(get('/ok.txt', LIMIT + 1)), { kind: 'too_large', limitBytes: LIMIT, sizeBytes: LIMIT + 1 });
    assert.equal(requests.length, before, 'no request was made');
  });

  test('a declared size that lies: the Content-Length is checked before the body is read', async () => {
    assert.deepEqual(await refusal(get('/lying.txt', 100)), { kind: 'too_large', limitBytes: LIMIT, sizeBytes: LIMIT * 20 });
  });

  test('a chunked body without any length is cut off as soon as it passes the limit', async () => {
    assert.deepEqual(await refusal(get('/chunked.txt', 100)), { kind: 'too_large', limitBytes: LIMIT });
    // The server wanted to send 256× the limit (16 MiB, more than loopback socket buffers absorb); the client hung
    // up long before. What the server wrote counts those buffers too (the bot reads at its own pace), so it says only
    // that the body was cut off — the client's own bound (the limit plus one piece) is enforced as it reads.
    await pollUntil(() => (closed.has('/chunked.txt') ? true : undefined), 5_000, 'the client to hang up');
    const sent = written.get('/chunked.txt') ?? 0;
    assert.ok(sent < LIMIT * 256, `the server got all ${sent} bytes out: the client never hung up`);
  });

  test('exactly the limit is accepted', async () => {
    assert.equal((await get('/exact.txt', LIMIT)).byteLength, LIMIT);
  });

  test('a slow server hits the deadline', async () => {
    assert.deepEqual(await refusal(get('/slow.txt', 10, 300)), { kind: 'download_timeout' });
  });

  test('an HTTP error is a failed download with its status', async () => {
    assert.deepEqual(await refusal(get('/missing.txt')), { kind: 'download_failed', status: 404 });
  });

  test('redirects: followed within the trusted origins, refused to anywhere else', async () => {
    assert.equal(Buffer.from(await get('/redirect-here')).toString(), 'Xin chào');
    assert.deepEqual(await refusal(get('/redirect-elsewhere')), { kind: 'source' });
  });

  test('untrusted URLs are refused without a request', async () => {
    const before = requests.length;
    const refuse = (url: string) => refusal(downloadAttachment({ url, declaredSize: 1, maxBytes: LIMIT }));
    assert.deepEqual(await refuse(`${server.origin}/ok.txt`), { kind: 'source' }, 'not a configured origin');
    assert.deepEqual(await refuse('http://cdn.discordapp.com/attachments/1/2/a.txt'), { kind: 'source' }, 'http');
    assert.deepEqual(await refuse('https://evil.example/a.txt'), { kind: 'source' });
    assert.deepEqual(await refuse('https://cdn.discordapp.com.evil.example/a.txt'), { kind: 'source' });
    assert.deepEqual(await refuse('not a url'), { kind: 'source' });
    assert.equal(requests.length, before);
  });
});

describe('trusted attachment hosts', () => {
  test('Discord’s CDN over https; the configured API origin only when it is not discord.com', () => {
    assert.ok(isTrustedAttachmentUrl('https://cdn.discordapp.com/attachments/1/2/a.txt?ex=1'));
    assert.ok(isTrustedAttachmentUrl('https://media.discordapp.net/attachments/1/2/a.txt'));
    assert.ok(!isTrustedAttachmentUrl('https://user:pw@cdn.discordapp.com/a.txt'));
    assert.ok(!isTrustedAttachmentUrl('https://cdn.discordapp.com:8443/a.txt'));
    assert.deepEqual(attachmentOriginsFor('https://discord.com/api'), []);
    assert.deepEqual(attachmentOriginsFor('http://127.0.0.1:5555/api'), ['http://127.0.0.1:5555']);
  });
});
