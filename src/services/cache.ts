/**
 * A content-addressed on-disk cache of synthesized chunk WAVs, so text narrated twice (a re-read, a common phrase,
 * a retried narration) costs one GPU job, not two.
 *
 * Shape and why:
 * - Key = sha256 of what determines the audio (backend identity, voice, speed to 3 decimals, NFC text), so equal
 *   requests meet whatever their Unicode form or float noise.
 * - Files live at `<dir>/<key[0..2]>/<key>.bin` (256 fan-out directories keep listings short). Each file is a small
 *   header (magic + sha256 of the payload) followed by the WAV bytes: a truncated, zero-length (crash before the
 *   data reached disk) or otherwise damaged entry is detected on read, deleted and treated as a miss — without the
 *   header a damaged file would be served as audio. This is why no fsync is needed.
 * - Several processes may share one directory (shards, the CLI beside the bot), so nothing assumes ownership:
 *   - writes go to a temporary file named by pid + random bytes in the entry's directory and are renamed into place,
 *     so a reader (in any process) sees a whole entry or none, never partial bytes;
 *   - a temporary file is deleted only once it is older than TMP_STALE_MS (a crash's leftover), never a recent one,
 *     whoever owns it;
 *   - the cap is measured on the folder, not on this process's writes: after every write the folder is re-read
 *     (incrementally: only fan-out directories whose mtime changed, or changed too recently to trust, are listed
 *     again) before deciding what to evict. Once every process has finished writing, the folder holds at most the
 *     cap, or the last entry written if it alone exceeds the cap; while processes write concurrently, each may leave
 *     it over the cap by the entry it is writing;
 *   - a file that vanishes under us (another process evicted it) is normal: a miss when reading, skipped when
 *     counting or evicting.
 * - Recency is the file's mtime, set from the clock on write and touched on each hit, so LRU order survives restarts
 *   and is shared between processes; a victim's mtime is checked again just before it is deleted, so another
 *   process's recent hit saves it. When the total exceeds `maxBytes`, least recently used entries go until the total
 *   is ~90% of it, never the entry just written.
 * - A directory that cannot be created or used is an operator mistake: the constructor throws
 *   NarratorError('config', 'cache_dir') at start-up rather than silently narrating without a cache. `maxBytes` 0
 *   (CACHE_MAX_MB=0) or `AudioCache.disabled()` turns the disk off; single-flight still applies.
 * - After start-up, a broken cache only costs the cache: `getOrCreate` logs a warning and still produces and returns
 *   the audio. A failed first scan is not remembered forever: a later operation scans again, after a backoff growing
 *   from SCAN_RETRY_MIN_MS to SCAN_RETRY_MAX_MS so a folder that stays broken is not rescanned on every call.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { NarratorError, throwIfAborted } from './errors.js';
import { silentLogger } from './log.js';
import { SingleFlight } from './singleFlight.js';

export interface AudioCacheOptions {
  /** Directory for the cache; created if missing. Ignored when `maxBytes` is 0. */
  readonly dir: string;
  /** Size cap in bytes for all entries on disk; 0 disables the disk cache. */
  readonly maxBytes: number;
  readonly log?: Logger;
  /** Monotonic clock in ms for the scan retry backoff (tests); default performance.now. */
  readonly now?: () => number;
}

export interface CacheKeyParts {
  /** Identity of what produces the audio (`TtsBackend.identity`). */
  readonly backend: string;
  readonly voice: string;
  readonly speed: number;
  readonly text: string;
}

export interface CachedAudio {
  readonly bytes: Uint8Array;
  /** Read from disk rather than produced. */
  readonly hit: boolean;
  /** Joined a lookup/production another concurrent call had already started. */
  readonly shared: boolean;
}

const KEY_PATTERN = /^[0-9a-f]{64}$/;
const ENTRY_SUFFIX = '.bin';
const TMP_SUFFIX = '.tmp';
/** Bumping the version invalidates old entries (their header no longer matches, so they are dropped as corrupt). */
const MAGIC = Buffer.from('NARRWAV1', 'latin1');
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + DIGEST_BYTES;
/** Evict down to this share of the cap, so a full cache does not evict on every single write. */
const EVICT_TO = 0.9;
const SHARD_PATTERN = /^[0-9a-f]{2}$/;
/** A temporary file untouched for this long is a crash's leftover; a younger one may be another process's write. */
const TMP_STALE_MS = 10 * 60_000;
/** A directory listing taken less than this after the directory changed is not trusted (coarse file times, clocks). */
const RACY_MS = 2000;
const SCAN_RETRY_MIN_MS = 1000;
const SCAN_RETRY_MAX_MS = 60_000;

