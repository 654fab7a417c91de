/**
 * DATABASE_URL parsing, kept apart from the drivers so the config schema can check a URL at start without loading
 * SQLite or Postgres. Messages never quote the URL: a Postgres URL may carry a password.
 */
import path from 'node:path';
import { NarratorError } from '../errors.js';

export const DEFAULT_DATABASE_URL = 'sqlite:data/narrator.db';

export type DatabaseTarget =
  | { readonly engine: 'sqlite'; readonly file: string | ':memory:' }
  | {
      readonly engine: 'postgres';
      readonly connectionString: string;
      /** host:port/database, for messages (no user, no password). */
      readonly where: string;
      readonly password?: string;
    };

/** `sqlite:PATH` (relative to the working directory), `sqlite::memory:`, or `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const s = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(s)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const rest = s.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''); // sqlite:///abs/path → /abs/path
    if (rest === ':memory:') return { engine: 'sqlite', file: ':memory:' };
    if (rest === '' || rest.includes('\0')) throw badUrl('sqlite: needs a file path, e.g. sqlite:data/narrator.db');
    return { engine: 'sqlite', file: path.resolve(rest) };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let parsed: URL;
    try {
      parsed = new URL(s);
    } catch {
      throw badUrl('is not a valid postgres:// URL');
    }
    if (!parsed.hostname) throw badUrl('postgres:// needs a host, e.g. postgres://user:pass@127.0.0.1:5432/narrator');
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
    const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
    return {
      engine: 'postgres',
      connectionString: s,
      where: `${parsed.hostname}:${parsed.port || '5432'}/${database}`,
      ...(password ? { password } : {}),
    };
  }
  if (scheme === undefined) throw badUrl('must start with sqlite: or postgres://');
  throw badUrl(`uses an unknown scheme "${scheme}:" (use sqlite:PATH or postgres://…)`);
}

function badUrl(why: string): NarratorError {
  return new NarratorError('config', 'bad_database_url', `DATABASE_URL ${why}`);
}
