/**
 * What a narration costs, for the usage ledger (issue 10, points 4–5): the orchestrator with the real RunPod backend
 * against the RunPod emulator and a real disk cache. The GPU seconds it reports must equal what the emulator billed
 * (the sum of every job's executionTime, failed and cancelled attempts included), the characters it says it
 * synthesized must be the cache misses, `charsToSynthesize` must forecast exactly that, `startChunk` must resume
 * from a chunk, and a changed dictionary entry must never serve stale audio. Every test ends with no job on the
 * emulator, no timer, no temp folder.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AudioCache } from '../src/services/cache.js';
import { NarratorError } from '../src/services/errors.js';
import { chunkSpokenChars, Orchestrator, type Narration, type NarrationSummary, type Segment } from '../src/services/orchestrator.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { RunPodBackend } from '../src/services/tts/runpod.js';
import { prepareText } from '../src/services/text/index.js';
import { startRunPodEmulator, type RunPodEmulator, type RunPodEmulatorOptions } from './support/runpodEmulator.js';

const SENTENCES = [
  'Buổi sáng hôm ấy, trời trong xanh và gió thổi nhẹ qua những hàng cây ven đường.',
  'Người bán hàng rong cất tiếng rao quen thuộc, vang vọng khắp con phố nhỏ.',
  'Trẻ em tung tăng đến trường, trên vai là chiếc cặp sách đầy ắp những ước mơ.',
  'Ở góc phố, quán cà phê quen đã mở cửa từ sớm, thơm lừng mùi cà phê rang xay.',
  'Một ngày mới lại bắt đầu ở thành phố này, bình yên và đầy hy vọng.',
  'Chiều xuống, ánh hoàng hôn nhuộm vàng cả một góc trời phía tây.',
];
const TEXT = `${SENTENCES.slice(0, 3).join(' ')}\n\n${SENTENCES.slice(3, 5).join('\n')}`;

let emulator: RunPodEmulator | undefined;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (!emulator) return;
  const emu = emulator;
  emulator = undefined;
  assert.deepEqual(emu.activeJobs().map((j) => j.status), [], 'no job left queued or running');
  await emu.close();
});

async function setup(emu: RunPodEmulatorOptions = {}, o: { cache?: boolean; concurrency?: number } = {}) {
  emulator = await startRunPodEmulator({ jobTimeMs: () => 40, ...emu });
  const backend = new RunPodBackend({
    apiKey: emulator.apiKey,
    endpointId: emulator.endpointId,
    baseUrl: emulator.baseUrl,
    refNameTemplate: 'sample/{voice}.wav',
    executionTimeoutMs: 10_000,
    retryBaseMs: 5,
    backoffBaseMs: 5,
    pollMinMs: 20,
    pollMaxMs: 50,
  });
  let cache: AudioCache | undefined;
  if (o.cache !== false) {
    const dir = await mkdtemp(path.join(tmpdir(), 'narrator-accounting-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }));
    cache = new AudioCache({ dir, maxBytes: 64 * 1024 * 1024 });
  }
  const orch = new Orchestrator({
    backend,
    scheduler: new FairScheduler(o.concurrency ?? 3),
    cache,
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
  });
  cleanups.push(async () => {
    assert.ok(await orch.drain(5_000), 'every backend call settled');
    await backend.close();
  });
  return { emu: emulator, orch };
}

async function collect(narration: Narration): Promise<{ segments: Segment[]; summary: NarrationSummary }> {
  const segments: Segment[] = [];
  const it = narration.segments();
  for (;;) {
    const next = await it.next();
    if (next.done) return { segments, summary: next.value };
    segments.push(next.value);
  }
}

/** Billed seconds agree to the millisecond per job (both sides round each job's executionTime to whole ms). */
function assertBilled(gpuSeconds: number, emu: RunPodEmulator, what: string): void {
  const billed = emu.billedExecutionMs / 1000;
  assert.ok(Math.abs(gpuSeconds - billed) < 0.0005, `${what}: reported ${gpuSeconds} s, the emulator billed ${billed} s`);
}

