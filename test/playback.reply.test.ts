/**
 * The /narrate reply as the user sees it: throttled progress edits, then one final message with the right text,
 * the audio in a format that fits the upload limit, the echoed text — and the channel fallback when the
 * interaction token has expired. Driven by a real NarrationTrack over the real engine with a tone backend.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setImmediate as flushTasks, setTimeout as sleep } from 'node:timers/promises';
import prism from 'prism-media';
import { NarratorError, abortError } from '../src/services/errors.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { NarrationTrack } from '../src/services/playback/narrationTrack.js';
import { followTrack, audioAttachment, type OutgoingMessage, type ReplyTarget } from '../src/services/playback/narrationReply.js';
import { ThrottledSender } from '../src/services/playback/throttledSender.js';
import { NarrationRecording, type RecordedAudio } from '../src/services/audio/narrationRecording.js';
import { decodeTestWav, encodeTestWav } from './support/fakeVoice.js';

const RATE = 24_000;

class ToneBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:tone';
  constructor(private readonly delayMs = 30) {}
  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    try {
      await sleep(this.delayMs, undefined, { signal: options.signal });
    } catch {
      throw abortError(options.signal);
    }
    if (request.text.includes('FAIL')) {
      throw new NarratorError('permanent', 'worker_error', 'The TTS worker failed.', 'Traceback: SECRET-DETAIL');
    }
    const samples = new Float32Array(Math.round(RATE * 0.5));
    for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE);
    return { wav: encodeTestWav(samples, RATE, 'pcm16'), retries: 0 };
  }
}

// ≤ 80 characters: one chunk each, even first (the chunker cuts a longer first sentence short for a fast start).
const sentence = (i: number, extra = '') => `Câu thứ ${i}${extra} kể về một ngày dài ở làng quê, khi mọi người ra đồng gặt lúa.`;

function makeTrack(text: string, delayMs = 30): NarrationTrack {
  const orchestrator = new Orchestrator({
    backend: new ToneBackend(delayMs),
    scheduler: new FairScheduler(1), // one job at a time: several progress steps to watch
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
  });
  const plan = orchestrator.plan({ text });
  return new NarrationTrack(
    { text, voice: plan.voice, speed: plan.speed, chunksTotal: plan.chunks.length, requesterId: '42', requesterName: 'Ana' },
    orchestrator,
  );
}

/** Plays the track the way a session would: start, then mark playback over once synthesis has settled. */
async function play(track: NarrationTrack): Promise<void> {
  track.startSynthesis();
  await new Promise<void>((r) => (track.synthesisSettled ? r() : track.once('synthesized', () => r())));
  track.playbackStarted();
  track.playbackEnded();
}

interface Sent extends OutgoingMessage {
  readonly at: number;
  readonly via: 'edit' | 'post' | 'dm';
}

interface TargetOptions {
  expiresAt?: number;
  failEditWith?: unknown;
  /** Every edit from the n-th on (1-based) is refused with this error, like a token that expired meanwhile. */
  failEditsFrom?: { n: number; error: unknown };
  failPostWith?: unknown;
}

function recordingTarget(options: TargetOptions = {}): ReplyTarget & { sent: Sent[]; editAttempts: number } {
  const sent: Sent[] = [];
  const target = {
    sent,
    editAttempts: 0,
    channelId: '555',
    expiresAt: options.expiresAt ?? Date.now() + 15 * 60_000,
    edit: async (m: OutgoingMessage) => {
      target.editAttempts++;
      if (options.failEditsFrom && target.editAttempts >= options.failEditsFrom.n) throw options.failEditsFrom.error;
      if (options.failEditWith && m.files?.length) throw options.failEditWith;
      sent.push({ ...m, at: performance.now(), via: 'edit' });
    },
    post: async (m: OutgoingMessage) => {
      if (options.failPostWith) throw options.failPostWith;
      sent.push({ ...m, at: performance.now(), via: 'post' });
    },
    direct: async (m: OutgoingMessage) => {
      sent.push({ ...m, at: performance.now(), via: 'dm' });
    },
  };
  return target;
}

const expiredToken = () => Object.assign(new Error('Invalid Webhook Token'), { code: 50027, status: 401 });

describe('ThrottledSender', () => {
  test('sends the newest value at most once per interval and the final value last', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let now = 0;
    const sent: [number, string][] = [];
    const sender = new ThrottledSender<string>(async (v) => void sent.push([now, v]), { minIntervalMs: 1000, now: () => now });
    sender.offer('a');
    await flushTasks();
    sender.offer('b');
    sender.offer('c');
    now = 500;
    t.mock.timers.tick(500);
    await flushTasks();
    assert.deepEqual(sent, [[0, 'a']], 'nothing within the interval');
    now = 1000;
    t.mock.timers.tick(500);
    await flushTasks();
    assert.deepEqual(sent, [[0, 'a'], [1000, 'c']], 'b was replaced by c');
    sender.offer('d');
    await sender.finish('final');
    sender.offer('late');
    assert.deepEqual(sent.map(([, v]) => v), ['a', 'c', 'final'], 'd dropped, nothing after the final');
  });

  test('never has two sends in flight, and a failed send does not stop later ones', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const errors: unknown[] = [];
    const sent: string[] = [];
    const sender = new ThrottledSender<string>(
      async (v) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(20);
        inFlight--;
        if (v === 'bad') throw new Error('429');
        sent.push(v);
      },
      { minIntervalMs: 0, onError: (e) => errors.push(e) },
    );
    sender.offer('bad');
    sender.offer('x');
    sender.offer('y');
    await sleep(60);
    await sender.finish('end');
    assert.equal(maxInFlight, 1);
    assert.equal(errors.length, 1);
    assert.deepEqual(sent, ['y', 'end']);
  });
});

