/**
 * Acceptance of issue 9 point 1, as a user runs it: the `narrate` CLI (a child process) against the RunPod emulator
 * while 90 % of /status, /status-sync and /cancel calls are answered 429 (some 503), seeded so the storm is the same
 * on every run. The narration completes — or, when a chunk fails for good, fails clearly — with at most one job per
 * chunk at a time (a chunk's next job only after its previous one ended) and nothing left running after the exit
 * (the emulator's close() refuses otherwise). Backoff bases are shrunk through RUNPOD_BACKOFF_MS so it runs in seconds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRunPodEmulator, type RunPodEmulator, type RunPodJobRecord } from './support/runpodEmulator.js';
import { LONG_VIETNAMESE_TEXT } from './support/texts.js';
import { runNarrateCli, type ScriptRun } from './support/runScript.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'narrator-storm-'));
  await writeFile(path.join(dir, 'long.txt'), LONG_VIETNAMESE_TEXT);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function narrate(emu: RunPodEmulator, out: string): Promise<ScriptRun> {
  return runNarrateCli(dir, ['--file', path.join(dir, 'long.txt'), '--out', out, '--json', '--no-cache'], {
    LOG_LEVEL: 'error',
    RUNPOD_API_KEY: emu.apiKey,
    RUNPOD_ENDPOINT_ID: emu.endpointId,
    RUNPOD_BASE_URL: emu.baseUrl,
    WORKER_DOWNLOAD_HOSTS: '127.0.0.1',
    RUNPOD_BACKOFF_MS: '2',
    MAX_CONCURRENT_JOBS: '4',
  });
}

/** For every chunk text: each later job was submitted only after the previous one had ended. */
function assertOneJobAtATimePerChunk(jobs: readonly RunPodJobRecord[]): void {
  const byText = new Map<string, RunPodJobRecord[]>();
  for (const job of jobs) byText.set(String(job.input['text']), [...(byText.get(String(job.input['text'])) ?? []), job]);
  for (const [text, list] of byText) {
    for (let i = 1; i < list.length; i++) {
      const endedAt = list[i - 1]!.finishedAt ?? list[i - 1]!.deletedAt;
      assert.ok(endedAt !== undefined && list[i]!.submittedAt >= endedAt, `"${text.slice(0, 40)}": a second job while the first could still run`);
    }
  }
}

const STORM = { fraction: 0.9, seed: 2024, serverErrorShare: 0.2 } as const;

test('90 % of status and cancel calls refused: the 26-chunk narration completes with one job per chunk', { timeout: 120_000 }, async () => {
  const emu = await startRunPodEmulator({ workers: 4, jobTimeMs: () => 40, storm: STORM });
  try {
    const out = path.join(dir, 'storm.wav');
    const run = await narrate(emu, out);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { chunks: number; retries: number };
    assert.ok(result.chunks >= 20, `${result.chunks} chunks`);
    assert.equal(emu.jobs.length, result.chunks, 'exactly one job per chunk: none abandoned and submitted again');
    assert.equal(new Set(emu.jobs.map((j) => j.input['text'])).size, result.chunks);
    assertOneJobAtATimePerChunk(emu.jobs);
    const refused = emu.requests.log.filter((r) => r.status === 429 || r.status === 503).length;
    assert.ok(refused > result.chunks * 3, `the storm happened (${refused} refusals)`);
    assert.deepEqual(emu.activeJobs(), []);
  } finally {
    await emu.close();
  }
});

test('90 % refused and a chunk fails for good: the CLI fails clearly and no job is left running', { timeout: 120_000 }, async () => {
  const emu = await startRunPodEmulator({
    workers: 4,
    jobTimeMs: () => 400,
    storm: STORM,
    // The 6th execution fails for good (a permanent worker error); others are in flight on the other workers.
    fault: (c) => (c.jobIndex === 5 ? { kind: 'error', error: 'Something odd happened', afterMs: 30 } : undefined),
  });
  try {
    const out = path.join(dir, 'fail.wav');
    const run = await narrate(emu, out);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /narrate: The TTS worker reported an error\./);
    await assert.rejects(access(out), 'no partial file left at --out');
    // The other chunks' jobs were cancelled (or had ended) before the CLI exited, storm or not.
    assert.deepEqual(emu.activeJobs().map((j) => j.status), [], 'nothing left queued or running after the exit');
    assertOneJobAtATimePerChunk(emu.jobs);
    // Nothing new starts once the CLI knows of the failure. Under the storm it learns it only when a status read of
    // the failed job gets through (after the job ended): from then on at most the one /run already on the wire
    // (submissions go one at a time) may still arrive.
    const failed = emu.jobs.find((j) => j.status === 'FAILED')!;
    const told = emu.requests.log.find(
      (r) => (r.route === 'status' || r.route === 'status-sync') && r.path.includes(failed.id) && r.status === 200 && r.answeredAt! > failed.finishedAt!,
    );
    assert.ok(told, 'the CLI read the failure');
    const after = emu.requests.log.filter((r) => r.route === 'run' && r.receivedAt > told.answeredAt!);
    assert.ok(after.length <= 1, `${after.length} jobs submitted after the CLI was told of the failure`);
  } finally {
    await emu.close();
  }
});
