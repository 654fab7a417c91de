/**
 * `npm run usage` as the owner runs it: a child process reading DATABASE_URL (a SQLite file the test fills through
 * the Storage API, as the bot would), printing the figures per server for today and 30 days with the estimated cost
 * at GPU_PRICE_PER_SECOND, the top members, and the same figures as JSON with --json. A bad DATABASE_URL is one line
 * and exit code 2, and no password is ever printed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../src/services/storage/index.js';
import { inheritedEnvWithout, runScript, type ScriptRun } from './support/runScript.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'narrator-usage-'));
after(() => rmSync(root, { recursive: true, force: true }));
const script = fileURLToPath(new URL('../scripts/usage.ts', import.meta.url));
const NOW = Date.UTC(2026, 2, 10, 12);

function runUsage(args: string[], env: Record<string, string>): Promise<ScriptRun> {
  return runScript(script, args, { env: { ...inheritedEnvWithout('NODE_TEST_CONTEXT', 'DATABASE_URL', 'GPU_PRICE_PER_SECOND'), ...env } });
}

async function seed(url: string): Promise<void> {
  const s = await openStorage(url);
  const spend = async (guildId: string, userId: string, now: number, chars: number, gpuSeconds: number, cacheHits = 0) => {
    const r = await s.reserve({ guildId, userId, charsAsked: chars, charsToSynthesize: chars, chunks: 2, now });
    assert.ok(r.ok);
    await s.settle({ narrationId: r.narrationId, outcome: 'completed', charsSynthesized: chars, chunks: 2, cacheHits, gpuSeconds, now });
  };
  await spend('111111111111111111', 'alice', NOW - 3_600_000, 200, 10.5, 1);
  await spend('111111111111111111', 'bob', NOW - 5 * 86_400_000, 100, 4);
  await spend('222222222222222222', 'carol', NOW - 60_000, 50, 2);
  await spend('333333333333333333', 'old', NOW - 40 * 86_400_000, 999, 99); // outside the 30 days
  await s.close();
}

test('usage --json: per-server figures, costs at GPU_PRICE_PER_SECOND, top members, totals', async () => {
  const url = `sqlite:${path.join(root, 'a', 'narrator.db')}`;
  await seed(url);
  const run = await runUsage(['--json', '--now', new Date(NOW).toISOString()], { DATABASE_URL: url, GPU_PRICE_PER_SECOND: '0.001' });
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as {
    day: string;
    engine: string;
    gpuPricePerSecond: number;
    guilds: { guildId: string; today: Record<string, number>; last30Days: Record<string, number>; topMembers: { userId: string; gpuSeconds: number; costUsd: number }[] }[];
    total: { today: Record<string, number>; last30Days: Record<string, number> };
  };
  assert.equal(doc.day, '2026-03-10');
  assert.equal(doc.engine, 'sqlite');
  assert.equal(doc.gpuPricePerSecond, 0.001);
  assert.deepEqual(doc.guilds.map((g) => g.guildId), ['111111111111111111', '222222222222222222']);
  const [g1, g2] = doc.guilds;
  assert.deepEqual(g1?.today, { narrations: 1, charsAsked: 200, charsSynthesized: 200, gpuSeconds: 10.5, cacheHits: 1, costUsd: 0.0105 });
  assert.deepEqual(g1?.last30Days, { narrations: 2, charsAsked: 300, charsSynthesized: 300, gpuSeconds: 14.5, cacheHits: 1, costUsd: 0.0145 });
  assert.deepEqual(g1?.topMembers.map((m) => [m.userId, m.gpuSeconds, m.costUsd]), [['alice', 10.5, 0.0105], ['bob', 4, 0.004]]);
  assert.equal(g2?.today.gpuSeconds, 2);
  assert.deepEqual(doc.total.last30Days, { narrations: 3, charsAsked: 350, charsSynthesized: 350, gpuSeconds: 16.5, cacheHits: 1, costUsd: 0.0165 });
});

test('usage table: one block per server, the default RunPod price, top members', async () => {
  const url = `sqlite:${path.join(root, 'b', 'narrator.db')}`;
  await seed(url);
  const run = await runUsage(['--now', new Date(NOW).toISOString()], { DATABASE_URL: url });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Usage on 2026-03-10 \(UTC\), sqlite storage, GPU at \$0\.00019\/s/);
  const lines = run.stdout.split('\n');
  const today1 = lines.find((l) => l.startsWith('111111111111111111'));
  assert.ok(today1, run.stdout);
  assert.deepEqual(today1.split(/\s{2,}/), ['111111111111111111', 'today', '1', '200', '200', '1', '10.5', '$0.0020']);
  assert.ok(lines.some((l) => /^\s+30 days\s+2\s+300\s+300\s+1\s+14\.5\s+\$0\.0028$/.test(l)), run.stdout);
  assert.ok(lines.some((l) => l.startsWith('all servers')), 'a total line when there are several servers');
  assert.match(run.stdout, /Top members of 111111111111111111 \(30 days\):\n {2}alice {2}1 narration, 200 chars synthesized, 10\.5 GPU s/);
  assert.ok(!run.stdout.includes('333333333333333333'), 'a server with nothing in 30 days is not listed');
});

test('usage with an empty database says so; a bad DATABASE_URL is one line, exit 2, no password', async () => {
  const empty = await runUsage([], { DATABASE_URL: `sqlite:${path.join(root, 'empty', 'narrator.db')}` });
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /No narrations in the last 30 days\./);

  const bad = await runUsage([], { DATABASE_URL: 'mysql://root:hunter22@db/narrator' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /DATABASE_URL uses an unknown scheme "mysql:"/);
  assert.ok(!bad.stderr.includes('hunter22') && !bad.stdout.includes('hunter22'));
});
