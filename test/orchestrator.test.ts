/**
 * The orchestrator against a scripted in-process backend (the HTTP backends have their own integration tests):
 * order of segments (asserted structurally, never in ms), the audio they carry, cancellation, failures, deadline, fairness, cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AudioCache } from '../src/services/cache.js';
import { NarratorError } from '../src/services/errors.js';
import { Orchestrator, type NarrationSummary, type Segment } from '../src/services/orchestrator.js';
import { FairScheduler } from '../src/services/scheduler.js';
import type { SynthesisRequest, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { fakePitchHz, fakeSpeechSeconds, fakeSynthesize } from './support/fakeVoice.js';

interface Call {
  text: string;
  startedAt: number;
  endedAt?: number;
  aborted: boolean;
}

/** A backend whose job time and failures are scripted per chunk text, recording what it was asked. */
class ScriptedBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'scripted';
  readonly calls: Call[] = [];
  active = 0;
  maxActive = 0;
  constructor(
    private readonly delayMs: (text: string) => number,
    private readonly failOn?: (text: string) => NarratorError | undefined,
  ) {}

  async synthesize(req: SynthesisRequest, opts: SynthesizeOptions) {
    const call: Call = { text: req.text, startedAt: performance.now(), aborted: false };
    this.calls.push(call);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.delayMs(req.text));
        opts.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          call.aborted = true;
          reject(opts.signal.reason);
        }, { once: true });
      });
      const failure = this.failOn?.(req.text);
      if (failure) throw failure;
      return { wav: fakeSynthesize(req.text, req.speed), retries: 0 };
    } finally {
      call.endedAt = performance.now();
      this.active--;
    }
  }
}

const SENTENCES = [
  'Buổi sáng hôm ấy, trời trong xanh và gió thổi nhẹ qua những hàng cây ven đường.',
  'Người bán hàng rong cất tiếng rao quen thuộc, vang vọng khắp con phố nhỏ.',
  'Trẻ em tung tăng đến trường, trên vai là chiếc cặp sách đầy ắp những ước mơ.',
  'Ở góc phố, quán cà phê quen đã mở cửa từ sớm, thơm lừng mùi cà phê rang xay.',
  'Một ngày mới lại bắt đầu ở thành phố này, bình yên và đầy hy vọng.',
  'Chiều xuống, ánh hoàng hôn nhuộm vàng cả một góc trời phía tây.',
];

