/**
 * AudioCache and SingleFlight against real temporary directories: what ends up on disk (and what does not), what a
 * later lookup or a restarted process sees, and how many times the (GPU) producer actually runs.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { AudioCache } from '../src/services/cache.js';
import { SingleFlight } from '../src/services/singleFlight.js';
import { NarratorError, isNarratorError } from '../src/services/errors.js';
import { createLogger } from '../src/services/log.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'narrator-cache-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (): string => path.join(root, `c${dirCount++}`);

/** Each entry carries a 40-byte integrity header; payloads of 960 bytes make 1000-byte files. */
const HEADER = 40;
const keyOf = (text: string): string => AudioCache.key({ backend: 'runpod:ep1', voice: 'narrator', speed: 0.9, text });
const entryPath = (dir: string, key: string): string => path.join(dir, key.slice(0, 2), `${key}.bin`);
/** A recognisable fake WAV: 'RIFF' then a fill byte derived from the label. */
function audio(label: string, size = 960): Uint8Array {
  const bytes = new Uint8Array(size).fill(label.charCodeAt(label.length - 1));
  bytes.set([0x52, 0x49, 0x46, 0x46]);
  return bytes;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

async function bytesOnDisk(dir: string): Promise<number> {
  let total = 0;
  for (const file of await filesUnder(dir)) total += (await stat(file)).size;
  return total;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function gate<T>() {
  let open!: (value: T) => void;
  let fail!: (err: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('warn', stream), lines };
}

describe('AudioCache.key', () => {
  const base = { backend: 'runpod:ep1', voice: 'narrator', speed: 0.9, text: 'Xin chào' };

  test('is a stable sha256 hex string', () => {
    assert.match(AudioCache.key(base), /^[0-9a-f]{64}$/);
    assert.equal(AudioCache.key(base), AudioCache.key({ ...base }));
  });

  test('changes with each part', () => {
    const keys = new Set([
      AudioCache.key(base),
      AudioCache.key({ ...base, backend: 'flask:http://gpu' }),
      AudioCache.key({ ...base, voice: 'other' }),
      AudioCache.key({ ...base, speed: 1.1 }),
      AudioCache.key({ ...base, text: 'Xin chào bạn' }),
    ]);
    assert.equal(keys.size, 5);
  });

  test('treats equal requests as equal: NFC vs NFD text, float noise in speed', () => {
    assert.equal(AudioCache.key({ ...base, text: 'Xin chào'.normalize('NFD') }), AudioCache.key(base));
    assert.equal(AudioCache.key({ ...base, speed: 0.1 + 0.8 }), AudioCache.key(base));
  });

  test('cannot be forged by moving text between fields', () => {
    assert.notEqual(
      AudioCache.key({ ...base, voice: 'a","b', text: 'c' }),
      AudioCache.key({ ...base, voice: 'a', text: 'b","c' }),
    );
  });

  test('rejects a speed that is not a number', () => {
    assert.throws(() => AudioCache.key({ ...base, speed: Number.NaN }), (err: unknown) => isNarratorError(err, 'user'));
  });
});

describe('AudioCache on disk', () => {
  test('miss, then hit with the same bytes, stored in a two-character fan-out directory and kept across restarts', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    const key = keyOf('một');
    assert.equal(await cache.get(key), undefined);
    await cache.set(key, audio('one'));
    assert.deepEqual(await cache.get(key), audio('one'));
    assert.ok(await exists(entryPath(dir, key)));

    const restarted = new AudioCache({ dir, maxBytes: 1_000_000 });
    assert.deepEqual(await restarted.get(key), audio('one'));
    assert.equal(restarted.totalBytes, 960 + HEADER);
  });

  test('getOrCreate produces on a miss, stores, and serves the next call from disk', async () => {
    const cache = new AudioCache({ dir: freshDir(), maxBytes: 1_000_000 });
    let produced = 0;
    const produce = async (): Promise<Uint8Array> => {
      produced++;
      return audio('x');
    };
    const first = await cache.getOrCreate(keyOf('hai'), produce);
    const second = await cache.getOrCreate(keyOf('hai'), produce);
    assert.deepEqual([first.hit, second.hit, produced], [false, true, 1]);
    assert.deepEqual(second.bytes, audio('x'));
  });

  test('evicts least recently used entries first, a hit counting as a use', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 5000 });
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].map(keyOf);
    for (const key of keys.slice(0, 5)) await cache.set(key, audio(key));
    assert.equal(await bytesOnDisk(dir), 5000);
    assert.ok(await cache.get(keys[0]!)); // k1 is now the most recently used

    await cache.set(keys[5]!, audio('k6'));
    // 6000 > 5000: evicted down to ≤ 4500, oldest first → k2 then k3.
    const present = await Promise.all(keys.map(async (k) => (await cache.get(k)) !== undefined));
    assert.deepEqual(present, [true, false, false, true, true, true]);
    assert.equal(await bytesOnDisk(dir), 4000);
  });

  test('keeps the total under the cap over many writes, and its count matches the disk', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 20_000 });
    for (let i = 0; i < 120; i++) {
      await cache.set(keyOf(`chunk ${i}`), audio(`c${i}`, 500 + (i % 7) * 200));
      const onDisk = await bytesOnDisk(dir);
      assert.ok(onDisk <= 20_000, `after write ${i}: ${onDisk} bytes on disk`);
      assert.equal(cache.totalBytes, onDisk);
    }
    // The most recent writes survive.
    assert.ok(await cache.get(keyOf('chunk 119')));
    assert.ok(await cache.get(keyOf('chunk 118')));
    assert.equal(await cache.get(keyOf('chunk 0')), undefined);
  });

  test('never evicts the entry just written, even when it alone exceeds the cap', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1000 });
    await cache.set(keyOf('small'), audio('s', 100));
    await cache.set(keyOf('big'), audio('b', 3000));
    assert.deepEqual(await cache.get(keyOf('big')), audio('b', 3000));
    assert.equal(await cache.get(keyOf('small')), undefined);
  });

  test('a restart learns recency from file times and trims to a smaller cap, oldest first', async () => {
    const dir = freshDir();
    const first = new AudioCache({ dir, maxBytes: 1_000_000 });
    const keys = ['old', 'middle', 'new'].map(keyOf);
    for (const key of keys) await first.set(key, audio(key));
    // Same-millisecond writes would tie: give each entry a distinct, known time.
    await Promise.all(keys.map((key, i) => utimes(entryPath(dir, key), 1_000_000 + i * 60, 1_000_000 + i * 60)));

    // 3000 bytes > 2300: trimmed to ≤ 90% (2070) by dropping the oldest entry only.
    const smaller = new AudioCache({ dir, maxBytes: 2300 });
    assert.equal(await smaller.get(keys[0]!), undefined);
    assert.ok(await smaller.get(keys[1]!));
    assert.ok(await smaller.get(keys[2]!));
    assert.equal(await bytesOnDisk(dir), 2000);
  });

  test('a damaged entry is a miss, is deleted, and is replaced by the next getOrCreate', async () => {
    const dir = freshDir();
    const { log, lines } = captureLogger();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000, log });
    const garbage = keyOf('garbage');
    const truncated = keyOf('truncated');
    const empty = keyOf('empty');
    for (const key of [garbage, truncated, empty]) await cache.set(key, audio('good'));
    await writeFile(entryPath(dir, garbage), 'this is not audio at all, just some bytes that happen to be here');
    await truncate(entryPath(dir, truncated), 600);
    await truncate(entryPath(dir, empty), 0);

    for (const key of [garbage, truncated, empty]) {
      assert.equal(await cache.get(key), undefined);
      assert.equal(await exists(entryPath(dir, key)), false);
    }
    assert.equal(lines.filter((l) => l.includes('corrupt entry')).length, 3);
    assert.equal(cache.totalBytes, 0);

    const again = await cache.getOrCreate(truncated, async () => audio('fresh'));
    assert.equal(again.hit, false);
    assert.deepEqual(await cache.get(truncated), audio('fresh'));
  });

  test('an entry that cannot be read as a file is a miss and is removed', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    const key = keyOf('a directory');
    await mkdir(entryPath(dir, key), { recursive: true });
    assert.equal(await cache.get(key), undefined);
    assert.equal(await exists(entryPath(dir, key)), false);
  });

  test('writes are atomic: concurrent writes leave only complete entries and no temporary files', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 10_000_000 });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) writes.push(cache.set(keyOf(`w${i % 10}`), audio(`w${i}`, 20_000 + i)));
    await Promise.all(writes);
    const files = await filesUnder(dir);
    assert.equal(files.length, 10);
    assert.ok(files.every((f) => f.endsWith('.bin')));
    for (let k = 0; k < 10; k++) {
      const bytes = await cache.get(keyOf(`w${k}`));
      assert.ok(bytes, `w${k} readable`);
      // One of the complete payloads written under that key (the last rename wins), never a mix.
      const candidates = [k, k + 10, k + 20, k + 30].map((i) => audio(`w${i}`, 20_000 + i));
      assert.ok(candidates.some((c) => Buffer.from(c).equals(bytes)));
    }
    assert.equal(cache.totalBytes, await bytesOnDisk(dir));
  });

  test('temporary files left by a crash are removed on first use; a recent one (another process writing) is kept', async () => {
    const dir = freshDir();
    const key = keyOf('crash');
    await mkdir(path.dirname(entryPath(dir, key)), { recursive: true });
    const stray = `${entryPath(dir, key)}.1234-abcdef.tmp`;
    const inProgress = `${entryPath(dir, key)}.5678-012345.tmp`;
    await writeFile(stray, 'half a file');
    await writeFile(inProgress, 'being written by another process');
    const anHourAgo = Date.now() / 1000 - 3600;
    await utimes(stray, anHourAgo, anHourAgo);
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    assert.equal(await cache.get(key), undefined);
    assert.equal(await exists(stray), false);
    assert.equal(await exists(inProgress), true);
    assert.equal(cache.totalBytes, 0, 'a temporary file is not an entry');
  });

  test('a failed write throws a config error and leaves no temporary file', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    const key = keyOf('blocked');
    // A non-empty directory where the entry should go makes the final rename fail.
    await mkdir(path.join(entryPath(dir, key), 'inner'), { recursive: true });
    await assert.rejects(cache.set(key, audio('b')), (err: unknown) => isNarratorError(err, 'config') && err.code === 'cache_write');
    const left = await readdir(path.dirname(entryPath(dir, key)));
    assert.deepEqual(left, [`${key}.bin`]);
  });

  test('getOrCreate still returns the audio, with a warning, when it cannot be stored', async () => {
    const dir = freshDir();
    const { log, lines } = captureLogger();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000, log });
    const key = keyOf('unstorable');
    // A regular file where the entry's fan-out directory should be: nothing can be written under it.
    await writeFile(path.dirname(entryPath(dir, key)), 'in the way');
    const result = await cache.getOrCreate(key, async () => audio('u'));
    assert.deepEqual(result.bytes, audio('u'));
    await cache.settled(); // the write happens after the audio is handed back
    assert.ok(lines.some((l) => l.includes('could not store')));
  });

  test('a cache directory that cannot be created is a clear config error at construction', () => {
    const dir = freshDir();
    rmSync(dir, { recursive: true, force: true });
    const file = `${dir}-file`;
    // A regular file in the path: mkdir fails even for root.
    return writeFile(file, 'x').then(() => {
      assert.throws(
        () => new AudioCache({ dir: path.join(file, 'cache'), maxBytes: 1000 }),
        (err: unknown) => isNarratorError(err, 'config') && err.code === 'cache_dir' && err.message.includes('CACHE_DIR'),
      );
    });
  });

  test('rejects a negative or fractional size, and keys that are not cache keys', async () => {
    assert.throws(() => new AudioCache({ dir: freshDir(), maxBytes: -1 }), (err: unknown) => isNarratorError(err, 'config'));
    assert.throws(() => new AudioCache({ dir: freshDir(), maxBytes: 1.5 }), (err: unknown) => isNarratorError(err, 'config'));
    const cache = new AudioCache({ dir: freshDir(), maxBytes: 1000 });
    await assert.rejects(cache.get('../../etc/passwd'), (err: unknown) => isNarratorError(err) && err.code === 'bad_cache_key');
  });

  test('maxBytes 0 and AudioCache.disabled() never touch disk but still share concurrent work', async () => {
    const dir = freshDir();
    for (const cache of [new AudioCache({ dir, maxBytes: 0 }), AudioCache.disabled()]) {
      assert.equal(cache.enabled, false);
      let produced = 0;
      const produce = async (): Promise<Uint8Array> => {
        produced++;
        await new Promise((r) => setImmediate(r));
        return audio('d');
      };
      const [a, b] = await Promise.all([cache.getOrCreate(keyOf('d'), produce), cache.getOrCreate(keyOf('d'), produce)]);
      assert.equal(produced, 1);
      assert.deepEqual([a.hit, a.shared, b.hit, b.shared], [false, false, false, true]);
      const c = await cache.getOrCreate(keyOf('d'), produce);
      assert.equal(c.hit, false);
      assert.equal(produced, 2);
      assert.equal(await cache.get(keyOf('d')), undefined);
    }
    assert.equal(await exists(dir), false);
  });
});