/** What this process knows of one entry on disk. */
interface Entry {
  size: number;
  /** The file's mtime as last seen or set by us: its recency. */
  mtimeMs: number;
  /** Tie-break for equal mtimes (same millisecond): the order in which this process learnt of the use. */
  seq: number;
}

/** What this process last saw of one fan-out directory. */
interface ShardView {
  mtimeMs: number;
  /** Wall-clock time just before that directory's mtime was read. */
  checkedAt: number;
}

export class AudioCache {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #flights = new SingleFlight<{ bytes: Uint8Array; hit: boolean }>();
  /**
   * Fresh audio on its way to disk, served from memory meanwhile: the listener gets a new chunk without waiting for
   * the write, and an identical request arriving before the write is done is still a hit (never a second GPU job).
   */
  readonly #pendingWrites = new Map<string, Uint8Array>();
  readonly #writes = new Set<Promise<void>>();
  /** Look-ups by getOrCreate since start (for /status's hit rate). */
  #hits = 0;
  #misses = 0;
  readonly #entries = new Map<string, Entry>();
  readonly #shards = new Map<string, ShardView>();
  /** Known entries by fan-out directory, so a re-listing can forget the ones that vanished. */
  readonly #keysByShard = new Map<string, Set<string>>();
  #totalBytes = 0;
  #seq = 0;
  /** The first scan, once it succeeded or while it runs; cleared when it fails so a later call retries. */
  #ready: Promise<void> | undefined;
  #scanFailure: { error: unknown; retryAt: number; backoffMs: number } | undefined;
  /** Folder re-reads + evictions run one at a time: the latest run (never rejects), and the one not started yet. */
  #maintaining: Promise<void> | undefined;
  #nextMaintenance: Promise<void> | undefined;
  /** The most recent key written whose maintenance has not started: never evicted by that run. */
  #justWritten: string | undefined;

  constructor(options: AudioCacheOptions) {
    const { dir, maxBytes } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new NarratorError('config', 'cache_size', `The cache size limit must be a whole number of bytes ≥ 0 (got ${maxBytes}).`);
    }
    if (maxBytes > 0 && dir.trim() === '') {
      throw new NarratorError('config', 'cache_dir', 'The audio cache directory is empty: set CACHE_DIR, or CACHE_MAX_MB=0 to run without a cache.');
    }
    this.#maxBytes = maxBytes;
    this.#log = options.log ?? silentLogger;
    this.#now = options.now ?? (() => performance.now());
    this.#dir = maxBytes > 0 ? path.resolve(dir) : '';
    if (maxBytes > 0) prepareDir(this.#dir);
  }

  /** A cache that never touches disk: every call produces (identical concurrent calls still share one run). */
  static disabled(log?: Logger): AudioCache {
    return new AudioCache({ dir: '', maxBytes: 0, log });
  }

  /** The key for one chunk's audio: sha256 hex of a canonical encoding of everything that determines it. */
  static key(parts: CacheKeyParts): string {
    if (!Number.isFinite(parts.speed)) {
      throw new NarratorError('user', 'bad_speed', `The speed must be a number (got ${parts.speed}).`);
    }
    // A JSON array is unambiguous whatever the fields contain (no separator can be forged inside a field).
    const canonical = JSON.stringify(['narrator-audio-v1', parts.backend, parts.voice, parts.speed.toFixed(3), parts.text.normalize('NFC')]);
    return createHash('sha256').update(canonical, 'utf8').digest('hex');
  }

