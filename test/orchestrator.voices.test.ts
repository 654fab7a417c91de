/**
 * Several voices in one narration (issue 11, parts 3–4), through the engine: the orchestrator with the real RunPod
 * backend against the RunPod emulator and a real disk cache. A three-voice script sends each line's jobs with the
 * `ref_name` of its voice, in text order; an unknown tag is refused with zero jobs; one sentence in two voices is
 * two jobs and two cache entries; the pause where the voice changes is longer than between sentences (measured in
 * the stitched audio). Every test ends with no job on the emulator, no timer, no temp folder.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AudioCache } from '../src/services/cache.js';
import { Orchestrator, type Narration, type NarrationSummary, type Segment } from '../src/services/orchestrator.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { RunPodBackend } from '../src/services/tts/runpod.js';
import { VoiceTagUnknownError } from '../src/services/text/voiceTags.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';

const VOICES = ['narrator', 'male_north_2', 'female_south'];
const ALIASES = { minh: 'male_north_2', lan: 'female_south' };

/** A three-voice script: tags on their own line, after a sentence end, and the script form; a paragraph at the end. */
const SCRIPT = [
  '[narrator] Trời đã tối dần, những ngọn đèn đường lần lượt bật sáng.',
  'Gió lạnh thổi qua con ngõ nhỏ vắng người, lá khô bay lả tả.',
  '[Minh] Anh phải về thôi, muộn lắm rồi em ạ, mẹ đang đợi ở nhà! [LAN] Em sẽ chờ anh ở đây thêm một lúc nữa nhé.',
  'Lan: Mai anh có quay lại đây không, hay lại quên mất như lần trước?',
  '[narrator] Và rồi cả hai cùng im lặng nhìn nhau dưới ánh đèn vàng.',
  '',
  '[minh] Anh hứa, ngày mai anh sẽ quay lại đúng giờ này.',
].join('\n');
/** What each job must carry, in text order: the voice's ref_name and the line's words (tags never sent). */
const EXPECTED: readonly (readonly [refName: string, text: string])[] = [
  ['sample/narrator.wav', 'Trời đã tối dần, những ngọn đèn đường lần lượt bật sáng.'],
  ['sample/narrator.wav', 'Gió lạnh thổi qua con ngõ nhỏ vắng người, lá khô bay lả tả.'],
  ['sample/male_north_2.wav', 'Anh phải về thôi, muộn lắm rồi em ạ, mẹ đang đợi ở nhà!'],
  ['sample/female_south.wav', 'Em sẽ chờ anh ở đây thêm một lúc nữa nhé.'],
  ['sample/female_south.wav', 'Mai anh có quay lại đây không, hay lại quên mất như lần trước?'],
  ['sample/narrator.wav', 'Và rồi cả hai cùng im lặng nhìn nhau dưới ánh đèn vàng.'],
  ['sample/male_north_2.wav', 'Anh hứa, ngày mai anh sẽ quay lại đúng giờ này.'],
];

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

