/**
 * Opens the bot's storage from DATABASE_URL: SQLite in a file by default (embedded, zero set-up, one process or
 * several on one machine), Postgres to share one state between bot processes on several machines. Both go through
 * Kysely, so the migrations and every query are written once (see sqlStorage.ts); only the write lock and the
 * "is it still there" check differ, and they live here.
 *
 * Everything that can be wrong at start (bad URL, unknown scheme, a folder that cannot be written, a file that is not
 * a database, Postgres unreachable, a schema newer than this code) becomes NarratorError('config') with ONE line that
 * never quotes a password, so the process stops with a reason instead of crash-looping.
 */
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { NarratorError } from '../errors.js';
import { registerSecret } from '../log.js';
import { MIGRATIONS, SCHEMA_VERSION, type Database } from './schema.js';
import { SqlStorage, type EngineAdapter, type StorageTestHooks } from './sqlStorage.js';
import { parseDatabaseUrl } from './url.js';
import type { Storage } from './types.js';

export * from './types.js';
export { DEFAULT_DATABASE_URL, parseDatabaseUrl } from './url.js';
export { SCHEMA_VERSION } from './schema.js';
export { STORAGE_DICTIONARY_MAX_ENTRIES } from './sqlStorage.js';
export { nextUtcMidnight, utcDay } from './time.js';

export interface OpenStorageOptions {
  readonly logger?: Logger;
  /** SQLite: how long a writer waits for another process's lock before giving up (ms). */
  readonly busyTimeoutMs?: number;
  /** Postgres: how long to wait for a connection before the call fails (ms). */
  readonly connectTimeoutMs?: number;
  /** Tests only (see StorageTestHooks). */
  readonly testHooks?: StorageTestHooks;
}

/** `sqlite:PATH`, `sqlite::memory:` or `postgres://…`; migrated and ready, or a one-line config error. */
export async function openStorage(databaseUrl: string, opts: OpenStorageOptions = {}): Promise<Storage> {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.engine === 'sqlite') return openSqlite(target.file, opts);
  registerSecret(target.password);
  return openPostgres(target.connectionString, target.where, target.password, opts);
}

// ---- SQLite ---------------------------------------------------------------------------------------------------

