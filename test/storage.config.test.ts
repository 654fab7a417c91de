/**
 * The storage's two settings in the config: DATABASE_URL (default SQLite file; a bad or unknown URL is one line
 * naming the variable, never echoing the URL, which may hold a password) and GPU_PRICE_PER_SECOND (the RunPod 24 GB
 * price by default).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/services/config.js';
import { NarratorError } from '../src/services/errors.js';
import { DEFAULT_DATABASE_URL } from '../src/services/storage/index.js';

test('defaults: the SQLite file under data/ and the RunPod 24 GB price', () => {
  const c = loadConfig({});
  assert.equal(c.databaseUrl, DEFAULT_DATABASE_URL);
  assert.equal(c.databaseUrl, 'sqlite:data/narrator.db');
  assert.equal(c.gpuPricePerSecond, 0.00019);
});

test('postgres and sqlite URLs are accepted as given; an empty value means the default', () => {
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://bot:s3cret@db.internal:5432/narrator' }).databaseUrl, 'postgres://bot:s3cret@db.internal:5432/narrator');
  assert.equal(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).databaseUrl, 'sqlite::memory:');
  assert.equal(loadConfig({ DATABASE_URL: '  ' }).databaseUrl, DEFAULT_DATABASE_URL);
  assert.equal(loadConfig({ GPU_PRICE_PER_SECOND: '0.0004' }).gpuPricePerSecond, 0.0004);
});

test('a bad DATABASE_URL or price is one line naming the variable, and never echoes the URL', () => {
  for (const [env, re] of [
    [{ DATABASE_URL: 'mysql://root:hunter22@db/narrator' }, /DATABASE_URL uses an unknown scheme "mysql:"/],
    [{ DATABASE_URL: 'hunter22' }, /DATABASE_URL must start with sqlite: or postgres/],
    [{ DATABASE_URL: 'postgres://u:hunter22@' }, /DATABASE_URL /],
    [{ GPU_PRICE_PER_SECOND: '-1' }, /GPU_PRICE_PER_SECOND must be between 0 and 1/],
    [{ GPU_PRICE_PER_SECOND: 'cheap' }, /GPU_PRICE_PER_SECOND must be a number/],
  ] as const) {
    assert.throws(
      () => loadConfig(env),
      (e: unknown) => {
        assert.ok(e instanceof NarratorError && e.kind === 'config');
        assert.match(e.message, re);
        assert.ok(!e.message.includes('hunter22'), e.message);
        assert.equal(e.message.split('\n').length, 2, 'the heading and one line');
        return true;
      },
    );
  }
});
