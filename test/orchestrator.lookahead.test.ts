/**
 * A long narration through the orchestrator with a listener who plays it in real time (a fake clock advanced by
 * each segment's length, as the player would): with `paced`, synthesis never runs more than the look-ahead (plus
 * the chunk being made) ahead of what was heard, a /stop mid-way leaves the rest unsynthesized, and no timer is left
 * behind. Without `paced` (the CLI, file outputs) every chunk is synthesized as fast as slots allow.
 * Deterministic: the backend answers at once, time moves only when the test moves it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTick } from 'node:timers/promises';
import { Orchestrator } from '../src/services/orchestrator.js';
import { FairScheduler } from '../src/services/scheduler.js';
import type { SynthesisRequest, TtsBackend } from '../src/services/tts/backend.js';
import { fakeSpeechSeconds, fakeSynthesize } from './support/fakeVoice.js';
import { ManualClock } from './support/manualClock.js';
import { textOfSpokenLength } from './support/spokenText.js';

/** Answers every job at once with the fake voice, recording the seconds of audio each job made. */
class InstantBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'instant';
  readonly jobs: number[] = [];
  async synthesize(req: SynthesisRequest) {
    this.jobs.push(fakeSpeechSeconds(req.text, req.speed));
    return { wav: fakeSynthesize(req.text, req.speed), retries: 0 };
  }
  get synthesizedSec(): number {
    return this.jobs.reduce((a, b) => a + b, 0);
  }
}

const LOOKAHEAD_MS = 30_000;
// ~5 000 spoken characters: ~5 minutes of audio in ~30 chunks, ten times the look-ahead.
const TEXT = textOfSpokenLength(5_000);

function setUp(paced: boolean) {
  const clock = new ManualClock();
  const scheduler = new FairScheduler(4, { clock });
  const backend = new InstantBackend();
  const orchestrator = new Orchestrator({
    backend,
    scheduler,
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
    synthLookaheadMs: LOOKAHEAD_MS,
  });
  const narration = orchestrator.narrate({ text: TEXT, paced, playbackStartAt: clock.now(), maxTextChars: 10_000 });
  return { clock, scheduler, backend, orchestrator, narration };
}

test('paced: synthesis stays within the look-ahead of what the listener heard; every chunk still arrives, in order', async (t) => {
  const { clock, scheduler, backend, narration } = setUp(true);
  const it = narration.segments();
  let heardSec = 0;
  let maxAheadSec = 0;
  let longestJobSec = 0;
  const indexes: number[] = [];
  for (;;) {
    // Everything that can start now has started (the backend answers at once): measure how far ahead it got.
    await nextTick();
    longestJobSec = Math.max(longestJobSec, ...backend.jobs);
    maxAheadSec = Math.max(maxAheadSec, backend.synthesizedSec - heardSec);
    const next = await it.next();
    if (next.done) break;
    indexes.push(next.value.index);
    // The listener plays this segment: time moves by its length.
    const sec = next.value.audio.samples.length / next.value.audio.sampleRate;
    clock.advance(sec * 1000);
    heardSec += sec;
  }
  t.diagnostic(`${indexes.length} chunks, ${heardSec.toFixed(0)} s heard, at most ${maxAheadSec.toFixed(1)} s synthesized ahead (longest chunk ${longestJobSec.toFixed(1)} s)`);
  assert.equal(indexes.length, narration.plan.chunks.length);
  assert.deepEqual(indexes, narration.plan.chunks.map((_, i) => i));
  assert.ok(heardSec > 8 * (LOOKAHEAD_MS / 1000), `the narration is much longer than the look-ahead (${heardSec.toFixed(0)} s)`);
  // Deadlines come from estimates corrected by real lengths: allow the chunk being made and one estimate's error.
  const bound = LOOKAHEAD_MS / 1000 + 2 * longestJobSec;
  assert.ok(maxAheadSec <= bound, `synthesized at most ${maxAheadSec.toFixed(1)} s ahead of the listener (bound ${bound.toFixed(1)} s)`);
  assert.ok(maxAheadSec >= LOOKAHEAD_MS / 1000 - longestJobSec, `the look-ahead is used (${maxAheadSec.toFixed(1)} s ahead)`);
  assert.equal(scheduler.timers, 0);
  assert.equal(clock.pendingTimers, 0, 'no timer left once the narration is over');
  assert.equal(scheduler.queued + scheduler.active, 0);
});

test('paced: a stop after one minute leaves the rest of a five-minute narration unsynthesized, and no timer', async () => {
  const { clock, scheduler, backend, narration } = setUp(true);
  const it = narration.segments();
  let heardSec = 0;
  while (heardSec < 60) {
    const next = await it.next();
    assert.ok(!next.done);
    const sec = next.value.audio.samples.length / next.value.audio.sampleRate;
    clock.advance(sec * 1000);
    heardSec += sec;
  }
  await nextTick();
  const jobsAtStop = backend.jobs.length;
  narration.cancel();
  await it.return(undefined as never);
  clock.advance(3_600_000);
  await nextTick();
  assert.equal(backend.jobs.length, jobsAtStop, 'nothing starts after the stop');
  assert.ok(jobsAtStop < narration.plan.chunks.length / 2, `${jobsAtStop} of ${narration.plan.chunks.length} chunks were synthesized`);
  assert.ok(backend.synthesizedSec <= heardSec + LOOKAHEAD_MS / 1000 + 2 * Math.max(...backend.jobs), `paid for ${backend.synthesizedSec.toFixed(0)} s, heard ${heardSec.toFixed(0)} s`);
  assert.equal(scheduler.timers, 0);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(scheduler.queued + scheduler.active, 0);
});

test('not paced (CLI, file outputs): every chunk is synthesized without waiting for a listener', async () => {
  const { clock, scheduler, backend, narration } = setUp(false);
  const it = narration.segments();
  let n = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) break;
    n++;
  }
  assert.equal(clock.now(), 0, 'time never moved');
  assert.equal(n, narration.plan.chunks.length);
  assert.equal(backend.jobs.length, narration.plan.chunks.length);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(scheduler.timers, 0);
});
