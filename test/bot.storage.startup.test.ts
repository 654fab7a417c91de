/**
 * The bot's start with a database it cannot use (issue 10): an unwritable folder for the SQLite file, or a Postgres
 * that does not answer, ends with one line saying so and exit 2 — which the sharding manager does not respawn (no
 * crash loop) — and never narrates without its limits. A password in DATABASE_URL never reaches the terminal.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBot } from './support/runBot.js';

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