test('chunk shares add up to the spoken characters, whatever the breaks', () => {
  for (let n = 1; n <= SENTENCES.length; n++) {
    for (const glue of [' ', '\n', '\n\n']) {
      const prepared = prepareText(SENTENCES.slice(0, n).join(glue));
      const shares = chunkSpokenChars(prepared);
      assert.equal(shares.reduce((a, b) => a + b, 0), prepared.spokenChars);
      assert.ok(shares.every((s, i) => s >= [...prepared.chunks[i]!.text].length));
    }
  }
});

test('cold cache: GPU seconds equal what RunPod billed (a failed attempt included), every spoken character synthesized', async () => {
  // The second sentence's first job crashes after running 80 ms: billed, then resubmitted.
  const { emu, orch } = await setup({
    fault: (c) => (String(c.input['text']).includes('hàng rong') && c.attemptForText === 1 ? { kind: 'raise', message: 'RuntimeError: CUDA hiccup', afterMs: 80 } : undefined),
  });
  const plan = orch.plan({ text: TEXT });
  assert.ok(plan.chunks.length >= 4);
  assert.equal(await orch.charsToSynthesize(plan), plan.spokenChars, 'nothing cached yet: everything is to synthesize');
  const narration = orch.narrate({ text: TEXT });
  const { summary } = await collect(narration);
  await emu.waitIdle();
  assert.equal(emu.jobs.length, plan.chunks.length + 1, 'one job per chunk plus the failed attempt');
  assert.equal(summary.retries, 1);
  assertBilled(summary.gpuSeconds, emu, 'summary');
  const completed = emu.jobs.filter((j) => j.status === 'COMPLETED').reduce((s, j) => s + Math.round(j.finishedAt! - j.startedAt!), 0);
  assert.ok(summary.gpuSeconds * 1000 > completed + 70, 'the failed attempt that ran is counted');
  assert.equal(summary.spokenChars, plan.spokenChars);
  assert.equal(summary.charsSynthesized, plan.spokenChars);
  assert.equal(summary.cacheHits, 0);
  assert.deepEqual(narration.usage(), { charsSynthesized: plan.spokenChars, gpuSeconds: summary.gpuSeconds, cacheHits: 0, chunksDone: plan.chunks.length });

  // Warm cache: the same text costs nothing, and the forecast said so.
  assert.equal(await orch.charsToSynthesize(plan), 0);
  const jobsBefore = emu.jobs.length;
  const again = await collect(orch.narrate({ text: TEXT }));
  assert.equal(emu.jobs.length, jobsBefore, 'no job for a fully cached narration');
  assert.equal(again.summary.gpuSeconds, 0);
  assert.equal(again.summary.charsSynthesized, 0);
  assert.equal(again.summary.cacheHits, plan.chunks.length);
  assert.equal(again.summary.spokenChars, plan.spokenChars);

  // Partly cached: the forecast is exactly what is then synthesized, and the GPU seconds still match the bill.
  const longer = `${TEXT}\n${SENTENCES[5]} Và rồi đêm xuống, thành phố lên đèn rực rỡ khắp nơi.`;
  const plan2 = orch.plan({ text: longer });
  const forecast = await orch.charsToSynthesize(plan2);
  assert.ok(forecast > 0 && forecast < plan2.spokenChars, `forecast ${forecast} of ${plan2.spokenChars}`);
  const third = await collect(orch.narrate({ text: longer }));
  assert.equal(third.summary.charsSynthesized, forecast);
  assert.ok(third.summary.cacheHits > 0);
  await emu.waitIdle();
  assertBilled(summary.gpuSeconds + third.summary.gpuSeconds, emu, 'both narrations');
});

