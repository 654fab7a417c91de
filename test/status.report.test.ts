/**
 * What /status and `npm run status` say for each backend (services/status.ts): Flask `/voices` reachable (with
 * its count) or not, the local offline voice, a RunPod health failure as a short reason, and the bot's own figures
 * and cache hit rate — in English and Vietnamese.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlaskBackend } from '../src/services/tts/flask.js';
import { LocalBackend } from '../src/services/tts/local.js';
import { backendStatus, formatUptime, renderStatusReport } from '../src/services/status.js';
import { NarratorError } from '../src/services/errors.js';
import { startFlaskEmulator } from './support/flaskEmulator.js';

test('Flask: /voices reachable with its count, then unreachable once the server is gone', async () => {
  const emulator = await startFlaskEmulator({ voices: ['a', 'b', 'c'] });
  const backend = new FlaskBackend({ baseUrl: emulator.baseUrl, refNameTemplate: '{voice}', jobTimeoutMs: 5_000 });
  try {
    const up = await backendStatus(backend);
    assert.deepEqual(up, { kind: 'flask', ok: true, voices: 3 });
    assert.match(renderStatusReport('en', { backend: up }), /Backend: \*\*Flask\*\* — `\/voices` reachable \(3 voices\)/);
    await emulator.close();
    const down = await backendStatus(backend, 2_000);
    assert.deepEqual(down, { kind: 'flask', ok: false });
    assert.match(renderStatusReport('vi', { backend: down }), /không truy cập được `\/voices`/);
  } finally {
    await emulator.close().catch(() => undefined);
  }
});

test('local: the offline voice; RunPod failure: a short reason; bot figures and hit rate', async () => {
  const local = new LocalBackend();
  try {
    assert.deepEqual(await backendStatus(local), { kind: 'local' });
  } finally {
    await local.close?.();
  }
  const failing = { kind: 'runpod' as const, health: async () => Promise.reject(new NarratorError('transient', 'server_error', 'RunPod is having trouble (HTTP 503).')) };
  const report = {
    backend: await backendStatus(failing),
    cache: { bytes: 3 * 1024 * 1024, files: 12, hits: 3, misses: 1 },
    bot: { playing: 1, queued: 2, guilds: 1, detached: 1, slotsBusy: 2, slots: 4, chunksWaiting: 5, chunksHeld: 40, uptimeSec: 3_725 },
  };
  const text = renderStatusReport('en', report);
  assert.match(text, /health check failed \(RunPod is having trouble \(HTTP 503\)\.\)/);
  assert.match(text, /Narrations: 1 playing, 2 queued in 1 server\(s\), 1 as files\/voice messages/);
  assert.match(text, /GPU slots: 2\/4 busy, 5 chunk\(s\) waiting, 40 held until their listeners near them/);
  assert.match(renderStatusReport('vi', report), /5 đoạn đang chờ, 40 đoạn tạm giữ/);
  const noneHeld = renderStatusReport('en', { ...report, bot: { ...report.bot, chunksHeld: 0 } });
  assert.match(noneHeld, /GPU slots: 2\/4 busy, 5 chunk\(s\) waiting$/m, 'nothing held: not mentioned');
  assert.match(text, /Cache: 3\.0 MB in 12 file\(s\), hit rate 75% \(3\/4\)/);
  assert.match(text, /Uptime: 1h 2m/);
  assert.equal(formatUptime(59), '0m 59s');
  assert.equal(formatUptime(90_061), '1d 1h 1m');
});
