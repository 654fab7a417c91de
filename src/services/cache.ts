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
 * - Writes go to a temporary file in the same directory and are renamed into place, so a reader never sees a
 *   partial entry; stray temporary files from a crash are removed by the first scan.
 * - Recency is the file's mtime (a hit touches it), so LRU order survives restarts. Sizes and recency are held in
 *   memory after one scan on first use (an ordered Map: O(1) touch and eviction); when the total exceeds `maxBytes`
 *   the least recently used entries go until the total is ~90% of it, never the entry just written. The cache
 *   assumes one process owns the directory; another writer's files are only noticed on the next start.
 * - A directory that cannot be created or used is an operator mistake: the constructor throws
 *   NarratorError('config', 'cache_dir') at start-up rather than silently narrating without a cache. `maxBytes` 0
 *   (CACHE_MAX_MB=0) or `AudioCache.disabled()` turns the disk off; single-flight still applies.
 * - After start-up, a failed write only costs the cache: `getOrCreate` logs a warning and still returns the audio.
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

interface Entry {
  size: number;
}

export class AudioCache {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #log: Logger;
  readonly #flights = new SingleFlight<{ bytes: Uint8Array; hit: boolean }>();
  /** Entries by key, least recently used first (Map keeps insertion order; a touch re-inserts). */
  readonly #entries = new Map<string, Entry>();
  #totalBytes = 0;
  #ready: Promise<void> | undefined;

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

  /** Bytes on disk as this process counts them (after the first scan). */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Entries this process knows of (after the first scan). */
  get size(): number {
    return this.#entries.size;
  }

  /** The cached audio, or undefined on a miss; a hit becomes the most recently used entry. */
  async get(key: string): Promise<Uint8Array | undefined> {
    assertKey(key);
    if (!this.enabled) return undefined;
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
    this.#track(key, data.length);
    const now = new Date();
    // Best effort: the bytes are already in hand; a vanished file only means the recency is lost.
    await utimes(file, now, now).catch((err: unknown) => this.#log.debug({ file, err }, 'audio cache: could not touch entry'));
    return payload;
  }

  /** Stores `bytes` under `key` atomically, then evicts least recently used entries if over the cap. */
  async set(key: string, bytes: Uint8Array): Promise<void> {
    assertKey(key);
    if (!this.enabled) return;
    await this.#init();
    const file = this.#pathOf(key);
    const data = encodeEntry(bytes);
    const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(tmp, data, { flag: 'wx' });
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
    this.#track(key, data.length);
    await this.#evict(key);
  }

  /** Removes one entry (used when cached bytes fail to decode); a missing entry is not an error. */
  async delete(key: string): Promise<void> {
    assertKey(key);
    if (!this.enabled) return;
    await this.#init();
    await this.#remove(key, this.#pathOf(key));
  }

  /**
   * The cached audio for `key`, or else the result of `produce`, stored before it is returned. Identical concurrent
   * calls share one lookup and one producer run; see SingleFlight for how aborting waiters are handled. A producer
   * failure rejects every current waiter and is not cached. Audio produced after every waiter left is not stored.
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
        const cached = await this.get(key);
        if (cached) return { bytes: cached, hit: true };
        throwIfAborted(signal);
        const bytes = await produce(signal);
        if (!signal.aborted) await this.#storeQuietly(key, bytes);
        return { bytes, hit: false };
      },
      opts,
    );
    return { bytes: value.bytes, hit: value.hit, shared };
  }

  async #storeQuietly(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.set(key, bytes);
    } catch (err) {
      this.#log.warn({ err }, 'audio cache: could not store a chunk; continuing without caching it');
    }
  }

  #pathOf(key: string): string {
    return path.join(this.#dir, key.slice(0, 2), key + ENTRY_SUFFIX);
  }

  /** Records (or refreshes) an entry as the most recently used. */
  #track(key: string, size: number): void {
    this.#forget(key);
    this.#entries.set(key, { size });
    this.#totalBytes += size;
  }

  #forget(key: string): void {
    const old = this.#entries.get(key);
    if (!old) return;
    this.#entries.delete(key);
    this.#totalBytes -= old.size;
  }

  /** Deletes a damaged entry; recursive because a directory squatting on an entry's name is damage too. */
  async #remove(key: string, file: string): Promise<void> {
    this.#forget(key);
    await rm(file, { recursive: true, force: true }).catch((err: unknown) => {
      this.#log.warn({ file, err }, 'audio cache: could not delete entry');
    });
  }

  async #evict(keep: string | undefined): Promise<void> {
    if (this.#totalBytes <= this.#maxBytes) return;
    const target = Math.floor(this.#maxBytes * EVICT_TO);
    // Victims are chosen and un-counted synchronously, so concurrent writes never pick the same victim twice.
    const victims: string[] = [];
    for (const [key, entry] of this.#entries) {
      if (this.#totalBytes <= target) break;
      if (key === keep) continue;
      this.#entries.delete(key);
      this.#totalBytes -= entry.size;
      victims.push(key);
    }
    await Promise.all(
      victims.map((key) =>
        unlink(this.#pathOf(key)).catch((err: unknown) => {
          if (errorCode(err) !== 'ENOENT') this.#log.warn({ key, err }, 'audio cache: could not evict entry');
        }),
      ),
    );
  }

  #init(): Promise<void> {
    this.#ready ??= this.#scan();
    return this.#ready;
  }

  /** Learns what is on disk (oldest first), removes stray temporary files, and trims to the cap. */
  async #scan(): Promise<void> {
    const found: { key: string; size: number; mtimeMs: number }[] = [];
    let shards: string[];
    try {
      shards = (await readdir(this.#dir, { withFileTypes: true }))
        .filter((d) => d.isDirectory() && /^[0-9a-f]{2}$/.test(d.name))
        .map((d) => d.name);
    } catch (err) {
      throw new NarratorError('config', 'cache_dir', `Cannot read the audio cache directory "${this.#dir}" (${errorCode(err) ?? 'unknown error'}).`, undefined, { cause: err });
    }
    for (const shard of shards) {
      const shardDir = path.join(this.#dir, shard);
      const names = await readdir(shardDir).catch(() => [] as string[]);
      for (const name of names) {
        const file = path.join(shardDir, name);
        if (name.endsWith(TMP_SUFFIX)) {
          await unlink(file).catch(() => undefined);
          continue;
        }
        const key = name.slice(0, -ENTRY_SUFFIX.length);
        if (!name.endsWith(ENTRY_SUFFIX) || !KEY_PATTERN.test(key) || !key.startsWith(shard)) continue;
        const info = await stat(file).catch(() => undefined);
        if (info?.isFile()) found.push({ key, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) this.#track(f.key, f.size);
    await this.#evict(undefined);
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