describe('AudioCache: delete, failed scans, other processes', () => {
  test('delete removes one entry (the next lookup is a miss and produces again); deleting a missing entry is fine', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    const bad = keyOf('undecodable');
    const good = keyOf('fine');
    await cache.set(bad, audio('bad'));
    await cache.set(good, audio('good'));
    await cache.delete(bad);
    assert.equal(await exists(entryPath(dir, bad)), false);
    assert.equal(cache.totalBytes, 960 + HEADER);
    let produced = 0;
    const again = await cache.getOrCreate(bad, async () => (produced++, audio('new')));
    assert.deepEqual([again.hit, produced], [false, 1]);
    assert.deepEqual(await cache.get(good), audio('good'));
    await cache.delete(keyOf('never stored'));
    await AudioCache.disabled().delete(bad);
  });

  test('a failed first scan is retried after a backoff, not remembered forever; meanwhile narration still gets audio', async () => {
    const dir = freshDir();
    let clock = 0;
    const { log, lines } = captureLogger();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000, log, now: () => clock });
    const key = keyOf('after the outage');
    // The folder is broken after start-up (here: replaced by a file, so it cannot be listed).
    rmSync(dir, { recursive: true, force: true });
    await writeFile(dir, 'not a directory');
    await assert.rejects(cache.get(key), (err: unknown) => isNarratorError(err, 'config') && err.code === 'cache_dir');
    const during = await cache.getOrCreate(key, async () => audio('produced'));
    assert.deepEqual([during.hit, during.bytes], [false, audio('produced')]);
    assert.ok(lines.some((l) => l.includes('producing the chunk without the cache')));

    // Repaired, but within the backoff: no rescan yet (a folder that stays broken is not rescanned on every call).
    rmSync(dir, { force: true });
    await mkdir(dir);
    await assert.rejects(cache.get(key), (err: unknown) => isNarratorError(err, 'config'));
    clock += 1000;
    await cache.set(key, audio('stored'));
    assert.deepEqual(await cache.get(key), audio('stored'));
    assert.equal((await cache.getOrCreate(key, async () => audio('x'))).hit, true);
  });

  test('the backoff grows while the folder stays broken', async () => {
    const dir = freshDir();
    let clock = 0;
    const cache = new AudioCache({ dir, maxBytes: 1_000_000, now: () => clock });
    rmSync(dir, { recursive: true, force: true });
    await writeFile(dir, 'not a directory');
    await assert.rejects(cache.get(keyOf('a')));
    clock = 1000; // first retry: fails again, next one only 2 s later
    await assert.rejects(cache.get(keyOf('a')));
    rmSync(dir, { force: true });
    await mkdir(dir);
    clock = 2999;
    await assert.rejects(cache.get(keyOf('a')));
    clock = 3000;
    assert.equal(await cache.get(keyOf('a')), undefined);
  });

  test('two caches on one folder: the cap counts both, and an entry evicted by the other is a plain miss', async () => {
    const dir = freshDir();
    const a = new AudioCache({ dir, maxBytes: 6000 });
    const b = new AudioCache({ dir, maxBytes: 6000 });
    for (let i = 0; i < 5; i++) {
      await a.set(keyOf(`a${i}`), audio(`a${i}`));
      await b.set(keyOf(`b${i}`), audio(`b${i}`));
      const onDisk = await bytesOnDisk(dir);
      assert.ok(onDisk <= 6000, `after write ${i}: ${onDisk} bytes on disk for a cap of 6000`);
    }
    // Least recently used first across both: the oldest of a's entries went, the newest of each stayed.
    assert.equal(await a.get(keyOf('a0')), undefined);
    assert.deepEqual(await a.get(keyOf('b4')), audio('b4'));
    assert.deepEqual(await b.get(keyOf('a4')), audio('a4'));
  });

  test("a hit in one process counts as a use for the other's eviction", async () => {
    const dir = freshDir();
    const a = new AudioCache({ dir, maxBytes: 5000 });
    const b = new AudioCache({ dir, maxBytes: 5000 });
    const keys = ['x0', 'x1', 'x2', 'x3', 'x4'].map(keyOf);
    for (const key of keys) await a.set(key, audio(key));
    // Distinct, old use times (same-millisecond writes would tie), x0 the oldest.
    await Promise.all(keys.map((key, i) => utimes(entryPath(dir, key), 1_000_000 + i * 60, 1_000_000 + i * 60)));
    assert.ok(await b.get(keys[0]!)); // another process uses x0 now
    await a.set(keyOf('x5'), audio('x5')); // 6000 > 5000: a evicts down to 4500
    assert.ok(await exists(entryPath(dir, keys[0]!)), 'x0 was just used by b');
    assert.equal(await exists(entryPath(dir, keys[1]!)), false);
    assert.equal(await exists(entryPath(dir, keys[2]!)), false);
    assert.equal(await bytesOnDisk(dir), 4000);
  });
});

