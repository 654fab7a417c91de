/**
 * The bot's start with a database it cannot use (issue 10): an unwritable folder for the SQLite file, or a Postgres
 * that does not answer, ends with one line saying so and exit 2 — which the sharding manager does not respawn (no
 * crash loop) — and never narrates without its limits. A password in DATABASE_URL never reaches the terminal.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

describe('npm start with an unusable database', { concurrency: 2 }, () => {
  test('an unwritable folder for the SQLite file: one line, exit 2', async () => {
    // A file where the folder should be: refused even for root (who may write anywhere else).
    const dir = await mkdtemp(join(tmpdir(), 'narrator-db-'));
    await writeFile(join(dir, 'data'), 'not a folder');
    const run = await runBot({ DISCORD_TOKEN: 'x', DATABASE_URL: `sqlite:${join(dir, 'data', 'narrator.db')}` }).finally(() => rm(dir, { recursive: true, force: true }));
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.split('\n').filter((l) => l && !l.startsWith('{'));
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^Could not open the database \(DATABASE_URL\): /);
  });

  test('a Postgres that does not answer: one line without the password, exit 2', async () => {
    const run = await runBot({ DISCORD_TOKEN: 'x', DATABASE_URL: 'postgres://narrator:s3cretpw@127.0.0.1:9/narrator' });
    assert.equal(run.code, 2, run.stderr);
    assert.ok(!run.stderr.includes('s3cretpw'), run.stderr);
    assert.match(run.stderr, /Could not open the database \(DATABASE_URL\): /);
  });
});