  get enabled(): boolean {
    return this.#maxBytes > 0;
  }

  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Bytes of entries in the folder as of this process's last look (all processes' entries, not only its own). */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Hits and misses of `getOrCreate` in this process (a shared concurrent run counts once). */
  get lookups(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Entries in the folder as of this process's last look. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether an entry for `key` is on disk now: one stat, no read, no recency change, no scan, no single-flight.
   * A cheap forecast (budgets count what a narration will synthesize): the entry may still be evicted, or turn out
   * damaged, before it is read. Any error is a "no".
   */
  async has(key: string): Promise<boolean> {
    assertKey(key);
    if (!this.enabled) return false;
    if (this.#pendingWrites.has(key)) return true;
    try {
      const info = await stat(this.#pathOf(key));
      return info.isFile() && info.size > HEADER_BYTES;
    } catch {
      return false;
    }
  }

  /** The cached audio, or undefined on a miss; a hit becomes the most recently used entry. */
  async get(key: string): Promise<Uint8Array | undefined> {
    assertKey(key);
    if (!this.enabled) return undefined;
    const pending = this.#pendingWrites.get(key);
    if (pending) return pending;
    await this.#init();
    const file = this.#pathOf(key);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') {
        this.#log.warn({ file, err }, 'audio cache: unreadable entry, removing it');
        await this.#remove(key, file);
      } else {
        // Evicted, possibly by another process: a plain miss.
        this.#forget(key);
      }
      return undefined;
    }
    const payload = decodeEntry(data);
    if (!payload) {
      this.#log.warn({ file, bytes: data.length }, 'audio cache: corrupt entry, removing it');
      await this.#remove(key, file);
      return undefined;
    }
    const now = Date.now();
    this.#track(key, data.length, now);
    // Best effort, off the listener's path: the bytes are in hand; a vanished file only means the recency is lost.
    void utimes(file, now / 1000, now / 1000).catch((err: unknown) => this.#log.debug({ file, err }, 'audio cache: could not touch entry'));
    return payload;
  }

  /**
   * Stores `bytes` under `key` atomically, then evicts least recently used entries if the folder is over the cap.
   * `maintain: 'background'` returns as soon as the entry is in place and re-reads the folder afterwards: a fresh
   * chunk on its way to the listener must not wait for a scan of the whole cache.
   */
  async set(key: string, bytes: Uint8Array, opts: { readonly maintain?: 'await' | 'background' } = {}): Promise<void> {
    assertKey(key);
    if (!this.enabled) return;
    await this.#init();
    const file = this.#pathOf(key);
    const data = encodeEntry(bytes);
    // pid + random: unique across the processes sharing the folder, so no one writes into or deletes another's file.
    const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;
    const now = Date.now();
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(tmp, data, { flag: 'wx' });
      // Recency comes from our clock, as for hits, so writes and hits of every process order on one scale.
      await utimes(tmp, now / 1000, now / 1000);
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new NarratorError(
        'config',
        'cache_write',
        `Could not write to the audio cache in "${this.#dir}" (${errorCode(err) ?? 'unknown error'}).`,
        undefined,
        { cause: err },
      );
    }
    this.#track(key, data.length, now);
    this.#justWritten = key;
    if (opts.maintain === 'background') {
      void this.#maintainQuietly();
      return;
    }
    await this.#maintainQuietly();
  }

  /** Resolves once the size-cap maintenance started by earlier writes has finished (tests, orderly exits). */
  async settled(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all([...this.#writes]);
    while (this.#maintaining) await this.#maintaining;
  }

  async #maintainQuietly(): Promise<void> {
    try {
      await this.#maintain();
    } catch (err) {
      // The entry is stored; only the accounting is stale until the next write re-reads the folder.
      this.#log.warn({ err }, 'audio cache: could not re-read the cache folder to enforce its size cap');
    }
  }

  /** Removes one entry (e.g. bytes that failed to decode), so the next lookup is a miss. Missing is fine. */
  async delete(key: string): Promise<void> {
    assertKey(key);
    if (!this.enabled) return;
    if (this.#pendingWrites.delete(key)) await Promise.all([...this.#writes]); // let it land, then remove it
    await this.#remove(key, this.#pathOf(key));
  }

  /**
   * The cached audio for `key`, or else the result of `produce`, returned at once and written to disk in the
   * background (served from memory until then; `settled()` waits for the writes). Identical concurrent
   * calls share one lookup and one producer run; see SingleFlight for how aborting waiters are handled. A producer
   * failure rejects every current waiter and is not cached. Audio produced after every waiter left is not stored.
   * A cache that cannot be read is a miss (with a warning), not a failure.
   * Waiters of one run receive the same `bytes` object: treat it as read-only.
   */
  async getOrCreate(
    key: string,
    produce: (signal: AbortSignal) => Promise<Uint8Array>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<CachedAudio> {
    assertKey(key);
    throwIfAborted(opts.signal);
    const { value, shared } = await this.#flights.run(
      key,
      async (signal) => {
        const cached = await this.get(key).catch((err: unknown) => {
          this.#log.warn({ err }, 'audio cache: lookup failed; producing the chunk without the cache');
          return undefined;
        });
        if (cached) {
          this.#hits++;
          return { bytes: cached, hit: true };
        }
        this.#misses++;
        throwIfAborted(signal);
        const bytes = await produce(signal);
        if (!signal.aborted) this.#storeInBackground(key, bytes);
        return { bytes, hit: false };
      },
      opts,
    );
    return { bytes: value.bytes, hit: value.hit, shared };
  }

  #storeInBackground(key: string, bytes: Uint8Array): void {
    this.#pendingWrites.set(key, bytes);
    const write: Promise<void> = this.#storeQuietly(key, bytes).finally(() => {
      if (this.#pendingWrites.get(key) === bytes) this.#pendingWrites.delete(key);
      this.#writes.delete(write);
    });
    this.#writes.add(write);
  }

  async #storeQuietly(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.set(key, bytes, { maintain: 'background' });
    } catch (err) {
      this.#log.warn({ err }, 'audio cache: could not store a chunk; continuing without caching it');
    }
  }

  #pathOf(key: string): string {
    return path.join(this.#dir, key.slice(0, 2), key + ENTRY_SUFFIX);
  }

  /** Records (or refreshes) an entry, used at `mtimeMs`. */
  #track(key: string, size: number, mtimeMs: number): void {
    this.#forget(key);
    this.#entries.set(key, { size, mtimeMs, seq: ++this.#seq });
    this.#totalBytes += size;
    const shard = key.slice(0, 2);
    const keys = this.#keysByShard.get(shard);
    if (keys) keys.add(key);
    else this.#keysByShard.set(shard, new Set([key]));
  }

  #forget(key: string): void {
    const old = this.#entries.get(key);
    if (!old) return;
    this.#entries.delete(key);
    this.#totalBytes -= old.size;
    this.#keysByShard.get(key.slice(0, 2))?.delete(key);
  }

  /** Deletes an entry; recursive because a directory squatting on an entry's name is damage too. */
  async #remove(key: string, file: string): Promise<void> {
    this.#forget(key);
    await rm(file, { recursive: true, force: true }).catch((err: unknown) => {
      this.#log.warn({ file, err }, 'audio cache: could not delete entry');
    });
  }

  /** The first scan of the folder; after a failure, a new attempt once the backoff has passed. */
  #init(): Promise<void> {
    if (this.#ready) return this.#ready;
    const failure = this.#scanFailure;
    if (failure && this.#now() < failure.retryAt) return Promise.reject(failure.error);
    const attempt = this.#maintain().then(
      () => {
        this.#scanFailure = undefined;
      },
      (err: unknown) => {
        this.#ready = undefined;
        const backoffMs = failure ? Math.min(SCAN_RETRY_MAX_MS, failure.backoffMs * 2) : SCAN_RETRY_MIN_MS;
        const error = new NarratorError(
          'config',
          'cache_dir',
          `Cannot read the audio cache directory "${this.#dir}" (${errorCode(err) ?? 'unknown error'}).`,
          undefined,
          { cause: err },
        );
        this.#scanFailure = { error, retryAt: this.#now() + backoffMs, backoffMs };
        this.#log.warn({ err: error, retryInMs: backoffMs }, 'audio cache: cannot scan the cache folder; will retry');
        throw error;
      },
    );
    this.#ready = attempt;
    return attempt;
  }

  /**
   * Re-reads the folder, then evicts if over the cap. Runs one at a time; a request joins the run that has not
   * started yet, if any (it will list the folder after the request), else queues a new one.
   */
  #maintain(): Promise<void> {
    if (this.#nextMaintenance) return this.#nextMaintenance;
    const previous = this.#maintaining ?? Promise.resolve();
    const run: Promise<void> = previous.then(() => {
      // From here on this run may already have listed the folder: later requests need a later run.
      if (this.#nextMaintenance === run) this.#nextMaintenance = undefined;
      return this.#runMaintenance();
    });
    this.#nextMaintenance = run;
    const settled: Promise<void> = run
      .catch(() => undefined)
      .finally(() => {
        if (this.#maintaining === settled) this.#maintaining = undefined;
      });
    this.#maintaining = settled;
    return run;
  }

  async #runMaintenance(): Promise<void> {
    const keep = this.#justWritten;
    this.#justWritten = undefined;
    await this.#sync();
    await this.#evict(keep);
  }

  /**
   * Brings this process's view up to the folder's real content. A fan-out directory is listed again when its mtime
   * changed (an entry was added, replaced or removed, by anyone) or when it changed too recently before we last
   * looked to trust that listing (file times are coarse: a change in the same tick leaves the mtime equal).
   */
  async #sync(): Promise<void> {
    const names = (await readdir(this.#dir, { withFileTypes: true })).filter((d) => d.isDirectory() && SHARD_PATTERN.test(d.name)).map((d) => d.name);
    const present = new Set(names);
    for (const shard of [...this.#shards.keys()]) if (!present.has(shard)) this.#dropShard(shard);
    await Promise.all(
      names.map(async (shard) => {
        const shardDir = path.join(this.#dir, shard);
        const checkedAt = Date.now();
        const info = await stat(shardDir).catch(() => undefined);
        if (!info?.isDirectory()) return this.#dropShard(shard);
        const known = this.#shards.get(shard);
        if (known && known.mtimeMs === info.mtimeMs && info.mtimeMs < known.checkedAt - RACY_MS) return;
        await this.#readShard(shard, shardDir, info.mtimeMs, checkedAt);
      }),
    );
  }

  async #readShard(shard: string, shardDir: string, mtimeMs: number, checkedAt: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(shardDir);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return this.#dropShard(shard);
      throw err;
    }
    const found = new Map<string, { size: number; mtimeMs: number }>();
    await Promise.all(
      names.map(async (name) => {
        const file = path.join(shardDir, name);
        if (name.endsWith(TMP_SUFFIX)) {
          // Another process may be writing it right now: only a temp file nobody has touched for long is a leftover.
          const tmpInfo = await stat(file).catch(() => undefined);
          if (tmpInfo && tmpInfo.mtimeMs < Date.now() - TMP_STALE_MS) await unlink(file).catch(() => undefined);
          return;
        }
        const key = name.slice(0, -ENTRY_SUFFIX.length);
        if (!name.endsWith(ENTRY_SUFFIX) || !KEY_PATTERN.test(key) || !key.startsWith(shard)) return;
        const info = await stat(file).catch(() => undefined);
        if (info?.isFile()) found.set(key, { size: info.size, mtimeMs: info.mtimeMs });
      }),
    );
    for (const key of [...(this.#keysByShard.get(shard) ?? [])]) if (!found.has(key)) this.#forget(key);
    for (const [key, f] of found) {
      const entry = this.#entries.get(key);
      // Same file as we know it: keep our order (it breaks same-millisecond ties); else it was used or rewritten.
      if (entry && entry.size === f.size && Math.abs(entry.mtimeMs - f.mtimeMs) < 1) continue;
      this.#track(key, f.size, f.mtimeMs);
    }
    this.#shards.set(shard, { mtimeMs, checkedAt });
  }

  #dropShard(shard: string): void {
    for (const key of [...(this.#keysByShard.get(shard) ?? [])]) this.#forget(key);
    this.#shards.delete(shard);
  }

  /** Least recently used first (oldest mtime, then the order this process learnt of them) until ~90% of the cap. */
  async #evict(keep: string | undefined): Promise<void> {
    if (this.#totalBytes <= this.#maxBytes) return;
    const target = Math.floor(this.#maxBytes * EVICT_TO);
    const candidates = [...this.#entries]
      .filter(([key]) => key !== keep)
      .sort(([, a], [, b]) => a.mtimeMs - b.mtimeMs || a.seq - b.seq);
    for (const [key, entry] of candidates) {
      if (this.#totalBytes <= target) break;
      if (this.#entries.get(key) !== entry) continue; // used or rewritten meanwhile
      const file = this.#pathOf(key);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) {
        this.#forget(key);
        continue;
      }
      if (Math.abs(info.mtimeMs - entry.mtimeMs) >= 1 || info.size !== entry.size) {
        // Another process used (touched) or rewrote it since we looked: it is not the least recent any more.
        this.#track(key, info.size, info.mtimeMs);
        continue;
      }
      this.#forget(key);
      await unlink(file).catch((err: unknown) => {
        if (errorCode(err) !== 'ENOENT') this.#log.warn({ key, err }, 'audio cache: could not evict entry');
      });
    }
  }
}

/** Creates the directory and checks it is usable, so a bad CACHE_DIR fails at start-up with a clear message. */
function prepareDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    throw new NarratorError(
      'config',
      'cache_dir',
      `The audio cache directory "${dir}" cannot be created or written (${errorCode(err) ?? 'unknown error'}). Fix CACHE_DIR, or set CACHE_MAX_MB=0 to run without a cache.`,
      undefined,
      { cause: err },
    );
  }
}

function assertKey(key: string): void {
  // Keys become file names: only what AudioCache.key produces is accepted.
  if (!KEY_PATTERN.test(key)) throw new NarratorError('permanent', 'bad_cache_key', 'Audio cache keys must be 64 lowercase hex characters (use AudioCache.key).');
}

function encodeEntry(payload: Uint8Array): Buffer {
  const digest = createHash('sha256').update(payload).digest();
  return Buffer.concat([MAGIC, digest, payload]);
}

/** The payload, or undefined when the header is missing or does not match the bytes. */
function decodeEntry(data: Buffer): Uint8Array | undefined {
  if (data.length < HEADER_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const payload = data.subarray(HEADER_BYTES);
  const digest = createHash('sha256').update(payload).digest();
  if (!digest.equals(data.subarray(MAGIC.length, HEADER_BYTES))) return undefined;
  return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
