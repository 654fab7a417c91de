/**
 * `npm start` as a new user meets it: the real entry point in a child process (no `.env` around), with no token,
 * a bad setting, a token Discord rejects, and an unreachable Discord — each ends with a message saying what to
 * do and the documented exit code, never a stack trace.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHttpServer, sendJson } from './support/httpServer.js';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs src/index.ts in an empty directory (so no developer `.env` is read) with exactly `env`. The bound is a hang
 * guard, not a speed check: tsx's start-up alone took 22 s (2.5 s of CPU) on a loaded 2-core machine.
 */
async function runBot(env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  const cwd = await mkdtemp(join(tmpdir(), 'narrator-start-'));
  try {
    return await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', TSX, ENTRY], {
        cwd,
        env: { PATH: process.env.PATH ?? '', CACHE_MAX_MB: '0', LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bot did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

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
