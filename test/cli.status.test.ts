/**
 * `npm run status` (scripts/status.ts) as an operator runs it: a child process with a clean environment, pointed
 * at the RunPod emulator. It prints the endpoint's worker and job figures as `/health` reports them, and the cache;
 * it submits nothing (no job on the emulator); exit 1 and a short reason when the endpoint does not answer, with
 * the API key nowhere in the output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRunPodEmulator } from './support/runpodEmulator.js';
import { cliEnv, runScript, type ScriptRun } from './support/runScript.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function status(env: Record<string, string>): Promise<ScriptRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'narrator-status-'));
  try {
    return await runScript(path.join(ROOT, 'scripts/status.ts'), [], { cwd: dir, env: cliEnv(dir, env) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('npm run status prints the RunPod endpoint’s workers and jobs, and submits nothing', async () => {
  const runpod = await startRunPodEmulator({ workers: 3, coldStartMs: 60_000 });
  try {
    const env = { TTS_BACKEND: 'runpod', RUNPOD_API_KEY: runpod.apiKey, RUNPOD_ENDPOINT_ID: runpod.endpointId, RUNPOD_BASE_URL: runpod.baseUrl };
    const run = await status(env);
    assert.equal(run.code, 0, run.stderr);
    // Cold endpoint: all three workers scaled to zero, none idle or running.
    assert.match(run.stdout, /Backend: RunPod — workers: 0 idle, 0 running, 0 initializing, 0 throttled · jobs: 0 in queue, 0 in progress/);
    assert.match(run.stdout, /Cache: 0\.0 MB in 0 file\(s\)/);
    assert.equal(runpod.jobs.length, 0, 'no job submitted');
    assert.ok(!run.stdout.includes(runpod.apiKey) && !run.stderr.includes(runpod.apiKey), 'the key is never printed');
  } finally {
    await runpod.close();
  }
});

test('npm run status exits 1 with a short reason when the endpoint does not answer', async () => {
  const runpod = await startRunPodEmulator({ httpFault: (route) => (route === 'health' ? 503 : undefined) });
  try {
    const run = await status({ TTS_BACKEND: 'runpod', RUNPOD_API_KEY: runpod.apiKey, RUNPOD_ENDPOINT_ID: runpod.endpointId, RUNPOD_BASE_URL: runpod.baseUrl });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /Backend: RunPod — health check failed \(RunPod is having trouble \(HTTP 503\)\.\)/);
    assert.ok(!run.stdout.includes(runpod.apiKey));
  } finally {
    await runpod.close();
  }
});
