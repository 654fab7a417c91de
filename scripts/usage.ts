/**
 * CLI: what the bot spent, per server — today (UTC) and the last 30 days: narrations, characters asked and
 * synthesized, GPU seconds, the estimated cost (GPU_PRICE_PER_SECOND) and the top members. Reads the same storage as
 * the bot (DATABASE_URL, `.env`), read-only, so it can run beside a live bot (SQLite in WAL mode, or Postgres).
 *
 *   npm run usage -- [--json] [--now ISO-DATE]
 *
 * A table for people; `--json` prints one JSON document for machines. `--now` reports as of another instant (the
 * "today" of a past day). Exit codes: 0 done, 2 bad arguments or configuration (one line on stderr), 1 the database
 * could not be read. The URL itself is never printed (it may hold a password): only the engine.
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../src/services/config.js';
import { isNarratorError } from '../src/services/errors.js';
import { scrub } from '../src/services/log.js';
import { openStorage, utcDay, type UsageReport, type UsageRow } from '../src/services/storage/index.js';

const USAGE = 'usage: npm run usage -- [--json] [--now ISO-DATE]';

interface Costed extends UsageRow {
  readonly costUsd: number;
}

interface GuildUsageJson {
  readonly guildId: string;
  readonly today: Costed;
  readonly last30Days: Costed;
  readonly topMembers: readonly (Costed & { readonly userId: string })[];
}

async function main(): Promise<number> {
  let values: { json?: boolean; now?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { json: { type: 'boolean' }, now: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const now = values.now === undefined ? Date.now() : Date.parse(values.now);
  if (!Number.isFinite(now)) {
    process.stderr.write(`--now must be a date such as 2026-03-10T12:00:00Z\n${USAGE}\n`);
    return 2;
  }

  const config = await loadConfigOrExit();
  const price = config.gpuPricePerSecond;
  let storage;
  try {
    storage = await openStorage(config.databaseUrl);
  } catch (err) {
    process.stderr.write(`${scrub(err instanceof Error ? err.message : String(err))}\n`);
    return isNarratorError(err, 'config') ? 2 : 1;
  }
  try {
    const guilds = (await storage.usageByGuild(now)).map((g) => costGuild(g, price));
    const total = {
      today: cost(sumRows(guilds.map((g) => g.today)), price),
      last30Days: cost(sumRows(guilds.map((g) => g.last30Days)), price),
    };
    if (values.json) {
      const doc = { day: utcDay(now), engine: storage.engine, gpuPricePerSecond: price, guilds, total };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      process.stdout.write(renderTable(guilds, total, utcDay(now), storage.engine, price));
    }
    return 0;
  } catch (err) {
    process.stderr.write(`${scrub(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  } finally {
    await storage.close();
  }
}

function cost(row: UsageRow, price: number): Costed {
  // Rounded to a millionth of a dollar: the price itself has ~5 significant digits.
  return { ...row, gpuSeconds: round(row.gpuSeconds, 3), costUsd: round(row.gpuSeconds * price, 6) };
}

function costGuild(g: UsageReport & { guildId: string }, price: number): GuildUsageJson {
  return {
    guildId: g.guildId,
    today: cost(g.today, price),
    last30Days: cost(g.last30Days, price),
    topMembers: g.topMembers.map((m) => ({ userId: m.userId, ...cost(m, price) })),
  };
}

function sumRows(rows: readonly UsageRow[]): UsageRow {
  const sum = (k: keyof UsageRow) => rows.reduce((n, r) => n + r[k], 0);
  return { narrations: sum('narrations'), charsAsked: sum('charsAsked'), charsSynthesized: sum('charsSynthesized'), gpuSeconds: sum('gpuSeconds'), cacheHits: sum('cacheHits') };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function money(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

function renderTable(guilds: readonly GuildUsageJson[], total: { today: Costed; last30Days: Costed }, day: string, engine: string, price: number): string {
  const header = ['Server', 'Period', 'Narrations', 'Chars asked', 'Synthesized', 'Cache hits', 'GPU s', 'Est. cost'];
  const rows: string[][] = [];
  const line = (server: string, period: string, r: Costed) => [
    server,
    period,
    String(r.narrations),
    String(r.charsAsked),
    String(r.charsSynthesized),
    String(r.cacheHits),
    r.gpuSeconds.toFixed(1),
    money(r.costUsd),
  ];
  for (const g of guilds) {
    rows.push(line(g.guildId, 'today', g.today));
    rows.push(line('', '30 days', g.last30Days));
  }
  if (guilds.length > 1) {
    rows.push(line('all servers', 'today', total.today));
    rows.push(line('', '30 days', total.last30Days));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  const out: string[] = [`Usage on ${day} (UTC), ${engine} storage, GPU at $${price}/s`, ''];
  if (guilds.length === 0) {
    out.push('No narrations in the last 30 days.');
    return `${out.join('\n')}\n`;
  }
  out.push(fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt), '');
  for (const g of guilds) {
    if (g.topMembers.length === 0) continue;
    out.push(`Top members of ${g.guildId} (30 days):`);
    for (const m of g.topMembers) {
      out.push(`  ${m.userId}  ${m.narrations} narration${m.narrations === 1 ? '' : 's'}, ${m.charsSynthesized} chars synthesized, ${m.gpuSeconds.toFixed(1)} GPU s, ${money(m.costUsd)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${scrub(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
    process.exit(1);
  },
);