describe('followTrack', () => {
  test('shows progress (throttled), then the result with the WAV and the quoted text', async () => {
    const text = [1, 2, 3].map((i) => sentence(i)).join(' ');
    const track = makeTrack(text, 60);
    const target = recordingTarget();
    const following = followTrack(track, target, { lang: 'en', attachmentSizeLimit: 10 * 1024 * 1024, minIntervalMs: 100 });
    await play(track);
    await following;

    const edits = target.sent;
    assert.ok(edits.length >= 2, `progress then final (${edits.length} edits)`);
    assert.ok(edits.every((e) => e.via === 'edit'));
    for (let i = 1; i < edits.length - 1; i++) assert.ok(edits[i]!.at - edits[i - 1]!.at >= 95, 'at most one progress edit per interval');
    assert.match(edits[0]!.content, /^⏳ Queued — next in line\.\n```\nCâu thứ 1/, 'the first edit: not started yet');
    assert.ok(edits.some((e) => /^🎙️ Preparing the audio… [▰▱]+ [12]\/3/.test(e.content)), 'a progress bar while synthesizing');
    const final = edits.at(-1)!;
    assert.match(final.content, /^✅ Narrated · 0:0\d · voice \*\*narrator\*\* · speed 1/);
    assert.match(final.content, /\n```\nCâu thứ 1 kể về/);
    assert.ok(final.content.length <= 2000);
    assert.equal(final.files?.length, 1);
    assert.equal(final.files![0]!.name, 'narration.wav');
    const wav = decodeTestWav(final.files![0]!.data);
    assert.equal(wav.sampleRate, RATE);
    // Three 0.5 s chunks and two sentence pauses.
    assert.ok(wav.samples.length / RATE > 1.4 && wav.samples.length / RATE < 2.2, `${wav.samples.length / RATE} s`);
  });

  test('a mid-way failure: says what happened (never the worker detail), attaches what was read — in Vietnamese', async () => {
    const text = [sentence(1), sentence(2, ' FAIL'), sentence(3)].join(' ');
    const track = makeTrack(text);
    const target = recordingTarget();
    const following = followTrack(track, target, { lang: 'vi', attachmentSizeLimit: 10 * 1024 * 1024, minIntervalMs: 10 });
    await play(track);
    await following;
    const final = target.sent.at(-1)!;
    assert.match(final.content, /^⚠️ Dừng sau phần 1\/3: Máy chủ giọng nói bị lỗi với đoạn văn này\. Tệp đính kèm chứa phần đã đọc\./);
    assert.ok(target.sent.every((m) => !m.content.includes('SECRET-DETAIL') && !m.content.includes('Traceback')));
    assert.equal(final.files?.[0]?.name, 'narration.wav');
    assert.ok(Math.abs(decodeTestWav(final.files![0]!.data).samples.length / RATE - 0.5) < 0.05, 'only the first chunk');
  });

  test('a cancelled narration says who stopped it and attaches nothing', async () => {
    const track = makeTrack(sentence(1), 500);
    const target = recordingTarget();
    const following = followTrack(track, target, { lang: 'en', attachmentSizeLimit: 1 << 20, minIntervalMs: 10 });
    track.startSynthesis();
    track.cancel('stopped', '<@3>');
    await following;
    const final = target.sent.at(-1)!;
    assert.match(final.content, /^⏹️ Stopped by <@3>\.\n```\nCâu thứ 1/);
    assert.equal(final.files, undefined);
  });

  test('progress edits carry the player buttons (⏹ only while queued, ⏯ lit while paused); the final edit removes them', async () => {
    const track = makeTrack([1, 2].map((i) => sentence(i)).join(' '), 60);
    const target = recordingTarget();
    const following = followTrack(track, target, { lang: 'en', attachmentSizeLimit: 1 << 20, minIntervalMs: 10 });
    track.startSynthesis();
    await sleep(30);
    track.setUserPause('<@5>');
    await sleep(30);
    track.setUserPause(undefined);
    await play(track);
    await following;
    const progress = target.sent.slice(0, -1);
    assert.deepEqual(progress[0]!.controls, { narrationId: track.id, queued: true, paused: false }, 'queued: just ⏹');
    assert.ok(progress.slice(1).every((m) => m.controls?.narrationId === track.id && !m.controls.queued), 'all four while it goes on');
    const paused = progress.find((m) => m.content.includes('⏸️ Paused by <@5>.'));
    assert.equal(paused?.controls?.paused, true, 'the paused reply says who paused it, and ⏯ resumes');
    assert.equal(progress.at(-1)!.controls?.paused, false);
    assert.equal(target.sent.at(-1)!.controls, undefined, 'the final edit has no buttons');
  });

  test('after the token expired the result goes to the channel, mentioning the requester', async () => {
    const track = makeTrack(sentence(1));
    const target = recordingTarget({ expiresAt: Date.now() - 1 });
    const following = followTrack(track, target, { lang: 'en', attachmentSizeLimit: 1 << 24, minIntervalMs: 10 });
    await play(track);
    await following;
    assert.equal(target.sent.length, 1, 'no edit with a dead token');
    const [post] = target.sent;
    assert.equal(post!.via, 'post');
    assert.match(post!.content, /^<@42> your narration is finished:\n✅ Narrated/);
    assert.equal(post!.files?.[0]?.name, 'narration.wav');
  });

  test('an edit refused for an expired token (50027) falls back to the channel', async () => {
    const track = makeTrack(sentence(1));
    const target = recordingTarget({ failEditWith: Object.assign(new Error('Invalid Webhook Token'), { code: 50027, status: 401 }) });
    const following = followTrack(track, target, { lang: 'en', attachmentSizeLimit: 1 << 24, minIntervalMs: 10 });
    await play(track);
    await following;
    const final = target.sent.at(-1)!;
    assert.equal(final.via, 'post');
    assert.equal(final.files?.length, 1);
  });
});

describe('the result after the token expired, when the channel cannot take it', () => {
  test('the bot may not post in the channel: the requester gets it by DM, with the audio', async () => {
    const track = makeTrack(sentence(1));
    const target = recordingTarget({ expiresAt: Date.now() - 1, failPostWith: new NarratorError('permanent', 'cannot_post', 'no Send Messages') });
    const following = followTrack(track, target, { lang: 'en', attachmentSizeLimit: 1 << 24, minIntervalMs: 10 });
    await play(track);
    await following;
    assert.deepEqual(target.sent.map((m) => m.via), ['dm']);
    assert.match(target.sent[0]!.content, /^Your narration is finished\. I could not post it in <#555>, so here it is:\n✅ Narrated/);
    assert.equal(target.sent[0]!.files?.[0]?.name, 'narration.wav');
  });

  test('once Discord says the token expired, it is never used again; the result goes to the channel', async () => {
    // Three chunks, slow enough for several progress edits; the second edit meets an expired token.
    const track = makeTrack([1, 2, 3].map((i) => sentence(i)).join(' '), 40);
    const target = recordingTarget({ failEditsFrom: { n: 2, error: expiredToken() } });
    const following = followTrack(track, target, { lang: 'en', attachmentSizeLimit: 1 << 24, minIntervalMs: 5 });
    await play(track);
    await following;
    assert.equal(target.editAttempts, 2, 'no edit after the one refused for an expired token');
    const final = target.sent.at(-1)!;
    assert.equal(final.via, 'post');
    assert.match(final.content, /^<@42> your narration is finished:\n✅ Narrated/);
    assert.equal(final.files?.length, 1);
  });
});

describe('audioAttachment', () => {
  const tone = { sampleRate: RATE, samples: new Float32Array(RATE * 2).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE)) };
  /** Two seconds recorded the way a track records them: in segments, as they arrive. */
  const recorded = async (): Promise<RecordedAudio> => {
    const recording = new NarrationRecording();
    for (let at = 0; at < tone.samples.length; at += RATE / 2) recording.append({ sampleRate: RATE, samples: tone.samples.subarray(at, at + RATE / 2) });
    return recording.finish();
  };

  test('WAV when it fits the upload limit', async (t) => {
    const audio = await recorded();
    t.after(() => audio.dispose());
    const file = await audioAttachment(audio, 1 << 20);
    assert.equal(file?.name, 'narration.wav');
    assert.equal(file?.data.length, 44 + RATE * 2 * 2);
    const wav = decodeTestWav(file!.data);
    assert.deepEqual([...wav.samples.subarray(RATE - 3, RATE + 3)].map((v) => Math.round(v * 1000)), [...tone.samples.subarray(RATE - 3, RATE + 3)].map((v) => Math.round(v * 1000)), 'segments joined seamlessly');
  });

  test('Ogg Opus (Discord plays it inline) when the WAV is too large, and nothing when even that is', async (t) => {
    const audio = await recorded();
    t.after(() => audio.dispose());
    const file = await audioAttachment(audio, 50_000);
    assert.equal(file?.name, 'narration.ogg');
    assert.ok(file!.data.length <= 50_000);
    const demuxer = new prism.opus.OggDemuxer();
    const packets: Buffer[] = [];
    Readable.from([file!.data]).pipe(demuxer);
    for await (const p of demuxer) packets.push(p as Buffer);
    assert.ok(packets.length >= 100, 'two seconds of 20 ms packets');
    assert.equal(await audioAttachment(audio, 1000), undefined);
  });
});