describe('AudioCache.getOrCreate single-flight', () => {
  test('five identical concurrent calls run the producer once and all get the audio', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    const release = gate<Uint8Array>();
    const started = gate<void>();
    let produced = 0;
    const produce = (): Promise<Uint8Array> => {
      produced++;
      started.open();
      return release.promise;
    };
    const key = keyOf('same text');
    const calls = Array.from({ length: 5 }, () => cache.getOrCreate(key, produce));
    // The job is running (not merely "one event-loop turn later", which a slow disk look-up can outlast).
    await started.promise;
    release.open(audio('shared'));
    const results = await Promise.all(calls);
    assert.equal(produced, 1);
    assert.deepEqual(
      results.map((r) => r.shared),
      [false, true, true, true, true],
    );
    for (const r of results) assert.deepEqual(r.bytes, audio('shared'));
    // Fresh audio is handed back before it is written (off the first-audio path): wait for the write.
    await cache.settled();
    assert.equal((await filesUnder(dir)).length, 1);
  });

  test('one waiter aborting leaves alone; the producer continues for the others', async () => {
    const cache = new AudioCache({ dir: freshDir(), maxBytes: 1_000_000 });
    const release = gate<Uint8Array>();
    const started = gate<AbortSignal>();
    const produce = (signal: AbortSignal): Promise<Uint8Array> => {
      started.open(signal);
      return release.promise;
    };
    const key = keyOf('one leaves');
    const quitter = new AbortController();
    const stays1 = cache.getOrCreate(key, produce);
    const leaves = cache.getOrCreate(key, produce, { signal: quitter.signal });
    const stays2 = cache.getOrCreate(key, produce, { signal: new AbortController().signal });
    const producerSignal = await started.promise;

    const reason = new NarratorError('aborted', 'stopped', 'Stopped.');
    quitter.abort(reason);
    await assert.rejects(leaves, (err: unknown) => err === reason);
    assert.equal(producerSignal.aborted, false);

    release.open(audio('kept'));
    assert.deepEqual((await stays1).bytes, audio('kept'));
    assert.deepEqual((await stays2).bytes, audio('kept'));
    assert.equal((await cache.getOrCreate(key, produce)).hit, true);
  });

  test('when every waiter aborts, the producer is cancelled and nothing is stored', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    const started = gate<AbortSignal>();
    let produced = 0;
    const produce = (signal: AbortSignal): Promise<Uint8Array> => {
      produced++;
      started.open(signal);
      // Like a backend: gives up when its signal aborts.
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    };
    const key = keyOf('everyone leaves');
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const calls = controllers.map((c) => cache.getOrCreate(key, produce, { signal: c.signal }));
    const outcomes = Promise.allSettled(calls);
    const producerSignal = await started.promise;
    controllers[0]!.abort();
    controllers[1]!.abort();
    assert.equal(producerSignal.aborted, false);
    controllers[2]!.abort();
    assert.equal(producerSignal.aborted, true);
    for (const outcome of await outcomes) {
      assert.ok(outcome.status === 'rejected' && isNarratorError(outcome.reason, 'aborted'));
    }
    await cache.settled();
    assert.equal((await filesUnder(dir)).length, 0);

    // The next call starts afresh rather than joining the cancelled run.
    const next = await cache.getOrCreate(key, async () => audio('retry'));
    assert.deepEqual([next.hit, next.shared, produced], [false, false, 1]);
  });

  test('a producer failure rejects every waiter and is not cached', async () => {
    const dir = freshDir();
    const cache = new AudioCache({ dir, maxBytes: 1_000_000 });
    const failure = new NarratorError('permanent', 'worker_failed', 'The worker failed.');
    const broken = gate<Uint8Array>();
    const started = gate<void>();
    let produced = 0;
    const calls = Array.from({ length: 3 }, () =>
      cache.getOrCreate(keyOf('flaky'), () => {
        produced++;
        started.open();
        return broken.promise;
      }),
    );
    const outcomes = Promise.allSettled(calls);
    await started.promise;
    broken.fail(failure);
    for (const outcome of await outcomes) assert.ok(outcome.status === 'rejected' && outcome.reason === failure);
    assert.equal(produced, 1);
    await cache.settled();
    assert.equal((await filesUnder(dir)).length, 0);

    const retry = await cache.getOrCreate(keyOf('flaky'), async () => {
      produced++;
      return audio('ok');
    });
    assert.deepEqual([retry.hit, produced], [false, 2]);
    assert.deepEqual(await cache.get(keyOf('flaky')), audio('ok'));
  });

  test('an already-aborted signal rejects without producing', async () => {
    const cache = new AudioCache({ dir: freshDir(), maxBytes: 1_000_000 });
    let produced = 0;
    await assert.rejects(
      cache.getOrCreate(keyOf('never'), async () => (produced++, audio('n')), { signal: AbortSignal.abort() }),
      (err: unknown) => isNarratorError(err, 'aborted'),
    );
    assert.equal(produced, 0);
  });
});

describe('SingleFlight', () => {
  test('forgets each key once its run settles, and a producer that throws synchronously rejects its waiters', async () => {
    const flights = new SingleFlight<string>();
    const a = flights.run('a', async () => 'A');
    const b = flights.run('b', () => {
      throw new Error('sync failure');
    });
    assert.equal(flights.inFlight, 2);
    assert.deepEqual(await a, { value: 'A', shared: false });
    await assert.rejects(b, /sync failure/);
    assert.equal(flights.inFlight, 0);
  });

  test('different keys never share', async () => {
    const flights = new SingleFlight<string>();
    const results = await Promise.all(['x', 'y', 'x'].map((k) => flights.run(k, async () => k.toUpperCase())));
    assert.deepEqual(results, [
      { value: 'X', shared: false },
      { value: 'Y', shared: false },
      { value: 'X', shared: true },
    ]);
  });
});
