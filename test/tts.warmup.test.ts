/**
 * RunPod warm-up (services/tts/warmup.ts) against the RunPod emulator: the cold-start notice follows `/health`
 * (no idle or running worker → "about N s", N the last observed cold start), RUNPOD_WARM_ON_START sends one tiny
 * job, keep-warm pings only inside its window, and shutdown (`close`) cancels a warm-up job still queued on a cold
 * endpoint — nothing is left IN_QUEUE/IN_PROGRESS, no timer keeps running. Order and state are asserted, not times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunPodBackend, isCold } from '../src/services/tts/runpod.js';
import { WarmUp } from '../src/services/tts/warmup.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { pollUntil } from './support/wait.js';

function backendFor(emulator: RunPodEmulator): RunPodBackend {
  return new RunPodBackend({
    apiKey: emulator.apiKey,
    endpointId: emulator.endpointId,
    baseUrl: emulator.baseUrl,
    refNameTemplate: 'sample/{voice}.wav',
    executionTimeoutMs: 30_000,
    backoffBaseMs: 5,
    pollMinMs: 10,
  });
}

test('health() reports the endpoint’s workers and jobs; a cold endpoint is cold', async () => {
  const emulator = await startRunPodEmulator({ workers: 2, coldStartMs: 60_000 });
  const backend = backendFor(emulator);
  try {
    const h = await backend.health();
    assert.deepEqual(h.workers, { idle: 0, ready: 0, running: 0, initializing: 0, throttled: 0 });
    assert.deepEqual(h.jobs, { inQueue: 0, inProgress: 0 });
    assert.equal(isCold(h), true);
  } finally {
    await backend.close();
    await emulator.close();
  }
});

test('warm on start on a cold endpoint: the notice gives the default, the warm-up records the cold start, then warm', async () => {
  const emulator = await startRunPodEmulator({ workers: 1, coldStartMs: 300, jobTimeMs: () => 20 });
  const backend = backendFor(emulator);
  const warm = new WarmUp(backend, { warmOnStart: true, keepWarmMin: 0, voice: 'narrator', defaultColdStartMs: 45_000 });
  try {
    assert.equal(await warm.coldNotice(), 45, 'cold, nothing observed yet: the default');
    warm.start();
    await pollUntil(() => (emulator.jobs.length === 1 ? true : undefined), 10_000, 'the warm-up job');
    assert.equal(emulator.jobs[0]!.input.text, 'Xin chào.');
    await pollUntil(() => (warm.activeJobs === 0 ? true : undefined), 10_000, 'the warm-up to finish');
    assert.equal(emulator.jobs[0]!.status, 'COMPLETED');
    // It found the endpoint cold, so its duration (≥ the emulator's 300 ms boot) is the new estimate.
    assert.ok(warm.coldStartEstimateSec() >= 1 && warm.coldStartEstimateSec() < 45);
    assert.equal(await warm.coldNotice(), undefined, 'a worker is up now: no notice');
  } finally {
    await warm.close();
    await backend.close();
    await emulator.close();
  }
});

test('shutdown cancels a warm-up job still waiting for a cold worker: nothing is left on the endpoint', async () => {
  const emulator = await startRunPodEmulator({ workers: 1, coldStartMs: 120_000 });
  const backend = backendFor(emulator);
  const warm = new WarmUp(backend, { warmOnStart: true, keepWarmMin: 0, voice: 'narrator' });
  try {
    warm.start();
    await pollUntil(() => (emulator.activeJobs().length === 1 ? true : undefined), 10_000, 'the warm-up job queued');
    await warm.close();
    assert.equal(await backend.drain(5_000), true);
    assert.equal(emulator.activeJobs().length, 0, 'the warm-up job was cancelled');
    assert.equal(emulator.jobs[0]!.status, 'CANCELLED');
    warm.start();
    warm.activity();
    assert.equal(emulator.jobs.length, 1, 'nothing starts after close');
  } finally {
    await backend.close();
    await emulator.close();
  }
});

test('keep-warm pings while inside its window after the last narration, and stops past it', async () => {
  const emulator = await startRunPodEmulator({ workers: 1, jobTimeMs: () => 5 });
  const backend = backendFor(emulator);
  let now = 1_000_000;
  const warm = new WarmUp(backend, { warmOnStart: false, keepWarmMin: 10, voice: 'narrator', pingEveryMs: 30, now: () => now });
  try {
    assert.equal(warm.keepingWarm, false, 'off until a narration');
    warm.activity();
    assert.equal(warm.keepingWarm, true);
    await pollUntil(() => (emulator.jobs.length >= 2 ? true : undefined), 10_000, 'two keep-warm jobs');
    now += 10 * 60_000 + 1; // ten minutes after the last narration
    await pollUntil(() => (warm.keepingWarm ? undefined : true), 10_000, 'keep-warm to stop');
    await pollUntil(() => (warm.activeJobs === 0 ? true : undefined), 10_000, 'the last ping to end');
    const count = emulator.jobs.length;
    warm.activity(); // a new narration opens a new window
    assert.equal(warm.keepingWarm, true);
    await warm.close();
    assert.equal(warm.keepingWarm, false, 'no timer after close');
    assert.ok(emulator.jobs.length >= count);
  } finally {
    await warm.close();
    await backend.close();
    await emulator.close();
  }
});

test('keep-warm is off by default (0 minutes)', async () => {
  const emulator = await startRunPodEmulator({ workers: 1 });
  const backend = backendFor(emulator);
  const warm = new WarmUp(backend, { warmOnStart: false, keepWarmMin: 0, voice: 'narrator' });
  try {
    warm.start();
    warm.activity();
    assert.equal(warm.keepingWarm, false);
    assert.equal(warm.activeJobs, 0);
    assert.equal(emulator.jobs.length, 0);
  } finally {
    await warm.close();
    await backend.close();
    await emulator.close();
  }
});