test('without a cache every chunk is synthesized; a repeated chunk is one job and counted once with a cache', async () => {
  const repeated = `${SENTENCES[0]}\n${SENTENCES[1]}\n${SENTENCES[0]}`;
  {
    const { emu, orch } = await setup({}, { cache: false });
    const plan = orch.plan({ text: repeated });
    assert.equal(await orch.charsToSynthesize(plan), plan.spokenChars);
    const { summary } = await collect(orch.narrate({ text: repeated }));
    assert.equal(emu.jobs.length, 3);
    assert.equal(summary.charsSynthesized, plan.spokenChars);
    assertBilled(summary.gpuSeconds, emu, 'no cache');
    await emu.close();
    emulator = undefined;
  }
  const { emu, orch } = await setup();
  const plan = orch.plan({ text: repeated });
  const forecast = await orch.charsToSynthesize(plan);
  const { summary } = await collect(orch.narrate({ text: repeated }));
  assert.equal(emu.jobs.length, 2);
  assert.equal(summary.charsSynthesized, forecast);
  assert.equal(forecast, plan.spokenChars - chunkSpokenChars(plan)[2]!);
  assertBilled(summary.gpuSeconds, emu, 'cache');
});

test('cancelled mid-narration: usage() counts what finished and every billed second, cancelled jobs included', async () => {
  const { emu, orch } = await setup({ jobTimeMs: (input) => (String(input['text']).startsWith('Buổi') ? 30 : 400) }, { concurrency: 2 });
  const narration = orch.narrate({ text: TEXT });
  const it = narration.segments();
  const first = await it.next();
  assert.equal(first.done, false);
  // Two later chunks are on the "GPU" now (concurrency 2); stop everything.
  narration.cancel();
  await assert.rejects(it.next(), (err: unknown) => err instanceof NarratorError && err.kind === 'aborted');
  assert.ok(await orch.drain(5_000));
  await emu.waitIdle();
  const cancelledRan = emu.jobs.filter((j) => j.status === 'CANCELLED' && j.startedAt !== undefined);
  assert.ok(cancelledRan.length >= 1, 'a job was cancelled while running');
  const usage = narration.usage();
  assertBilled(usage.gpuSeconds, emu, 'usage after cancel');
  const shares = chunkSpokenChars(narration.plan);
  const doneTexts = new Set(emu.jobs.filter((j) => j.status === 'COMPLETED').map((j) => String(j.input['text'])));
  const expected = narration.plan.chunks.reduce((sum, c, i) => sum + (doneTexts.has(c.text) ? shares[i]! : 0), 0);
  assert.equal(usage.charsSynthesized, expected);
  assert.ok(usage.charsSynthesized > 0 && usage.charsSynthesized < narration.plan.spokenChars);
  assert.equal(usage.chunksDone, doneTexts.size);
});

test('a failed narration: usage() counts the chunks that were synthesized and the GPU seconds of every job', async () => {
  const failing = SENTENCES[2]!;
  // The chunks after the failing one run long, so none can complete between the failure and their cancel (a job
  // that completes in that instant is billed, but its audio is dropped: not synthesized for the narration).
  const { emu, orch } = await setup({
    jobTimeMs: (input) => (/góc phố|ngày mới/.test(String(input['text'])) ? 3_000 : 40),
    fault: (c) => (c.input['text'] === failing ? { kind: 'error', error: "Missing 'text' in input", afterMs: 60 } : undefined),
  });
  const text = SENTENCES.slice(0, 5).join('\n');
  const narration = orch.narrate({ text });
  const failingIndex = narration.plan.chunks.findIndex((c) => c.text === failing);
  assert.ok(failingIndex > 0);
  const seen: number[] = [];
  const it = narration.segments();
  await assert.rejects(
    (async () => {
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        seen.push(next.value.index);
      }
    })(),
    (err: unknown) => err instanceof NarratorError && err.code === 'bad_request',
  );
  assert.deepEqual(seen, [...Array(failingIndex).keys()], 'what came before the failure was yielded');
  assert.ok(await orch.drain(5_000));
  await emu.waitIdle();
  const usage = narration.usage();
  assertBilled(usage.gpuSeconds, emu, 'usage after failure');
  const shares = chunkSpokenChars(narration.plan);
  const doneTexts = new Set(emu.jobs.filter((j) => j.status === 'COMPLETED').map((j) => String(j.input['text'])));
  assert.equal(usage.charsSynthesized, narration.plan.chunks.reduce((sum, c, i) => sum + (doneTexts.has(c.text) ? shares[i]! : 0), 0));
});

