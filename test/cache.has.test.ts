/**
 * AudioCache.has: the cheap "is it on disk now" forecast behind Orchestrator.charsToSynthesize — true for a stored
 * entry, false for a missing, empty (crash before the data reached disk) or evicted one and for a disabled cache, and
 * it neither reads nor changes anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AudioCache } from '../src/services/cache.js';

const key = (text: string) => AudioCache.key({ backend: 'test', voice: 'narrator', speed: 1, text });

test('has: present after set, absent when missing, empty or deleted, and for a disabled cache', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'narrator-cache-has-'));
  try {
    const cache = new AudioCache({ dir, maxBytes: 1024 * 1024 });
    assert.equal(await cache.has(key('a')), false);
    await cache.set(key('a'), new Uint8Array(100).fill(7));
    assert.equal(await cache.has(key('a')), true);
    const file = path.join(dir, key('a').slice(0, 2), `${key('a')}.bin`);
    const before = (await stat(file)).mtimeMs;
    assert.equal(await cache.has(key('a')), true);
    assert.equal((await stat(file)).mtimeMs, before, 'a forecast is not a use: recency unchanged');
    await truncate(file, 0);
    assert.equal(await cache.has(key('a')), false, 'an empty file is no entry');
    await cache.set(key('b'), new Uint8Array(10));
    await cache.delete(key('b'));
    assert.equal(await cache.has(key('b')), false);
    assert.equal(await AudioCache.disabled().has(key('a')), false);
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
});
