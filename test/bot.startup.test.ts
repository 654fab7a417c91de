/**
 * `npm start` as a new user meets it: the real entry point in a child process (no `.env` around), with no token,
 * a bad setting, a token Discord rejects, and an unreachable Discord — each ends with a message saying what to
 * do and the documented exit code, never a stack trace.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpServer, sendJson } from './support/httpServer.js';
import { runBot } from './support/runBot.js';

describe('npm start', { concurrency: 4 }, () => {
  test('without DISCORD_TOKEN: explains how to configure the bot, exit 2', async () => {
    const run = await runBot({});
    assert.equal(run.code, 2);
    assert.match(run.stderr, /DISCORD_TOKEN is not set/);
    assert.match(run.stderr, /discord\.com\/developers\/applications/);
    assert.match(run.stderr, /\.env/);
    assert.match(run.stderr, /README/);
    assert.doesNotMatch(run.stderr, /\bat .*\.ts:\d+/, 'no stack trace');
  });

  test('with a bad setting: names it, exit 2', async () => {
    const run = await runBot({ DISCORD_TOKEN: 'x'.repeat(30), DEFAULT_SPEED: '9' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /DEFAULT_SPEED/);
    assert.doesNotMatch(run.stderr, /x{30}/, 'the token is never echoed');
  });

  test('with a token Discord rejects (401): says so, exit 2', async () => {
    const server = await startHttpServer((req, res) => {
      sendJson(res, req.url?.includes('/gateway/bot') ? 401 : 404, { message: '401: Unauthorized', code: 0 });
    });
    try {
      const token = 'MTIz.fake.token-that-discord-rejects';
      const run = await runBot({ DISCORD_TOKEN: token, DISCORD_API_BASE_URL: `${server.origin}/api` });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /Discord rejected DISCORD_TOKEN/);
      assert.ok(!run.stderr.includes(token) && !run.stdout.includes(token), 'the token is never printed');
    } finally {
      await server.close();
    }
  });

  test('with Discord unreachable: says where it tried, exit 1', async () => {
    const server = await startHttpServer(() => undefined);
    const url = server.origin;
    await server.close(); // a port that was just free: connection refused
    const run = await runBot({ DISCORD_TOKEN: 'MTIz.fake.token', DISCORD_API_BASE_URL: `${url}/api` });
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`Could not connect to Discord at ${url.replace(/[.]/g, '\\.')}/api`));
  });
});