test('startChunk resumes at a chunk: only the chunks from there are synthesized, yielded and counted', async () => {
  const { emu, orch } = await setup();
  const plan = orch.plan({ text: TEXT });
  const start = 2;
  const narration = orch.narrate({ text: TEXT, startChunk: start });
  const { segments, summary } = await collect(narration);
  const rest = plan.chunks.slice(start);
  assert.deepEqual(segments.map((s) => s.index), rest.map((c) => c.index));
  assert.deepEqual(segments.map((s) => s.text), rest.map((c) => c.text));
  assert.deepEqual(emu.jobs.map((j) => j.input['text']).sort(), rest.map((c) => c.text).sort(), 'no job for the chunks before it');
  const restChars = chunkSpokenChars(plan).slice(start).reduce((a, b) => a + b, 0);
  assert.equal(summary.chunks, rest.length);
  assert.equal(summary.spokenChars, restChars);
  assert.equal(summary.charsSynthesized, restChars);
  assertBilled(summary.gpuSeconds, emu, 'resumed narration');

  // Past the end (a text that re-plans shorter): nothing to do, nothing spent.
  const none = await collect(orch.narrate({ text: TEXT, startChunk: plan.chunks.length + 3 }));
  assert.equal(none.segments.length, 0);
  assert.equal(none.summary.chunks, 0);
  assert.equal(none.summary.charsSynthesized, 0);
  assert.throws(() => orch.narrate({ text: TEXT, startChunk: -1 }), (err: unknown) => err instanceof NarratorError && err.code === 'bad_start_chunk');
  assert.throws(() => orch.narrate({ text: TEXT, startChunk: 1.5 }), (err: unknown) => err instanceof NarratorError && err.code === 'bad_start_chunk');
});

test('dictionary: the replaced text is synthesized and keyed; a changed entry never serves stale audio', async () => {
  const { emu, orch } = await setup();
  const text = 'Hẹn gặp các bạn ở TP.HCM vào sáng mai nhé, nhớ mang theo ô.';
  const v1 = [{ word: 'tp.hcm', say: 'Sài Gòn' }];
  const v2 = [{ word: 'TP.HCM', say: 'Thành phố Hồ Chí Minh' }];

  const first = await collect(orch.narrate({ text, dictionary: v1 }));
  assert.deepEqual(emu.jobs.map((j) => j.input['text']), ['Hẹn gặp các bạn ở Sài Gòn vào sáng mai nhé, nhớ mang theo ô.']);
  assert.equal(first.summary.charsSynthesized, [...'Hẹn gặp các bạn ở Sài Gòn vào sáng mai nhé, nhớ mang theo ô.'].length);

  // Same entry: served from the cache.
  const again = await collect(orch.narrate({ text, dictionary: v1 }));
  assert.equal(emu.jobs.length, 1);
  assert.equal(again.summary.cacheHits, 1);

  // Changed entry: the forecast says it must be synthesized, and it is, with the new words.
  const plan2 = orch.plan({ text, dictionary: v2 });
  assert.equal(await orch.charsToSynthesize(plan2), plan2.spokenChars);
  const second = await collect(orch.narrate({ text, dictionary: v2 }));
  assert.equal(emu.jobs.length, 2);
  assert.equal(emu.jobs[1]!.input['text'], 'Hẹn gặp các bạn ở Thành phố Hồ Chí Minh vào sáng mai nhé, nhớ mang theo ô.');
  assert.equal(second.summary.cacheHits, 0);
  assert.notEqual(second.segments[0]!.audio.samples.length, first.segments[0]!.audio.samples.length, 'different words, different audio');

  // No dictionary: the raw text, another key again.
  await collect(orch.narrate({ text }));
  assert.equal(emu.jobs[2]!.input['text'], text);
});
