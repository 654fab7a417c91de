/**
 * Several REAL processes sharing one CACHE_DIR (shards, the CLI beside the bot), issue 9.8: each runs a random
 * workload (test/support/cacheWorkload.ts) on the same folder at once. Afterwards: no process failed, no reader ever
 * got bytes other than a complete entry, the folder is within the cap (plus at most one entry: the guaranteed bound),
 * and no temporary file is left.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudioCache } from '../src/services/cache.js';
import { WORKLOAD_SPAN, type WorkloadSummary, workloadKey, workloadPayload } from './support/cacheWorkload.js';
import { inheritedEnvWithout, runScript, type ScriptRun } from './support/runScript.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'narrator-cache-procs-'));
after(() => rmSync(root, { recursive: true, force: true }));
const script = fileURLToPath(new URL('./support/cacheWorkload.ts', import.meta.url));

function runWorkload(dir: string, maxBytes: number, seed: number, ops: number, base: number): Promise<ScriptRun> {
  // A plain script, not a test-runner child.
  return runScript(script, [dir, String(maxBytes), String(seed), String(ops), String(base)], { env: inheritedEnvWithout('NODE_TEST_CONTEXT') });
}

test('four processes on one folder: within the cap, no partial bytes, no errors, no temporary file left', async () => {
  const dir = path.join(root, 'shared');
  const maxBytes = 30_000;
  // Create the folder first, as a deployment would; the processes then start together.
  new AudioCache({ dir, maxBytes });
  const processes = 4;
  // Neighbouring processes share a third of their keys.
  const bases = Array.from({ length: processes }, (_, p) => p * 40);
  const runs = await Promise.all(bases.map((base, p) => runWorkload(dir, maxBytes, 11 * (p + 1), 150, base)));

  for (const run of runs) assert.equal(run.code, 0, `a process failed: ${run.stderr}${run.stdout}`);
  const summaries = runs.map((r) => JSON.parse(r.stdout.trim()) as WorkloadSummary);
  for (const s of summaries) assert.equal(s.wrongBytes, 0, `${s.pid} read wrong bytes`);
  const writes = summaries.reduce((n, s) => n + s.writes, 0);
  assert.ok(writes > 100 && summaries.some((s) => s.hits > 0), `a real workload (${writes} writes)`);

  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  assert.deepEqual(files.filter((f) => !f.name.endsWith('.bin')).map((f) => f.name), [], 'no temporary file left');
  let onDisk = 0;
  for (const f of files) onDisk += (await stat(path.join(f.parentPath, f.name))).size;
  const largestEntry = 40 + 5500;
  assert.ok(onDisk <= maxBytes + largestEntry, `${onDisk} bytes on disk for a cap of ${maxBytes}`);

  // Every entry left is complete and holds the one payload ever written under its key.
  const reader = new AudioCache({ dir, maxBytes: 10_000_000 });
  let present = 0;
  for (let i = 0; i < bases.at(-1)! + WORKLOAD_SPAN; i++) {
    const bytes = await reader.get(workloadKey(i));
    if (!bytes) continue;
    present++;
    assert.ok(Buffer.from(bytes).equals(workloadPayload(i)), `entry ${i} intact`);
  }
  assert.equal(present, files.length, `every file on disk is a valid entry: ${files.map((f) => path.join(f.parentPath, f.name)).join(", ")}`);
});
