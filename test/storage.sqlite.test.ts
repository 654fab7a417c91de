/**
 * Storage on SQLite (the default engine): the shared contract (test/support/storageSuite.ts, incl. the two-process
 * race on one file), then what only a file database can get wrong — the folder created on first start, WAL, an
 * unwritable folder, a bad or unknown URL, a schema newer than the code, and a database that goes away while the
 * bot runs (file removed, connection closed) → every call refuses with storage_unavailable instead of passing
 * without limits.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { NarratorError } from '../src/services/errors.js';
import { openStorage, SCHEMA_VERSION } from '../src/services/storage/index.js';
import { MIGRATIONS } from '../src/services/storage/schema.js';
import { runWorkersTogether, storageSuite } from './support/storageSuite.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'narrator-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => path.join(root, `db${++n}`, 'narrator.db');

storageSuite({ name: 'sqlite', fresh: async () => `sqlite:${freshFile()}` });

const isConfig = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof NarratorError, `expected a NarratorError, got ${String(e)}`);
  assert.equal(e.kind, 'config');
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message)}`);
  return true;
};

const isUnavailable = (e: unknown) => {
  assert.ok(e instanceof NarratorError, `expected a NarratorError, got ${String(e)}`);
  assert.equal(e.kind, 'transient');
  assert.equal(e.code, 'storage_unavailable');
  return true;
};

describe('sqlite specifics', () => {
  test('first start creates the folder and a WAL database; sqlite::memory: works too', async () => {
    const file = path.join(root, 'first', 'nested', 'narrator.db');
    assert.equal(existsSync(path.dirname(file)), false);
    const s = await openStorage(`sqlite:${file}`);
    await s.updateSettings('g', { dailyChars: 5 });
    await s.close();
    assert.ok(existsSync(file));
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(raw.prepare('select max(version) v from schema_version').get() !== undefined, true);
    } finally {
      raw.close();
    }
    assert.deepEqual(readdirSync(path.dirname(file)).filter((f) => f.startsWith('.narrator-write-test')), [], 'no probe file left');

    const mem = await openStorage('sqlite::memory:');
    assert.equal((await mem.updateSettings('g', { cooldownSec: 3 })).cooldownSec, 3);
    await mem.close();
  });

  test('an unwritable folder is a one-line config error naming the folder', async () => {
    const blocker = path.join(root, 'not-a-folder');
    writeFileSync(blocker, 'a file where the folder should be');
    await assert.rejects(openStorage(`sqlite:${path.join(blocker, 'narrator.db')}`), isConfig(/cannot write to the folder .*not-a-folder/));
    if (process.getuid?.() !== 0) {
      // (root writes anywhere, so the permission case only runs as a normal user)
      const ro = path.join(root, 'read-only');
      rmSync(ro, { recursive: true, force: true });
      (await import('node:fs')).mkdirSync(ro, { mode: 0o555 });
      await assert.rejects(openStorage(`sqlite:${path.join(ro, 'narrator.db')}`), isConfig(/cannot write to the folder/));
    }
  });

  test('a folder that cannot be created, even for root (under /proc), is a config error, not a hang', { timeout: 20_000 }, async () => {
    // Node's recursive mkdir never returns there: the bot would hang at start instead of exiting 2.
    await assert.rejects(openStorage('sqlite:/proc/narrator-test/deeper/narrator.db'), isConfig(/cannot write to the folder \/proc\/narrator-test/));
  });

  test('a file that is not a database is a one-line config error', async () => {
    const file = path.join(root, 'garbage.db');
    writeFileSync(file, 'this is not sqlite '.repeat(100));
    await assert.rejects(openStorage(`sqlite:${file}`), isConfig(/garbage\.db/));
  });

  test('bad and unknown URLs are one-line config errors that never quote a password', async () => {
    await assert.rejects(openStorage('mysql://root:hunter22@db/narrator'), isConfig(/unknown scheme "mysql:"/));
    await assert.rejects(openStorage('narrator.db'), isConfig(/must start with sqlite: or postgres/));
    await assert.rejects(openStorage('sqlite:'), isConfig(/needs a file path/));
    await assert.rejects(openStorage('postgres://user:hunter22@'), (e: unknown) => isConfig(/DATABASE_URL/)(e) && !(e as Error).message.includes('hunter22'));
  });

  test('a database whose schema is newer than the code is refused at start, and left untouched', async () => {
    const file = freshFile();
    const s = await openStorage(`sqlite:${file}`);
    await s.updateSettings('g', { dailyChars: 77 });
    await s.close();
    const raw = new BetterSqlite3(file);
    raw.prepare('insert into schema_version (version, applied_at) values (?, ?)').run(SCHEMA_VERSION + 1, Date.now());
    raw.close();
    await assert.rejects(openStorage(`sqlite:${file}`), isConfig(new RegExp(`schema is version ${SCHEMA_VERSION + 1}, newer than this Narrator's ${SCHEMA_VERSION}`)));
    const check = new BetterSqlite3(file, { readonly: true });
    try {
      assert.deepEqual(check.prepare('select daily_chars from guild_settings').get(), { daily_chars: 77 });
    } finally {
      check.close();
    }
  });

  test('two processes opening a new file at once: migrated exactly once, both start', async () => {
    const file = freshFile();
    const runs = await runWorkersTogether(`sqlite:${file}`, 'g', [0, 0], 1, Date.now());
    assert.deepEqual(runs, [{ passed: 0, refused: 0 }, { passed: 0, refused: 0 }]);
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      assert.deepEqual(raw.prepare('select version from schema_version order by version').all(), MIGRATIONS.map((m) => ({ version: m.version })), 'migrated exactly once');
    } finally {
      raw.close();
    }
  });

  test('the database file removed while running: every call refuses with storage_unavailable (never "no limits")', async () => {
    const file = freshFile();
    const s = await openStorage(`sqlite:${file}`);
    await s.updateSettings('g', { dailyChars: 300 });
    rmSync(path.dirname(file), { recursive: true, force: true });
    await assert.rejects(s.reserve({ guildId: 'g', userId: 'u', charsAsked: 1, charsToSynthesize: 1, chunks: 1, now: Date.now() }), isUnavailable);
    await assert.rejects(s.getSettings('g'), isUnavailable);
    await assert.rejects(s.settle({ narrationId: 'x', outcome: 'completed', charsSynthesized: 1, chunks: 1, cacheHits: 0, gpuSeconds: 0, now: Date.now() }), isUnavailable);
    await s.close();
  });

  test('a closed storage refuses with storage_unavailable', async () => {
    const s = await openStorage(`sqlite:${freshFile()}`);
    await s.close();
    await assert.rejects(s.reserve({ guildId: 'g', userId: 'u', charsAsked: 1, charsToSynthesize: 1, chunks: 1, now: Date.now() }), isUnavailable);
    await s.close(); // idempotent
  });
});