function makeOrchestrator(backend: TtsBackend, o: { concurrency?: number; cache?: AudioCache; timeoutMs?: number } = {}) {
  return new Orchestrator({
    backend,
    scheduler: new FairScheduler(o.concurrency ?? 4),
    cache: o.cache,
    voices: ['narrator', 'female'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: o.timeoutMs ?? 30_000,
  });
}

async function collect(it: AsyncGenerator<Segment, NarrationSummary>) {
  const segments: Array<Segment & { receivedAt: number }> = [];
  for (;;) {
    const next = await it.next();
    if (next.done) return { segments, summary: next.value };
    segments.push({ ...next.value, receivedAt: performance.now() });
  }
}

async function rejection(p: Promise<unknown>): Promise<NarratorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NarratorError, `expected a NarratorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

test('segments come in order, the first one as soon as chunk 1 is ready — while the later chunks are still synthesizing', async () => {
  // Chunk 1's job ends on a timer; the others only when the test says so: segment 0 must be out while they run.
  const held: Array<() => void> = [];
  const backend = new ScriptedBackend((t) => (t === SENTENCES[0] ? 5 : 60_000));
  const gatedBackend: TtsBackend = {
    kind: 'local',
    identity: 'scripted',
    synthesize: (req, opts) => {
      if (req.text === SENTENCES[0]) return backend.synthesize(req, opts);
      const inner = new AbortController();
      held.push(() => inner.abort());
      return backend.synthesize(req, { ...opts, signal: AbortSignal.any([opts.signal, inner.signal]) }).catch((err: unknown) => {
        if (opts.signal.aborted) throw err;
        return { wav: fakeSynthesize(req.text, req.speed), retries: 0 };
      });
    },
  };
  const orch = makeOrchestrator(gatedBackend);
  const narration = orch.narrate({ text: SENTENCES.slice(0, 4).join('\n') });
  assert.equal(narration.plan.chunks.length, 4);
  const it = narration.segments();
  const first = await it.next();
  assert.equal(first.done, false);
  assert.equal(first.value && 'index' in first.value ? first.value.index : -1, 0);
  assert.equal(backend.calls.length, 4, 'all chunks were in flight at once');
  assert.deepEqual(
    backend.calls.filter((c) => c.endedAt === undefined).map((c) => c.text),
    SENTENCES.slice(1, 4),
    'the first segment is out while chunks 2–4 are still synthesizing',
  );
  // Release chunk 3 before chunk 2: segments still come in text order.
  held[1]!();
  held[0]!();
  held[2]!();
  const { segments } = await collect(it);
  assert.deepEqual(segments.map((s) => s.index), [1, 2, 3]);
  assert.equal(backend.maxActive, 4);
});

test('the stitched audio is the chunks, trimmed, with sentence pauses between them', async () => {
  const backend = new ScriptedBackend(() => 5);
  const { segments, summary } = await collect(makeOrchestrator(backend).narrate({ text: SENTENCES.slice(0, 3).join(' ') }).segments());
  const speech = segments.reduce((sum, s) => sum + fakeSpeechSeconds(s.text, 1), 0);
  // Each chunk keeps ~50 ms margins after trimming; 2 joins add 250 ms each.
  const expected = speech + 2 * 0.25 + segments.length * 0.1;
  assert.ok(Math.abs(summary.durationSec - expected) < 0.15, `duration ${summary.durationSec} vs ${expected}`);
  // The content is each chunk's own voice: the dominant pitch of each segment is its text's pitch.
  for (const s of segments) {
    const hz = dominantPitchHz(s.audio.samples, s.audio.sampleRate);
    assert.ok(Math.abs(hz - fakePitchHz(s.text)) <= 1, `segment ${s.index}: ${hz} Hz, expected ${fakePitchHz(s.text)}`);
  }
  assert.equal(segments[0]!.audio.sampleRate, 24_000);
});

test('cancel() stops the iteration and aborts every job still running; nothing starts afterwards', async () => {
  const backend = new ScriptedBackend((t) => (t === SENTENCES[0] ? 20 : 5_000));
  const orch = makeOrchestrator(backend, { concurrency: 2 });
  const narration = orch.narrate({ text: SENTENCES.join('\n') });
  const it = narration.segments();
  const first = await it.next();
  assert.equal(first.done, false);
  const callsBefore = backend.calls.length;
  narration.cancel();
  const err = await rejection(it.next());
  assert.equal(err.kind, 'aborted');
  await orch.drain(1_000);
  assert.equal(backend.active, 0, 'no job left running');
  assert.ok(backend.calls.slice(1).every((c) => c.aborted), 'running jobs were aborted, not awaited');
  assert.equal(backend.calls.length, callsBefore, 'queued chunks never started');
});

test('an external AbortSignal and an early break by the consumer both cancel the rest', async () => {
  const backend = new ScriptedBackend((t) => (t === SENTENCES[0] ? 10 : 3_000));
  const orch = makeOrchestrator(backend, { concurrency: 6 });
  const ac = new AbortController();
  const n1 = orch.narrate({ text: SENTENCES.join('\n'), signal: ac.signal });
  for await (const _ of n1.segments()) break;
  await orch.drain(1_000);
  assert.equal(backend.active, 0);
  const n2 = orch.narrate({ text: SENTENCES.slice(1).join('\n'), signal: ac.signal, noCache: true });
  setTimeout(() => ac.abort(), 30);
  assert.equal((await rejection(collect(n2.segments()))).kind, 'aborted');
  assert.equal(backend.active, 0);
});

test('a chunk failing for good: the segments before it are yielded, then its error; later chunks are cancelled', async () => {
  const bad = SENTENCES[2]!;
  const backend = new ScriptedBackend(
    (t) => (t === bad ? 50 : t === SENTENCES[4] || t === SENTENCES[5] ? 5_000 : 10),
    (t) => (t === bad ? new NarratorError('permanent', 'worker_error', 'The TTS worker reported an error.') : undefined),
  );
  const orch = makeOrchestrator(backend, { concurrency: 6 });
  const narration = orch.narrate({ text: SENTENCES.join('\n') });
  const got: number[] = [];
  const err = await rejection((async () => {
    for await (const s of narration.segments()) got.push(s.index);
  })());
  assert.deepEqual(got, [0, 1]);
  assert.equal(err.code, 'worker_error');
  await orch.drain(1_000);
  assert.equal(backend.active, 0);
  assert.ok(backend.calls.filter((c) => c.text === SENTENCES[5]).every((c) => c.aborted), 'later chunk cancelled');
});

test('the narration deadline cancels everything with a timeout error', async () => {
  const backend = new ScriptedBackend(() => 5_000);
  const narration = makeOrchestrator(backend, { timeoutMs: 150 }).narrate({ text: SENTENCES.slice(0, 2).join('\n') });
  const err = await rejection(collect(narration.segments()));
  assert.equal(err.kind, 'timeout');
  assert.equal(err.code, 'narration_deadline');
  assert.equal(backend.active, 0);
});

test('fair across narrations: a short narration started behind a long one is not starved', async () => {
  const backend = new ScriptedBackend(() => 30);
  const orch = makeOrchestrator(backend, { concurrency: 2 });
  const long = Array.from({ length: 30 }, (_, i) => `Câu thứ ${i + 1} của bài đọc rất dài này, đủ dài để không bị gộp.`).join('\n');
  const longRun = collect(orch.narrate({ text: long }).segments());
  await new Promise((r) => setTimeout(r, 40));
  const shortText = SENTENCES.slice(0, 3);
  await collect(orch.narrate({ text: shortText.join('\n') }).segments());
  const startedWhenShortDone = backend.calls.length;
  const longResult = await longRun;
  assert.equal(longResult.segments.length, 30);
  // Deadline-first: the short narration's chunks are needed now, the long one's queued chunks only after the audio
  // it already has, so the short one was done after a handful of starts, not after the long one's 30 (FIFO).
  assert.ok(startedWhenShortDone <= 12, `${startedWhenShortDone} jobs had started when the short narration finished`);
  assert.ok(backend.maxActive <= 2, 'the process-wide limit holds');
});

test('cache: a repeated narration costs no job; identical concurrent chunks share one job', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'narrator-orch-'));
  try {
    const backend = new ScriptedBackend(() => 40);
    const cache = new AudioCache({ dir, maxBytes: 10_000_000 });
    const orch = makeOrchestrator(backend, { cache });
    const text = SENTENCES.slice(0, 3).join('\n');
    const [a, b] = await Promise.all([collect(orch.narrate({ text }).segments()), collect(orch.narrate({ text }).segments())]);
    assert.equal(backend.calls.length, 3, 'two concurrent identical narrations → one job per chunk');
    assert.equal(a.summary.durationSec, b.summary.durationSec);
    const again = await collect(orch.narrate({ text }).segments());
    assert.equal(backend.calls.length, 3, 'served from disk');
    assert.equal(again.summary.cacheHits, 3);
    await collect(orch.narrate({ text, noCache: true }).segments());
    assert.equal(backend.calls.length, 6, '--no-cache synthesizes again');
    await collect(orch.narrate({ text, voice: 'female' }).segments());
    assert.equal(backend.calls.length, 9, 'another voice is another key');
    // Fresh audio is written after it is handed back (off the first-audio path): removing the folder before those
    // writes end raced them (ENOTEMPTY on a fresh-clone CI run).
    await cache.settled();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad requests are refused before any job: voice, speed, length, nothing speakable', () => {
  const backend = new ScriptedBackend(() => 1);
  const orch = makeOrchestrator(backend);
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof NarratorError && err.kind === 'user');
      return err.code;
    }
    return 'none';
  };
  assert.equal(codeOf(() => orch.narrate({ text: 'Xin chào các bạn thân mến.', voice: 'ghost' })), 'voice_unknown');
  assert.equal(codeOf(() => orch.narrate({ text: 'Xin chào các bạn thân mến.', speed: 3 })), 'speed_out_of_range');
  assert.equal(codeOf(() => orch.narrate({ text: 'Xin chào các bạn thân mến.', speed: Number.NaN })), 'speed_out_of_range');
  assert.equal(codeOf(() => orch.narrate({ text: 'a'.repeat(6001), maxTextChars: 6000 })), 'text_too_long');
  // The limit applies to the spoken text: 6000 characters of timestamps are read as ~29 000.
  assert.equal(codeOf(() => orch.narrate({ text: '<t:0:F> '.repeat(750), maxTextChars: 6000 })), 'text_too_long');
  assert.equal(codeOf(() => orch.narrate({ text: '😀 https://example.com ```code```' })), 'nothing_speakable');
  assert.equal(backend.calls.length, 0);
});

/** The speaking-range frequency (110–250 Hz, 1 Hz steps) with the most energy (Goertzel). */
function dominantPitchHz(samples: Float32Array, rate: number): number {
  let best = 0;
  let bestPower = -1;
  for (let f = 110; f <= 250; f++) {
    const coeff = 2 * Math.cos((2 * Math.PI * f) / rate);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < samples.length; i++) {
      const s0 = samples[i]! + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > bestPower) [best, bestPower] = [f, power];
  }
  return best;
}