async function openSqlite(file: string, opts: OpenStorageOptions): Promise<Storage> {
  const memory = file === ':memory:';
  if (!memory) prepareFolder(file);
  let database: BetterSqlite3.Database;
  try {
    database = new BetterSqlite3(file, { timeout: opts.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw configError(`DATABASE_URL: cannot open the SQLite database ${file} (${reason(err)})`, err);
  }
  try {
    if (!memory) database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
  } catch (err) {
    database.close();
    throw configError(`DATABASE_URL: ${file} is not a usable SQLite database (${reason(err)})`, err);
  }
  const identity = memory ? undefined : fileIdentity(file);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  const adapter: EngineAdapter = {
    engine: 'sqlite',
    // BEGIN IMMEDIATE takes the write lock before the first read, so a budget check and its insert see no other
    // writer in between; another process waits (busy_timeout) instead of failing on a lock upgrade.
    writeTransaction: (kdb, _lockKey, fn) =>
      kdb.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await fn(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (err) {
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw err;
        }
      }),
    // A removed or replaced file would otherwise keep "working" on the unlinked inode, without limits that persist.
    checkAlive: () => {
      if (!identity) return;
      let now: string | undefined;
      try {
        now = fileIdentity(file);
      } catch {
        now = undefined;
      }
      if (now !== identity) throw new Error(`the SQLite file ${file} was removed or replaced`);
    },
    close: async () => undefined,
  };
  return finishOpen(db, adapter, `sqlite:${file}`, opts);
}

/** Creates the database's folder on first start and proves it is writable (a file there, then gone). */
function prepareFolder(file: string): void {
  const dir = path.dirname(file);
  try {
    makeFolder(dir);
    accessSync(dir, constants.W_OK);
    const probe = path.join(dir, `.narrator-write-test-${process.pid}`);
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (err) {
    throw configError(`DATABASE_URL: cannot write to the folder ${dir} (${reason(err)})`, err);
  }
}

/**
 * `mkdir -p`, one level at a time. Not `mkdirSync(…, { recursive: true })`: on some special file systems (a path
 * under /proc, seen here) Node's recursive mkdir never returns, and the bot would hang at start instead of saying
 * the folder is unusable.
 */
function makeFolder(dir: string): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  while (!existsSync(at)) {
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing) mkdirSync(level);
}

function fileIdentity(file: string): string {
  const s = statSync(file);
  return `${s.dev}:${s.ino}`;
}

// ---- Postgres -------------------------------------------------------------------------------------------------

/** Namespace of our advisory locks (the first key of pg_advisory_xact_lock(int, int)): "NARR". */
const LOCK_NAMESPACE = 0x4e415252;

/** A server id → the second key of its advisory lock; computed here so every process agrees whatever the server version. */
function lockId(key: string): number {
  return createHash('sha256').update(key).digest().readInt32BE(0);
}

async function openPostgres(connectionString: string, where: string, password: string | undefined, opts: OpenStorageOptions): Promise<Storage> {
  const pool = new pg.Pool({
    connectionString,
    max: 5,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    // A server that stops answering (not refusing: a lost network) must not hang a /narrate forever.
    query_timeout: 15_000,
    keepAlive: true,
    application_name: 'narrator',
    // bigint (count, sum, epoch ms) and numeric come back as JS numbers: every figure here is far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 || oid === 1700 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection dropped by the server must not crash the process; the next call reports storage_unavailable.
  pool.on('error', (err) => opts.logger?.warn({ err: hide(err.message, password) }, 'postgres connection lost'));
  // The pool listens only on idle clients: one checked out (between a transaction's statements) that loses its server
  // emits 'error' on itself, which with no listener is an uncaught exception (seen when the database was killed
  // mid-settle). Its pending or next query fails anyway, and that caller reports storage_unavailable.
  pool.on('connect', (client) => {
    client.on('error', (err) => opts.logger?.warn({ err: hide(err.message, password) }, 'postgres connection lost (in use)'));
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw configError(`DATABASE_URL: cannot reach Postgres at ${where} (${hide(reason(err), password)})`, err);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const adapter: EngineAdapter = {
    engine: 'postgres',
    // One lock per server, held to commit: reservations for one server queue up across every bot process.
    writeTransaction: (kdb, lockKey, fn) =>
      kdb.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}::integer, ${lockId(lockKey)}::integer)`.execute(trx);
        return fn(trx);
      }),
    checkAlive: () => undefined,
    close: async () => undefined,
  };
  return finishOpen(db, adapter, `postgres:${where}`, opts, password);
}

// ---- both -----------------------------------------------------------------------------------------------------

async function finishOpen(db: Kysely<Database>, adapter: EngineAdapter, where: string, opts: OpenStorageOptions, password?: string): Promise<Storage> {
  try {
    await migrate(db, adapter);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    if (err instanceof NarratorError) throw err;
    throw configError(`DATABASE_URL: cannot prepare the database ${where} (${hide(reason(err), password)})`, err);
  }
  opts.logger?.info({ engine: adapter.engine, where, schema: SCHEMA_VERSION }, 'storage ready');
  return new SqlStorage(db, adapter, opts.logger, opts.testHooks);
}

/** Applies the migrations this database lacks, under the write lock so two processes starting at once take turns. */
async function migrate(db: Kysely<Database>, adapter: EngineAdapter): Promise<void> {
  await adapter.writeTransaction(db, '__schema__', async (trx) => {
    await trx.schema
      .createTable('schema_version')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    const row = await trx.selectFrom('schema_version').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
    const current = row?.v === null || row?.v === undefined ? 0 : Number(row.v);
    if (current > SCHEMA_VERSION) {
      throw new NarratorError(
        'config',
        'schema_too_new',
        `DATABASE_URL: the database's schema is version ${current}, newer than this Narrator's ${SCHEMA_VERSION}: run a newer Narrator (or use another database)`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await m.up(trx);
      await trx.insertInto('schema_version').values({ version: m.version, applied_at: Date.now() }).execute();
    }
  });
}

function configError(message: string, cause: unknown): NarratorError {
  return new NarratorError('config', 'storage_config', message.replace(/\s+/g, ' '), undefined, { cause });
}

function reason(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; errors?: unknown };
    // pg reports an unreachable host:port as an AggregateError (one error per address) with an empty message.
    if (typeof e.code === 'string' && (!e.message || e.message === '')) return e.code;
    if (typeof e.message === 'string' && e.message !== '') return typeof e.code === 'string' && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
    if (typeof e.code === 'string') return e.code;
  }
  return String(err);
}

function hide(text: string, password: string | undefined): string {
  return password ? text.split(password).join('[redacted]') : text;
}
