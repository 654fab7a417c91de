/**
 * Storage on PostgreSQL: a REAL server (test/support/postgres.ts: npm-packaged binaries, 127.0.0.1, started once for
 * this file, stopped and removed at the end) runs the same contract as SQLite (test/support/storageSuite.ts, incl.
 * two processes racing on one server), then what only a server can get wrong: unreachable at start (a one-line
 * config error without the password), a schema newer than the code, two processes migrating at once, and the server
 * going away while the bot runs → storage_unavailable, never "no limits".
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { NarratorError } from '../src/services/errors.js';
import { openStorage, SCHEMA_VERSION } from '../src/services/storage/index.js';
import { MIGRATIONS } from '../src/services/storage/schema.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { runWorkersTogether, storageSuite } from './support/storageSuite.js';
import { pollUntil } from './support/wait.js';

let server: TestPostgres;
let dbCount = 0;

before(async () => {
  server = await startPostgres();
  process.stderr.write(`# postgres started in ${server.startupMs} ms on port ${server.port}\n`);
});
after(async () => {
  await server?.stop();
});

const fresh = async () => server.createDatabase(`t${++dbCount}`);

storageSuite({ name: 'postgres', fresh });

const isConfig = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof NarratorError, `expected a NarratorError, got ${String(e)}`);
  assert.equal(e.kind, 'config');
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message)}`);
  assert.ok(!e.message.includes(server.password), 'the password never appears');
  return true;
};

describe('postgres specifics', () => {
  test('unreachable at start: a one-line config error naming host and port, never the password', async () => {
    // A port nothing listens on (the server's own port + 1 is free or at least not Postgres-with-this-password).
    const closedPort = await new Promise<number>((resolve) => {
      import('node:net').then(({ createServer }) => {
        const srv = createServer().listen(0, '127.0.0.1', () => {
          const p = (srv.address() as { port: number }).port;
          srv.close(() => resolve(p));
        });
      });
    });
    const url = `postgres://postgres:${server.password}@127.0.0.1:${closedPort}/narrator`;
    await assert.rejects(openStorage(url, { connectTimeoutMs: 2000 }), isConfig(new RegExp(`cannot reach Postgres at 127\\.0\\.0\\.1:${closedPort}/narrator`)));
  });

  test('a wrong password is refused at start with a one-line config error', async () => {
    const url = server.url.replace(server.password, 'wrong-password');
    await assert.rejects(openStorage(url), isConfig(/cannot reach Postgres .*password authentication failed/));
  });

  test('a database whose schema is newer than the code is refused at start', async () => {
    const url = await fresh();
    const s = await openStorage(url);
    await s.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('insert into schema_version (version, applied_at) values ($1, $2)', [SCHEMA_VERSION + 1, Date.now()]);
    await client.end();
    await assert.rejects(openStorage(url), isConfig(new RegExp(`schema is version ${SCHEMA_VERSION + 1}, newer than this Narrator's ${SCHEMA_VERSION}`)));
  });

  test('two processes starting at once on a new database: migrated exactly once, both start', async () => {
    const url = await fresh();
    const runs = await runWorkersTogether(url, 'g', [0, 0], 1, Date.now());
    assert.deepEqual(runs, [{ passed: 0, refused: 0 }, { passed: 0, refused: 0 }]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('select version from schema_version order by version');
    await client.end();
    assert.deepEqual(rows, MIGRATIONS.map((m) => ({ version: m.version })));
  });

  // Last: it kills the server.
  test('the server goes away while running: calls refuse with storage_unavailable, and the process does not crash', async () => {
    const url = await fresh();
    const s = await openStorage(url, { connectTimeoutMs: 2000 });
    await s.updateSettings('g', { dailyChars: 300 });
    await server.kill();
    const isUnavailable = (e: unknown) => {
      assert.ok(e instanceof NarratorError, `expected a NarratorError, got ${String(e)}`);
      assert.equal(e.kind, 'transient');
      assert.equal(e.code, 'storage_unavailable');
      assert.ok(!e.message.includes(server.password) && !(e.detail ?? '').includes(server.password));
      return true;
    };
    await assert.rejects(s.reserve({ guildId: 'g', userId: 'u', charsAsked: 1, charsToSynthesize: 1, chunks: 1, now: Date.now() }), isUnavailable);
    await assert.rejects(s.getSettings('g'), isUnavailable);
    await s.close();
  });

  test('the server dies mid-transaction: connections in use fail their callers, nothing escapes as an uncaught exception', async () => {
    // The pool listens for errors only on idle clients; a checked-out one (inside `reserve`'s locked transaction)
    // losing its server emitted 'error' with no listener: 5 uncaught exceptions in 8 loops before the fix. node:test
    // fails a test on an uncaught exception, so this one fails without the per-client listener.
    await server.stop();
    server = await startPostgres();
    const url = await fresh();
    const s = await openStorage(url, { connectTimeoutMs: 2000 });
    let stop = false;
    let succeeded = 0;
    const failedLoops = new Set<number>();
    const loop = async (g: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await s.reserve({ guildId: `g${g}`, userId: `u${i}`, charsAsked: 1, charsToSynthesize: 1, chunks: 1, now: Date.now() });
          if (r.ok) await s.settle({ narrationId: r.narrationId, outcome: 'completed', charsSynthesized: 1, chunks: 1, cacheHits: 0, gpuSeconds: 0, now: Date.now() });
          succeeded++;
        } catch (err) {
          assert.ok(err instanceof NarratorError && err.code === 'storage_unavailable', `expected storage_unavailable, got ${String(err)}`);
          failedLoops.add(g);
          stop = failedLoops.size === 8;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    };
    const loops = Array.from({ length: 8 }, (_, g) => loop(g));
    // Transactions in full flow first, then the kill lands in the middle of some of them.
    await pollUntil(() => (succeeded >= 40 ? true : undefined), 20_000, 'transactions in flight');
    await server.kill();
    await Promise.all(loops);
    assert.equal(failedLoops.size, 8, 'every loop saw the database go away');
    await s.close();
  });
});