async function setup(concurrency = 3) {
  emulator = await startRunPodEmulator({ workers: 3, jobTimeMs: () => 40, voices: VOICES });
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
  const dir = await mkdtemp(path.join(tmpdir(), 'narrator-voices-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }));
  const cache = new AudioCache({ dir, maxBytes: 64 * 1024 * 1024 });
  const orch = new Orchestrator({
    backend,
    scheduler: new FairScheduler(concurrency),
    cache,
    voices: VOICES,
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
    firstChunkChars: 0,
  });
  cleanups.push(async () => {
    assert.ok(await orch.drain(5_000), 'every backend call settled');
    await backend.close();
  });
  return { emu: emulator, orch, cache, backend, cacheDir: dir };
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

const jobsInOrder = (emu: RunPodEmulator) =>
  [...emu.jobs].sort((a, b) => a.submittedAt - b.submittedAt).map((j) => [String(j.input['ref_name']), String(j.input['text'])] as const);

/** Silent stretches (10 ms RMS windows under −50 dBFS) of at least 100 ms, in ms, in order. */
function pausesMs(samples: Float32Array, sampleRate: number): number[] {
  const win = Math.round(sampleRate / 100);
  const threshold = 10 ** (-50 / 20);
  const pauses: number[] = [];
  let run = 0;
  for (let at = 0; at + win <= samples.length; at += win) {
    let energy = 0;
    for (let i = at; i < at + win; i++) energy += samples[i]! * samples[i]!;
    if (Math.sqrt(energy / win) < threshold) run++;
    else {
      if (run >= 10) pauses.push(run * 10);
      run = 0;
    }
  }
  return pauses;
}

test('a three-voice script: every job carries the ref_name of its line, in text order; the plan lists every voice', async () => {
  // One job at a time, so the order the emulator receives them in is the order they were started in (with more,
  // concurrent /run requests may overtake each other on the way).
  const { emu, orch } = await setup(1);
  const plan = orch.plan({ text: SCRIPT, aliases: ALIASES });
  assert.deepEqual(plan.voices, VOICES, 'every voice heard, in order of first appearance');
  assert.equal(plan.voice, 'narrator');
  const { segments, summary } = await collect(orch.narrate({ text: SCRIPT, aliases: ALIASES }));
  assert.deepEqual(jobsInOrder(emu), EXPECTED);
  assert.deepEqual(segments.map((s) => s.text), EXPECTED.map(([, text]) => text));
  assert.equal(summary.chunks, EXPECTED.length);
  assert.equal(summary.charsSynthesized, summary.spokenChars);
});

test('with three jobs at once, every job still carries the ref_name of its own line', async () => {
  const { emu, orch } = await setup(3);
  await collect(orch.narrate({ text: SCRIPT, aliases: ALIASES }));
  const byText = new Map(emu.jobs.map((j) => [String(j.input['text']), String(j.input['ref_name'])]));
  assert.equal(emu.jobs.length, EXPECTED.length);
  assert.deepEqual(EXPECTED.map(([, text]) => [byText.get(text), text]), EXPECTED);
});

test('an unknown tag is refused before any job: nothing reaches the emulator', async () => {
  const { emu, orch } = await setup();
  const text = `${SCRIPT}\n[Bob] Tôi cũng muốn nói một câu.`;
  assert.throws(() => orch.narrate({ text, aliases: ALIASES }), (err: unknown) => err instanceof VoiceTagUnknownError && err.tag === 'Bob');
  // Without the server's aliases, [minh] itself is unknown.
  assert.throws(() => orch.plan({ text: SCRIPT }), (err: unknown) => err instanceof VoiceTagUnknownError && err.tag === 'Minh');
  assert.equal(emu.jobs.length, 0);
  assert.equal(emu.requests.count('run') + emu.requests.count('runsync'), 0);
});

test('one sentence in two voices: two jobs, two cache entries; a repeat in the same voice costs nothing', async () => {
  const { emu, orch, cache, backend, cacheDir } = await setup();
  const sentence = 'Trời hôm nay đẹp quá, mình cùng nhau đi dạo quanh hồ đi.';
  const text = `[minh] ${sentence}\n[lan] ${sentence}\n[minh] ${sentence}`;
  const plan = orch.plan({ text, aliases: ALIASES });
  assert.equal(await orch.charsToSynthesize(plan), plan.spokenChars - [...sentence].length - 1, 'the third line is a repeat of the first');
  const first = await collect(orch.narrate({ text, aliases: ALIASES }));
  assert.deepEqual(jobsInOrder(emu), [
    ['sample/male_north_2.wav', sentence],
    ['sample/female_south.wav', sentence],
  ]);
  assert.deepEqual(first.segments.map((s) => s.fromCache), [false, false, true]);
  await orch.drain();
  const files = (await readdir(cacheDir, { recursive: true })).filter((f) => f.endsWith('.bin'));
  assert.equal(files.length, 2, `two cache entries: ${files.join(', ')}`);
  for (const voice of ['male_north_2', 'female_south']) {
    assert.ok(await cache.has(AudioCache.key({ backend: backend.identity, voice, speed: 1, text: sentence })), `${voice} cached`);
  }

  // Both voices are now cached: nothing left to synthesize, no new job.
  assert.equal(await orch.charsToSynthesize(plan), 0);
  const again = await collect(orch.narrate({ text, aliases: ALIASES }));
  assert.equal(emu.jobs.length, 2);
  assert.deepEqual(again.segments.map((s) => s.fromCache), [true, true, true]);
});

test('the pause where the voice changes is longer than between sentences, shorter than a paragraph', async () => {
  const { orch } = await setup();
  const narration = orch.narrate({ text: SCRIPT, aliases: ALIASES });
  assert.deepEqual(narration.plan.chunks.map((c) => c.breakBefore), ['none', 'sentence', 'speaker', 'speaker', 'sentence', 'speaker', 'paragraph']);
  const { segments, summary } = await collect(narration);
  const samples = new Float32Array(segments.reduce((n, s) => n + s.audio.samples.length, 0));
  let at = 0;
  for (const s of segments) {
    samples.set(s.audio.samples, at);
    at += s.audio.samples.length;
  }
  const pauses = pausesMs(samples, summary.sampleRate);
  assert.equal(pauses.length, EXPECTED.length - 1, `one pause between each two chunks: ${pauses.join(', ')} ms`);
  const [, sentence1, speaker1, speaker2, sentence2, speaker3, paragraph] = [0, ...pauses];
  const sentences = [sentence1!, sentence2!];
  const speakers = [speaker1!, speaker2!, speaker3!];
  // The stitcher's gaps are 250 / 400 / 600 ms, plus the ~100 ms of quiet margins kept around each clip.
  for (const s of speakers) {
    for (const t of sentences) assert.ok(s >= t + 100, `speaker pause ${s} ms vs sentence pause ${t} ms`);
    assert.ok(s <= paragraph! - 100, `speaker pause ${s} ms vs paragraph pause ${paragraph} ms`);
  }
});
